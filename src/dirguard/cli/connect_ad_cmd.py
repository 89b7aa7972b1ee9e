"""``dirguard connect ad``: provision dirguard's AD service account, or check it (``--check``).

The operator's own credentials come from the domain's configuration (``bind_upn``/``password``)
or from ``--operator-upn`` with ``--operator-password`` (a credential reference) or a prompt.
Exit codes: 0 done (or everything held); 2 the operator lacks a group a partition's setup needs,
the DC refused a grant (the output says how to make it by hand), or (``--check``, and after a
setup) the account lacks something; 1 a directory operation failed;
3 invalid configuration or an unresolvable credential; 4 no domain controller answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import ldap
import typer
from rich.markup import escape

from dirguard.catalog.permission_model import Mode
from dirguard.catalog.resource_type import Partition
from dirguard.cli.context import console, err_console, load_cli_config, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.config.credentials import CredentialError, resolve_credential
from dirguard.config.schema import AdDomainConfig, Config
from dirguard.config.secret_store import SecretStore
from dirguard.log_setup import register_secret
from dirguard.providers.ad.connection import (
    AdAuthError,
    AdConnection,
    AdConnectionError,
    AdTlsError,
    AdUnreachable,
    connect,
)
from dirguard.providers.ad.directory import forest_domains
from dirguard.providers.ad.setup.account_setup import (
    DomainSetup,
    OperatorCheck,
    SetupError,
    account_name,
    check_operator,
    ldap_error_text,
    setup_account,
)
from dirguard.providers.ad.setup.connection_check import (
    AdAccountCheck,
    AdCheckError,
    check_ad_account,
)


class _Failed(Exception):
    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.code = code


def _domain(config: Config, name: str | None) -> AdDomainConfig:
    domains = config.ad.domains
    if not domains:
        raise _Failed("no [[ad.domains]] in the configuration", ExitCode.CONFIG_INVALID)
    if name is None:
        if len(domains) > 1:
            known = ", ".join(d.name for d in domains)
            raise _Failed(
                f"several domains are configured; pick one with --domain ({known})",
                ExitCode.CONFIG_INVALID,
            )
        return domains[0]
    for domain in domains:
        if domain.name == name.lower():
            return domain
    known = ", ".join(d.name for d in domains)
    raise _Failed(
        f"no AD domain {name!r} configured (configured: {known})", ExitCode.CONFIG_INVALID
    )


def _partitions(text: str | None, domain: AdDomainConfig) -> list[Partition]:
    if text is None:
        return list(domain.partitions)
    chosen: list[Partition] = []
    for part in (p.strip().lower() for p in text.split(",")):
        try:
            chosen.append(Partition(part))
        except ValueError:
            valid = ", ".join(p.value for p in Partition)
            raise typer.BadParameter(f"unknown partition {part!r}; valid: {valid}") from None
    return list(dict.fromkeys([Partition.DOMAIN, *chosen]))


def _operator(
    config: Config, domain: AdDomainConfig, upn: str | None, password_ref: str | None
) -> tuple[AdDomainConfig, str | None]:
    """The domain configuration bound as the operator, and the operator's password."""
    store = SecretStore(config.secrets.key_file, config.secrets.store_file)
    if upn is None:
        if password_ref is not None:
            raise _Failed("--operator-password needs --operator-upn", ExitCode.CONFIG_INVALID)
        if domain.password is None:
            return domain, None
        try:
            return domain, resolve_credential(domain.password, store)
        except CredentialError as exc:
            raise _Failed(f"{domain.name}: password: {exc}", ExitCode.CONFIG_INVALID) from None
    if "@" not in upn:
        raise _Failed(f"--operator-upn {upn!r} is not a UPN (name@domain)", ExitCode.CONFIG_INVALID)
    bound = domain.model_copy(update={"bind_upn": upn, "auth": "simple"})
    if password_ref is None:
        password = typer.prompt(f"Password of {upn}", hide_input=True, err=True)
        register_secret(password)
        return bound, password
    try:
        return bound, resolve_credential(password_ref, store)
    except CredentialError as exc:
        raise _Failed(f"--operator-password: {exc}", ExitCode.CONFIG_INVALID) from None


@contextmanager
def _connected(domain: AdDomainConfig, password: str | None) -> Iterator[AdConnection]:
    try:
        conn = connect(domain, password)
    except AdTlsError as exc:  # wrong CA file or a server name the certificate lacks
        raise _Failed(str(exc), ExitCode.CONFIG_INVALID) from None
    except AdUnreachable as exc:
        raise _Failed(str(exc), ExitCode.UNAVAILABLE) from None
    except AdAuthError as exc:
        raise _Failed(str(exc), ExitCode.CRITICAL) from None
    except AdConnectionError as exc:
        raise _Failed(str(exc), ExitCode.UNAVAILABLE) from None
    with conn:
        yield conn


