"""fraud rules in SQL; wallet transfers fraud-scored in wallet_transfer

Revision ID: 0210_trusty
Revises: 0200_trusty
Create Date: 2026-11-25 18:40:00
"""
from __future__ import annotations

from alembic import op

from api.trusty.fraud_sql import (DROP_FRAUD_SQL, FRAUD_ASSESS_FUNCTION, FRAUD_COUNTERS_TRIGGER,
                                  FRAUD_TABLES_SQL)
from api.wallet.ledger_sql import (DROP_SCORED_TRANSFER_SQL, DROP_UNSCORED_TRANSFER_SQL,
                                   WALLET_TRANSFER_FUNCTION, WALLET_TRANSFER_SCORED_FUNCTION)

revision = '0210_trusty'
down_revision = '0200_trusty'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(FRAUD_TABLES_SQL)
    op.execute(FRAUD_COUNTERS_TRIGGER)
    op.execute(FRAUD_ASSESS_FUNCTION)
    # The unscored transfer core goes: every user-initiated transfer is scored.
    op.execute(DROP_UNSCORED_TRANSFER_SQL)
    op.execute(WALLET_TRANSFER_SCORED_FUNCTION)


def downgrade() -> None:
    op.execute(DROP_SCORED_TRANSFER_SQL)
    op.execute(WALLET_TRANSFER_FUNCTION)
    op.execute(DROP_FRAUD_SQL)
