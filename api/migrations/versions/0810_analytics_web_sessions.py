"""analytics: server-side sessions of the Dash app (the cookie holds only an opaque id)

Revision ID: 0810_analytics_web_sessions
Revises: 0800_analytics
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0810_analytics_web_sessions'
down_revision = '0800_analytics'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not tracked (no track_table): sessions never reach the warehouse.
    op.create_table('analytics_web_sessions',
    sa.Column('id_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_analytics_web_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash', name=op.f('pk_analytics_web_sessions'))
    )
    op.create_index(op.f('ix_analytics_web_sessions_expires_at'), 'analytics_web_sessions', ['expires_at'], unique=False)
    op.create_index(op.f('ix_analytics_web_sessions_user_id'), 'analytics_web_sessions', ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_analytics_web_sessions_user_id'), table_name='analytics_web_sessions')
    op.drop_index(op.f('ix_analytics_web_sessions_expires_at'), table_name='analytics_web_sessions')
    op.drop_table('analytics_web_sessions')
