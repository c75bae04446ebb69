"""Permissions of the user administration service."""

from api.core.permissions import permission

# No role but admin (admin holds every permission implicitly).
USERS_ADMIN = permission("users:admin", description="list, search, change roles of, disable "
                                                    "and enable user accounts")