def _domains_of_forest(
    conn: AdConnection, bound: AdDomainConfig, forest: bool
) -> list[tuple[str, AdDomainConfig | None]]:
    """(DNS name, configuration to connect with; None: the connection at hand) per domain."""
    if not forest:
        return [(bound.name, None)]
    found: list[tuple[str, AdDomainConfig | None]] = []
    for entry in forest_domains(conn.ldap, conn.contexts):
        same = entry.naming_context.lower() == conn.contexts.default.lower()
        other = bound.model_copy(update={"name": entry.dns_name, "servers": [entry.dns_name]})
        found.append((entry.dns_name if not same else bound.name, None if same else other))
    return found


def _render_operator(check: OperatorCheck) -> None:
    for need in check.missing:
        err_console.print(
            f"[bold red]✗ {escape(check.operator)} is not a member of {escape(need.group)}"
            f"[/bold red] ({escape(need.setup_name)}: needed to set up the"
            f" {need.partition.value} partition, {need.feature})",
            soft_wrap=True,
        )


def _render_setup(result: DomainSetup) -> None:
    kind = "gMSA" if result.account_kind == "gmsa" else "regular user account"
    console.print(
        f"[bold]{escape(result.domain)}[/bold]: {kind} {escape(result.account)}"
        f" ({escape(result.account_dn)})",
        soft_wrap=True,
    )
    console.print(f"  why: {escape(result.kind_reason)}", soft_wrap=True)
    marks = {"added": "+", "created": "+", "password-stored": "+", "absent": "!", "refused": "✗"}
    for action in result.actions:
        mark = marks.get(action.status, "=")
        detail = f" — {escape(action.detail)}" if action.detail else ""
        console.print(
            f"  {mark} {action.kind} {escape(action.name)}: {action.status}{detail}", soft_wrap=True
        )
    if not result.changed:
        console.print("  Nothing to add: the account already holds everything (no change made).")
    if result.secret:
        console.print(
            f'  Configure the domain with bind_upn = "{escape(result.account)}@'
            f'{escape(result.domain)}" and password = "{escape(result.secret)}"',
            soft_wrap=True,
        )


def print_account_findings(check: AdAccountCheck, *, indent: str = "  ") -> None:
    """The missing grants (with the features they break) and the absent groups of a check."""
    for missing in check.missing:
        console.print(
            f"{indent}[bold red]✗ {escape(missing.name)}[/bold red] ({missing.kind}) missing:"
            f" {escape(check.details.get(missing.key, ''))}",
            soft_wrap=True,
        )
        console.print(f"{indent}    breaks: {', '.join(missing.features)}", soft_wrap=True)
    for absent in check.absent:
        console.print(
            f"  [yellow]! {escape(absent.name)}: the group does not exist in this domain"
            f" (would serve {', '.join(absent.features)})[/yellow]",
            soft_wrap=True,
        )


def _render_check(check: AdAccountCheck) -> None:
    scope = f"{check.mode.value} mode, partitions {', '.join(p.value for p in check.partitions)}"
    console.print(f"[bold]{escape(check.domain)}[/bold]: account {escape(check.account)} ({scope})")
    if check.ok:
        console.print(f"  All {len(check.consent.satisfied)} required grants are held.")
    print_account_findings(check)


def _check(
    conn: AdConnection, domain: str, account: str, mode: Mode, partitions: list[Partition]
) -> AdAccountCheck:
    try:
        return check_ad_account(
            conn, domain=domain, account=account, mode=mode, partitions=partitions
        )
    except AdCheckError as exc:
        raise _Failed(str(exc), ExitCode.FAILURE) from None
    except ldap.LDAPError as exc:
        raise _Failed(
            f"{domain}: reading the account failed: {ldap_error_text(exc)}", ExitCode.FAILURE
        ) from None


