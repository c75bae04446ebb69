from api.core.permissions import Role, permission

# Running is open to every role: the rows each one gets are scoped in the query layer.
RUN = permission("reports:run", *Role, description="list, run and download reports")
MANAGE = permission("reports:manage", Role.analyst, description="create and change reports")
