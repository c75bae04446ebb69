"""Row-level scope of a viewer: which rows of the marts they may see.

Admins, analysts and support see everything. Everyone else sees the rows tied to them:
a seller their seller id, an affiliate their referrals, a franchisee their territories, an AI
provider the calls to their services, and
any user the rows about themself. Marketplace sellers and affiliates are users, so their ids
are the user id; a franchisee's territories come from the franchise marts when those exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

UNRESTRICTED_ROLES = frozenset({"admin", "analyst", "support"})


@dataclass(frozen=True)
class Scope:
    unrestricted: bool
    # kind -> ids, sorted tuples so a Scope is hashable (scoped connections are cached by it)
    ids: tuple[tuple[str, tuple[int, ...]], ...] = ()

    @classmethod
    def everything(cls) -> "Scope":
        return cls(True)

    def kinds(self) -> dict[str, tuple[int, ...]]:
        return dict(self.ids)

    def rows(self) -> list[tuple[str, int]]:
        return [(kind, i) for kind, values in self.ids for i in values]


def scope_for(user_id: int, roles: Iterable[str],
              territories: Iterable[int] = ()) -> Scope:
    roles = set(roles)
    if roles & UNRESTRICTED_ROLES:
        return Scope.everything()
    kinds: dict[str, set[int]] = {"user": {int(user_id)}}
    if "seller" in roles:
        kinds["seller"] = {int(user_id)}
    if "affiliate" in roles:
        kinds["affiliate"] = {int(user_id)}
    if "provider" in roles:  # AI marketplace rows of the provider's services
        kinds["provider"] = {int(user_id)}
    if "franchisee" in roles:
        # franchise marts carry the franchise owner's user id (franchisee_user_id)
        kinds["franchisee"] = {int(user_id)}
        kinds["territory"] = {int(t) for t in territories}
    return Scope(False, tuple(sorted((k, tuple(sorted(v))) for k, v in kinds.items())))
