"""wallet ledger

Revision ID: 0100_wallet
Revises: 0001_core
Create Date: 2026-11-25 15:24:22.585169
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from api.migrations.helpers import track_table, untrack_table
from api.wallet.ledger_sql import (APPEND_ONLY_TRIGGER, DROP_SQL, WALLET_POST_FUNCTION,
                                    WALLET_TRANSFER_FUNCTION)

TRACKED = {"wallet_accounts": True, "wallet_transactions": False, "wallet_entries": False,
           "idempotency_keys": False}  # table: has updated_at

revision = '0100_wallet'
down_revision = None
branch_labels = ('wallet',)
depends_on = '0001_core'


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('response_status', sa.BigInteger(), nullable=True),
    sa.Column('response_body', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('owner', 'key', name='uq_idempotency_keys_owner_key')
    )
    op.create_index(op.f('ix_idempotency_keys_created_at'), 'idempotency_keys', ['created_at'], unique=False)
    op.create_table('wallet_accounts',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('balance', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('allow_negative', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('last_seq', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('last_hash', sa.String(length=64), server_default='0000000000000000000000000000000000000000000000000000000000000000', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'system') = (user_id IS NULL)", name=op.f('ck_wallet_accounts_owner')),
    sa.CheckConstraint("kind IN ('user','hold','vault','system')", name=op.f('ck_wallet_accounts_kind')),
    sa.CheckConstraint('allow_negative OR balance >= 0', name=op.f('ck_wallet_accounts_no_overdraft')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_wallet_accounts_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_accounts')),
    sa.UniqueConstraint('code', name=op.f('uq_wallet_accounts_code'))
    )
    op.create_index(op.f('ix_wallet_accounts_updated_at'), 'wallet_accounts', ['updated_at'], unique=False)
    op.create_index('uq_wallet_accounts_owner', 'wallet_accounts', ['user_id', 'kind', 'currency'], unique=True, postgresql_where=sa.text('user_id IS NOT NULL'))
    op.create_table('wallet_transactions',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('description', sa.String(length=300), server_default='', nullable=False),
    sa.Column('initiated_by', sa.BigInteger(), nullable=True),
    sa.Column('reverses_id', sa.BigInteger(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['initiated_by'], ['users.id'], name=op.f('fk_wallet_transactions_initiated_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reverses_id'], ['wallet_transactions.id'], name=op.f('fk_wallet_transactions_reverses_id_wallet_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_transactions'))
    )
    op.create_index(op.f('ix_wallet_transactions_created_at'), 'wallet_transactions', ['created_at'], unique=False)
    op.create_index(op.f('ix_wallet_transactions_kind'), 'wallet_transactions', ['kind'], unique=False)
    op.create_table('wallet_entries',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('transaction_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['wallet_accounts.id'], name=op.f('fk_wallet_entries_account_id_wallet_accounts')),
    sa.ForeignKeyConstraint(['transaction_id'], ['wallet_transactions.id'], name=op.f('fk_wallet_entries_transaction_id_wallet_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_entries')),
    sa.UniqueConstraint('account_id', 'seq', name='uq_wallet_entries_account_seq')
    )
    op.create_index(op.f('ix_wallet_entries_transaction_id'), 'wallet_entries', ['transaction_id'], unique=False)
    op.execute(WALLET_POST_FUNCTION)
    op.execute(WALLET_TRANSFER_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)
    for table, has_updated_at in TRACKED.items():
        track_table(table, has_updated_at=has_updated_at)


def downgrade() -> None:
    for table in TRACKED:
        untrack_table(table)
    op.execute(DROP_SQL)
    op.drop_index(op.f('ix_wallet_entries_transaction_id'), table_name='wallet_entries')
    op.drop_table('wallet_entries')
    op.drop_index(op.f('ix_wallet_transactions_kind'), table_name='wallet_transactions')
    op.drop_index(op.f('ix_wallet_transactions_created_at'), table_name='wallet_transactions')
    op.drop_table('wallet_transactions')
    op.drop_index('uq_wallet_accounts_owner', table_name='wallet_accounts', postgresql_where=sa.text('user_id IS NOT NULL'))
    op.drop_index(op.f('ix_wallet_accounts_updated_at'), table_name='wallet_accounts')
    op.drop_table('wallet_accounts')
    op.drop_index(op.f('ix_idempotency_keys_created_at'), table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
