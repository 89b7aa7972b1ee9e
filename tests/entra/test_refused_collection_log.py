"""A collection Graph refuses to dirguard's application (terms of use agreements: Microsoft's
page says "Application: Not supported") is logged once per reader, not on every pass of a
monitor that keeps its reader: a WARNING the first time, DEBUG after."""

from __future__ import annotations

import logging

import pytest

from dirguard.providers.readers import reading_provider
from dirguard.services.runtime import Runtime
from tests.entra.conftest import TENANT


def test_a_refused_collection_warns_once_per_reader(
    entra_runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    reader = reading_provider("entra").open_reader(entra_runtime, TENANT)
    try:
        scopes = {s.name: s for s in reader.scopes()}
        scope = next(s for name, s in scopes.items() if "agreements" in name)
        with caplog.at_level(logging.DEBUG, logger="dirguard"):
            cursor = reader.start_cursor(scope)
            for _ in range(3):
                assert list(reader.read_changes(scope, cursor)) == []
        about = [r for r in caplog.records if "agreements" in r.getMessage()]
        warnings = [r for r in about if r.levelno >= logging.WARNING]
        assert len(warnings) == 1, [r.getMessage() for r in about]
        assert "403" in warnings[0].getMessage() or "Forbidden" in warnings[0].getMessage()
        assert sum(r.levelno == logging.DEBUG for r in about) >= 2
    finally:
        reader.close()
