from api.core.permissions import permission

# The error text of failed checks (database messages can name tables, columns and hosts).
HEALTH_DETAILS = permission("health:details",
                            description="error text of failed health checks")
