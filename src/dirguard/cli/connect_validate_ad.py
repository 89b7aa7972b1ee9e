"""The Active Directory half of ``dirguard connect validate``: pick the configured domains, bind
to each with its configured account, and render what the account holds and lacks.

A domain that cannot be validated does not stop the others; the command then exits with that
domain's code: 4 no domain controller answered, 1 the bind was refused or the account could not
be read, 3 its password reference does not resolve or TLS failed (wrong CA file, or a server
name the certificate does not name).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from dirguard.cli.context import console, err_console
from dirguard.cli.exit_codes import ExitCode
from dirguard.config.credentials import CredentialError, resolve_credential
from dirguard.config.schema import AdDomainConfig, Config
from dirguard.config.secret_store import SecretStore

if TYPE_CHECKING:
    from dirguard.providers.ad.setup.validate import DomainValidation

# The LDAP side is imported by the functions that bind: `connect validate` of an Entra-only
# site (no `ad` extra, so no python-ldap) never reaches them.


class DomainSelectionError(Exception):
    """``--domain`` names no configured domain; the message lists the configured ones."""


@dataclass(frozen=True, kw_only=True)
class DomainOutcome:
    """One domain's validation, or why it could not be validated."""

    domain: str
    result: DomainValidation | None = None
    error: str | None = None
    failure: str | None = None
    """A ``BindFailure`` value, or ``credential``."""
    code: ExitCode = ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        if self.result is not None:
            return self.result.to_dict()
        return {"domain": self.domain, "bind": self.failure, "error": self.error}


def select_domains(config: Config, name: str | None) -> list[AdDomainConfig]:
    """Every configured domain, or the one ``name`` names."""
    domains = config.ad.domains
    if name is None:
        return list(domains)
    chosen = [d for d in domains if d.name == name.lower()]
    if not chosen:
        known = ", ".join(d.name for d in domains) or "none configured"
        raise DomainSelectionError(f"no AD domain {name!r} in the configuration; known: {known}")
    return chosen


def validate_domains(config: Config, domains: list[AdDomainConfig]) -> list[DomainOutcome]:
    if not domains:
        return []
    from dirguard.providers.ad.setup.validate import AdValidateError, BindFailure, validate_domain

    exit_of_failure = {
        BindFailure.UNREACHABLE: ExitCode.UNAVAILABLE,
        BindFailure.TLS: ExitCode.CONFIG_INVALID,
        BindFailure.REFUSED: ExitCode.FAILURE,
        BindFailure.READ_FAILED: ExitCode.FAILURE,
    }
    store = SecretStore(config.secrets.key_file, config.secrets.store_file)
    outcomes: list[DomainOutcome] = []
    for domain in domains:
        try:
            password = resolve_credential(domain.password, store) if domain.password else None
        except CredentialError as exc:
            outcomes.append(
                DomainOutcome(
                    domain=domain.name,
                    error=f"{domain.name}: password: {exc}",
                    failure="credential",
                    code=ExitCode.CONFIG_INVALID,
                )
            )
            continue
        try:
            outcomes.append(
                DomainOutcome(domain=domain.name, result=validate_domain(domain, password))
            )
        except AdValidateError as exc:
            outcomes.append(
                DomainOutcome(
                    domain=domain.name,
                    error=str(exc),
                    failure=exc.failure.value,
                    code=exit_of_failure[exc.failure],
                )
            )
    return outcomes


def render(outcome: DomainOutcome) -> None:
    from dirguard.cli.connect_ad_cmd import print_account_findings

    result = outcome.result
    if result is None:
        err_console.print(f"error: {outcome.error}", markup=False, soft_wrap=True)
        return
    check = result.check
    scope = f"{check.mode.value} mode, partitions {', '.join(p.value for p in check.partitions)}"
    console.print(
        f"[bold]Domain {escape(result.domain)}[/bold] ({scope}): bound to"
        f" {escape(result.server)} as {escape(check.account)}.",
        soft_wrap=True,
    )
    if check.ok:
        console.print(f"  All {len(check.consent.satisfied)} checked grants are held.")
    elif check.account_dn is not None:
        console.print("  [bold]Missing:[/bold]")
    print_account_findings(check, indent="    ")
    if result.rights_note:
        console.print(
            f"  [yellow]Not checked: {escape(result.rights_note)}[/yellow]", soft_wrap=True
        )
    if result.partial:
        err_console.print(
            f"[bold red]{escape(result.domain)}: {len(check.missing)} required group"
            " membership(s) or right(s) missing. The features listed will not work.[/bold red]",
            soft_wrap=True,
        )


def exit_code(outcomes: list[DomainOutcome]) -> ExitCode:
    """The first failure's code; else 2 when something is missing; else 0."""
    for outcome in outcomes:
        if outcome.code is not ExitCode.OK:
            return outcome.code
    if any(o.result is not None and o.result.partial for o in outcomes):
        return ExitCode.CRITICAL
    return ExitCode.OK
