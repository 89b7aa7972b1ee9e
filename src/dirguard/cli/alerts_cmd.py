"""``dirguard alerts list|show|resolve|dismiss``: the alerts the threat rules raised, each with
its changes, actor and source; resolving or dismissing keeps who, why and when (audited)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from dirguard.cli.common import JsonOption, cli_runtime
from dirguard.cli.context import console, print_json

alerts_app = typer.Typer(
    help="Alerts raised by the threat definitions: list, show, resolve, dismiss.",
    no_args_is_help=True,
)

AlertId = Annotated[int, typer.Argument(metavar="ALERT_ID", help="The alert's number.")]
Reason = Annotated[str, typer.Option("--reason", "-r", help="Why (kept with the alert).")]


@alerts_app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: Annotated[
        str, typer.Option("--status", help="open, resolved, dismissed or all.")
    ] = "open",
    severity: Annotated[
        str | None, typer.Option("--severity", help="At least this severity.")
    ] = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule's alerts.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 200,
    as_json: JsonOption = False,
) -> None:
    """Alerts, most recent first (open ones by default)."""
    from dirguard.services.threats.alert_cases import AlertQuery, list_alerts

    query = AlertQuery(
        status=None if status == "all" else status, min_severity=severity, rule=rule, limit=limit
    )
    with cli_runtime(ctx) as runtime:
        alerts = list_alerts(runtime, query)
    if as_json:
        print_json({"alerts": alerts})
        return
    if not alerts:
        console.print("No alert.")
        return
    table = Table("id", "severity", "status", "rule", "count", "last seen", "summary")
    for a in alerts:
        table.add_row(
            str(a["id"]),
            a["severity"],
            a["status"],
            escape(a["rule"]),
            str(a["count"]),
            a["last_seen"],
            escape(a["summary"]),
        )
    console.print(table)


def _print(alert: dict[str, Any]) -> None:
    console.print(
        f"[bold]alert {alert['id']}[/] [{alert['severity']}] {escape(alert['title'])} "
        f"({alert['status']})",
        highlight=False,
    )
    console.print(escape(alert["summary"]), highlight=False)
    console.print(
        f"rule {escape(alert['rule'])} · MITRE {', '.join(alert.get('mitre') or []) or '-'} · "
        f"{alert['count']} change(s) {alert['first_seen']} .. {alert['last_seen']}",
        highlight=False,
    )
    if alert.get("undo"):
        console.print(f"auto-undo: {escape(str(alert['undo'].get('status')))}", highlight=False)
    if alert.get("state_by"):
        console.print(
            f"{alert['status']} by {escape(alert['state_by'])}: "
            f"{escape(alert['state_reason'] or '')}",
            highlight=False,
        )
    for change in alert.get("changes", []):
        console.print(
            f"  #{change['sequence']} {escape(str(change['object']))} {change['op']} "
            f"{escape(str(change['attribute']))} by {escape(str(change['actor']))} "
            f"from {escape(str(change['actor_address']))}",
            highlight=False,
        )
    if alert.get("remediation"):
        console.print(f"Remediation: {escape(alert['remediation'])}", highlight=False)


@alerts_app.command("show")
def show_cmd(ctx: typer.Context, alert_id: AlertId, as_json: JsonOption = False) -> None:
    """One alert with each change that makes it up (old and new value, actor and address)."""
    from dirguard.services.threats.alert_cases import show_alert

    with cli_runtime(ctx) as runtime:
        alert = show_alert(runtime, alert_id)
    if as_json:
        print_json(alert)
    else:
        _print(alert)


def _set(ctx: typer.Context, alert_id: int, status: str, reason: str, as_json: bool) -> None:
    from dirguard.services.threats.alert_cases import set_state

    with cli_runtime(ctx) as runtime:
        alert = set_state(runtime, alert_id, status, reason)
    if as_json:
        print_json(alert)
    else:
        console.print(f"alert {alert_id} {status}.", highlight=False)


@alerts_app.command("resolve")
def resolve_cmd(
    ctx: typer.Context, alert_id: AlertId, reason: Reason, as_json: JsonOption = False
) -> None:
    """Mark an open alert resolved (handled), with why."""
    _set(ctx, alert_id, "resolved", reason, as_json)


@alerts_app.command("dismiss")
def dismiss_cmd(
    ctx: typer.Context, alert_id: AlertId, reason: Reason, as_json: JsonOption = False
) -> None:
    """Mark an open alert dismissed (not a threat), with why."""
    _set(ctx, alert_id, "dismissed", reason, as_json)


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
