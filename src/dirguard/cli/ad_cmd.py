"""``dirguard snapshot ad``, ``capture ad``, ``changes``, ``history``, ``show``: AD history.

The store URL and the domains come from the configuration (``[store]``, ``[[ad.domains]]``);
passwords are resolved from their credential references at the moment of connecting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from dirguard.cli.context import console, err_console, load_cli_config, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.config.credentials import CredentialError, resolve_credential
from dirguard.config.schema import AdDomainConfig, Config
from dirguard.config.secret_store import SecretStore
from dirguard.providers.ad.connection import (
    AdAuthError,
    AdConnection,
    AdConnectionError,
    AdUnreachable,
    connect,
)
from dirguard.services import history as history_query
from dirguard.services.capture.ad_capture import CaptureError, capture_domain, fill_domain_actors
from dirguard.services.capture.ad_snapshot import snapshot_domain
from dirguard.store.database import StoreError, create_engine_for, session_factory, upgrade

T = TypeVar("T")

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
DomainOption = Annotated[
    str | None,
    typer.Option("--domain", "-d", help="Domain name from the configuration (default: all)."),
]
TIME_HELP = "ISO 8601 time, e.g. 2024-05-01T12:00:00+02:00; without a zone it is UTC."

snapshot_app = typer.Typer(help="Baseline snapshots.", no_args_is_help=True)
capture_app = typer.Typer(help="One incremental capture pass.", no_args_is_help=True)


def _fail(message: str, code: ExitCode) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {escape(message)}", markup=True, highlight=False)
    return typer.Exit(code)


def _domains(config: Config, name: str | None) -> list[AdDomainConfig]:
    domains = config.ad.domains
    if not domains:
        raise _fail("no [[ad.domains]] in the configuration", ExitCode.CONFIG_INVALID)
    if name is None:
        return list(domains)
    chosen = [d for d in domains if d.name == name.lower()]
    if not chosen:
        known = ", ".join(d.name for d in domains)
        raise _fail(f"no AD domain {name!r} configured (configured: {known})", ExitCode.FAILURE)
    return chosen


@contextmanager
def _store(config: Config) -> Iterator[sessionmaker[Session]]:
    try:
        engine = create_engine_for(config.store.url)
        upgrade(engine)
    except StoreError as error:
        raise _fail(str(error), ExitCode.UNAVAILABLE) from None
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def _connect(config: Config, domain: AdDomainConfig) -> AdConnection:
    password = None
    if domain.password is not None:
        store = SecretStore(config.secrets.key_file, config.secrets.store_file)
        try:
            password = resolve_credential(domain.password, store)
        except CredentialError as error:
            raise _fail(f"{domain.name}: password: {error}", ExitCode.CONFIG_INVALID) from None
    try:
        return connect(domain, password)
    except AdUnreachable as error:
        raise _fail(str(error), ExitCode.UNAVAILABLE) from None
    except AdAuthError as error:
        raise _fail(str(error), ExitCode.CRITICAL) from None
    except AdConnectionError as error:
        raise _fail(str(error), ExitCode.UNAVAILABLE) from None


def _per_domain(
    ctx: typer.Context,
    domain_name: str | None,
    work: Callable[[sessionmaker[Session], AdConnection, AdDomainConfig], T],
) -> list[T]:
    config = load_cli_config(ctx).config
    results: list[T] = []
    with _store(config) as sessions:
        for domain in _domains(config, domain_name):
            with _connect(config, domain) as conn:
                results.append(work(sessions, conn, domain))
    return results


@snapshot_app.command("ad")
def snapshot_ad(
    ctx: typer.Context, domain: DomainOption = None, as_json: JsonOption = False
) -> None:
    """Read every object of the configured partitions and store new versions (resumable: run it
    again after an interruption)."""

    def work(sessions: sessionmaker[Session], conn: AdConnection, dom: AdDomainConfig) -> Any:
        with Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed} objects"),
            TimeElapsedColumn(),
            console=err_console,
            disable=as_json,
        ) as bar:
            task = bar.add_task(f"snapshot {dom.name}", total=None)
            return snapshot_domain(
                sessions, conn, dom, progress=lambda n: bar.update(task, completed=n)
            ).as_dict()

    results = _per_domain(ctx, domain, work)
    if as_json:
        print_json({"snapshots": results})
        return
    for r in results:
        console.print(
            f"[bold]{r['domain']}[/]: {r['objects']} objects read, {r['new_objects']} new, "
            f"{r['new_versions']} new versions, {r['unchanged']} unchanged in {r['seconds']} s",
            highlight=False,
        )
        if r["not_in_catalog"]:
            skipped = ", ".join(f"{k} {v}" for k, v in r["not_in_catalog"].items())
            console.print(f"  not in the catalog (not stored): {skipped}", highlight=False)
        if r["deletes_detected"]:
            console.print(
                f"  {r['deletes_detected']} deleted while nothing was capturing (actor unknown)",
                highlight=False,
            )
        if r["unreadable"]:
            console.print(
                f"  [yellow]{r['unreadable']} entries skipped: the bind account may not read "
                "their objectGUID[/]",
                highlight=False,
            )


@capture_app.command("ad")
def capture_ad(
    ctx: typer.Context, domain: DomainOption = None, as_json: JsonOption = False
) -> None:
    """One DirSync pass: store the changes since the last pass (or the snapshot)."""

    def work(sessions: sessionmaker[Session], conn: AdConnection, dom: AdDomainConfig) -> Any:
        try:
            result = capture_domain(sessions, conn, dom).as_dict()
        except CaptureError as error:
            raise _fail(str(error), ExitCode.FAILURE) from None
        try:
            report = fill_domain_actors(sessions, conn, dom)
        except OSError as error:
            raise _fail(f"{dom.name}: reading the audit files: {error}", ExitCode.FAILURE) from None
        result["actors"] = (
            None
            if report is None
            else {
                "records_read": report.records_read,
                "attributed": report.filled,
                "unknown": report.unknown,
            }
        )
        return result

    results = _per_domain(ctx, domain, work)
    if as_json:
        print_json({"captures": results})
        return
    for r in results:
        ops = ", ".join(f"{k} {v}" for k, v in r["ops"].items()) or "no changes"
        console.print(
            f"[bold]{r['domain']}[/]: {r['events']} events ({ops}) from {r['entries']} entries",
            highlight=False,
        )
        actors = r["actors"]
        if actors is None:
            console.print("  actors: no audit source configured (samba_audit_files)")
        else:
            console.print(
                f"  actors: {actors['attributed']} events attributed, {actors['unknown']} still "
                f"unknown ({actors['records_read']} audit records read)",
                highlight=False,
            )


def _query(ctx: typer.Context, run: Callable[[Session], T]) -> T:
    config = load_cli_config(ctx).config
    with _store(config) as sessions, sessions() as session:
        try:
            return run(session)
        except history_query.HistoryQueryError as error:
            raise _fail(str(error), ExitCode.FAILURE) from None


def _time(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return history_query.parse_time(text)
    except history_query.HistoryQueryError as error:
        raise typer.BadParameter(str(error)) from None


def _short(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _events_table(events: list[dict[str, Any]]) -> Table:
    table = Table("#", "when", "object", "op", "attribute", "old", "new", "actor")
    for e in events:
        table.add_row(
            str(e["sequence"]),
            (e["occurred_at"] or e["observed_at"])[:19],
            _short(e["object"]["name"] or e["object"]["dn"]),
            e["op"],
            e["attribute"] or "",
            _short(e["old"]),
            _short(e["new"]),
            f"{e['actor']} from {e['actor_address']}"
            if e["actor"] and e["actor_address"]
            else e["actor"] or "(unknown)",
        )
    return table


def changes_cmd(
    ctx: typer.Context,
    domain: DomainOption = None,
    object_: Annotated[
        str | None, typer.Option("--object", help="DN, objectGUID or sAMAccountName.")
    ] = None,
    actor: Annotated[
        str | None,
        typer.Option("--actor", help="Who made the change: DOMAIN\\account or just the account."),
    ] = None,
    since: Annotated[str | None, typer.Option("--since", help=TIME_HELP)] = None,
    until: Annotated[str | None, typer.Option("--until", help=TIME_HELP)] = None,
    attribute: Annotated[str | None, typer.Option("--attribute", help="Attribute name.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Recorded changes, oldest first, filtered by every option given."""
    start, end = _time(since), _time(until)
    events = _query(
        ctx,
        lambda s: history_query.changes(
            s,
            source=domain.lower() if domain else None,
            object_text=object_,
            actor=actor,
            since=start,
            until=end,
            attribute=attribute,
        ),
    )
    if as_json:
        print_json({"changes": events})
    else:
        console.print(_events_table(events))


