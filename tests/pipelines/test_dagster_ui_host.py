"""The Dagster UI has no sign-in: `ehb up` binds it to DAGSTER_HOST (default 127.0.0.1), never
to API_HOST, which an operator sets to 0.0.0.0 to publish the gateway."""

from __future__ import annotations


def _launch_line(monkeypatch, tmp_path, **env: str):
    from api.settings import get_settings
    from pipelines.launcher import dagster_service

    monkeypatch.setenv("DAGSTER_HOME", "placeholder")  # restored on exit, dagster_home() sets it
    monkeypatch.delenv("DAGSTER_HOME")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DAGSTER_HOST", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        service = dagster_service()
    finally:
        get_settings.cache_clear()
    argv = service.argv
    return argv[argv.index("-h") + 1], argv[argv.index("-p") + 1], service.url


def test_a_public_api_host_leaves_the_dagster_ui_on_this_machine(monkeypatch, tmp_path):
    host, port, url = _launch_line(monkeypatch, tmp_path, API_HOST="0.0.0.0", DAGSTER_PORT="3123")
    assert (host, port) == ("127.0.0.1", "3123")
    assert url == "http://127.0.0.1:3123"


def test_dagster_host_is_its_own_setting(monkeypatch):
    """DAGSTER_HOST (env or .env) is what the UI's command line binds to."""
    from api.settings import get_settings
    from pipelines.launcher import dagster_ui_argv

    monkeypatch.setenv("API_HOST", "127.0.0.1")
    monkeypatch.setenv("DAGSTER_HOST", "10.20.30.40")
    get_settings.cache_clear()
    try:
        settings = get_settings()
        argv = dagster_ui_argv(settings.dagster_host, settings.dagster_port)
    finally:
        get_settings.cache_clear()
    assert argv[argv.index("-h") + 1] == "10.20.30.40"
