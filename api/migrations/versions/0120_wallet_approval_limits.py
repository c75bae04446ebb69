"""wallet approval limits: wallet_post refuses a debit at or above its owner's limit

Revision ID: 0120_wallet
Revises: 0110_wallet
Create Date: 2026-12-06 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.wallet.approval_sql import WALLET_POST_WITH_LIMITS_FUNCTION
from api.wallet.ledger_sql import WALLET_POST_FUNCTION

revision = '0120_wallet'
down_revision = '0110_wallet'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wallet_approval_limits',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('threshold', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('threshold > 0', name=op.f('ck_wallet_approval_limits_threshold_positive')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_wallet_approval_limits_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'currency', name=op.f('pk_wallet_approval_limits'))
    )
    op.execute(WALLET_POST_WITH_LIMITS_FUNCTION)


def downgrade() -> None:
    op.execute(WALLET_POST_FUNCTION)
    op.drop_table('wallet_approval_limits')
