"""trusty: requests keep their approvers, quorum and delay; weakening a policy is a change the
current approvers decide; policy thresholds become wallet approval limits; wallet_transfer
answers and stores its refusals

Revision ID: 0220_trusty
Revises: 0210_trusty
Create Date: 2026-12-06 10:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from api.migrations.helpers import track_table, untrack_table
from api.wallet.approval_sql import WALLET_TRANSFER_ANSWERING_FUNCTION
from api.wallet.ledger_sql import WALLET_TRANSFER_SCORED_FUNCTION

TRACKED = {"trusty_policy_changes": True, "trusty_policy_change_votes": False}  # has updated_at

revision = '0220_trusty'
down_revision = '0210_trusty'
branch_labels = None
depends_on = ['0120_wallet']


def upgrade() -> None:
    # Requests opened before this revision keep what their policy says now.
    op.add_column('trusty_requests', sa.Column('required', sa.BigInteger(), nullable=True))
    op.add_column('trusty_requests', sa.Column('vault_delay_seconds', sa.BigInteger(), nullable=True))
    op.execute("UPDATE trusty_requests r SET required = p.required, "
               "vault_delay_seconds = p.vault_delay_seconds "
               "FROM trusty_policies p WHERE p.id = r.policy_id")
    op.alter_column('trusty_requests', 'required', nullable=False)
    op.alter_column('trusty_requests', 'vault_delay_seconds', nullable=False)
    op.create_table('trusty_request_approvers',
    sa.Column('request_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['trusty_requests.id'], name=op.f('fk_trusty_request_approvers_request_id_trusty_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_trusty_request_approvers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('request_id', 'user_id', name=op.f('pk_trusty_request_approvers'))
    )
    op.create_index(op.f('ix_trusty_request_approvers_user_id'), 'trusty_request_approvers', ['user_id'], unique=False)
    op.execute("INSERT INTO trusty_request_approvers (request_id, user_id) "
               "SELECT r.id, a.user_id FROM trusty_requests r "
               "JOIN trusty_policy_approvers a ON a.policy_id = r.policy_id")
    op.create_table('trusty_policy_changes',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('policy_id', sa.BigInteger(), nullable=False),
    sa.Column('requester_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('threshold', sa.BigInteger(), nullable=False),
    sa.Column('required', sa.BigInteger(), nullable=False),
    sa.Column('approver_ids', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('approval_ttl_seconds', sa.BigInteger(), nullable=False),
    sa.Column('vault_delay_seconds', sa.BigInteger(), nullable=False),
    sa.Column('weakens', postgresql.ARRAY(sa.String(length=32)), nullable=False),
    sa.Column('decider_ids', postgresql.ARRAY(sa.BigInteger()), nullable=False),
    sa.Column('quorum', sa.BigInteger(), nullable=False),
    sa.Column('delay_seconds', sa.BigInteger(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('execute_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['policy_id'], ['trusty_policies.id'], name=op.f('fk_trusty_policy_changes_policy_id_trusty_policies'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requester_id'], ['users.id'], name=op.f('fk_trusty_policy_changes_requester_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusty_policy_changes'))
    )
    op.create_index(op.f('ix_trusty_policy_changes_policy_id'), 'trusty_policy_changes', ['policy_id'], unique=False)
    op.create_index('ix_trusty_policy_changes_status_expires', 'trusty_policy_changes', ['status', 'expires_at'], unique=False)
    op.create_index(op.f('ix_trusty_policy_changes_updated_at'), 'trusty_policy_changes', ['updated_at'], unique=False)
    op.create_table('trusty_policy_change_votes',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('change_id', sa.BigInteger(), nullable=False),
    sa.Column('approver_id', sa.BigInteger(), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['approver_id'], ['users.id'], name=op.f('fk_trusty_policy_change_votes_approver_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['change_id'], ['trusty_policy_changes.id'], name=op.f('fk_trusty_policy_change_votes_change_id_trusty_policy_changes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trusty_policy_change_votes')),
    sa.UniqueConstraint('change_id', 'approver_id', name='uq_trusty_policy_change_votes_once')
    )
    op.create_index(op.f('ix_trusty_policy_change_votes_change_id'), 'trusty_policy_change_votes', ['change_id'], unique=False)
    for table, has_updated_at in TRACKED.items():
        track_table(table, has_updated_at=has_updated_at)
    # Every policy's threshold is its owner's wallet approval limit from now on.
    op.execute("INSERT INTO wallet_approval_limits (user_id, currency, threshold) "
               "SELECT user_id, currency, threshold FROM trusty_policies "
               "ON CONFLICT (user_id, currency) DO UPDATE SET threshold = EXCLUDED.threshold")
    op.execute(WALLET_TRANSFER_ANSWERING_FUNCTION)


def downgrade() -> None:
    op.execute(WALLET_TRANSFER_SCORED_FUNCTION)
    op.execute("DELETE FROM wallet_approval_limits")
    for table in TRACKED:
        untrack_table(table)
    op.drop_index(op.f('ix_trusty_policy_change_votes_change_id'), table_name='trusty_policy_change_votes')
    op.drop_table('trusty_policy_change_votes')
    op.drop_index(op.f('ix_trusty_policy_changes_updated_at'), table_name='trusty_policy_changes')
    op.drop_index('ix_trusty_policy_changes_status_expires', table_name='trusty_policy_changes')
    op.drop_index(op.f('ix_trusty_policy_changes_policy_id'), table_name='trusty_policy_changes')
    op.drop_table('trusty_policy_changes')
    op.drop_index(op.f('ix_trusty_request_approvers_user_id'), table_name='trusty_request_approvers')
    op.drop_table('trusty_request_approvers')
    op.drop_column('trusty_requests', 'vault_delay_seconds')
    op.drop_column('trusty_requests', 'required')
