"""Demo data: months of activity produced through the same service functions as the API.

`ehb simulate --days 90 --users N --seed S`. A simulated clock stamps business times
(created_at / occurred_at) on the rows the services create, so the warehouse sees realistic
history; `updated_at` stays the real commit time that incremental ingestion relies on.
"""
