"""goseller: orders name the payment intent that paid them

Revision ID: 0401_goseller_payment_intent
Revises: 0400_goseller
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0401_goseller_payment_intent'
down_revision = '0400_goseller'
branch_labels = None
depends_on = '0300_payments'


def upgrade() -> None:
    op.add_column('goseller_orders', sa.Column('payment_intent_id', sa.BigInteger(), nullable=True))
    op.create_unique_constraint(op.f('uq_goseller_orders_payment_intent_id'), 'goseller_orders',
                                ['payment_intent_id'])
    op.create_foreign_key(op.f('fk_goseller_orders_payment_intent_id_payment_intents'),
                          'goseller_orders', 'payment_intents', ['payment_intent_id'], ['id'],
                          ondelete='RESTRICT')


def downgrade() -> None:
    op.drop_constraint(op.f('fk_goseller_orders_payment_intent_id_payment_intents'),
                       'goseller_orders', type_='foreignkey')
    op.drop_constraint(op.f('uq_goseller_orders_payment_intent_id'), 'goseller_orders',
                       type_='unique')
    op.drop_column('goseller_orders', 'payment_intent_id')
