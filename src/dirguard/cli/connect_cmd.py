"""``dirguard connect``: connections to the directories. ``connect entra`` creates or updates a
tenant's API-access application; ``connect validate`` checks Entra tenants.

Exit codes of ``connect validate``: 0 every tenant is fully consented; 2 partial consent (a
critical error: the features listed will not work); 1 a token or a read failed; 3 invalid
configuration or an unresolvable credential; 4 the tenant cannot be reached. ``connect entra``:
0 done (or nothing to change); 1 setup failed (the message says what the tenant lacks or
refused); 3 invalid options or configuration; 4 the tenant cannot be reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import httpx
import typer
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

from dirguard.catalog.manifest import PRINCIPAL_TITLES
from dirguard.catalog.permission_model import Mode, Principal, Service
from dirguard.cli.context import console, err_console, load_cli_config, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.config.credentials import CredentialError, resolve_credential
from dirguard.config.schema import Config, EntraTenantConfig
from dirguard.config.secret_store import SecretStore
from dirguard.connectors.graph.client import (
    GraphAuthError,
    GraphClient,
    GraphError,
    make_credential,
)
from dirguard.services.entra_setup import EntraSetup, SetupError, SetupReport
from dirguard.services.entra_setup_plan import setup_scopes, setup_target
from dirguard.services.entra_sign_in import DEFAULT_SETUP_CLIENT_ID, admin_graph_client
from dirguard.services.entra_validate import TenantValidation, validate_tenant

connect_app = typer.Typer(
    help="Connections to Active Directory and Entra ID: create and validate them.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
)


class _Failed(Exception):
    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


def _client(config: Config, tenant: EntraTenantConfig) -> GraphClient:
    store = SecretStore(config.secrets.key_file, config.secrets.store_file)
    ref = tenant.client_secret or tenant.certificate
    field = "client_secret" if tenant.client_secret else "certificate"
    assert ref is not None  # the schema requires exactly one
    try:
        value = resolve_credential(ref, store)
    except CredentialError as exc:
        raise _Failed(f"{tenant.name}: {field}: {exc}", ExitCode.CONFIG_INVALID) from None
    secret = value if tenant.client_secret else None
    credential = make_credential(
        tenant_id=str(tenant.tenant_id),
        client_id=str(tenant.client_id),
        authority=tenant.authority,
        ca_file=tenant.ca_file,
        client_secret=secret,
        certificate_pem=None if secret else value,
    )
    return GraphClient(
        tenant_id=f"{tenant.name} ({tenant.tenant_id})",
        credential=credential,
        graph_url=tenant.graph_url,
        ca_file=tenant.ca_file,
        secret=value,
    )


def _validate(config: Config, tenant: EntraTenantConfig) -> TenantValidation:
    graph = _client(config, tenant)
    try:
        return validate_tenant(
            graph,
            tenant=tenant.name,
            client_id=str(tenant.client_id),
            services=tenant.services,
            mode=tenant.mode,
        )
    except GraphAuthError as exc:
        raise _Failed(str(exc), ExitCode.FAILURE) from None
    except GraphError as exc:
        raise _Failed(f"{tenant.name}: {exc}", ExitCode.FAILURE) from None
    except (httpx.TransportError, ServiceRequestError) as exc:
        raise _Failed(
            f"{tenant.name}: cannot reach the tenant ({type(exc).__name__})", ExitCode.UNAVAILABLE
        ) from None
    finally:
        graph.close()


def validation_json(result: TenantValidation) -> dict[str, Any]:
    consent = result.consent
    return {
        "tenant": result.tenant,
        "mode": result.mode.value,
        "services": [s.value for s in result.services],
        "token": "ok",
        "complete": consent.complete,
        "missing": [
            {
                "key": m.key,
                "name": m.name,
                "kind": m.kind,
                "principal": m.principal,
                "features": list(m.features),
            }
            for m in consent.missing
        ],
        "satisfied": list(consent.satisfied),
        "not_checked": [
            {"key": p.key, "name": p.name, "kind": p.kind.value} for p in result.not_checked
        ],
        "mfa": {
            "security_defaults": result.mfa.security_defaults,
            "conditional_access_mfa_policies": list(result.mfa.mfa_policies),
        },
        "expiring_credentials": [
            {"kind": c.kind, "name": c.name, "end": c.end.isoformat(), "days_left": c.days_left}
            for c in result.expiring
        ],
        "warnings": list(result.warnings),
    }


def _render(result: TenantValidation) -> None:
    scope = f"{', '.join(s.value for s in result.services)}, {result.mode.value} mode"
    console.print(f"[bold]Tenant {result.tenant}[/bold] ({scope}): token acquired.", soft_wrap=True)
    consent = result.consent
    if consent.complete:
        console.print(f"  All {len(consent.satisfied)} checked permissions are granted.")
    else:
        console.print("  [bold]Missing permissions:[/bold]")
        for missing in consent.missing:
            console.print(
                f"    [bold red]✗ {missing.name}[/bold red] ({missing.kind},"
                f" {PRINCIPAL_TITLES[Principal(missing.principal)]})",
                soft_wrap=True,
            )
            console.print(f"        breaks: {', '.join(missing.features)}", soft_wrap=True)
    if result.not_checked:
        names = ", ".join(f"{p.name} ({p.kind.value})" for p in result.not_checked)
        console.print(f"  Not checked (not readable from Graph yet): {names}", soft_wrap=True)
    defaults = result.mfa.security_defaults
    state = "unknown" if defaults is None else "on" if defaults else "off"
    console.print(f"  Security defaults: {state}")
    policies = ", ".join(result.mfa.mfa_policies) or "none"
    console.print(f"  Conditional access policies requiring MFA for all users: {policies}")
    for expiry in result.expiring:
        when = "expired" if expiry.days_left < 0 else f"expires in {expiry.days_left} day(s)"
        console.print(
            f"  [yellow]warning: {expiry.kind} {expiry.name!r} {when}"
            f" ({expiry.end:%Y-%m-%d})[/yellow]",
            soft_wrap=True,
        )
    for warning in result.warnings:
        console.print(f"  [yellow]warning: {warning}[/yellow]", soft_wrap=True, markup=True)
    if not consent.complete:
        err_console.print(
            f"[bold red]{result.tenant}: partial consent: {len(consent.missing)} required"
            " permission(s) missing. This is a critical error; the features listed will not"
            " work.[/bold red]"
        )


@connect_app.command("validate")
def validate(
    ctx: typer.Context,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant", "-t", help="Only this configured tenant (by name).", show_default=False
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Validate each configured Entra tenant: token, consent against the manifest, MFA, expiry."""
    config = load_cli_config(ctx, as_json=json_out).config
    tenants = [t for t in config.entra.tenants if tenant is None or t.name == tenant]
    if not tenants:
        known = ", ".join(t.name for t in config.entra.tenants) or "none configured"
        err_console.print(
            f"error: no Entra tenant {tenant!r} in the configuration; known: {known}"
            if tenant
            else "error: no Entra tenants configured (add [[entra.tenants]])",
            markup=False,
        )
        raise typer.Exit(ExitCode.CONFIG_INVALID)
    results: list[TenantValidation] = []
    for entry in tenants:
        try:
            results.append(_validate(config, entry))
        except _Failed as exc:
            if json_out:
                print_json({"tenant": entry.name, "error": str(exc)})
            err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(exc.code) from None
    if json_out:
        print_json({"tenants": [validation_json(r) for r in results]})
    else:
        for result in results:
            _render(result)
    if any(r.partial_consent for r in results):
        raise typer.Exit(ExitCode.CRITICAL)


