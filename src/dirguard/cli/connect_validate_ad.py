"""The Active Directory half of ``dirguard connect validate``: pick the configured domains, bind
to each with its configured account, and render what the account holds and lacks.

A domain that cannot be validated does not stop the others; the command then exits with that
domain's code: 4 no domain controller answered, 1 the bind was refused or the account could not
be read, 3 its password reference does not resolve or TLS failed (wrong CA file, or a server
name the certificate does not name).
"""

from __future__ import annotations

from rich.markup import escape

from dirguard.cli.context import console, err_console
from dirguard.cli.exit_codes import ExitCode
from dirguard.config.schema import AdDomainConfig, Config
from dirguard.services.connection_validate import CREDENTIAL, DomainOutcome, validate_domains

__all__ = ["DomainOutcome", "render", "select_domains", "validate_domains"]


class DomainSelectionError(Exception):
    """``--domain`` names no configured domain; the message lists the configured ones."""


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


EXIT_OF_FAILURE = {
    "unreachable": ExitCode.UNAVAILABLE,
    "tls": ExitCode.CONFIG_INVALID,
    "refused": ExitCode.FAILURE,
    "read-failed": ExitCode.FAILURE,
    CREDENTIAL: ExitCode.CONFIG_INVALID,
}
"""The exit code of each way a domain's validation failed (``BindFailure`` values)."""


def exit_of(outcome: DomainOutcome) -> ExitCode:
    return ExitCode.OK if outcome.failure is None else EXIT_OF_FAILURE[outcome.failure]


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
        if (code := exit_of(outcome)) is not ExitCode.OK:
            return code
    if any(o.result is not None and o.result.partial for o in outcomes):
        return ExitCode.CRITICAL
    return ExitCode.OK
