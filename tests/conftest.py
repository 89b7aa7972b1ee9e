"""Shared test configuration: fixtures live in tests/fixtures/, one module per real component."""

pytest_plugins = [
    "tests.fixtures.requirements",
    "tests.fixtures.postgres",
    "tests.fixtures.samba",
    "tests.fixtures.graph_sandbox",
    "tests.fixtures.browser",
]

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _own_data_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dirguard's default data directory (store, secrets) is the test session's own, never the
    user's: a command run without a ``[store]`` (``connect validate`` records the consent state
    there) writes into a throwaway directory."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.getbasetemp() / "xdg-data"))