def _split_services(text: str) -> list[Service]:
    services: list[Service] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            services.append(Service(part))
        except ValueError:
            valid = ", ".join(s.value for s in Service)
            raise _Failed(
                f"--services: unknown service {part!r}; valid: {valid}", ExitCode.CONFIG_INVALID
            ) from None
    if not services:
        raise _Failed("--services: name at least one service", ExitCode.CONFIG_INVALID)
    return list(dict.fromkeys(services))


@dataclass(frozen=True, kw_only=True)
class _EntraTarget:
    name: str
    tenant_id: str
    authority: str
    graph_url: str
    ca_file: Path | None
    client_id: str | None
    services: list[Service]


def _entra_target(
    config: Config,
    tenant: str,
    services: str | None,
    overrides: dict[str, Any],
) -> _EntraTarget:
    known = next((t for t in config.entra.tenants if t.name == tenant), None)
    if known is not None:
        return _EntraTarget(
            name=known.name,
            tenant_id=str(known.tenant_id),
            authority=overrides["authority"] or known.authority,
            graph_url=overrides["graph_url"] or known.graph_url,
            ca_file=overrides["ca_file"] or known.ca_file,
            client_id=overrides["client_id"] or str(known.client_id),
            services=_split_services(services) if services else list(known.services),
        )
    for option in ("authority", "graph_url"):
        value = overrides[option]
        if value is not None and not value.startswith("https://"):
            flag = "--" + option.replace("_", "-")
            raise _Failed(f"{flag} must be an https:// URL", ExitCode.CONFIG_INVALID)
    if "." not in tenant and not _is_uuid(tenant):
        names = ", ".join(t.name for t in config.entra.tenants) or "none configured"
        raise _Failed(
            f"--tenant {tenant!r} is neither a configured tenant ({names}) nor a tenant id or"
            " domain name",
            ExitCode.CONFIG_INVALID,
        )
    return _EntraTarget(
        name=tenant if "." not in tenant else tenant.split(".", 1)[0],
        tenant_id=tenant,
        authority=(overrides["authority"] or "https://login.microsoftonline.com").rstrip("/"),
        graph_url=(overrides["graph_url"] or "https://graph.microsoft.com").rstrip("/"),
        ca_file=overrides["ca_file"],
        client_id=overrides["client_id"],
        services=_split_services(services or "guardian"),
    )


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def _config_snippet(target: _EntraTarget, report: SetupReport, mode: Mode) -> str:
    lines = [
        "[[entra.tenants]]",
        f'name = "{target.name}"',
        f'tenant_id = "{target.tenant_id}"',
        f'client_id = "{report.app_id}"',
        f'certificate = "secret:{report.certificate_secret}"',
        f'authority = "{target.authority}"',
        f'graph_url = "{target.graph_url}"',
    ]
    if target.ca_file is not None:
        lines.append(f'ca_file = "{target.ca_file}"')
    lines.append(f'mode = "{mode.value}"')
    lines.append(f"services = [{', '.join(repr(s.value) for s in target.services)}]")
    return "\n".join(lines).replace("'", '"')


