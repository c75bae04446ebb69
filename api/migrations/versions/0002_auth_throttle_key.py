"""auth: login_throttles delete trigger records its real primary key (key, not id)

0001_core tracked login_throttles with the default pk column "id", which that table does not
have: every DELETE failed on ops_deleted_rows.row_pk NOT NULL.

Revision ID: 0002_auth_throttle_key
Revises: 0001_core
Create Date: 2026-11-25
"""
from __future__ import annotations

from api.migrations.helpers import track_table, untrack_table

revision = '0002_auth_throttle_key'
down_revision = '0001_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    untrack_table("login_throttles")
    track_table("login_throttles", pk="key")


def downgrade() -> None:
    untrack_table("login_throttles")
    track_table("login_throttles")
