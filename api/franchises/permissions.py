"""Franchise permissions."""

from api.core.permissions import Role, permission

SELF = permission("franchises:self", Role.franchisee,
                  description="see one's own franchises, territories and statements")
MANAGE = permission("franchises:manage", Role.support,
                    description="register franchises, assign territories, run settlements")
