"""A rule's webhook action against a real HTTP server on loopback: the body arrives as JSON
signed with HMAC-SHA256 over ``timestamp.body`` (checked here independently with ``hmac``),
naming the rule and the object; a second run posts nothing (only the first time an object is
found); a receiver answering 500 fails that object without stopping the others; a signing key
written into the rule file itself is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from dirguard.core.rules import RuleError, parse_rule
from dirguard.services.rules.engine import run_rule
from dirguard.services.rules.rule_store import save_rule
from dirguard.services.runtime import Runtime
from tests.admin.conftest import admin_runtime, admin_tenant
from tests.fixtures.graph_sandbox import RunningSandbox

SECRET = "DG_WEBHOOK_RULE_SANDBOX_SECRET"
KEY_ENV = "DG_WEBHOOK_RULE_KEY"
KEY = "s3cret-webhook-key"


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.answer = 204
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(outer.answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0KEN"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    thread = threading.Thread(target=made.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield made
    finally:
        made.server.shutdown()
        made.server.server_close()
        thread.join(10)


@pytest.fixture
def runtime(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    monkeypatch.setenv(SECRET, graph_sandbox.info.full_client_secret)
    monkeypatch.setenv(KEY_ENV, KEY)
    with admin_runtime(tmp_path, tenants=[admin_tenant(graph_sandbox.info, SECRET)]) as made:
        yield made


def _department(sandbox: RunningSandbox, users: list[dict[str, Any]]) -> str:
    department = f"Hooks-{uuid.uuid4().hex[:6]}"
    with sandbox.client() as graph:
        for user in users:
            answer = graph.patch(f"/users/{user['id']}", json={"department": department})
            assert answer.status_code == 204, answer.text
    return department


def _rule(department: str, url: str) -> dict[str, Any]:
    return {
        "name": f"hook-{department}",
        "scope": {"directory": "entra", "source": "sandbox"},
        "conditions": [{"field": "department", "comparison": "equals", "values": [department]}],
        "actions": [{"do": "webhook", "url": url, "signing_secret": f"env:{KEY_ENV}"}],
    }


def test_the_webhook_gets_a_signed_body_once_per_object(
    runtime: Runtime, receiver: Receiver, graph_sandbox: RunningSandbox
) -> None:
    users = list(graph_sandbox.state.users.values())[7:9]
    department = _department(graph_sandbox, users)
    rule = _rule(department, receiver.url)
    save_rule(runtime, rule)

    dry = run_rule(runtime, rule["name"], dry_run=True)
    assert {o.status for o in dry.objects} == {"would-change"} and receiver.received == []

    ran = run_rule(runtime, rule["name"], dry_run=False)
    assert ran.status == "succeeded" and len(ran.objects) == 2
    assert [c.notes for o in ran.objects for c in o.changes] == [["answered 204"]] * 2
    assert len(receiver.received) == 2
    paths = set()
    for headers, body in receiver.received:
        stamp = headers["x-dirguard-timestamp"]
        expected = hmac.new(KEY.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        assert headers["x-dirguard-signature"] == f"sha256={expected.hexdigest()}"
        assert headers["content-type"] == "application/json"
        sent = json.loads(body)
        assert sent["rule"] == rule["name"] and sent["object"]["source"] == "entra:sandbox"
        paths.add(sent["object"]["path"])
    assert paths == {u["id"] for u in users}

    again = run_rule(runtime, rule["name"], dry_run=False)
    assert len(receiver.received) == 2 and again.counts["changes"] == 0


def test_a_failing_receiver_fails_each_object_and_names_it_without_its_path(
    runtime: Runtime, receiver: Receiver, graph_sandbox: RunningSandbox
) -> None:
    users = list(graph_sandbox.state.users.values())[9:11]
    rule = _rule(_department(graph_sandbox, users), receiver.url)
    save_rule(runtime, rule)
    receiver.answer = 500
    ran = run_rule(runtime, rule["name"], dry_run=False)
    assert ran.status == "partial" and ran.counts["failed"] == 2
    assert [o.status for o in ran.objects] == ["failed", "failed"]
    error = str(ran.objects[0].changes[0].error)
    assert "answered 500" in error and "T0KEN" not in error and "127.0.0.1" in error


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"signing_secret": KEY}, "never the key itself"),
        ({"timeout": 0}, "'timeout'"),
        ({"secret": "x"}, "secret"),
        ({"url": "ftp://x"}, "http(s) URL"),
    ],
)
def test_a_bad_webhook_action_is_named(extra: dict[str, Any], message: str) -> None:
    rule = _rule("x", "https://hooks.example/x")
    rule["actions"][0].update(extra)
    with pytest.raises(RuleError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_rule(rule)