def _run(
    config: Config,
    *,
    domain_name: str | None,
    mode: Mode | None,
    partitions_text: str | None,
    forest: bool,
    account: str | None,
    operator_upn: str | None,
    operator_password: str | None,
    check_only: bool,
    samba_conf: Path | None = None,
) -> tuple[dict[str, Any], bool]:
    domain = _domain(config, domain_name)
    chosen_mode = mode or domain.mode
    partitions = _partitions(partitions_text, domain)
    try:
        name = account_name(account, chosen_mode)
    except SetupError as exc:
        raise typer.BadParameter(str(exc), param_hint="--account") from None
    bound, password = _operator(config, domain, operator_upn, operator_password)
    store = SecretStore(config.secrets.key_file, config.secrets.store_file)
    out: dict[str, Any] = {"mode": chosen_mode.value, "partitions": [p.value for p in partitions]}
    results: list[dict[str, Any]] = []
    ok = True
    with _connected(bound, password) as conn:
        for dns_name, other in _domains_of_forest(conn, bound, forest):
            with _connected(other, password) if other else _same(conn) as here:
                entry: dict[str, Any] = {"domain": dns_name}
                if not check_only:
                    op = check_operator(here, partitions, operator_upn=bound.bind_upn)
                    entry["operator"] = op.to_dict()
                    if not op.ok:
                        _render_operator(op)
                        results.append(entry)
                        out["domains"] = results
                        return out, False
                    try:
                        setup = setup_account(
                            here,
                            domain=dns_name,
                            mode=chosen_mode,
                            partitions=partitions,
                            account=name,
                            store=store,
                            operator_upn=bound.bind_upn,
                            samba_conf=samba_conf,
                        )
                    except SetupError as exc:
                        raise _Failed(str(exc), ExitCode.FAILURE) from None
                    entry["setup"] = setup.to_dict()
                    _render_setup(setup)
                    ok = ok and not setup.refused
                check = _check(here, dns_name, name, chosen_mode, partitions)
                entry["check"] = check.to_dict()
                _render_check(check)
                ok = ok and check.ok
                results.append(entry)
    out["domains"] = results
    return out, ok


@contextmanager
def _same(conn: AdConnection) -> Iterator[AdConnection]:
    yield conn


def connect_ad(
    ctx: typer.Context,
    domain: Annotated[
        str | None,
        typer.Option("--domain", "-d", help="Configured domain (default: the only one)."),
    ] = None,
    mode: Annotated[
        Mode | None, typer.Option("--mode", help="read-only or full (default: the domain's).")
    ] = None,
    partitions: Annotated[
        str | None,
        typer.Option(
            "--partitions", help="Comma list of domain, configuration, schema (default: config)."
        ),
    ] = None,
    forest: Annotated[
        bool, typer.Option("--forest", help="Repeat in every domain of the forest.")
    ] = False,
    account: Annotated[
        str | None,
        typer.Option("--account", help="Service account name (default: dirguard-ro / -full)."),
    ] = None,
    operator_upn: Annotated[
        str | None,
        typer.Option(
            "--operator-upn", help="Operator to bind as (default: the domain's bind_upn)."
        ),
    ] = None,
    operator_password: Annotated[
        str | None,
        typer.Option(
            "--operator-password",
            help="Credential reference (env:VAR, file:/path, secret:NAME); default: prompt.",
        ),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Only check the account (writes nothing).")
    ] = False,
    samba_conf: Annotated[
        Path | None,
        typer.Option(
            "--samba-conf",
            help="On a Samba DC, as root: its smb.conf; grants the DC refused over LDAP"
            " (CN=Deleted Objects) are made in its database.",
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Create dirguard's AD service account with the groups and rights its mode needs, or check it.

    Checks first that the operator holds Domain Admins (domain), Enterprise Admins
    (configuration) and Schema Admins (schema) for the chosen partitions."""
    config = load_cli_config(ctx, as_json=json_out).config
    quiet = console.quiet
    console.quiet = json_out or quiet
    try:
        out, ok = _run(
            config,
            domain_name=domain,
            mode=mode,
            partitions_text=partitions,
            forest=forest,
            account=account,
            operator_upn=operator_upn,
            operator_password=operator_password,
            check_only=check,
            samba_conf=samba_conf,
        )
    except (LookupError, ldap.LDAPError) as exc:
        text = ldap_error_text(exc)
        err_console.print(f"error: {text}", markup=False, soft_wrap=True)
        if json_out:
            print_json({"error": text})
        raise typer.Exit(ExitCode.FAILURE) from None
    except _Failed as exc:
        if json_out:
            print_json({"error": str(exc)})
        err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(exc.code) from None
    finally:
        console.quiet = quiet
    if json_out:
        print_json(out)
    if not ok:
        raise typer.Exit(ExitCode.CRITICAL)


def register(connect_app: typer.Typer) -> None:
    """Add ``ad`` to the ``connect`` command group."""
    connect_app.command("ad")(connect_ad)
