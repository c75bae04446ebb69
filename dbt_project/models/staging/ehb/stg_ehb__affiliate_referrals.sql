select
    id as referral_id,
    affiliate_id,
    referred_user_id,
    kind,
    first_touch_at,
    expires_at,
    created_at
from {{ source('ehb', 'affiliate_referrals') }}
