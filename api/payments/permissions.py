"""Payments permissions. Payers act on their own intents; payees and staff may refund."""

from api.core.permissions import Role, permission

_PAYERS = (Role.customer, Role.seller, Role.affiliate, Role.franchisee)

PAYMENTS_READ = permission("payments:read", *_PAYERS, Role.support,
                           description="read own payment methods and intents")
PAYMENTS_PAY = permission("payments:pay", *_PAYERS,
                          description="add payment methods; create, confirm, capture, cancel intents")
PAYMENTS_REFUND = permission("payments:refund", *_PAYERS, Role.support,
                             description="refund a payment received (payee) or any (support)")
PAYMENTS_ADMIN = permission("payments:admin", description="run reconciliation")
