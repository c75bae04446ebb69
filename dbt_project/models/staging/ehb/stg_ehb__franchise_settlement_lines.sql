select
    id as settlement_line_id,
    settlement_id,
    order_id,
    gross_minor,
    net_minor,
    share_minor
from {{ source('ehb', 'franchise_settlement_lines') }}
