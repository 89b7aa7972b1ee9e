"""The outbox in the console: administrators see every message with its state, attempts and
last error, and send a failed one again; nobody else sees it."""

from __future__ import annotations

from datetime import UTC, datetime

from dirguard.services.runtime import Runtime
from dirguard.store.models_notifications import Notification
from tests.web.conftest import (
    WebClientFactory,
    web_app,
    web_client,
    web_clock,
    web_runtime,
    web_settings,
)

__all__ = ["web_app", "web_client", "web_clock", "web_runtime", "web_settings"]


def _failed(runtime: Runtime) -> int:
    """A message whose every attempt failed (its tenant is no longer configured)."""
    with runtime.sessions.begin() as session:
        row = Notification(
            template="message",
            tenant="gone",
            sender="svc@contoso.example",
            recipients=["soc@contoso.example"],
            subject="Weekly <check>",
            body_html="<p>x</p>",
            attachments=[],
            requested_by="dirguard",
            created_at=datetime(2026, 12, 3, 8, 0, tzinfo=UTC),
            status="failed",
            attempts=6,
            last_error="Graph users/svc/sendMail: HTTP 503 ServiceUnavailable",
        )
        session.add(row)
        session.flush()
        return row.id


def test_administrators_see_the_outbox_and_others_do_not(
    web_client: WebClientFactory, web_runtime: Runtime
) -> None:
    failed = _failed(web_runtime)
    admin = web_client("administrator")
    page = admin.get("/notifications?status=failed")
    assert page.status_code == 200, page.text
    assert "Weekly &lt;check&gt;" in page.text and "HTTP 503 ServiceUnavailable" in page.text
    assert f'action="/notifications/{failed}/retry"' in page.text
    api = web_client("administrator", token=True, name="api-admin")
    (shown,) = api.get("/api/v1/notifications").json()["notifications"]
    assert (shown["id"], shown["status"], shown["attempts"]) == (failed, "failed", 6)

    for role in ("viewer", "operator", "approver"):
        assert web_client(role, token=True).get("/api/v1/notifications").status_code == 403

    # Sent again: its tenant is gone, so it fails again at once, with why.
    again = api.post(f"/api/v1/notifications/{failed}/retry")
    assert again.status_code == 200, again.text
    assert again.json()["status"] == "failed"
    assert "no [[entra.tenants]]" in again.json()["error"]
    assert api.post("/api/v1/notifications/999/retry").status_code == 404
