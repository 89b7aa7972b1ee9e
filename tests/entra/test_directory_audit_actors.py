"""Who made an Entra change: the tenant's directoryAudits, read over HTTPS from the sandbox from a
stored position, correlated with the change events dirguard stored (target id, property, value,
time), late records filled in by a later pass, nothing guessed."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from dirguard.core.change_op import ChangeOp
from dirguard.providers.entra.audit_records import SOURCE_NAME
from dirguard.providers.entra.directory_audit import DirectoryAuditSource, parse_position
from dirguard.services.capture.actor_fill import fill_actors
from dirguard.store.models import ChangeEvent
from tests.entra.helpers import (
    SOURCE,
    dirguard_graph,
    record_change,
    record_object,
    rogue_app,
    rogue_user,
    store,
)
from tests.fixtures.graph_sandbox import RunningSandbox


def _actors(sessions: object, ids: list[int]) -> dict[int, tuple[str | None, str | None]]:
    with sessions() as session:  # type: ignore[operator]
        rows = session.scalars(select(ChangeEvent).where(ChangeEvent.id.in_(ids)))
        return {e.id: (e.actor, e.actor_address) for e in rows}


def test_changes_get_the_user_or_app_that_made_them_with_the_address(
    graph_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sessions = store(tmp_path)
    info = graph_sandbox.info
    with graph_sandbox.client() as admin:
        users = admin.get("/users", params={"$top": "3"}).json()["value"]
        group = admin.post(
            "/groups",
            json={
                "displayName": "Tier 0 admins",
                "mailEnabled": False,
                "mailNickname": "tier0",
                "securityEnabled": True,
            },
        ).json()
        added = admin.post(
            f"/groups/{group['id']}/members/$ref",
            json={"@odata.id": f"{info.graph_base}/directoryObjects/{users[1]['id']}"},
        )
        assert added.status_code == 204, added.text
    with sessions.begin() as session:
        user = record_object(session, "entra.user", users[0])
        renamed = record_object(session, "entra.user", users[2])
        stored_group = record_object(session, "entra.group", {**group, "members": [users[1]["id"]]})
    with rogue_user(graph_sandbox) as rogue:
        assert rogue.patch(f"/users/{users[0]['id']}", json={"accountEnabled": False}).is_success
        removed = rogue.delete(f"/groups/{group['id']}/members/{users[1]['id']}/$ref")
        assert removed.status_code == 204, removed.text
    with rogue_app(graph_sandbox, "night job", ("User.ReadWrite.All",)) as app:
        assert app.patch(f"/users/{users[2]['id']}", json={"jobTitle": "Intruder"}).is_success
    with sessions.begin() as session:
        disabled = record_change(session, user, ChangeOp.MODIFY, "accountEnabled", True, False)
        dropped = record_change(
            session, stored_group, ChangeOp.REMOVE_VALUE, "members", users[1]["id"], None
        )
        titled = record_change(session, renamed, ChangeOp.MODIFY, "jobTitle", None, "Intruder")
        never = record_change(session, renamed, ChangeOp.MODIFY, "department", None, "Nowhere")

    with dirguard_graph(graph_sandbox) as graph, sessions.begin() as session:
        report = fill_actors(session, source=SOURCE, audit=DirectoryAuditSource(graph))
    assert report.filled == 3
    found = _actors(sessions, [disabled, dropped, titled, never])
    admin_upn = info.admin_user_principal_name
    assert found[disabled] == (admin_upn, "127.0.0.1")
    assert found[dropped] == (admin_upn, "127.0.0.1")
    assert found[titled] == ("night job", None)
    assert found[never] == (None, None), "a change no audit record names stays unknown"
    with sessions() as session:
        assert session.get_one(ChangeEvent, disabled).actor_source == SOURCE_NAME


def test_a_record_that_appears_late_fills_the_actor_on_a_later_pass(
    graph_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Entra's audit log lags minutes behind the write: the first pass finds no record and
    leaves the actor unknown; once the record appears (with its true time, behind records read
    already) the next pass from the stored position fills it in, and a third pass reads
    nothing twice."""
    sessions = store(tmp_path)
    state = graph_sandbox.state
    with graph_sandbox.client() as admin:
        target = admin.get("/users", params={"$top": "5"}).json()["value"][4]
    with sessions.begin() as session:
        user = record_object(session, "entra.user", target)
    with dirguard_graph(graph_sandbox) as graph, sessions.begin() as session:
        fill_actors(session, source=SOURCE, audit=DirectoryAuditSource(graph))
    previous = state.audit_latency
    state.audit_latency = 3600.0
    try:
        with rogue_app(graph_sandbox, "slow job", ("User.ReadWrite.All",)) as app:
            assert app.patch(f"/users/{target['id']}", json={"officeLocation": "Attic"}).is_success
        with graph_sandbox.client() as admin:  # an unrelated write whose record shows at once
            state.audit_latency = 0.0
            assert admin.patch(f"/users/{target['id']}", json={"mobilePhone": "+1 555"}).is_success
        with sessions.begin() as session:
            moved = record_change(session, user, ChangeOp.MODIFY, "officeLocation", None, "Attic")
        with dirguard_graph(graph_sandbox) as graph, sessions.begin() as session:
            first = fill_actors(session, source=SOURCE, audit=DirectoryAuditSource(graph))
        assert _actors(sessions, [moved])[moved] == (None, None)
        assert first.unknown >= 1
        state.audit_visible_at.clear()  # the held-back record's time has come
        with dirguard_graph(graph_sandbox) as graph, sessions.begin() as session:
            second = fill_actors(session, source=SOURCE, audit=DirectoryAuditSource(graph))
        assert _actors(sessions, [moved])[moved] == ("slow job", None)
        assert second.filled == 1
        with dirguard_graph(graph_sandbox) as graph:
            source = DirectoryAuditSource(graph)
            everything = source.read_after(None)
            again = source.read_after(everything.position)
        assert any(p.record.source_id for p in everything.records)
        assert again.records == (), "a read from the position after everything reads nothing"
        since, seen = parse_position(everything.position)
        assert since.tzinfo is not None and seen
    finally:
        state.audit_latency = previous
