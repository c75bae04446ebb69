select * from {{ ref('user_retention_weekly') }} where retention_rate < 0 or retention_rate > 1
