"""auth: known_devices (a sign-in from a known device passes an account-wide login lock)

Revision ID: 0004_auth_known_devices
Revises: 0003_auth_unstored_mail_links
Create Date: 2026-12-05
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_auth_known_devices'
down_revision = '0003_auth_unstored_mail_links'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'known_devices',
        sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('device_hash', sa.String(length=64), nullable=False),
        sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                  nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_known_devices_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_known_devices')),
        sa.UniqueConstraint('user_id', 'device_hash',
                            name=op.f('uq_known_devices_user_id_device_hash')),
    )
    op.create_index(op.f('ix_known_devices_user_id'), 'known_devices', ['user_id'])
    op.create_index(op.f('ix_known_devices_updated_at'), 'known_devices', ['updated_at'])


def downgrade() -> None:
    op.drop_index(op.f('ix_known_devices_updated_at'), table_name='known_devices')
    op.drop_index(op.f('ix_known_devices_user_id'), table_name='known_devices')
    op.drop_table('known_devices')
