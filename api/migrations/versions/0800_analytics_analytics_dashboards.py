"""analytics dashboards

Revision ID: 0800_analytics
Revises:
Create Date: 2026-11-25 15:30:54.597855
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from api.migrations.helpers import track_table, untrack_table  # noqa: F401

revision = '0800_analytics'
down_revision = None
branch_labels = ('analytics',)
depends_on = '0001_core'


def upgrade() -> None:
    op.create_table('analytics_dashboards',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('charts', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('filters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_analytics_dashboards_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytics_dashboards')),
    sa.UniqueConstraint('owner_id', 'name', name=op.f('uq_analytics_dashboards_owner_id_name'))
    )
    op.create_index(op.f('ix_analytics_dashboards_owner_id'), 'analytics_dashboards', ['owner_id'], unique=False)
    op.create_index(op.f('ix_analytics_dashboards_updated_at'), 'analytics_dashboards', ['updated_at'], unique=False)
    track_table("analytics_dashboards")


def downgrade() -> None:
    untrack_table("analytics_dashboards")
    op.drop_index(op.f('ix_analytics_dashboards_updated_at'), table_name='analytics_dashboards')
    op.drop_index(op.f('ix_analytics_dashboards_owner_id'), table_name='analytics_dashboards')
    op.drop_table('analytics_dashboards')
