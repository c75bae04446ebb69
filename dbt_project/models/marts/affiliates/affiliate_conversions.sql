-- Per affiliate: referred users, those who converted (at least one commissioned order that
-- was not reversed) and the conversion rate.
with converted as (
    select referral_id, count(*) as orders
    from {{ ref('stg_ehb__affiliate_commissions') }}
    where status <> 'reversed'
    group by 1
)
select
    a.affiliate_id,
    a.affiliate_user_id,
    a.status as affiliate_status,
    count(r.referral_id) as referrals,
    count(c.referral_id) as converted_referrals,
    cast(coalesce(sum(c.orders), 0) as bigint) as commissioned_orders,
    cast(count(c.referral_id) as double) / nullif(count(r.referral_id), 0) as conversion_rate
from {{ ref('stg_ehb__affiliates') }} as a
left join {{ ref('stg_ehb__affiliate_referrals') }} as r using (affiliate_id)
left join converted as c using (referral_id)
group by 1, 2, 3
