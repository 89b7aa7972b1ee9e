"""Entra capture against the sandbox over HTTPS: a baseline snapshot, then writes through Graph
by another identity (the sandbox's full application; dirguard reads with the read-only one)
stored as exactly the expected events; a repoll with nothing changed stores nothing; an expired
delta token (410) in the middle and a storm of 429/503 answers lose and double nothing."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from dirguard.services.capture.use_cases import (
    CaptureRequest,
    SnapshotRequest,
    capture,
    snapshot,
)
from dirguard.services.history_use_cases import ChangesRequest, list_changes
from dirguard.services.runtime import Runtime
from dirguard.store.models import ChangeEvent, DirectoryObject
from tests.entra.conftest import TENANT, calm, expire_delta_tokens, storm
from tests.fixtures.graph_sandbox import RunningSandbox

SOURCE = f"entra:{TENANT}"


def _snapshot(runtime: Runtime) -> dict[str, Any]:
    report = snapshot(runtime, SnapshotRequest(kind="entra", domain=TENANT))
    return report.snapshots[0].as_dict()


def _capture(runtime: Runtime) -> dict[str, Any]:
    return capture(runtime, CaptureRequest(kind="entra", domain=TENANT)).captures[0].as_dict()


def _events(runtime: Runtime, since: int = 0) -> list[tuple[str, str | None, Any, Any, str]]:
    with runtime.sessions() as session:
        rows = session.execute(
            select(ChangeEvent, DirectoryObject.external_id)
            .join(DirectoryObject, DirectoryObject.id == ChangeEvent.object_id)
            .where(ChangeEvent.source == SOURCE, ChangeEvent.sequence > since)
            .order_by(ChangeEvent.sequence)
        )
        return [(e.op, e.attribute, e.old_value, e.new_value, guid) for e, guid in rows]


def _head(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        found = session.scalar(
            select(func.max(ChangeEvent.sequence)).where(ChangeEvent.source == SOURCE)
        )
    return int(found or 0)


def _a_user(admin: httpx.Client) -> dict[str, Any]:
    users = admin.get("/users", params={"$top": "5"}).json()["value"]
    return dict(users[-1])


def test_snapshot_then_writes_by_another_identity_are_exactly_the_events(
    entra_runtime: Runtime, admin: httpx.Client, graph_sandbox: RunningSandbox
) -> None:
    first = _snapshot(entra_runtime)
    assert first["new_objects"] > 0
    assert _capture(entra_runtime)["events"] == 0, _events(entra_runtime)  # nothing changed

    user = _a_user(admin)
    admin.patch(f"/users/{user['id']}", json={"jobTitle": "Rogue title"}).raise_for_status()
    group = admin.post(
        "/groups",
        json={
            "displayName": "Capture test group",
            "mailEnabled": False,
            "mailNickname": "capturetest",
            "securityEnabled": True,
        },
    ).json()
    head = _head(entra_runtime)
    result = _capture(entra_runtime)
    events = _events(entra_runtime, head)
    assert ("modify", "jobTitle", user.get("jobTitle"), "Rogue title", user["id"]) in events
    created = [e for e in events if e[0] == "create" and e[4] == group["id"]]
    assert len(created) == 1 and created[0][3]["displayName"] == ["Capture test group"]
    assert result["events"] == len(events) == 2
    shown = list_changes(entra_runtime, ChangesRequest(object_text=user["id"])).changes
    assert shown[-1].attribute == "jobTitle" and shown[-1].actor  # from directoryAudits

    head = _head(entra_runtime)
    ref = {"@odata.id": f"{graph_sandbox.info.graph_base}/directoryObjects/{user['id']}"}
    admin.post(f"/groups/{group['id']}/members/$ref", json=ref).raise_for_status()
    _capture(entra_runtime)
    assert _events(entra_runtime, head) == [("add-value", "members", None, user["id"], group["id"])]

    head = _head(entra_runtime)
    admin.delete(f"/groups/{group['id']}").raise_for_status()
    _capture(entra_runtime)
    assert _events(entra_runtime, head) == [
        ("delete", "id", f"groups/{group['id']}", None, group["id"])
    ]
    shown = list_changes(entra_runtime, ChangesRequest(object_text=group["id"])).changes
    assert [c.op for c in shown] == ["create", "add-value", "delete"]


def test_a_repoll_with_nothing_changed_stores_nothing(entra_runtime: Runtime) -> None:
    _snapshot(entra_runtime)
    _capture(entra_runtime)
    head = _head(entra_runtime)
    for _ in range(2):
        assert _capture(entra_runtime)["events"] == 0
    assert _head(entra_runtime) == head
    again = _snapshot(entra_runtime)
    assert again["new_versions"] == 0 and again["deletes_detected"] == 0


def test_an_expired_delta_token_resyncs_without_losing_or_doubling(
    entra_runtime: Runtime, admin: httpx.Client, graph_sandbox: RunningSandbox
) -> None:
    _snapshot(entra_runtime)
    users = admin.get("/users", params={"$top": "4"}).json()["value"]
    admin.patch(f"/users/{users[0]['id']}", json={"jobTitle": "Before expiry"})
    head = _head(entra_runtime)
    expire_delta_tokens(graph_sandbox)
    admin.patch(f"/users/{users[1]['id']}", json={"jobTitle": "After expiry"})
    doomed = admin.post(
        "/groups",
        json={
            "displayName": "Doomed",
            "mailEnabled": False,
            "mailNickname": "doomed",
            "securityEnabled": True,
        },
    ).json()
    result = _capture(entra_runtime)
    events = _events(entra_runtime, head)
    mine = [e for e in events if e[1] == "jobTitle"]
    assert sorted(e[3] for e in mine) == ["After expiry", "Before expiry"]
    assert next(e for e in events if e[4] == doomed["id"])[0] == "create"
    assert result["events"] == len(events)
    # deleted while the token was gone: the full round does not return it, it is recorded deleted
    admin.delete(f"/groups/{doomed['id']}").raise_for_status()
    expire_delta_tokens(graph_sandbox)
    head = _head(entra_runtime)
    _capture(entra_runtime)
    assert [(e[0], e[4]) for e in _events(entra_runtime, head)] == [("delete", doomed["id"])]
    head = _head(entra_runtime)
    assert _capture(entra_runtime)["events"] == 0 and _head(entra_runtime) == head


def test_a_storm_of_429_and_503_still_converges(
    entra_runtime: Runtime, admin: httpx.Client, graph_sandbox: RunningSandbox
) -> None:
    _snapshot(entra_runtime)
    users = admin.get("/users", params={"$top": "6"}).json()["value"]
    head = _head(entra_runtime)
    for n, user in enumerate(users):
        admin.patch(f"/users/{user['id']}", json={"jobTitle": f"Storm {n}"})
    try:
        storm(graph_sandbox, status=429, rate=0.1, duration_seconds=120, retry_after=0.05, seed=3)
        storm(graph_sandbox, status=503, rate=0.1, duration_seconds=120, retry_after=0.05, seed=4)
        _capture(entra_runtime)
        again = _snapshot(entra_runtime)
    finally:
        calm(graph_sandbox)
    titles = sorted(e[3] for e in _events(entra_runtime, head) if e[1] == "jobTitle")
    assert titles == sorted(f"Storm {n}" for n in range(len(users)))
    assert again["new_versions"] == 0


def test_a_410_in_the_middle_of_a_round_resyncs_without_losing_or_doubling(
    entra_runtime: Runtime,
    admin: httpx.Client,
    graph_sandbox: RunningSandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The delta token expires after the first page of a two-page round (the sandbox answers
    100 entries a page) has been stored: the round's next link answers 410, a full round
    follows, diffed against the store."""
    from dirguard.providers.base import ChangePage
    from dirguard.services.capture.capture import capture_source
    from dirguard.services.capture.use_cases import open_source

    _snapshot(entra_runtime)
    users = admin.get("/users", params={"$top": "999"}).json()["value"]
    groups = [
        admin.post(
            "/groups",
            json={
                "displayName": f"Mid-round {n}",
                "mailEnabled": False,
                "mailNickname": f"midround{n}",
                "securityEnabled": True,
            },
        ).json()
        for n in range(110)
    ]
    admin.patch(f"/users/{users[0]['id']}", json={"jobTitle": "Mid-round"})
    head = _head(entra_runtime)
    pages: list[int] = []

    def expire_after_first_page(_session: object, page: ChangePage) -> None:
        if not pages and len(page.changes) == 100:  # the first of the groups round's pages
            pages.append(len(page.changes))
            expire_delta_tokens(graph_sandbox)

    with open_source(entra_runtime, "entra", TENANT) as reader:
        capture_source(entra_runtime.sessions, reader, before_commit=expire_after_first_page)
    assert pages == [100]  # the groups round had a second page when the token expired
    assert "groups is no longer answered (syncStateNotFound)" in caplog.text.replace(
        "the delta link of ", ""
    )
    events = _events(entra_runtime, head)
    created = Counter(e[4] for e in events if e[0] == "create")
    assert {g["id"] for g in groups} <= set(created) and max(created.values()) == 1
    assert [e[3] for e in events if e[1] == "jobTitle"] == ["Mid-round"]
    head = _head(entra_runtime)
    assert _capture(entra_runtime)["events"] == 0 and _head(entra_runtime) == head
