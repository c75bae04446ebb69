from api.core.permissions import permission

# Admin only (admin holds every permission).
JOBS_READ = permission("jobs:read", description="job queue status and counts")
