"""``dirguard connect``: connections to the directories. ``connect entra`` creates or updates a
tenant's API-access application; ``connect ad`` (``connect_ad_cmd``) provisions or checks the AD
service account; ``connect validate`` (``connect_validate_cmd``) checks tenants and domains.

Exit codes of ``connect entra``: 0 done (or nothing to change); 1 setup failed (the message says
what the tenant lacks or refused); 3 invalid options or configuration; 4 the tenant cannot be
reached.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import httpx
import typer
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

from dirguard.catalog.permission_model import Mode
from dirguard.cli.context import console, err_console, load_cli_config, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.cli.lazy_commands import LazyCommand, LazyCommands
from dirguard.config.schema import Config
from dirguard.config.secret_store import SecretStore
from dirguard.providers.entra.azure_rbac import ArmRbac, RbacError
from dirguard.providers.entra.graph_client import (
    GraphAuthError,
    GraphError,
)
from dirguard.providers.entra.setup.app import EntraSetup, SetupError, SetupReport
from dirguard.providers.entra.setup.plan import setup_scopes, setup_target
from dirguard.providers.entra.setup.target import (
    EntraTarget,
    TargetError,
    config_snippet,
    resolve_target,
    setup_json,
)
from dirguard.providers.entra.sign_in import (
    DEFAULT_SETUP_CLIENT_ID,
    admin_graph_client,
    device_code_credential,
    token_tenant,
)


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


class _Failed(Exception):
    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


def _run_setup(
    config: Config, target: EntraTarget, mode: Mode, *, remove_extra: bool, setup_client_id: str
) -> SetupReport:
    def prompt(url: str, code: str, expires: datetime) -> None:
        err_console.print(
            f"To sign in as a Global Administrator of {target.name}, open {url} and enter the"
            f" code [bold]{code}[/bold] (valid until {expires:%H:%M} UTC).",
            soft_wrap=True,
            highlight=False,
        )

    credential = device_code_credential(
        tenant_id=target.tenant_id,
        client_id=setup_client_id,
        authority=target.authority,
        ca_file=target.ca_file,
        prompt=prompt,
    )
    graph = admin_graph_client(
        credential,
        tenant_id=target.tenant_id,
        graph_url=target.graph_url,
        ca_file=target.ca_file,
        scopes=setup_scopes(),
    )
    rbac = (
        ArmRbac.connect(
            credential,
            arm_url=target.arm_url,
            ca_file=target.ca_file,
            tenant=target.tenant_id,
            delegated=True,
        )
        if target.subscriptions
        else None
    )
    store = SecretStore(config.secrets.key_file, config.secrets.store_file)
    try:
        signed_in = token_tenant(graph.token())
        return EntraSetup(
            graph,
            tenant_id=signed_in or target.tenant_id,
            target=setup_target(target.services, mode),
            store=store,
            client_id=target.client_id,
            remove_extra=remove_extra,
            rbac=rbac,
            subscriptions=target.subscriptions,
        ).run()
    except ClientAuthenticationError as exc:
        raise _Failed(f"{target.name}: sign-in failed: {exc.message}", ExitCode.FAILURE) from None
    except (GraphAuthError, SetupError, GraphError, RbacError) as exc:
        raise _Failed(f"{target.name}: {exc}", ExitCode.FAILURE) from None
    except (httpx.TransportError, ServiceRequestError) as exc:
        raise _Failed(
            f"{target.name}: cannot reach the tenant ({type(exc).__name__})", ExitCode.UNAVAILABLE
        ) from None
    finally:
        graph.close()
        if rbac is not None:
            rbac.close()


_CHANGE_STYLE = {"added": "green", "created": "green", "removed": "red", "kept": "dim"}


@connect_app.command("entra")
def entra(
    ctx: typer.Context,
    tenant: Annotated[
        str,
        typer.Option(
            "--tenant",
            "-t",
            help="A configured tenant's name, or the tenant id or domain of a new one.",
            show_default=False,
        ),
    ],
    mode: Annotated[Mode, typer.Option("--mode", help="read-only or full.", show_default=False)],
    services: Annotated[
        str | None,
        typer.Option(
            "--services",
            help="Comma-separated: administrator,guardian (default: the tenant's, or guardian).",
            show_default=False,
        ),
    ] = None,
    remove_extra: Annotated[
        bool,
        typer.Option("--remove-extra", help="Also remove grants the manifest does not need."),
    ] = False,
    client_id: Annotated[
        str | None,
        typer.Option("--client-id", help="Update this application (default: dirguard's)."),
    ] = None,
    authority: Annotated[
        str | None, typer.Option("--authority", help="Entra authority URL (new tenants).")
    ] = None,
    graph_url: Annotated[
        str | None, typer.Option("--graph-url", help="Microsoft Graph URL (new tenants).")
    ] = None,
    ca_file: Annotated[
        Path | None, typer.Option("--ca-file", help="Extra CA bundle (TLS inspection, sandbox).")
    ] = None,
    subscription: Annotated[
        list[str] | None,
        typer.Option(
            "--subscription",
            help="Azure subscription id for the RBAC roles (repeatable; default: the tenant's).",
            show_default=False,
        ),
    ] = None,
    arm_url: Annotated[
        str | None, typer.Option("--arm-url", help="Azure Resource Manager URL (new tenants).")
    ] = None,
    setup_client_id: Annotated[
        str,
        typer.Option("--setup-client-id", help="Public client the administrator signs in to."),
    ] = DEFAULT_SETUP_CLIENT_ID,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Create or update the tenant's API-access application with exactly the manifest's
    permissions for the services and mode: a Global Administrator signs in with a device code."""
    config = load_cli_config(ctx, as_json=json_out).config
    overrides = {
        "authority": authority,
        "graph_url": graph_url,
        "ca_file": ca_file,
        "client_id": client_id,
        "arm_url": arm_url,
        "subscriptions": list(subscription or []),
    }
    try:
        try:
            target = resolve_target(config, tenant, services, overrides)
        except TargetError as exc:
            raise _Failed(str(exc), ExitCode.CONFIG_INVALID) from None
        report = _run_setup(
            config, target, mode, remove_extra=remove_extra, setup_client_id=setup_client_id
        )
    except _Failed as exc:
        if json_out:
            print_json({"tenant": tenant, "error": str(exc)})
        err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.code) from None
    if json_out:
        print_json(setup_json(target, report, mode))
        return
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
