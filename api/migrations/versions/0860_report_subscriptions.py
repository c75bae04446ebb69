"""report subscriptions and export runs

Revision ID: 0860_report_subscriptions
Revises: 0850_reports
Create Date: 2026-11-25 16:25:46.018682
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from api.migrations.helpers import track_table, untrack_table  # noqa: F401

revision = '0860_report_subscriptions'
down_revision = '0850_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('report_subscriptions',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('definition_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('cadence', sa.String(length=8), nullable=False),
    sa.Column('parameters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('last_exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['report_definitions.id'], name=op.f('fk_report_subscriptions_definition_id_report_definitions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_report_subscriptions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_subscriptions')),
    sa.UniqueConstraint('definition_id', 'user_id', 'format', 'cadence', name='uq_report_subscriptions_one_per_cadence')
    )
    op.create_index(op.f('ix_report_subscriptions_definition_id'), 'report_subscriptions', ['definition_id'], unique=False)
    op.create_index(op.f('ix_report_subscriptions_updated_at'), 'report_subscriptions', ['updated_at'], unique=False)
    op.create_index(op.f('ix_report_subscriptions_user_id'), 'report_subscriptions', ['user_id'], unique=False)
    op.create_table('report_export_runs',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('subscription_id', sa.BigInteger(), nullable=True),
    sa.Column('definition_id', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('cadence', sa.String(length=8), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('file_path', sa.Text(), nullable=True),
    sa.Column('rows', sa.BigInteger(), nullable=True),
    sa.Column('bytes', sa.BigInteger(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['definition_id'], ['report_definitions.id'], name=op.f('fk_report_export_runs_definition_id_report_definitions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['subscription_id'], ['report_subscriptions.id'], name=op.f('fk_report_export_runs_subscription_id_report_subscriptions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_report_export_runs_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_export_runs'))
    )
    op.create_index(op.f('ix_report_export_runs_created_at'), 'report_export_runs', ['created_at'], unique=False)
    op.create_index(op.f('ix_report_export_runs_definition_id'), 'report_export_runs', ['definition_id'], unique=False)
    op.create_index(op.f('ix_report_export_runs_subscription_id'), 'report_export_runs', ['subscription_id'], unique=False)
    op.create_index(op.f('ix_report_export_runs_user_id'), 'report_export_runs', ['user_id'], unique=False)
    track_table("report_subscriptions")
    track_table("report_export_runs", has_updated_at=False)  # append-only


def downgrade() -> None:
    untrack_table("report_export_runs")
    untrack_table("report_subscriptions")
    op.drop_index(op.f('ix_report_export_runs_user_id'), table_name='report_export_runs')
    op.drop_index(op.f('ix_report_export_runs_subscription_id'), table_name='report_export_runs')
    op.drop_index(op.f('ix_report_export_runs_definition_id'), table_name='report_export_runs')
    op.drop_index(op.f('ix_report_export_runs_created_at'), table_name='report_export_runs')
    op.drop_table('report_export_runs')
    op.drop_index(op.f('ix_report_subscriptions_user_id'), table_name='report_subscriptions')
    op.drop_index(op.f('ix_report_subscriptions_updated_at'), table_name='report_subscriptions')
    op.drop_index(op.f('ix_report_subscriptions_definition_id'), table_name='report_subscriptions')
    op.drop_table('report_subscriptions')
