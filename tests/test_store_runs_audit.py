"""Runs are opened and closed with their outcome; dirguard's own actions are audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.store.audit import record_audit
from dirguard.store.models import AuditRecord, Run
from dirguard.store.runs import finish_run, start_run


def test_a_run_is_started_and_finished_with_counters(
    store_sessions: sessionmaker[Session],
) -> None:
    with store_sessions.begin() as session:
        run_id = start_run(session, "snapshot", "corp.example").id
    with store_sessions() as session:
        running = session.get_one(Run, run_id)
        assert (running.status, running.finished_at) == ("running", None)
    with store_sessions.begin() as session:
        run = session.get_one(Run, run_id)
        finish_run(session, run, "succeeded", counters={"objects": 1234, "events": 7})
    with store_sessions() as session:
        done = session.get_one(Run, run_id)
        assert done.status == "succeeded"
        assert done.counters == {"objects": 1234, "events": 7}
        assert done.finished_at is not None and done.finished_at >= done.started_at
        assert done.error is None


def test_a_failed_run_keeps_its_error_and_cannot_finish_twice(
    store_sessions: sessionmaker[Session],
) -> None:
    with store_sessions.begin() as session:
        run = start_run(session, "monitor", "tenant.example")
        finish_run(session, run, "failed", error="LDAP server down")
        with pytest.raises(ValueError, match="already finished as failed"):
            finish_run(session, run, "succeeded")
        with pytest.raises(ValueError, match="'running' is not final"):
            finish_run(session, start_run(session, "monitor", None), "running")
        with pytest.raises(ValueError, match="run status 'done'"):
            finish_run(session, start_run(session, "monitor", None), "done")
    with store_sessions() as session:
        stored = session.scalars(select(Run).where(Run.status == "failed")).one()
        assert stored.error == "LDAP server down"


def test_audit_records_keep_actor_details_and_outcome(
    store_sessions: sessionmaker[Session],
) -> None:
    with store_sessions.begin() as session:
        record_audit(
            session,
            actor="alice@corp.example",
            action="rollback.execute",
            target="CN=Bob,OU=Staff,DC=corp,DC=example",
            details={"attributes": ["title"], "objectSid": b"\x01\x05\x00"},
            outcome="succeeded",
        )
        record_audit(session, "dirguard", "snapshot", None, None, "failed")
    with store_sessions() as session:
        records = session.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
        assert [(r.actor, r.action, r.outcome) for r in records] == [
            ("alice@corp.example", "rollback.execute", "succeeded"),
            ("dirguard", "snapshot", "failed"),
        ]
        assert records[0].details == {"attributes": ["title"], "objectSid": b"\x01\x05\x00"}
        assert records[1].details == {}
        with pytest.raises(ValueError, match="audit outcome 'ok'"):
            record_audit(session, "dirguard", "snapshot", None, None, "ok")
