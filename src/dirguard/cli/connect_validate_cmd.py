"""``dirguard connect validate``: check each configured Entra tenant (token, consent against the
manifest, MFA posture, credential expiry) and AD domain (bind, the account's group memberships
and extended rights against the manifest; ``connect_validate_ad``).

Exit codes: 0 every tenant is fully consented and every AD account holds what its mode needs;
2 partial consent or a missing group or right (a critical error: the features listed will not
work); 1 a token or a read failed, an AD bind was refused, or a read-only tenant holds a
permission or role that writes (too much: read-only mode would not be read-only); 3 invalid
configuration or an unresolvable credential; 4 a tenant or domain cannot be reached.
"""

from __future__ import annotations

import getpass
from typing import Annotated, Any

import typer

from dirguard.catalog.manifest import PRINCIPAL_TITLES
from dirguard.catalog.permission_model import Principal
from dirguard.cli import connect_validate_ad as ad_part
from dirguard.cli.common import EXIT_CODES
from dirguard.cli.context import console, err_console, load_cli_config, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.config.schema import Config, EntraTenantConfig
from dirguard.providers.entra.validate import TenantValidation
from dirguard.services.connection_validate import validate_tenant
from dirguard.services.errors import ServiceError


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
        "excess": [{"name": e.name, "kind": e.kind, "where": e.where} for e in result.excess],
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
    for entry in result.excess:
        console.print(
            f"    [bold yellow]! {entry.name}[/bold yellow] ({entry.kind}): too much for"
            " read-only mode, it lets the app write",
            soft_wrap=True,
        )
    if result.not_checked:
        names = ", ".join(f"{p.name} ({p.kind.value})" for p in result.not_checked)
        console.print(f"  Not checked: {names}", soft_wrap=True)
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
    if result.excess:
        names = ", ".join(e.name for e in result.excess)
        err_console.print(
            f"[bold yellow]{result.tenant}: read-only mode holds {len(result.excess)} permission(s)"
            f" or role(s) that write ({names}): dirguard could write with them. Remove them"
            " (dirguard connect entra --mode read-only --remove-extra).[/bold yellow]",
            soft_wrap=True,
        )


def record_checks(
    config: Config,
    results: list[TenantValidation],
    tenants: list[EntraTenantConfig],
    outcomes: list[ad_part.DomainOutcome],
    *,
    failed: ServiceError | None = None,
) -> None:
    """Keep what this validation found as each connection's consent state in the store (the
    console's banner reads it); a store that cannot be written is a warning, not a failure."""
    from dirguard.services.consent_state import domain_state, record_states, tenant_state
    from dirguard.services.runtime import open_runtime

    who = getpass.getuser()
    by_name = {d.name: d for d in config.ad.domains}
    states = [domain_state(by_name[o.domain], o, who) for o in outcomes]
    done = {r.tenant: r for r in results}
    for tenant in tenants:
        if tenant.name in done:
            states.append(tenant_state(tenant, done[tenant.name], who))
        elif failed is not None:
            states.append(tenant_state(tenant, None, who, error=str(failed)))
    if not states:
        return
    try:
        with open_runtime(config, who) as runtime:
            record_states(runtime.sessions, states)
    except Exception as error:  # the validation's own result stands
        err_console.print(
            f"warning: the consent state was not recorded in the store: {error}",
            markup=False,
            soft_wrap=True,
        )


def _entra_tenants(config: Config, tenant: str | None) -> list[EntraTenantConfig]:
    tenants = [t for t in config.entra.tenants if tenant is None or t.name == tenant]
    if tenants or (tenant is None and config.ad.domains):
        return tenants
    known = ", ".join(t.name for t in config.entra.tenants) or "none configured"
    err_console.print(
        f"error: no Entra tenant {tenant!r} in the configuration; known: {known}"
        if tenant
        else "error: no Entra tenants or AD domains configured (add [[entra.tenants]] or"
        " [[ad.domains]])",
        markup=False,
    )
    raise typer.Exit(ExitCode.CONFIG_INVALID)


def validate(
    ctx: typer.Context,
    tenant: Annotated[
        str | None,
        typer.Option(
            "--tenant", "-t", help="Only this configured tenant (by name).", show_default=False
        ),
    ] = None,
    domain: Annotated[
        str | None,
        typer.Option(
            "--domain", "-d", help="Only this configured AD domain (by name).", show_default=False
        ),
    ] = None,
    skip_entra: Annotated[
        bool, typer.Option("--skip-entra", help="Do not validate Entra tenants.")
    ] = False,
    skip_ad: Annotated[bool, typer.Option("--skip-ad", help="Do not validate AD domains.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Validate each configured Entra tenant and AD domain against the permission manifest.

    Entra: token, application and delegated consent, directory and Azure roles, MFA posture,
    credential expiry. AD: bind as the configured account, its groups and extended rights.
    --tenant alone validates only that tenant, --domain alone only that domain."""
    config = load_cli_config(ctx, as_json=json_out).config
    if (tenant and skip_entra) or (domain and skip_ad) or (skip_entra and skip_ad):
        err_console.print(
            "error: nothing to validate: --tenant/--domain contradict --skip-entra/--skip-ad,"
            " and --skip-entra with --skip-ad leaves nothing",
            markup=False,
        )
        raise typer.Exit(ExitCode.CONFIG_INVALID)
    with_entra = not skip_entra and (tenant is not None or domain is None)
    with_ad = not skip_ad and (domain is not None or tenant is None)
    tenants = _entra_tenants(config, tenant) if with_entra else []
    try:
        domains = ad_part.select_domains(config, domain) if with_ad else []
    except ad_part.DomainSelectionError as exc:
        err_console.print(f"error: {exc}", markup=False)
        raise typer.Exit(ExitCode.CONFIG_INVALID) from None
    results: list[TenantValidation] = []
    for entry in tenants:
        try:
            results.append(validate_tenant(config, entry))
        except ServiceError as exc:
            record_checks(config, [], [entry], [], failed=exc)
            if json_out:
                print_json({"tenant": entry.name, "error": str(exc)})
            err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
            raise typer.Exit(EXIT_CODES[exc.problem]) from None
    outcomes = ad_part.validate_domains(config, domains)
    record_checks(config, results, tenants, outcomes)
    if json_out:
        print_json(
            {
                "tenants": [validation_json(r) for r in results],
                "ad": [o.to_dict() for o in outcomes],
            }
        )
    else:
        for result in results:
            _render(result)
    quiet = console.quiet
    console.quiet = json_out or quiet
    try:
        for outcome in outcomes:
            ad_part.render(outcome)
    finally:
        console.quiet = quiet
    code = ad_part.exit_code(outcomes)
    if code is ExitCode.OK and any(r.partial_consent for r in results):
        code = ExitCode.CRITICAL
    if code is ExitCode.OK and any(r.too_much for r in results):
        code = ExitCode.FAILURE
    if code is not ExitCode.OK:
        raise typer.Exit(code)


def register(connect_app: typer.Typer) -> None:
    """Add ``validate`` to the ``connect`` command group."""
    connect_app.command("validate")(validate)
