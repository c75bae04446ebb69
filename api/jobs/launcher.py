"""For `ehb up`: the job worker as one more supervised child process.

    # api/launcher.py, platform_services():
    from api.jobs.launcher import worker_service
    return [ServiceProcess("API gateway", ...), worker_service()]
"""

from __future__ import annotations

import sys


def worker_service():
    from api.jobs.settings import get_jobs_settings
    from api.launcher import ServiceProcess

    queues = ", ".join(f"{q}x{n}" for q, n in get_jobs_settings().concurrency().items())
    # No health URL: the supervisor notices if it exits; liveness is ehb_job_workers in /metrics.
    return ServiceProcess("job worker", [sys.executable, "-m", "api.jobs"], f"queues {queues}")
