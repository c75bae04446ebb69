"""report definitions

Revision ID: 0850_reports
Revises:
Create Date: 2026-11-25 15:37:01.551944
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from api.migrations.helpers import track_table, untrack_table  # noqa: F401

revision = '0850_reports'
down_revision = None
branch_labels = ('reports',)
depends_on = '0001_core'


def upgrade() -> None:
    op.create_table('report_definitions',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('sql', sa.Text(), nullable=False),
    sa.Column('parameters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('default_filters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('chart', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_report_definitions_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_definitions')),
    sa.UniqueConstraint('name', name=op.f('uq_report_definitions_name'))
    )
    op.create_index(op.f('ix_report_definitions_owner_id'), 'report_definitions', ['owner_id'], unique=False)
    op.create_index(op.f('ix_report_definitions_updated_at'), 'report_definitions', ['updated_at'], unique=False)
    track_table("report_definitions")


def downgrade() -> None:
    untrack_table("report_definitions")
    op.drop_index(op.f('ix_report_definitions_updated_at'), table_name='report_definitions')
    op.drop_index(op.f('ix_report_definitions_owner_id'), table_name='report_definitions')
    op.drop_table('report_definitions')
