from tests.wallet.conftest import funded, idem  # noqa: F401 - shared fixtures
