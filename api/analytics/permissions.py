from api.core.permissions import Role, permission

# Every role may keep dashboards of the data it can see; admins see everyone's.
DASHBOARDS = permission("analytics:dashboards", *Role,
                        description="save and reopen custom dashboards")
