"""Affiliate permissions. Recording a touch needs only a signed-in user (CurrentUser)."""

from api.core.permissions import Role, permission

SELF = permission("affiliates:self", Role.affiliate,
                  description="register as affiliate; see one's own referrals and commissions")
MANAGE = permission("affiliates:manage", Role.support,
                    description="approve affiliates, edit commission rules, run approvals/payments")
