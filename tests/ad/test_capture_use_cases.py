"""The capture and history use cases as the CLI and the HTTP API call them: a Runtime over the
configuration (its openers resolve the domain's credential), typed requests and results, and
failures as ServiceError with a Problem kind, on the real DC."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import AdDomainConfig, AdSection, Config
from dirguard.services.capture.use_cases import (
    ActorsRequest,
    CaptureRequest,
    SnapshotRequest,
    capture,
    fill_actors,
    snapshot,
)
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.history_use_cases import (
    ChangesRequest,
    ObjectRequest,
    StateRequest,
    list_changes,
    object_history,
    object_state,
)
from dirguard.services.runtime import Runtime
from dirguard.throwaway.samba_dc import SambaDC

Sessions = sessionmaker[Session]


@pytest.fixture
def runtime(
    store_sessions: Sessions,
    ad_domain: AdDomainConfig,
    samba_dc: SambaDC,
    monkeypatch: pytest.MonkeyPatch,
) -> Runtime:
    monkeypatch.setenv("TEST_DIRGUARD_AD_PASSWORD", samba_dc.admin_password)
    config = Config(ad=AdSection(domains=[ad_domain]))
    return Runtime(config=config, sessions=store_sessions, principal="tester")


@pytest.mark.samba
def test_snapshot_capture_and_history_through_the_runtime(
    runtime: Runtime,
    ad_domain: AdDomainConfig,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    with pytest.raises(ServiceError, match="no baseline") as no_baseline:
        capture(runtime, CaptureRequest())
    assert no_baseline.value.problem is Problem.FAILURE

    seen: list[tuple[str, int]] = []
    request = SnapshotRequest(progress=lambda name, n: seen.append((name, n)))
    (baseline,) = snapshot(runtime, request).snapshots
    assert baseline.domain == ad_domain.name and baseline.new_objects > 0
    assert seen[0] == (ad_domain.name, 0) and seen[-1] == (ad_domain.name, baseline.objects)

    user = unique("uc")
    samba_tool("user", "create", user, "Pa55word!" + user)
    (done,) = capture(runtime, CaptureRequest(domain=ad_domain.name.upper())).captures
    assert done.capture.ops["create"] >= 1
    assert done.actors is None  # the fixture's domain names no audit files
    assert done.as_dict()["actors"] is None and done.as_dict()["events"] == done.capture.events
    assert fill_actors(runtime, ActorsRequest()).domains == {ad_domain.name: None}

    found = list_changes(runtime, ChangesRequest(object_text=user)).changes
    assert [c.op for c in found] == ["create"] and found[0].object["name"] == user
    timeline = object_history(runtime, ObjectRequest(object_text=user))
    assert timeline.object.natural_key == user and timeline.events == found
    state = object_state(runtime, StateRequest(object_text=user, at=runtime.clock())).state
    assert state is not None and state.attributes["sAMAccountName"] == [user]


@pytest.mark.samba
def test_use_case_failures_carry_their_kind(runtime: Runtime) -> None:
    with pytest.raises(ServiceError, match=r"no AD domain 'elsewhere\.example'") as unknown:
        snapshot(runtime, SnapshotRequest(domain="elsewhere.example"))
    assert unknown.value.problem is Problem.NOT_FOUND
    with pytest.raises(ServiceError, match="no object 'nobody-at-all'") as missing:
        object_history(runtime, ObjectRequest(object_text="nobody-at-all"))
    assert missing.value.problem is Problem.FAILURE
    empty = Runtime(config=Config(), sessions=runtime.sessions, principal="tester")
    with pytest.raises(ServiceError, match=r"no \[\[ad.domains\]\]") as none:
        capture(empty, CaptureRequest())
    assert none.value.problem is Problem.CONFIG
