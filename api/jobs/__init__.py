"""EHB-JPS: the PostgreSQL-backed job queue (procrastinate): tasks, cron schedules, hooks other
domains register, `ehb worker`, and job status for admins and /metrics."""
