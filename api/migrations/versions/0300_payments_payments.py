"""payments

Revision ID: 0300_payments
Revises: 
Create Date: 2026-11-25 15:36:21.235556
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from api.migrations.helpers import track_table, untrack_table

TRACKED = {"payment_methods": True, "payment_intents": True, "payment_refunds": True,
           "payment_webhook_events": False}  # table: has updated_at

revision = '0300_payments'
down_revision = None
branch_labels = ('payments',)
depends_on = ['0001_core', '0100_wallet']


def upgrade() -> None:
    op.create_table('payment_webhook_events',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('event_type', sa.String(length=64), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('outcome', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_webhook_events')),
    sa.UniqueConstraint('provider', 'event_id', name='uq_payment_webhook_events_event')
    )
    op.create_index(op.f('ix_payment_webhook_events_received_at'), 'payment_webhook_events', ['received_at'], unique=False)
    op.create_table('payment_methods',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('card_token', sa.String(length=128), nullable=True),
    sa.Column('card_fingerprint', sa.Text(), nullable=True),
    sa.Column('card_brand', sa.String(length=16), nullable=True),
    sa.Column('bank_account_number', sa.Text(), nullable=True),
    sa.Column('bank_routing', sa.String(length=32), nullable=True),
    sa.Column('last4', sa.String(length=4), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('card','bank_account','wallet')", name=op.f('ck_payment_methods_kind')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payment_methods_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_methods'))
    )
    op.create_index(op.f('ix_payment_methods_updated_at'), 'payment_methods', ['updated_at'], unique=False)
    op.create_index(op.f('ix_payment_methods_user_id'), 'payment_methods', ['user_id'], unique=False)
    op.create_table('payment_intents',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('payee_user_id', sa.BigInteger(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('capture_method', sa.String(length=16), nullable=False),
    sa.Column('payment_method_id', sa.BigInteger(), nullable=True),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('provider_ref', sa.String(length=64), nullable=True),
    sa.Column('amount_captured', sa.BigInteger(), nullable=False),
    sa.Column('amount_refunded', sa.BigInteger(), nullable=False),
    sa.Column('fee_amount', sa.BigInteger(), nullable=False),
    sa.Column('failure_code', sa.String(length=64), nullable=True),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('authorization_tx_id', sa.BigInteger(), nullable=True),
    sa.Column('capture_tx_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payment_intents_amount_positive')),
    sa.CheckConstraint('amount_captured <= amount', name=op.f('ck_payment_intents_captured_le_amount')),
    sa.CheckConstraint('amount_refunded <= amount_captured', name=op.f('ck_payment_intents_refunded_le_captured')),
    sa.ForeignKeyConstraint(['payee_user_id'], ['users.id'], name=op.f('fk_payment_intents_payee_user_id_users')),
    sa.ForeignKeyConstraint(['payment_method_id'], ['payment_methods.id'], name=op.f('fk_payment_intents_payment_method_id_payment_methods')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payment_intents_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_intents')),
    sa.UniqueConstraint('provider_ref', name=op.f('uq_payment_intents_provider_ref'))
    )
    op.create_index('ix_payment_intents_status_changed', 'payment_intents', ['status', 'status_changed_at'], unique=False)
    op.create_index(op.f('ix_payment_intents_updated_at'), 'payment_intents', ['updated_at'], unique=False)
    op.create_index(op.f('ix_payment_intents_user_id'), 'payment_intents', ['user_id'], unique=False)
    op.create_table('payment_refunds',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('intent_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ledger_transaction_id', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['intent_id'], ['payment_intents.id'], name=op.f('fk_payment_refunds_intent_id_payment_intents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_refunds'))
    )
    op.create_index(op.f('ix_payment_refunds_intent_id'), 'payment_refunds', ['intent_id'], unique=False)
    op.create_index(op.f('ix_payment_refunds_updated_at'), 'payment_refunds', ['updated_at'], unique=False)
    for table, has_updated_at in TRACKED.items():
        track_table(table, has_updated_at=has_updated_at)


def downgrade() -> None:
    for table in TRACKED:
        untrack_table(table)
    op.drop_index(op.f('ix_payment_refunds_updated_at'), table_name='payment_refunds')
    op.drop_index(op.f('ix_payment_refunds_intent_id'), table_name='payment_refunds')
    op.drop_table('payment_refunds')
    op.drop_index(op.f('ix_payment_intents_user_id'), table_name='payment_intents')
    op.drop_index(op.f('ix_payment_intents_updated_at'), table_name='payment_intents')
    op.drop_index('ix_payment_intents_status_changed', table_name='payment_intents')
    op.drop_table('payment_intents')
    op.drop_index(op.f('ix_payment_methods_user_id'), table_name='payment_methods')
    op.drop_index(op.f('ix_payment_methods_updated_at'), table_name='payment_methods')
    op.drop_table('payment_methods')
    op.drop_index(op.f('ix_payment_webhook_events_received_at'), table_name='payment_webhook_events')
    op.drop_table('payment_webhook_events')
