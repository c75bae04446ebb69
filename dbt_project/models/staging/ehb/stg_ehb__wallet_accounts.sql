select id as account_id, code, kind, user_id, currency, balance, last_seq, created_at
from {{ source('ehb', 'wallet_accounts') }}
