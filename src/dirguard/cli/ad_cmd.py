"""``dirguard snapshot ad|entra``, ``capture ad|entra``, ``changes``, ``history``, ``show``:
recorded history of AD domains and Entra tenants.

The store URL and the domains come from the configuration (``[store]``, ``[[ad.domains]]``);
passwords are resolved from their credential references at the moment of connecting.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from dirguard.cli.common import (
    TIME_HELP,
    DomainOption,
    JsonOption,
    TenantOption,
    cli_runtime,
    fail,
)
from dirguard.cli.context import console, err_console, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.services.capture.snapshot import SnapshotResult
from dirguard.services.capture.use_cases import (
    CaptureRequest,
    DomainCapture,
    SnapshotRequest,
    capture,
    snapshot,
)
from dirguard.services.errors import ServiceError
from dirguard.services.history import ChangeView
from dirguard.services.history_use_cases import (
    ChangesRequest,
    ObjectRequest,
    StateRequest,
    list_changes,
    object_history,
    object_state,
    parse_time,
)

snapshot_app = typer.Typer(help="Baseline snapshots.", no_args_is_help=True)
capture_app = typer.Typer(help="One incremental capture pass.", no_args_is_help=True)
ObjectArgument = Annotated[
    str,
    typer.Argument(
        metavar="OBJECT",
        help="GUID, DN or sAMAccountName (Entra: id, collection/id, userPrincipalName or"
        " displayName).",
    ),
]


def _which(domain: str | None, tenant: str | None) -> tuple[str, str | None]:
    """The kind and name of the source ``--domain`` or ``--tenant`` names."""
    if domain is not None and tenant is not None:
        raise typer.BadParameter("give --domain or --tenant, not both")
    return ("entra", tenant) if tenant is not None else ("ad", domain)


@snapshot_app.command("ad")
def snapshot_ad(
    ctx: typer.Context, domain: DomainOption = None, as_json: JsonOption = False
) -> None:
    """Read every object of the configured partitions and store new versions (resumable: run it
    again after an interruption)."""
    _snapshot(ctx, SnapshotRequest(domain=domain), as_json)


@snapshot_app.command("entra")
def snapshot_entra(
    ctx: typer.Context, tenant: TenantOption = None, as_json: JsonOption = False
) -> None:
    """Read every object of the tenant's collections (the catalog's Entra types) through Graph
    and store new versions; takes the delta links changes are captured from (resumable)."""
    _snapshot(ctx, SnapshotRequest(domain=tenant, kind="entra"), as_json)


def _snapshot(ctx: typer.Context, request: SnapshotRequest, as_json: bool) -> None:
    columns = (SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn())
    ticks = (TextColumn("{task.completed} objects"), TimeElapsedColumn())
    with (
        cli_runtime(ctx) as runtime,
        Progress(*columns, *ticks, console=err_console, disable=as_json) as bar,
    ):
        tasks: dict[str, Any] = {}

        def progress(name: str, objects: int) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(f"snapshot {name}", total=None)
            bar.update(tasks[name], completed=objects)

        report = snapshot(runtime, replace(request, progress=progress))
    if as_json:
        print_json(report.as_dict())
        return
    for result in report.snapshots:
        _print_snapshot(result)


def _print_snapshot(r: SnapshotResult) -> None:
    console.print(
        f"[bold]{r.domain}[/]: {r.objects} objects read, {r.new_objects} new, "
        f"{r.new_versions} new versions, {r.unchanged} unchanged in {round(r.seconds, 3)} s",
        highlight=False,
    )
    if r.not_in_catalog:
        skipped = ", ".join(f"{k} {v}" for k, v in sorted(r.not_in_catalog.items()))
        console.print(f"  not in the catalog (not stored): {skipped}", highlight=False)
    if r.deletes_detected:
        console.print(
            f"  {r.deletes_detected} deleted while nothing was capturing (actor unknown)",
            highlight=False,
        )
    if r.unreadable:
        console.print(
            f"  [yellow]{r.unreadable} entries skipped: the account may not read them or "
            "their identity[/]",
            highlight=False,
        )


@capture_app.command("ad")
def capture_ad(
    ctx: typer.Context, domain: DomainOption = None, as_json: JsonOption = False
) -> None:
    """One DirSync pass: store the changes since the last pass (or the snapshot)."""
    _capture(ctx, CaptureRequest(domain=domain), as_json)


@capture_app.command("entra")
def capture_entra(
    ctx: typer.Context, tenant: TenantOption = None, as_json: JsonOption = False
) -> None:
    """One pass over the tenant: a delta round per delta collection, a poll of the others;
    store the changes since the last pass (or the snapshot), then their actors."""
    _capture(ctx, CaptureRequest(domain=tenant, kind="entra"), as_json)


def _capture(ctx: typer.Context, request: CaptureRequest, as_json: bool) -> None:
    with cli_runtime(ctx) as runtime:
        report = capture(runtime, request)
    if as_json:
        print_json(report.as_dict())
        return
    for result in report.captures:
        _print_capture(result)


def _print_capture(result: DomainCapture) -> None:
    r, actors = result.capture, result.actors
    ops = ", ".join(f"{k} {v}" for k, v in sorted(r.ops.items())) or "no changes"
    console.print(
        f"[bold]{r.domain}[/]: {r.events} events ({ops}) from {r.entries} entries",
        highlight=False,
    )
    if actors is None:
        console.print("  actors: no audit source configured")
    else:
        console.print(
            f"  actors: {actors.attributed} events attributed, {actors.unknown} still "
            f"unknown ({actors.records_read} audit records read)",
            highlight=False,
        )


def _moment(text: str) -> datetime:
    try:
        return parse_time(text)
    except ServiceError as error:
        raise typer.BadParameter(str(error)) from None


def _time(text: str | None) -> datetime | None:
    return None if text is None else _moment(text)


def _short(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _events_table(events: tuple[ChangeView, ...]) -> Table:
    table = Table("#", "when", "object", "op", "attribute", "old", "new", "actor")
    for e in events:
        actor = e.actor or "(unknown)"
        table.add_row(
            str(e.sequence),
            (e.occurred_at or e.observed_at)[:19],
            _short(e.object["name"] or e.object["dn"]),
            e.op,
            e.attribute or "",
            _short(e.old),
            _short(e.new),
            f"{e.actor} from {e.actor_address}" if e.actor and e.actor_address else actor,
        )
    return table


def _exclusions(given: list[str] | tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    from dirguard.services.change_filter import FIELDS

    out: dict[str, tuple[str, ...]] = {}
    for item in given:
        name, sep, value = item.partition("=")
        if not sep or name.strip() not in FIELDS or not value.strip():
            raise typer.BadParameter(
                f"{item!r}: use FIELD=VALUE with FIELD one of {', '.join(FIELDS)}",
                param_hint="--exclude",
            )
        out[name.strip()] = (*out.get(name.strip(), ()), value.strip())
    return out


def changes_cmd(
    ctx: typer.Context,
    domain: DomainOption = None,
    tenant: TenantOption = None,
    object_: Annotated[
        str | None,
        typer.Option("--object", help="GUID, DN or natural key (sAMAccountName, UPN...)."),
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor", help="Who made the change: DOMAIN\\account, the account, or its UPN."
        ),
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help=TIME_HELP)] = None,
    until: Annotated[str | None, typer.Option("--until", help=TIME_HELP)] = None,
    attribute: Annotated[str | None, typer.Option("--attribute", help="Attribute name.")] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", help="Resource type key (ad.user, ad.group…); repeat for several."),
    ] = None,
    address: Annotated[
        list[str] | None,
        typer.Option("--address", help="Address the change came from; repeat for several."),
    ] = None,
    op: Annotated[
        list[str] | None,
        typer.Option("--op", help="Operation (modify, add-value, delete…); repeat for several."),
    ] = None,
    text: Annotated[
        str | None,
        typer.Option(
            "--text", help="Free text in the attribute, values, object name or DN, or actor."
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="FIELD=VALUE",
            help="Leave out changes whose FIELD (directory, object, type, attribute, actor,"
            " address, op) is VALUE; repeat for several.",
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="At most this many changes.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Recorded changes, oldest first, filtered by every option given: domain, object, type,
    attribute, actor, address, operation, time window, free text, and values to exclude."""
    kind, name = _which(domain, tenant)
    request = ChangesRequest(
        domain=name,
        kind=kind,
        object_text=object_,
        actor=actor,
        since=_time(since),
        until=_time(until),
        attribute=attribute,
        types=tuple(type_ or ()),
        addresses=tuple(address or ()),
        ops=tuple(op or ()),
        text=text,
        exclude=_exclusions(exclude or ()),
        limit=limit,
    )
    with cli_runtime(ctx) as runtime:
        result = list_changes(runtime, request)
    if as_json:
        print_json(result.as_dict())
    else:
        console.print(_events_table(result.changes))


