"""Wallet permissions. Holders act on their own wallets; support and admin may read others'
and run verification."""

from api.core.permissions import Role, permission

_HOLDERS = (Role.customer, Role.seller, Role.affiliate, Role.franchisee, Role.support)

WALLET_READ = permission("wallet:read", *_HOLDERS, description="read own wallets and history")
WALLET_OPEN = permission("wallet:open", *_HOLDERS, description="open a wallet in a currency")
WALLET_TRANSFER = permission("wallet:transfer", Role.customer, Role.seller, Role.affiliate,
                             Role.franchisee, description="send money from own wallet")
WALLET_VERIFY = permission("wallet:verify", Role.support, description="verify the ledger hash chains")
