"""Validate an AD domain connection for ``dirguard connect validate``: bind as the configured
account, then compare what it holds with the catalog for the domain's mode and partitions.

Group memberships are read from the account's tokenGroups and the extended rights from the domain
head's DACL (``ad_connection_check.check_ad_account``). An account that may not read that DACL
(on Samba a read-only account cannot) still has its memberships checked; its extended rights are
reported as not checked, with the command an operator runs to read them
(``dirguard connect ad --check``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import ldap

from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad import directory
from dirguard.providers.ad.connection import (
    AdAuthError,
    AdConnection,
    AdConnectionError,
    AdTlsError,
    connect,
)
from dirguard.providers.ad.setup.account_setup import ldap_error_text
from dirguard.providers.ad.setup.connection_check import (
    AdAccountCheck,
    AdCheckError,
    check_ad_account,
)


class BindFailure(StrEnum):
    REFUSED = "refused"
    """The domain controller refused the credentials."""
    UNREACHABLE = "unreachable"
    """No domain controller answered."""
    TLS = "tls"
    """TLS failed: the CA file did not issue the DC's certificate, or the server name is not in
    it (a configuration problem, not an unreachable DC)."""
    READ_FAILED = "read-failed"
    """Bound, but the account's own object or the domain could not be read."""


class AdValidateError(Exception):
    """The domain could not be validated; ``failure`` says at which step."""

    def __init__(self, message: str, failure: BindFailure) -> None:
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True, kw_only=True)
class DomainValidation:
    """What ``connect validate`` found for one AD domain."""

    domain: str
    server: str
    """The domain controller that answered."""
    check: AdAccountCheck
    rights_note: str | None = None
    """Set when the extended rights were not read: why, and how an operator reads them."""

    @property
    def partial(self) -> bool:
        return not self.check.ok

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.check.to_dict(),
            "bind": "ok",
            "server": self.server,
            "rights_not_read": self.rights_note,
        }


def operator_command(domain: AdDomainConfig, account: str) -> str:
    """The command an operator runs to read the account's extended rights."""
    return (
        f"dirguard connect ad --check --domain {domain.name} --account {account}"
        f" --mode {domain.mode.value}"
    )


def _check(
    conn: AdConnection, domain: AdDomainConfig, account: str, *, rights: bool
) -> AdAccountCheck:
    return check_ad_account(
        conn,
        domain=domain.name,
        account=account,
        mode=domain.mode,
        partitions=domain.partitions,
        rights=rights,
        bound_as_account=True,
    )


def validate_domain(domain: AdDomainConfig, password: str | None) -> DomainValidation:
    """Bind to ``domain`` as its configured account and check that account against the catalog.

    Raises ``AdValidateError`` when the bind is refused, no domain controller answers, or the
    account's own object cannot be read."""
    try:
        conn = connect(domain, password)
    except AdAuthError as exc:
        raise AdValidateError(f"bind refused: {exc}", BindFailure.REFUSED) from None
    except AdTlsError as exc:
        raise AdValidateError(str(exc), BindFailure.TLS) from None
    except AdConnectionError as exc:
        raise AdValidateError(str(exc), BindFailure.UNREACHABLE) from None
    with conn:
        try:
            me = directory.whoami(conn.ldap, conn.contexts.default, domain.bind_upn)
            note = None
            try:
                check = _check(conn, domain, me.name, rights=True)
            except AdCheckError:
                check = _check(conn, domain, me.name, rights=False)
                names = ", ".join(m.name for m in check.not_checked)
                note = (
                    f"{me.name} may not read the security descriptor of"
                    f" {conn.contexts.default}, so its extended rights ({names}) are not"
                    f" checked here; an operator reads them with:"
                    f" {operator_command(domain, me.name)}"
                )
        except LookupError as exc:
            raise AdValidateError(f"{domain.name}: {exc}", BindFailure.READ_FAILED) from None
        except ldap.LDAPError as exc:
            raise AdValidateError(
                f"{domain.name}: reading the bound account failed: {ldap_error_text(exc)}",
                BindFailure.READ_FAILED,
            ) from None
        return DomainValidation(
            domain=domain.name, server=conn.server, check=check, rights_note=note
        )
