"""Roles and permissions. Each service domain declares its own permissions next to its router;
every non-public route depends on exactly one of them through `api.auth.dependencies.require`."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    analyst = "analyst"
    support = "support"
    seller = "seller"
    affiliate = "affiliate"
    franchisee = "franchisee"
    provider = "provider"  # publishes AI services on the marketplace (api/ai)
    customer = "customer"


ALL_ROLES: frozenset[Role] = frozenset(Role)


@dataclass(frozen=True)
class Permission:
    name: str
    roles: frozenset[Role]
    description: str = ""

    def allows(self, roles: "frozenset[str] | set[str] | list[str]") -> bool:
        return any(r in self.roles for r in roles)


def permission(name: str, *roles: Role, description: str = "") -> Permission:
    """A permission granted to the given roles; admin always holds every permission."""
    return Permission(name, frozenset(roles) | {Role.admin}, description)


# Any signed-in user, whatever their role (their own profile, their own sessions, ...).
AUTHENTICATED = Permission("authenticated", ALL_ROLES, "any signed-in user")
