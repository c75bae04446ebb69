"""complaints: tickets, messages, events, feedback

Revision ID: 0650_complaints
Revises: 
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from api.migrations.helpers import track_table, untrack_table  # noqa: F401

revision = '0650_complaints'
down_revision = None
branch_labels = ('complaints',)
depends_on = '0001_core'

TABLES = ("complaint_tickets", "complaint_events", "complaint_feedback", "complaint_messages")


def upgrade() -> None:
    op.create_table('complaint_tickets',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('order_id', sa.BigInteger(), nullable=True),
    sa.Column('payment_id', sa.BigInteger(), nullable=True),
    sa.Column('assignee_id', sa.BigInteger(), nullable=True),
    sa.Column('first_response_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolution_due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_responded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_breached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolution_breached_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalation_level', sa.BigInteger(), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopen_count', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("category IN ('order', 'payment', 'delivery', 'refund', 'product', 'account', 'seller', 'other')", name=op.f('ck_complaint_tickets_category')),
    sa.CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name=op.f('ck_complaint_tickets_priority')),
    sa.CheckConstraint("status IN ('open', 'pending', 'resolved', 'closed', 'reopened')", name=op.f('ck_complaint_tickets_status')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_complaint_tickets_assignee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], name=op.f('fk_complaint_tickets_customer_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_tickets'))
    )
    op.create_index('ix_complaint_tickets_active_due', 'complaint_tickets', ['status', 'first_response_due_at', 'resolution_due_at'], unique=False)
    op.create_index(op.f('ix_complaint_tickets_assignee_id'), 'complaint_tickets', ['assignee_id'], unique=False)
    op.create_index(op.f('ix_complaint_tickets_customer_id'), 'complaint_tickets', ['customer_id'], unique=False)
    op.create_index(op.f('ix_complaint_tickets_order_id'), 'complaint_tickets', ['order_id'], unique=False)
    op.create_index(op.f('ix_complaint_tickets_payment_id'), 'complaint_tickets', ['payment_id'], unique=False)
    op.create_index(op.f('ix_complaint_tickets_updated_at'), 'complaint_tickets', ['updated_at'], unique=False)
    op.create_table('complaint_events',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('actor_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('from_status', sa.String(length=10), nullable=True),
    sa.Column('to_status', sa.String(length=10), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_complaint_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['complaint_tickets.id'], name=op.f('fk_complaint_events_ticket_id_complaint_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_events'))
    )
    op.create_index(op.f('ix_complaint_events_created_at'), 'complaint_events', ['created_at'], unique=False)
    op.create_index(op.f('ix_complaint_events_ticket_id'), 'complaint_events', ['ticket_id'], unique=False)
    op.create_table('complaint_feedback',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('customer_id', sa.BigInteger(), nullable=False),
    sa.Column('rating', sa.BigInteger(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('rating BETWEEN 1 AND 5', name=op.f('ck_complaint_feedback_rating')),
    sa.ForeignKeyConstraint(['customer_id'], ['users.id'], name=op.f('fk_complaint_feedback_customer_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['complaint_tickets.id'], name=op.f('fk_complaint_feedback_ticket_id_complaint_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_feedback')),
    sa.UniqueConstraint('ticket_id', name=op.f('uq_complaint_feedback_ticket_id'))
    )
    op.create_index(op.f('ix_complaint_feedback_created_at'), 'complaint_feedback', ['created_at'], unique=False)
    op.create_index(op.f('ix_complaint_feedback_customer_id'), 'complaint_feedback', ['customer_id'], unique=False)
    op.create_table('complaint_messages',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.BigInteger(), nullable=False),
    sa.Column('author_id', sa.BigInteger(), nullable=True),
    sa.Column('author_role', sa.String(length=10), nullable=False),
    sa.Column('internal', sa.Boolean(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_complaint_messages_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['complaint_tickets.id'], name=op.f('fk_complaint_messages_ticket_id_complaint_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_messages'))
    )
    op.create_index(op.f('ix_complaint_messages_created_at'), 'complaint_messages', ['created_at'], unique=False)
    op.create_index(op.f('ix_complaint_messages_ticket_id'), 'complaint_messages', ['ticket_id'], unique=False)
    track_table("complaint_tickets")
    for table in ("complaint_events", "complaint_feedback", "complaint_messages"):
        track_table(table, has_updated_at=False)  # append-only


def downgrade() -> None:
    for table in TABLES:
        untrack_table(table)
    op.drop_index(op.f('ix_complaint_messages_ticket_id'), table_name='complaint_messages')
    op.drop_index(op.f('ix_complaint_messages_created_at'), table_name='complaint_messages')
    op.drop_table('complaint_messages')
    op.drop_index(op.f('ix_complaint_feedback_customer_id'), table_name='complaint_feedback')
    op.drop_index(op.f('ix_complaint_feedback_created_at'), table_name='complaint_feedback')
    op.drop_table('complaint_feedback')
    op.drop_index(op.f('ix_complaint_events_ticket_id'), table_name='complaint_events')
    op.drop_index(op.f('ix_complaint_events_created_at'), table_name='complaint_events')
    op.drop_table('complaint_events')
    op.drop_index(op.f('ix_complaint_tickets_updated_at'), table_name='complaint_tickets')
    op.drop_index(op.f('ix_complaint_tickets_payment_id'), table_name='complaint_tickets')
    op.drop_index(op.f('ix_complaint_tickets_order_id'), table_name='complaint_tickets')
    op.drop_index(op.f('ix_complaint_tickets_customer_id'), table_name='complaint_tickets')
    op.drop_index(op.f('ix_complaint_tickets_assignee_id'), table_name='complaint_tickets')
    op.drop_index('ix_complaint_tickets_active_due', table_name='complaint_tickets')
    op.drop_table('complaint_tickets')
