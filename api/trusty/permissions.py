"""Trusty wallet permissions."""

from api.core.permissions import Role, permission

_HOLDERS = (Role.customer, Role.seller, Role.affiliate, Role.franchisee)

TRUSTY_USE = permission("trusty:use", *_HOLDERS,
                        description="multisig policies, protected transfers, cold storage")
TRUSTY_APPROVE = permission("trusty:approve", *_HOLDERS, Role.support,
                            description="approve or reject requests you are an approver of")
TRUSTY_REVIEW = permission("trusty:review", Role.support,
                           description="fraud case queue: approve or reject held transfers")
TRUSTY_ADMIN = permission("trusty:admin", description="run the due-requests job")
