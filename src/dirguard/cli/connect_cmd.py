"""``dirguard connect``: connections to the directories. ``connect entra`` creates or updates a
tenant's API-access application; ``connect ad`` (``connect_ad_cmd``) provisions or checks the AD
service account; ``connect validate`` (``connect_validate_cmd``) checks tenants and domains.

Exit codes of ``connect entra``: 0 done (or nothing to change); 1 setup failed (the message says
what the tenant lacks or refused); 3 invalid options or configuration; 4 the tenant cannot be
reached.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from dirguard.catalog.permission_model import Mode
from dirguard.cli.common import EXIT_CODES
from dirguard.cli.context import console, err_console, load_cli_config, print_json
from dirguard.cli.lazy_commands import LazyCommand, LazyCommands
from dirguard.providers.entra.setup.app import SetupReport
from dirguard.providers.entra.setup.target import (
    EntraTarget,
    TargetError,
    config_snippet,
    resolve_target,
    setup_json,
)
from dirguard.providers.entra.sign_in import DEFAULT_SETUP_CLIENT_ID
from dirguard.services.errors import Problem, ServiceError


class _ConnectCommands(LazyCommands):
    """``validate`` and ``ad`` are imported when they run: ``connect entra`` needs no LDAP."""

    table = (
        LazyCommand(
            "validate",
            "connect_validate_cmd",
            "Validate each configured Entra tenant and AD domain against the permission manifest.",
        ),
        LazyCommand(
            "ad",
            "connect_ad_cmd",
            "Create dirguard's AD service account with the groups and rights its mode needs, or"
            " check it.",
        ),
    )


connect_app = typer.Typer(
    help="Connections to Active Directory and Entra ID: create and validate them.",
    cls=_ConnectCommands,
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
)


_CHANGE_STYLE = {"added": "green", "created": "green", "removed": "red", "kept": "dim"}


TenantOption = Annotated[
    str,
    typer.Option(
        "--tenant",
        "-t",
        help="A configured tenant's name, or the tenant id or domain of a new one.",
        show_default=False,
    ),
]
ModeOption = Annotated[Mode, typer.Option("--mode", help="read-only or full.", show_default=False)]
ServicesOption = Annotated[
    str | None,
    typer.Option(
        "--services",
        help="Comma-separated: administrator,guardian (default: the tenant's, or guardian).",
        show_default=False,
    ),
]
RemoveExtraOption = Annotated[
    bool, typer.Option("--remove-extra", help="Also remove grants the manifest does not need.")
]
ClientIdOption = Annotated[
    str | None, typer.Option("--client-id", help="Update this application (default: dirguard's).")
]
AuthorityOption = Annotated[
    str | None, typer.Option("--authority", help="Entra authority URL (new tenants).")
]
GraphUrlOption = Annotated[
    str | None, typer.Option("--graph-url", help="Microsoft Graph URL (new tenants).")
]
CaFileOption = Annotated[
    Path | None, typer.Option("--ca-file", help="Extra CA bundle (TLS inspection, sandbox).")
]
SubscriptionOption = Annotated[
    list[str] | None,
    typer.Option(
        "--subscription",
        help="Azure subscription id for the RBAC roles (repeatable; default: the tenant's).",
        show_default=False,
    ),
]
ArmUrlOption = Annotated[
    str | None, typer.Option("--arm-url", help="Azure Resource Manager URL (new tenants).")
]
SetupClientOption = Annotated[
    str, typer.Option("--setup-client-id", help="Public client the administrator signs in to.")
]
JsonOutOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@connect_app.command("entra")
def entra(
    ctx: typer.Context,
    tenant: TenantOption,
    mode: ModeOption,
    services: ServicesOption = None,
    remove_extra: RemoveExtraOption = False,
    client_id: ClientIdOption = None,
    authority: AuthorityOption = None,
    graph_url: GraphUrlOption = None,
    ca_file: CaFileOption = None,
    subscription: SubscriptionOption = None,
    arm_url: ArmUrlOption = None,
    setup_client_id: SetupClientOption = DEFAULT_SETUP_CLIENT_ID,
    json_out: JsonOutOption = False,
) -> None:
    """Create or update the tenant's API-access application with exactly the manifest's
    permissions for the services and mode: a Global Administrator signs in with a device code."""
    from dirguard.services.connect_entra import connect_entra

    config = load_cli_config(ctx, as_json=json_out).config
    overrides: dict[str, object] = {"authority": authority, "graph_url": graph_url}
    overrides |= {"ca_file": ca_file, "client_id": client_id, "arm_url": arm_url}
    overrides["subscriptions"] = list(subscription or [])
    try:
        try:
            target = resolve_target(config, tenant, services, overrides)
        except TargetError as exc:
            raise ServiceError(str(exc), Problem.CONFIG) from None
        report = connect_entra(
            config,
            target,
            mode,
            remove_extra=remove_extra,
            setup_client_id=setup_client_id,
            prompt=_sign_in_prompt(target.name),
        )
    except ServiceError as exc:
        if json_out:
            print_json({"tenant": tenant, "error": str(exc)})
        err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(EXIT_CODES[exc.problem]) from None
    if json_out:
        print_json(setup_json(target, report, mode))
    else:
        _render(target, report, mode)


def _sign_in_prompt(tenant: str) -> Callable[[str, str, datetime], None]:
    def prompt(url: str, code: str, expires: datetime) -> None:
        err_console.print(
            f"To sign in as a Global Administrator of {tenant}, open {url} and enter the"
            f" code [bold]{code}[/bold] (valid until {expires:%H:%M} UTC).",
            soft_wrap=True,
            highlight=False,
        )

    return prompt


def _render(target: EntraTarget, report: SetupReport, mode: Mode) -> None:
    scope = f"{', '.join(s.value for s in target.services)}, {mode.value} mode"
    console.print(f"[bold]Tenant {target.name}[/bold] ({scope}):", soft_wrap=True)
    for action in report.actions:
        style = _CHANGE_STYLE.get(action.change, "")
        console.print(
            f"  [{style}]{action.change:8}[/{style}] {action.step}: {action.detail}",
            soft_wrap=True,
            highlight=False,
        )
    if not report.changed:
        console.print("Nothing to change: the application already holds what the manifest needs.")
    for missing in report.missing:
        console.print(
            f"[yellow]warning: {missing.step} {missing.detail} is not assigned; read-only mode"
            " does not assign Azure roles (assign it, or connect in full mode)[/yellow]",
            soft_wrap=True,
        )
    console.print("\nConfiguration for this connection:")
    console.print(config_snippet(target, report, mode), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(connect_app, name="connect")
