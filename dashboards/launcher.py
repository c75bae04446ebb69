"""The Dash app as one of the services `ehb up` starts (like api.jobs.launcher.worker_service):
add `dash_service()` to api.launcher.platform_services."""

from __future__ import annotations


def dash_service():
    from api.launcher import ServiceProcess
    from api.settings import get_settings
    from dashboards.serve import service_argv
    from dashboards.settings import get_dash_settings

    settings, dash = get_settings(), get_dash_settings()
    url = f"http://{dash.host}:{settings.dash_port}"
    env = {"DASH_API_URL": dash.api_url or f"http://{settings.api_host}:{settings.api_port}"}
    # /healthz answers without a session and before any snapshot is published.
    return ServiceProcess("Dash analytics", service_argv(settings.dash_port), f"{url}/",
                          f"{url}/healthz", env)
