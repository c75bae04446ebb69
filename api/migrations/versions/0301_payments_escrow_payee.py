"""payments: intents that capture into an escrow system account; one wallet method per user

Revision ID: 0301_payments_escrow
Revises: 0300_payments
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0301_payments_escrow'
down_revision = '0300_payments'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('payment_intents', sa.Column('payee_account', sa.String(length=32), nullable=True))
    op.create_check_constraint(
        op.f('ck_payment_intents_payee_account'), 'payment_intents',
        "payee_account IS NULL OR (payee_user_id IS NOT NULL AND payee_account IN ('payouts'))")
    # Duplicate wallet methods (possible before the index) keep the oldest active one.
    op.execute("""
        UPDATE payment_methods SET is_active = false
        WHERE kind = 'wallet' AND is_active AND id NOT IN (
            SELECT min(id) FROM payment_methods WHERE kind = 'wallet' AND is_active
            GROUP BY user_id)""")
    op.create_index('uq_payment_methods_one_wallet', 'payment_methods', ['user_id'], unique=True,
                    postgresql_where=sa.text("kind = 'wallet' AND is_active"))


def downgrade() -> None:
    op.drop_index('uq_payment_methods_one_wallet', table_name='payment_methods',
                  postgresql_where=sa.text("kind = 'wallet' AND is_active"))
    op.drop_constraint(op.f('ck_payment_intents_payee_account'), 'payment_intents', type_='check')
    op.drop_column('payment_intents', 'payee_account')
