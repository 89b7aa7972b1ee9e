"""Entra rules over the generic event shape, on events stored through the store API (the Entra
capture is being built beside this work: these events have the shape it stores — resource type
``entra.*``, attribute path, op, old/new value, actor from directoryAudits — but were written
here, not captured from the sandbox). Alerts are delivered to a real local HTTP server (signed
webhook) and a real UDP socket (RFC 5424 syslog)."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import Config
from dirguard.core.change_op import ChangeOp
from dirguard.services.runtime import Runtime
from dirguard.services.threats.alert_cases import AlertQuery, list_alerts, set_state, show_alert
from dirguard.services.threats.definitions import rules_in_force
from dirguard.services.threats.detect import detect_source
from dirguard.services.threats.notify import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from dirguard.services.threats.scan import ScanRequest, scan
from dirguard.store.column_types import utcnow
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import DirectoryObject, ObjectVersion

SOURCE = "entra:contoso"
MALLORY = "mallory@contoso.example"
GA = "62e90394-69f5-4237-9190-012177145e10"
Sessions = sessionmaker[Session]


class Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def webhook() -> Iterator[str]:
    Hook.received = []
    server = HTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/T0KEN-in-path"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def syslog_socket() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    try:
        yield sock
    finally:
        sock.close()


def _object(sessions: Sessions, resource_type: str, name: str, content: dict[str, Any]) -> int:
    with sessions.begin() as session:
        obj = DirectoryObject(
            source=SOURCE,
            resource_type=resource_type,
            external_id=str(uuid.uuid4()),
            natural_key=name,
            path=f"{resource_type}/{name}",
        )
        session.add(obj)
        session.flush()
        session.add(
            ObjectVersion(object_id=obj.id, version=1, content=content, content_hash="0" * 64)
        )
        return obj.id


def _change(
    sessions: Sessions,
    object_id: int,
    op: ChangeOp,
    attribute: str | None,
    old: Any,
    new: Any,
    actor: str = MALLORY,
) -> None:
    with sessions.begin() as session:
        append_events(
            session,
            [
                NewChangeEvent(
                    object_id=object_id,
                    op=op,
                    attribute=attribute,
                    old_value=old,
                    new_value=new,
                    actor=actor,
                    actor_source="directoryAudits",
                    actor_address="203.0.113.7",
                )
            ],
        )


def _runtime(sessions: Sessions, **threats: Any) -> Runtime:
    config = Config.model_validate({"threats": threats})
    return Runtime(config=config, sessions=sessions, principal="analyst")


def test_entra_changes_raise_alerts_with_actor_and_address_and_are_delivered(
    store_sessions: Sessions,
    webhook: str,
    syslog_socket: socket.socket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_WEBHOOK_KEY", "s3cret-signing-key")
    port = syslog_socket.getsockname()[1]
    runtime = _runtime(
        store_sessions,
        webhooks=[
            {"url": webhook, "signing_secret": "env:TEST_WEBHOOK_KEY", "min_severity": "high"}
        ],
        syslog=[{"host": "127.0.0.1", "port": port, "format": "cef", "min_severity": "high"}],
        rules={"ENTRA-CA-DISABLED": {"exclude_actors": ["breakglass@contoso.example"]}},
    )
    rules = rules_in_force(runtime.config.threats)
    start = utcnow() - timedelta(seconds=1)
    policy = _object(
        store_sessions, "entra.conditional_access_policy", "Require MFA", {"state": "enabled"}
    )
    other = _object(
        store_sessions, "entra.conditional_access_policy", "Block legacy", {"state": "enabled"}
    )
    role = _object(store_sessions, "entra.directory_role_assignment", "u-1", {})
    _change(store_sessions, policy, ChangeOp.MODIFY, "state", "enabled", "disabled")
    _change(
        store_sessions,
        other,
        ChangeOp.MODIFY,
        "state",
        "enabled",
        "disabled",
        actor="breakglass@contoso.example",
    )
    _change(
        store_sessions,
        role,
        ChangeOp.CREATE,
        None,
        None,
        {"roleDefinitionId": GA, "principalId": "u-1"},
    )

    report = detect_source(runtime, SOURCE, rules, start=start)
    assert len(report.new_alerts) == 2, report
    alerts = {a["rule"]: a for a in list_alerts(runtime, AlertQuery())}
    assert set(alerts) == {"ENTRA-CA-DISABLED", "ENTRA-GLOBAL-ADMIN-ASSIGNED"}  # break-glass: none
    ca = alerts["ENTRA-CA-DISABLED"]
    assert (ca["severity"], ca["actor"], ca["actor_address"]) == ("high", MALLORY, "203.0.113.7")
    assert "T1556.009" in ca["mitre"] and ca["target"].endswith("Require MFA")
    assert alerts["ENTRA-GLOBAL-ADMIN-ASSIGNED"]["severity"] == "critical"
    shown = show_alert(runtime, ca["id"])
    assert [(c["attribute"], c["old_value"], c["new_value"]) for c in shown["changes"]] == [
        ("state", "enabled", "disabled")
    ]

    # The signed webhook: one POST per alert, signature over timestamp.body with the key.
    assert len(Hook.received) == 2
    for headers, body in Hook.received:
        assert headers[SIGNATURE_HEADER] == sign(
            "s3cret-signing-key", headers[TIMESTAMP_HEADER], body
        )
        assert "s3cret" not in body.decode()
    payloads = [json.loads(body) for _h, body in Hook.received]
    assert {p["rule"] for p in payloads} == set(alerts)
    # Syslog: RFC 5424 header (authpriv facility) with a CEF message.
    messages = [syslog_socket.recv(65535).decode() for _ in range(2)]
    ga = next(m for m in messages if "ENTRA-GLOBAL-ADMIN-ASSIGNED" in m)
    assert ga.startswith("<82>1 ")  # facility 10 * 8 + severity 2 (critical)
    assert "CEF:0|dirguard|dirguard|" in ga and f"suser={MALLORY}" in ga and "src=203.0.113.7" in ga

    # A second pass sees nothing new; a repeat by the same actor joins the open alert.
    assert detect_source(runtime, SOURCE, rules).hits == 0
    _change(store_sessions, other, ChangeOp.MODIFY, "state", "disabled", "disabled")
    again = detect_source(runtime, SOURCE, rules)
    assert again.new_alerts == [] and again.alerts == [ca["id"]]
    assert show_alert(runtime, ca["id"])["count"] == 2
    assert len(Hook.received) == 2  # throttled: the joined repeat sends nothing

    # A scan of the history counts nothing twice.
    assert scan(runtime, rules, ScanRequest()).new_alerts == []

    resolved = set_state(runtime, ca["id"], "resolved", "re-enabled the policy")
    assert (resolved["status"], resolved["state_by"]) == ("resolved", "analyst")
    assert [a["id"] for a in list_alerts(runtime, AlertQuery(status="resolved"))] == [ca["id"]]


def test_a_failing_channel_is_recorded_without_the_webhook_token(store_sessions: Sessions) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    runtime = _runtime(
        store_sessions, webhooks=[{"url": f"http://127.0.0.1:{dead}/T0KEN", "min_severity": "low"}]
    )
    rules = rules_in_force(runtime.config.threats)
    start = utcnow() - timedelta(seconds=1)
    policy = _object(store_sessions, "entra.conditional_access_policy", "P", {"state": "enabled"})
    _change(store_sessions, policy, ChangeOp.DELETE, None, {"state": "enabled"}, None)
    report = detect_source(runtime, SOURCE, rules, start=start)
    [alert] = list_alerts(runtime, AlertQuery())
    assert alert["rule"] == "ENTRA-CA-DELETED" and report.new_alerts == [alert["id"]]
    outcome = alert["notifications"]["webhook[0]"]
    assert outcome["failed"] == 1 and "T0KEN" not in outcome["last_error"]


def test_exposure_checks_over_current_state_resolve_when_fixed(store_sessions: Sessions) -> None:
    runtime = _runtime(store_sessions)
    rules = rules_in_force(runtime.config.threats)
    _object(
        store_sessions,
        "entra.conditional_access_policy",
        "Test policy",
        {"state": "enabledForReportingButNotEnforced"},
    )
    _object(store_sessions, "entra.conditional_access_policy", "Live policy", {"state": "enabled"})
    first = scan(runtime, rules, ScanRequest(changes=False, exposure=True))
    [alert] = list_alerts(runtime, AlertQuery(rule="ENTRA-EXP-CA-NOT-ENFORCED"))
    assert alert["target"].endswith("Test policy") and first.new_alerts == [alert["id"]]
    assert scan(runtime, rules, ScanRequest(changes=False, exposure=True)).new_alerts == []
    with store_sessions.begin() as session:
        version = (
            session.query(ObjectVersion)
            .join(DirectoryObject)
            .filter(DirectoryObject.natural_key == "Test policy")
            .one()
        )
        session.add(
            ObjectVersion(
                object_id=version.object_id,
                version=2,
                content={"state": "enabled"},
                content_hash="1" * 64,
            )
        )
    fixed = scan(runtime, rules, ScanRequest(changes=False, exposure=True))
    assert fixed.resolved == [alert["id"]]
    assert list_alerts(runtime, AlertQuery(status="resolved"))[0]["state_by"] == "dirguard"
