"""the marketplace escrow (system payouts accounts) may no longer go negative

Revision ID: 0110_wallet
Revises: 0100_wallet
Create Date: 2026-11-25 20:20:00
"""
from __future__ import annotations

from alembic import op

revision = '0110_wallet'
down_revision = '0100_wallet'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An escrow already below zero keeps its flag: the check constraint would refuse the row,
    # and an operator has to make it whole first (nothing in the code path takes it there).
    op.execute("UPDATE wallet_accounts SET allow_negative = false "
               "WHERE code LIKE 'system:payouts:%' AND balance >= 0")


def downgrade() -> None:
    op.execute("UPDATE wallet_accounts SET allow_negative = true "
               "WHERE code LIKE 'system:payouts:%'")
