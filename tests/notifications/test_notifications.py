"""Notifications through the sandbox tenant's Graph ``sendMail``, over HTTPS with dirguard's own
Graph client: sent from the service account's mailbox, sent as a shared mailbox only once the
Send As right is granted, a mailbox's 429 honoured (Retry-After) before the next attempt, a
server error retried with backoff until the message is marked failed — in the store, the audit
log and ``dirguard notifications list`` — and templates rendered sandboxed and HTML-escaped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.config.notifications_schema import NotificationsConfig
from dirguard.services.errors import ServiceError
from dirguard.services.notifications.outbox import deliver_due, notify, outbox, retry
from dirguard.services.runtime import Runtime
from dirguard.store.models import AuditRecord
from tests.entra.helpers import SECRET_ENV, config, store, write_config
from tests.fixtures.graph_sandbox import RunningSandbox


def _mailboxes(sandbox: RunningSandbox) -> tuple[dict[str, Any], dict[str, Any]]:
    with_mail = [u for u in sandbox.state.users.values() if u.get("mail")]
    return with_mail[0], with_mail[1]


def _sent(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    info = sandbox.info
    answer = httpx.get(
        f"{info.login_base}/_sandbox/outbox",
        headers={"x-sandbox-admin-key": info.admin_key},
        verify=sandbox.tls(),
    )
    assert answer.status_code == 200, answer.text
    messages: list[dict[str, Any]] = answer.json()["messages"]
    return messages


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runtime(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> Iterator[Runtime]:
    monkeypatch.setenv(SECRET_ENV, graph_sandbox.info.full_client_secret)
    service, _ = _mailboxes(graph_sandbox)
    base = config(graph_sandbox, tmp_path)
    settings = NotificationsConfig(sender=service["userPrincipalName"], retry_seconds=60)
    graph_sandbox.state.outbox.clear()
    graph_sandbox.state.mail_sent.clear()
    yield Runtime(
        config=base.model_copy(update={"notifications": settings}),
        sessions=store(tmp_path),
        principal="helpdesk",
        clock=clock,
    )
    graph_sandbox.state.mail_rate_limit, graph_sandbox.state.mail_rate_window = 10000, 600.0


def test_a_message_goes_out_from_the_service_mailbox_html_escaped(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    service, _ = _mailboxes(graph_sandbox)
    done = notify(
        runtime,
        "message",
        {"subject": "Weekly <check>", "lines": ["<script>alert(1)</script>", "R&D ok"]},
        ["it-team@contoso.example"],
    )
    assert (done.status, done.attempts, done.error) == ("sent", 1, None)
    (mail,) = _sent(graph_sandbox)
    assert mail["from"] == service["mail"]
    message = mail["message"]
    assert message["subject"] == "Weekly <check>"  # plain text: not escaped
    assert message["toRecipients"] == [{"emailAddress": {"address": "it-team@contoso.example"}}]
    body = message["body"]
    assert body["contentType"] == "HTML"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body["content"]
    assert "<script>" not in body["content"] and "R&amp;D ok" in body["content"]
    (entry,) = outbox(runtime)
    assert (entry.status, entry.sent_at, entry.requested_by) == (
        "sent",
        runtime.clock(),
        "helpdesk",
    )


def test_send_as_a_shared_mailbox_needs_the_send_as_right(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    service, shared = _mailboxes(graph_sandbox)
    as_shared = replace(
        runtime,
        config=runtime.config.model_copy(
            update={
                "notifications": runtime.config.notifications.model_copy(
                    update={"send_as": shared["mail"]}
                )
            }
        ),
    )
    graph_sandbox.state.mailbox_permissions.clear()
    refused = notify(as_shared, "message", {"subject": "s", "lines": []}, ["a@contoso.example"])
    # Waiting does not give the right: failed at once, named, audited.
    assert (refused.status, refused.attempts) == ("failed", 1)
    assert refused.error is not None and "ErrorSendAsDenied" in refused.error
    assert _sent(graph_sandbox) == []
    with runtime.sessions() as session:
        audit = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "notification.failed")
        ).one()
    assert audit.outcome == "failed" and audit.details["notification"] == refused.id

    info = graph_sandbox.info
    granted = httpx.post(
        f"{info.login_base}/_sandbox/mailbox-permissions",
        headers={"x-sandbox-admin-key": info.admin_key},
        json={"mailbox": shared["id"], "trustee": service["id"], "rights": ["SendAs"]},
        verify=graph_sandbox.tls(),
    )
    assert granted.status_code == 204, granted.text
    again = retry(as_shared, refused.id)
    assert again.status == "sent"
    (mail,) = _sent(graph_sandbox)
    assert mail["from"] == mail["sender"] == shared["mail"]
    assert mail["message"]["from"] == {"emailAddress": {"address": shared["mail"]}}


def test_a_throttled_mailbox_is_tried_again_after_its_retry_after(
    graph_sandbox: RunningSandbox, runtime: Runtime, clock: Clock
) -> None:
    state = graph_sandbox.state
    state.mail_rate_limit, state.mail_rate_window = 1, 1800.0
    first = notify(runtime, "message", {"subject": "one", "lines": []}, ["a@contoso.example"])
    second = notify(runtime, "message", {"subject": "two", "lines": []}, ["a@contoso.example"])
    assert first.status == "sent"
    assert (second.status, second.attempts) == ("pending", 1)
    assert second.error is not None and "429 ApplicationThrottled" in second.error
    entry = next(e for e in outbox(runtime) if e.id == second.id)
    assert entry.next_attempt_at is not None
    # Graph asked for ~1,800 s; the outbox waits that long, not its own 60 s.
    assert entry.next_attempt_at >= clock.now + timedelta(seconds=1790)
    assert deliver_due(runtime, clock.now + timedelta(seconds=600)) == []  # not due yet
    state.mail_sent.clear()  # the sandbox's window has passed
    clock.now += timedelta(seconds=1800)
    (done,) = deliver_due(runtime)
    assert (done.id, done.status, done.attempts) == (second.id, "sent", 2)
    assert [m["message"]["subject"] for m in _sent(graph_sandbox)] == ["one", "two"]


def test_server_errors_are_retried_with_backoff_then_reported_failed(
    graph_sandbox: RunningSandbox,
    runtime: Runtime,
    clock: Clock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    info = graph_sandbox.info
    admin = {"x-sandbox-admin-key": info.admin_key}
    storm = httpx.post(
        f"{info.login_base}/_sandbox/faults",
        headers=admin,
        json={"status": 503, "rate": 1.0, "duration_seconds": 600, "path_pattern": "*sendMail"},
        verify=graph_sandbox.tls(),
    )
    assert storm.status_code in (200, 201), storm.text
    limited = replace(
        runtime,
        config=runtime.config.model_copy(
            update={
                "notifications": runtime.config.notifications.model_copy(update={"max_attempts": 3})
            }
        ),
    )
    try:
        first = notify(limited, "message", {"subject": "x", "lines": []}, ["a@contoso.example"])
        assert (first.status, first.attempts) == ("pending", 1)
        waits = []
        for _ in range(2):
            (entry,) = outbox(limited)
            assert entry.next_attempt_at is not None
            waits.append((entry.next_attempt_at - clock.now).total_seconds())
            clock.now = entry.next_attempt_at
            deliver_due(limited)
    finally:
        httpx.delete(
            f"{info.login_base}/_sandbox/faults", headers=admin, verify=graph_sandbox.tls()
        )
    assert waits == [60.0, 120.0]  # doubling backoff
    (entry,) = outbox(limited)
    assert (entry.status, entry.attempts) == ("failed", 3)
    assert entry.last_error is not None and "503" in entry.last_error
    assert _sent(graph_sandbox) == []

    # `dirguard notifications list` shows it, and says so in its exit code.
    path = write_config(graph_sandbox, tmp_path)  # same store.db as the runtime's
    monkeypatch.setenv(SECRET_ENV, info.full_client_secret)
    result = CliRunner().invoke(
        app, ["--config", str(path), "notifications", "list", "--status", "failed", "--json"]
    )
    assert result.exit_code == 1, result.output
    (shown,) = json.loads(result.stdout)["notifications"]
    assert (shown["id"], shown["status"], shown["attempts"]) == (entry.id, "failed", 3)


def test_templates_are_sandboxed_and_bad_input_is_named(
    graph_sandbox: RunningSandbox, runtime: Runtime, tmp_path: Path
) -> None:
    site = tmp_path / "templates"
    site.mkdir()
    (site / "sneaky.toml").write_text(
        'subject = "hi"\nbody = "{{ lines.__class__.__mro__[1].__subclasses__() }}"\n'
    )
    (site / "broken.toml").write_text('subject = "hi"\nbdy = "typo"\n')
    sited = replace(
        runtime,
        config=runtime.config.model_copy(
            update={
                "notifications": runtime.config.notifications.model_copy(
                    update={"templates_dir": site}
                )
            }
        ),
    )
    with pytest.raises(ServiceError, match=r"broken\.toml: unknown key"):
        notify(sited, "sneaky", {"lines": []}, ["a@contoso.example"])
    (site / "broken.toml").unlink()
    with pytest.raises(ServiceError, match=r"sneaky\.toml: .*unsafe"):
        notify(sited, "sneaky", {"lines": []}, ["a@contoso.example"])
    with pytest.raises(ServiceError, match="no notification template 'nope'"):
        notify(runtime, "nope", {}, ["a@contoso.example"])
    with pytest.raises(ServiceError, match="not an e-mail address: 'bob'"):
        notify(runtime, "message", {"subject": "s", "lines": []}, ["bob"])
    with pytest.raises(ServiceError, match="undefined"):
        notify(runtime, "message", {"lines": []}, ["a@contoso.example"])
    assert _sent(graph_sandbox) == []
