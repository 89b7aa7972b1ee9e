"""Delivering alerts: a signed webhook (HMAC-SHA256 over ``timestamp.body``), syslog to a SIEM
(RFC 5424 over UDP or TCP, the message as JSON or CEF), and e-mail through Graph ``sendMail``
of a configured tenant (the seed's Mail.Send). A channel only gets alerts at or above its
``min_severity``. A failure is recorded on the alert and logged without secrets; it never
stops detection."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import socket
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from dirguard import __version__
from dirguard.config.schema import Config
from dirguard.config.threats_schema import EmailChannel, SyslogChannel, WebhookChannel
from dirguard.core.threats.model import Severity
from dirguard.services.runtime import Runtime, choose_entra_tenant, resolve_secret
from dirguard.store.models_alerts import Alert

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Dirguard-Signature"
TIMESTAMP_HEADER = "X-Dirguard-Timestamp"
_SYSLOG_SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}
_CEF_SEVERITY = {"critical": 10, "high": 8, "medium": 5, "low": 3, "info": 1}
FACILITY_AUTHPRIV = 10


def alert_payload(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "rule": alert.rule_id,
        "title": alert.title,
        "severity": alert.severity,
        "directory": alert.directory,
        "source": alert.source,
        "status": alert.status,
        "summary": alert.summary,
        "actor": alert.actor,
        "actor_address": alert.actor_address,
        "target": alert.target,
        "first_seen": alert.first_seen.isoformat(),
        "last_seen": alert.last_seen.isoformat(),
        "count": alert.hit_count,
        "mitre": alert.details.get("mitre", []),
        "remediation": alert.details.get("remediation"),
        "undo": alert.undo,
    }


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def _at_least(alert: Alert, minimum: str) -> bool:
    return Severity(alert.severity).rank >= Severity(minimum).rank


def redacted(url: str) -> str:
    """The webhook's address without path or query (they often carry a token)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}/..."


@functools.cache
def _webhook_client(verify: str | bool, timeout: float) -> Any:
    """One HTTP client per CA setting and timeout, kept for the process: building a client
    loads the CA bundle into a new TLS context (~0.1 s, measured in bench/threats_latency.py),
    and its pool keeps the connection to the receiver alive between alerts."""
    import httpx

    return httpx.Client(verify=verify, timeout=timeout)


def send_webhook(
    config: Config,
    channel: WebhookChannel,
    payload: dict[str, Any],
    now: datetime,
    *,
    owner: str = "threats.webhooks",
) -> int:
    """POST ``payload`` signed (when the channel has a key); the answer's status, or
    :class:`RuntimeError` naming the receiver without its path. ``owner``: the setting an
    unresolvable key is reported against (a rule's webhook reuses this signing)."""
    import httpx

    body = json.dumps(payload, sort_keys=True, default=str).encode()
    timestamp = str(int(now.timestamp()))
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp}
    if channel.signing_secret:
        secret = resolve_secret(config, owner, "signing_secret", channel.signing_secret)
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, timestamp, body)
    verify: str | bool = str(channel.ca_file) if channel.ca_file else True
    try:
        answer = _webhook_client(verify, float(channel.timeout)).post(
            channel.url, content=body, headers=headers
        )
    except httpx.HTTPError as error:
        raise RuntimeError(f"webhook {redacted(channel.url)}: {type(error).__name__}") from None
    if answer.is_error:
        raise RuntimeError(f"webhook {redacted(channel.url)} answered {answer.status_code}")
    return int(answer.status_code)


def _cef_escape(text: object, header: bool) -> str:
    value = str(text).replace("\\", "\\\\").replace("\n", " ").replace("\r", " ")
    return value.replace("|", "\\|") if header else value.replace("=", "\\=")