def history_cmd(
    ctx: typer.Context,
    object_: Annotated[str, typer.Argument(metavar="OBJECT", help="DN, GUID or sAMAccountName.")],
    domain: DomainOption = None,
    as_json: JsonOption = False,
) -> None:
    """The attribute timeline of one object (moves and renames included)."""

    def run(session: Session) -> dict[str, Any]:
        ref = history_query.find_object(session, object_, domain.lower() if domain else None)
        return {"object": ref.__dict__, "events": history_query.history(session, ref)}

    result = _query(ctx, run)
    if as_json:
        print_json(result)
    else:
        console.print(f"[bold]{result['object']['path']}[/] ({result['object']['external_id']})")
        console.print(_events_table(result["events"]))


def show_cmd(
    ctx: typer.Context,
    object_: Annotated[str, typer.Argument(metavar="OBJECT", help="DN, GUID or sAMAccountName.")],
    at: Annotated[str, typer.Option("--at", help=TIME_HELP)],
    domain: DomainOption = None,
    as_json: JsonOption = False,
) -> None:
    """The object's recorded state at a moment."""
    moment = _time(at)

    def run(session: Session) -> dict[str, Any] | None:
        ref = history_query.find_object(session, object_, domain.lower() if domain else None)
        return history_query.state_at(session, ref, moment)

    state = _query(ctx, run)
    if state is None:
        raise _fail(f"dirguard had not recorded {object_!r} by {at}", ExitCode.FAILURE)
    if as_json:
        print_json(state)
        return
    table = Table("attribute", "values", title=f"{object_} at {state['at']}")
    for name, values in sorted(state["attributes"].items()):
        table.add_row(name, _short(values))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(snapshot_app, name="snapshot")
    app.add_typer(capture_app, name="capture")
    app.command("changes")(changes_cmd)
    app.command("history")(history_cmd)
    app.command("show")(show_cmd)
