from api.core.permissions import Role, permission

# Delivery status of any message (support answers "did my email arrive?").
NOTIFICATIONS_ADMIN = permission("notifications:admin", Role.support,
                                 description="delivery status of every outbox message")
