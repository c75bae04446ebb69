-- Monthly statements per franchise and currency, with the sum of their lines: a statement
-- whose header disagrees with its lines is flagged (is_reconciled false). Money in minor units.
with lines as (
    select settlement_id, count(*) as line_count, sum(gross_minor) as gross_minor,
           sum(net_minor) as net_minor, sum(share_minor) as share_minor
    from {{ ref('stg_ehb__franchise_settlement_lines') }}
    group by 1
)
select
    s.settlement_id,
    s.franchise_id,
    f.franchisee_user_id,
    s.period_start,
    s.currency,
    s.share_basis,
    s.share_bps,
    s.status,
    cast(s.order_count as bigint) as order_count,
    cast(s.gross_minor as bigint) as gross_minor,
    cast(s.net_minor as bigint) as net_minor,
    cast(s.share_minor as bigint) as share_minor,
    s.posted_at,
    coalesce(l.line_count, 0) = s.order_count
        and coalesce(l.gross_minor, 0) = s.gross_minor
        and coalesce(l.net_minor, 0) = s.net_minor
        and coalesce(l.share_minor, 0) = s.share_minor as is_reconciled
from {{ ref('stg_ehb__franchise_settlements') }} as s
join {{ ref('stg_ehb__franchises') }} as f using (franchise_id)
left join lines as l using (settlement_id)
