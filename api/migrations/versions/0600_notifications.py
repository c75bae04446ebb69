"""notifications: preferences, delivery attempts, sms sink

Revision ID: 0600_notifications
Revises: 
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.migrations.helpers import track_table, untrack_table  # noqa: F401

revision = '0600_notifications'
down_revision = None
branch_labels = ('notifications',)
depends_on = '0001_core'


def upgrade() -> None:
    op.create_table('notification_sms_sink',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('to_number', sa.String(length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_sms_sink'))
    )
    op.create_index(op.f('ix_notification_sms_sink_created_at'), 'notification_sms_sink', ['created_at'], unique=False)
    op.create_index(op.f('ix_notification_sms_sink_to_number'), 'notification_sms_sink', ['to_number'], unique=False)
    op.create_table('notification_preferences',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_preferences')),
    sa.UniqueConstraint('user_id', 'channel', 'category', name=op.f('uq_notification_preferences_user_id_channel_category'))
    )
    op.create_index(op.f('ix_notification_preferences_updated_at'), 'notification_preferences', ['updated_at'], unique=False)
    op.create_index(op.f('ix_notification_preferences_user_id'), 'notification_preferences', ['user_id'], unique=False)
    op.create_table('notification_delivery_attempts',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('message_id', sa.BigInteger(), nullable=False),
    sa.Column('attempt', sa.BigInteger(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('provider_ref', sa.String(length=200), nullable=True),
    sa.Column('duration_ms', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['notification_outbox.id'], name=op.f('fk_notification_delivery_attempts_message_id_notification_outbox'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_delivery_attempts'))
    )
    op.create_index(op.f('ix_notification_delivery_attempts_created_at'), 'notification_delivery_attempts', ['created_at'], unique=False)
    op.create_index(op.f('ix_notification_delivery_attempts_message_id'), 'notification_delivery_attempts', ['message_id'], unique=False)
    track_table("notification_preferences")
    # Append-only tables: no updated_at to keep true, deletes still recorded.
    track_table("notification_delivery_attempts", has_updated_at=False)
    track_table("notification_sms_sink", has_updated_at=False)


def downgrade() -> None:
    for table in ("notification_preferences", "notification_delivery_attempts",
                  "notification_sms_sink"):
        untrack_table(table)
    op.drop_index(op.f('ix_notification_delivery_attempts_message_id'), table_name='notification_delivery_attempts')
    op.drop_index(op.f('ix_notification_delivery_attempts_created_at'), table_name='notification_delivery_attempts')
    op.drop_table('notification_delivery_attempts')
    op.drop_index(op.f('ix_notification_preferences_user_id'), table_name='notification_preferences')
    op.drop_index(op.f('ix_notification_preferences_updated_at'), table_name='notification_preferences')
    op.drop_table('notification_preferences')
    op.drop_index(op.f('ix_notification_sms_sink_to_number'), table_name='notification_sms_sink')
    op.drop_index(op.f('ix_notification_sms_sink_created_at'), table_name='notification_sms_sink')
    op.drop_table('notification_sms_sink')