def _run_setup(
    config: Config, target: _EntraTarget, mode: Mode, *, remove_extra: bool, setup_client_id: str
) -> SetupReport:
    def prompt(url: str, code: str, expires: datetime) -> None:
        err_console.print(
            f"To sign in as a Global Administrator of {target.name}, open {url} and enter the"
            f" code [bold]{code}[/bold] (valid until {expires:%H:%M} UTC).",
            soft_wrap=True,
            highlight=False,
        )

    graph = admin_graph_client(
        tenant_id=target.tenant_id,
        setup_client_id=setup_client_id,
        authority=target.authority,
        graph_url=target.graph_url,
        ca_file=target.ca_file,
        scopes=setup_scopes(),
        prompt=prompt,
    )
    store = SecretStore(config.secrets.key_file, config.secrets.store_file)
    try:
        graph.token()
        return EntraSetup(
            graph,
            tenant_id=target.tenant_id,
            target=setup_target(target.services, mode),
            store=store,
            client_id=target.client_id,
            remove_extra=remove_extra,
        ).run()
    except ClientAuthenticationError as exc:
        raise _Failed(f"{target.name}: sign-in failed: {exc.message}", ExitCode.FAILURE) from None
    except (GraphAuthError, SetupError) as exc:
        raise _Failed(f"{target.name}: {exc}", ExitCode.FAILURE) from None
    except GraphError as exc:
        raise _Failed(f"{target.name}: {exc}", ExitCode.FAILURE) from None
    except (httpx.TransportError, ServiceRequestError) as exc:
        raise _Failed(
            f"{target.name}: cannot reach the tenant ({type(exc).__name__})", ExitCode.UNAVAILABLE
        ) from None
    finally:
        graph.close()


def setup_json(target: _EntraTarget, report: SetupReport, mode: Mode) -> dict[str, Any]:
    return {
        "tenant": target.name,
        "tenant_id": report.tenant_id,
        "mode": mode.value,
        "services": [s.value for s in target.services],
        "client_id": report.app_id,
        "application_id": report.application_id,
        "service_principal_id": report.service_principal_id,
        "certificate": f"secret:{report.certificate_secret}",
        "changed": report.changed,
        "actions": [
            {"step": a.step, "change": a.change, "detail": a.detail} for a in report.actions
        ],
        "config": _config_snippet(target, report, mode),
    }


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
    }
    try:
        target = _entra_target(config, tenant, services, overrides)
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
    console.print("\nConfiguration for this connection:")
    console.print(_config_snippet(target, report, mode), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(connect_app, name="connect")