def history_cmd(
    ctx: typer.Context,
    object_: ObjectArgument,
    domain: DomainOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """The attribute timeline of one object (moves and renames included)."""
    with cli_runtime(ctx) as runtime:
        kind, name = _which(domain, tenant)
        result = object_history(runtime, ObjectRequest(object_text=object_, domain=name, kind=kind))
    if as_json:
        print_json(result.as_dict())
    else:
        console.print(f"[bold]{result.object.path}[/] ({result.object.external_id})")
        console.print(_events_table(result.events))


def show_cmd(
    ctx: typer.Context,
    object_: ObjectArgument,
    at: Annotated[str, typer.Option("--at", help=TIME_HELP)],
    domain: DomainOption = None,
    tenant: TenantOption = None,
    as_json: JsonOption = False,
) -> None:
    """The object's recorded state at a moment."""
    kind, name = _which(domain, tenant)
    request = StateRequest(object_text=object_, domain=name, kind=kind, at=_moment(at))
    with cli_runtime(ctx) as runtime:
        state = object_state(runtime, request).state
    if state is None:
        raise fail(f"dirguard had not recorded {object_!r} by {at}", ExitCode.FAILURE)
    if as_json:
        print_json(state.as_dict())
        return
    table = Table("attribute", "values", title=f"{object_} at {state.at}")
    for name, values in sorted(state.attributes.items()):
        table.add_row(name, _short(values))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(snapshot_app, name="snapshot")
    app.add_typer(capture_app, name="capture")
    app.command("changes")(changes_cmd)
    app.command("history")(history_cmd)
    app.command("show")(show_cmd)
