"""AI marketplace permissions. Browsing the catalog needs a signed-in user (CurrentUser);
invoking needs an API key, not a login (api.ai.keys.ApiKeyAuth)."""

from api.core.permissions import ALL_ROLES, Permission, Role, permission

BUY = permission("ai:buy", Role.customer, Role.seller, Role.affiliate, Role.franchisee,
                 Role.provider, description="own API keys, own usage and spend, rate services")
PUBLISH = permission("ai:publish", Role.provider,
                     description="publish services, versions and endpoints; own services' "
                                 "usage and revenue")
OPERATE = permission("ai:operate", Role.support, Role.analyst,
                     description="all usage, every endpoint's health, run health checks")
# Every role may call with a key; the key's owner must be active and the key in scope, which
# the reservation checks in the database (revocation takes effect at once).
INVOKE = Permission("ai:invoke", ALL_ROLES, "call a service with an API key")
