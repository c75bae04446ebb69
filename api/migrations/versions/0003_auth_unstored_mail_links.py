"""auth: no usable single-use link left in the outbox

Verification and reset mails used to be written to notification_outbox with their link in
the body and the token in the payload, readable by the account's owner through the API (so
by anyone holding a stolen access token) and by any reader of the table. Links are now minted
at delivery (api.auth.mail). This revision removes the stored tokens and links, ends every
outstanding mailed token (each was readable there: request a new mail), and marks pending
link mails failed, since they can no longer carry a working link.

Revision ID: 0003_auth_unstored_mail_links
Revises: 0002_auth_throttle_key
Create Date: 2026-12-05
"""
from __future__ import annotations

from alembic import op

revision = '0003_auth_unstored_mail_links'
down_revision = '0002_auth_throttle_key'
branch_labels = None
depends_on = None

_SECURITY = "(category LIKE 'auth.%' OR category LIKE 'security.%')"


def upgrade() -> None:
    op.execute(f"""
        UPDATE notification_outbox
           SET status = CASE WHEN status = 'pending' THEN 'failed' ELSE status END,
               next_attempt_at = CASE WHEN status = 'pending' THEN NULL ELSE next_attempt_at END,
               last_error = CASE WHEN status = 'pending'
                                 THEN 'its link was removed at upgrade; request a new one'
                                 ELSE last_error END,
               payload = payload - 'token' - 'url',
               body = regexp_replace(body, 'token=[A-Za-z0-9_-]+', 'token=[removed]', 'g')
         WHERE {_SECURITY} AND (payload ? 'token' OR body ~ 'token=[A-Za-z0-9_-]+')
    """)
    op.execute("UPDATE email_tokens SET used_at = now() WHERE used_at IS NULL")


def downgrade() -> None:
    pass  # removed tokens cannot be restored (nor should they be)
