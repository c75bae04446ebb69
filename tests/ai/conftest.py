"""AI marketplace fixtures: the classifier built once into a temporary models folder, the two
built-in provider processes (real models) started once for the session and registered in the
catalog, and a buyer with a funded wallet."""

from __future__ import annotations

import pytest

from tests.ai.helpers import fund, model_server, new_user


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory):
    from api.ai.builtin import build_models

    return build_models(tmp_path_factory.mktemp("ai-models"))


@pytest.fixture(scope="session")
def providers(models_dir):
    """{"embedding": url, "classifier": url} of running model processes."""
    procs = {kind: model_server(kind, models_dir) for kind in ("embedding", "classifier")}
    try:
        for proc in procs.values():
            proc.start()
        yield {kind: proc.url for kind, proc in procs.items()}
    finally:
        for proc in procs.values():
            proc.stop()


@pytest.fixture(scope="session")
def catalog(database_url, providers, models_dir):
    """slug -> service id of the built-in services, served by `providers`."""
    from api.ai import gateway
    from api.ai.builtin import ensure_builtin_catalog
    from api.db import new_session

    with new_session() as session:
        ids = ensure_builtin_catalog(session, providers, models_dir)
    gateway.forget_catalog()
    return ids


@pytest.fixture
def buyer(catalog):
    """(user, access headers factory input) with 100.00 USD in the wallet."""
    user = new_user()
    fund(user.id, 10_000)
    return user
