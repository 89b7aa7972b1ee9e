"""Shared test configuration: fixtures live in tests/fixtures/, one module per real component."""

pytest_plugins = [
    "tests.fixtures.requirements",
    "tests.fixtures.postgres",
    "tests.fixtures.samba",
    "tests.fixtures.graph_sandbox",
]
