"""For `ehb up`: the built-in AI providers as supervised child processes (like
api.jobs.launcher.worker_service). Before they start, one child process runs the build step
(the iris classifier trained and converted to ONNX under AI_MODELS_DIR when missing) and
registers the built-in catalog, so the launcher itself never imports scikit-learn."""

from __future__ import annotations

import subprocess
import sys


def ai_provider_services() -> list:
    from api.ai.config import ai_settings, models_dir
    from rich.console import Console

    from api.launcher import ServiceProcess

    with Console(stderr=True).status("AI models: building when missing, registering the built-in catalog"):
        subprocess.run([sys.executable, "-c", "from api.ai.cli import bootstrap_builtin; "
                        "bootstrap_builtin()"], check=True)
    settings = ai_settings()
    services = []
    for kind, port in (("embedding", settings.embedding_port),
                       ("classifier", settings.classifier_port)):
        url = f"http://{settings.provider_host}:{port}"
        services.append(ServiceProcess(
            f"AI provider: {kind}",
            [sys.executable, "-m", "api.ai.modelserver", kind, "--host", settings.provider_host,
             "--port", str(port), "--models-dir", str(models_dir())],
            f"{url}/health", f"{url}/health"))
    return services
