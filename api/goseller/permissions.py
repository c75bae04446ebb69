"""GoSeller permissions. Buying and browsing need only a signed-in user (CurrentUser)."""

from api.core.permissions import Role, permission

SELL = permission("goseller:sell", Role.seller, description="manage one's own shop, catalog, orders")
VERIFY = permission("goseller:verify", Role.support,
                    description="verify or suspend sellers, list all sellers")
OPERATE = permission("goseller:operate", Role.support,
                     description="run payouts, see any order")