def syslog_message(channel: SyslogChannel, payload: dict[str, Any], now: datetime) -> bytes:
    """One RFC 5424 message: ``<PRI>1 TIMESTAMP HOST APP - MSGID - MSG``."""
    pri = FACILITY_AUTHPRIV * 8 + _SYSLOG_SEVERITY[payload["severity"]]
    host = socket.gethostname() or "-"
    stamp = now.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if channel.format == "json":
        message = json.dumps(payload, sort_keys=True, default=str)
    else:
        ext = {
            "act": payload["status"],
            "suser": payload["actor"] or "",
            "src": payload["actor_address"] or "",
            "duser": payload["target"] or "",
            "msg": payload["summary"],
            "cs1Label": "mitre",
            "cs1": ",".join(payload["mitre"]),
            "cn1Label": "alertId",
            "cn1": payload["id"],
            "cnt": payload["count"],
        }
        extension = " ".join(f"{k}={_cef_escape(v, False)}" for k, v in ext.items())
        head = "|".join(
            _cef_escape(v, True)
            for v in (
                "CEF:0",
                "dirguard",
                "dirguard",
                __version__,
                payload["rule"],
                payload["title"],
                _CEF_SEVERITY[payload["severity"]],
            )
        )
        message = f"{head}|{extension}"
    return f"<{pri}>1 {stamp} {host} {channel.app_name} - {payload['rule']} - {message}".encode()


def send_syslog(channel: SyslogChannel, payload: dict[str, Any], now: datetime) -> None:
    data = syslog_message(channel, payload, now)
    if channel.transport == "udp":
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(data, (channel.host, channel.port))
        return
    with socket.create_connection((channel.host, channel.port), timeout=10) as sock:
        sock.sendall(str(len(data)).encode() + b" " + data)  # RFC 6587 octet counting


def send_email(runtime: Runtime, channel: EmailChannel, payload: dict[str, Any]) -> None:
    """The alert as the ``alert`` notification template, sent once through the notification
    service's Graph ``sendMail`` (the alert's own ``notifications`` count what failed)."""
    from dirguard.services.notifications.mail import OutgoingMail, send
    from dirguard.services.notifications.templates import find_template, render

    settings = runtime.config.notifications
    rendered = render(find_template("alert", settings.templates_dir), payload)
    tenant = choose_entra_tenant(runtime.config, channel.tenant)
    send(
        runtime,
        OutgoingMail(
            tenant=tenant.name,
            sender=channel.sender,
            send_as=None,
            to=list(channel.to),
            subject=rendered.subject,
            html=rendered.html,
        ),
    )


def notify(runtime: Runtime, alert: Alert, now: datetime) -> dict[str, Any]:
    """Send ``alert`` to every channel that wants it; the outcome per channel (also stored on
    the alert's ``notifications``)."""
    threats = runtime.config.threats
    payload = alert_payload(alert)
    jobs: list[tuple[str, Callable[[], object]]] = []
    for i, hook in enumerate(threats.webhooks):
        if _at_least(alert, hook.min_severity):
            jobs.append(
                (f"webhook[{i}]", partial(send_webhook, runtime.config, hook, payload, now))
            )
    for i, sink in enumerate(threats.syslog):
        if _at_least(alert, sink.min_severity):
            jobs.append((f"syslog[{i}]", partial(send_syslog, sink, payload, now)))
    for i, mail in enumerate(threats.email):
        if _at_least(alert, mail.min_severity):
            jobs.append((f"email[{i}]", partial(send_email, runtime, mail, payload)))
    outcome: dict[str, Any] = dict(alert.notifications or {})
    for name, job in jobs:
        entry = dict(outcome.get(name) or {"sent": 0, "failed": 0})
        try:
            job()
            entry["sent"] += 1
            entry.pop("last_error", None)
        except Exception as error:  # a channel's failure never stops detection
            entry["failed"] += 1
            entry["last_error"] = f"{type(error).__name__}: {error}"[:500]
            log.warning("alert %d: %s not delivered (%s)", alert.id, name, entry["last_error"])
        outcome[name] = entry
    alert.notifications = outcome
    if jobs:
        alert.last_notified = now
    return outcome
