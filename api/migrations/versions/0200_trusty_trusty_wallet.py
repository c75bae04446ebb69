"""trusty wallet

Revision ID: 0200_trusty
Revises: 
Create Date: 2026-11-25 15:42:05.942810
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from api.migrations.helpers import track_table, untrack_table

TRACKED = {"trusty_policies": True, "fraud_cases": True, "trusty_requests": True,
           "trusty_policy_approvers": False, "trusty_approvals": False,
           "fraud_decisions": False}  # table: has updated_at

revision = '0200_trusty'
down_revision = None
branch_labels = ('trusty',)
depends_on = ['0001_core', '0100_wallet']


def upgrade() -> None:
    op.create_table('fraud_decisions',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('counterparty_id', sa.BigInteger(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('client_ip', sa.String(length=64), nullable=True),
    sa.Column('device_id', sa.String(length=128), nullable=True),
    sa.Column('score', sa.BigInteger(), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=False),
    sa.Column('reasons', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_fraud_decisions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fraud_decisions'))
    )
    op.create_index('ix_fraud_decisions_device_time', 'fraud_decisions', ['device_id', 'created_at'], unique=False)
    op.create_index('ix_fraud_decisions_ip_time', 'fraud_decisions', ['client_ip', 'created_at'], unique=False)
    op.create_index('ix_fraud_decisions_user_time', 'fraud_decisions', ['user_id', 'created_at'], unique=False)
    op.create_table('trusty_policies',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('threshold', sa.BigInteger(), nullable=False),
    sa.Column('required', sa.BigInteger(), nullable=False),
    sa.Column('approval_ttl_seconds', sa.BigInteger(), nullable=False),
    sa.Column('vault_delay_seconds', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('required >= 1', name=op.f('ck_trusty_policies_required_positive')),
    sa.CheckConstraint('threshold > 0', name=op.f('ck_trusty_policies_threshold_positive')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_trusty_policies_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusty_policies')),
    sa.UniqueConstraint('user_id', 'currency', name='uq_trusty_policies_user_currency')
    )
    op.create_index(op.f('ix_trusty_policies_updated_at'), 'trusty_policies', ['updated_at'], unique=False)
    op.create_table('fraud_cases',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('decision_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('to_user_id', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reviewer_id', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('hold_tx_id', sa.BigInteger(), nullable=True),
    sa.Column('settle_tx_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['decision_id'], ['fraud_decisions.id'], name=op.f('fk_fraud_cases_decision_id_fraud_decisions')),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_fraud_cases_reviewer_id_users')),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_fraud_cases_to_user_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_fraud_cases_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fraud_cases')),
    sa.UniqueConstraint('decision_id', name=op.f('uq_fraud_cases_decision_id'))
    )
    op.create_index(op.f('ix_fraud_cases_status'), 'fraud_cases', ['status'], unique=False)
    op.create_index(op.f('ix_fraud_cases_updated_at'), 'fraud_cases', ['updated_at'], unique=False)
    op.create_index(op.f('ix_fraud_cases_user_id'), 'fraud_cases', ['user_id'], unique=False)
    op.create_table('trusty_policy_approvers',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['trusty_policies.id'], name=op.f('fk_trusty_policy_approvers_policy_id_trusty_policies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_trusty_policy_approvers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusty_policy_approvers')),
    sa.UniqueConstraint('policy_id', 'user_id', name='uq_trusty_policy_approvers_pair')
    )
    op.create_table('trusty_requests',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('requester_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('to_user_id', sa.BigInteger(), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('execute_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hold_tx_id', sa.BigInteger(), nullable=True),
    sa.Column('settle_tx_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['trusty_policies.id'], name=op.f('fk_trusty_requests_policy_id_trusty_policies')),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_trusty_requests_requester_id_users')),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_trusty_requests_to_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusty_requests'))
    )
    op.create_index(op.f('ix_trusty_requests_requester_id'), 'trusty_requests', ['requester_id'], unique=False)
    op.create_index('ix_trusty_requests_status_expires', 'trusty_requests', ['status', 'expires_at'], unique=False)
    op.create_index(op.f('ix_trusty_requests_updated_at'), 'trusty_requests', ['updated_at'], unique=False)
    op.create_table('trusty_approvals',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.BigInteger(), nullable=False),
    sa.Column('approver_id', sa.BigInteger(), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['approver_id'], ['users.id'], name=op.f('fk_trusty_approvals_approver_id_users')),
    sa.ForeignKeyConstraint(['request_id'], ['trusty_requests.id'], name=op.f('fk_trusty_approvals_request_id_trusty_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusty_approvals')),
    sa.UniqueConstraint('request_id', 'approver_id', name='uq_trusty_approvals_once')
    )
    op.create_index(op.f('ix_trusty_approvals_request_id'), 'trusty_approvals', ['request_id'], unique=False)
    for table, has_updated_at in TRACKED.items():
        track_table(table, has_updated_at=has_updated_at)


def downgrade() -> None:
    for table in TRACKED:
        untrack_table(table)
    op.drop_index(op.f('ix_trusty_approvals_request_id'), table_name='trusty_approvals')
    op.drop_table('trusty_approvals')
    op.drop_index(op.f('ix_trusty_requests_updated_at'), table_name='trusty_requests')
    op.drop_index('ix_trusty_requests_status_expires', table_name='trusty_requests')
    op.drop_index(op.f('ix_trusty_requests_requester_id'), table_name='trusty_requests')
    op.drop_table('trusty_requests')
    op.drop_table('trusty_policy_approvers')
    op.drop_index(op.f('ix_fraud_cases_user_id'), table_name='fraud_cases')
    op.drop_index(op.f('ix_fraud_cases_updated_at'), table_name='fraud_cases')
    op.drop_index(op.f('ix_fraud_cases_status'), table_name='fraud_cases')
    op.drop_table('fraud_cases')
    op.drop_index(op.f('ix_trusty_policies_updated_at'), table_name='trusty_policies')
    op.drop_table('trusty_policies')
    op.drop_index('ix_fraud_decisions_user_time', table_name='fraud_decisions')
    op.drop_index('ix_fraud_decisions_ip_time', table_name='fraud_decisions')
    op.drop_index('ix_fraud_decisions_device_time', table_name='fraud_decisions')
    op.drop_table('fraud_decisions')
