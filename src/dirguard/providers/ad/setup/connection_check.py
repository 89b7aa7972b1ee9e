"""Validate dirguard's AD service account: read its memberships and the domain head's ACEs back
and list, per catalog row, what is missing and which features that breaks.

A group counts as held when its SID is in the account's token (tokenGroups: nested membership
counts, as it does for the DC). An extended right counts as held when the domain head's DACL,
evaluated in order for the account's token, allows it (an explicit ACE for the account, or one
for a group it is in); rights on a container likewise, from the container's DACL, or by trying
when only the account itself can tell (``ad_container_access``). A group the domain does not
have at all (ADSyncOperators without Entra Connect; Remote Management Users on Samba) is
reported under ``absent`` with the features it would serve, not as missing: nobody can add the
account to it.

The result reuses ``core.consent_check``'s shapes, so ``connect validate`` can render AD and
Entra findings alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Mode, Principal
from dirguard.catalog.resource_type import Partition
from dirguard.core.consent_check import ConsentReport, GrantedEntry, MissingGrant, check_consent
from dirguard.providers.ad import directory
from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.sd.dacl_edit import control_access_decision
from dirguard.providers.ad.setup.account_grants import AccountGrant, account_grants, group_identity
from dirguard.providers.ad.setup.container_access import check_container_access


class AdCheckError(Exception):
    """The check could not read what it needs; the message says what and why."""


@dataclass(frozen=True, kw_only=True)
class AdAccountCheck:
    """What the account holds and lacks in one domain, for one mode and set of partitions."""

    domain: str
    account: str
    account_dn: str | None
    """``None`` when the account does not exist (then everything is missing)."""
    mode: Mode
    partitions: tuple[Partition, ...]
    consent: ConsentReport
    absent: tuple[MissingGrant, ...] = ()
    """Groups the domain does not have, with the features they would serve."""
    details: dict[str, str] = field(default_factory=dict)
    """Permission key -> how it was found held or missing (e.g. the deciding ACE)."""
    not_checked: tuple[MissingGrant, ...] = ()
    """Rows not read (the extended rights, when the check was asked not to read the DACL)."""

    @property
    def ok(self) -> bool:
        return self.account_dn is not None and self.consent.complete

    @property
    def missing(self) -> tuple[MissingGrant, ...]:
        return self.consent.missing

    def to_dict(self) -> dict[str, Any]:
        def grant(m: MissingGrant) -> dict[str, Any]:
            return {
                "key": m.key,
                "name": m.name,
                "kind": m.kind,
                "features": list(m.features),
                "detail": self.details.get(m.key, ""),
            }

        return {
            "domain": self.domain,
            "account": self.account,
            "account_dn": self.account_dn,
            "mode": self.mode.value,
            "partitions": [p.value for p in self.partitions],
            "ok": self.ok,
            "missing": [grant(m) for m in self.missing],
            "absent": [grant(m) for m in self.absent],
            "satisfied": list(self.consent.satisfied),
            "not_checked": [grant(m) for m in self.not_checked],
        }


def _missing(grant: AccountGrant) -> MissingGrant:
    row = grant.permission
    return MissingGrant(
        key=row.key,
        name=row.name,
        kind=row.kind.value,
        principal=row.principal.value,
        features=grant.features,
    )


def check_ad_account(
    conn: AdConnection,
    *,
    domain: str,
    account: str,
    mode: Mode,
    partitions: Sequence[Partition] = (Partition.DOMAIN,),
    rights: bool = True,
    bound_as_account: bool = False,
) -> AdAccountCheck:
    """Read ``account``'s groups and rights in the domain ``conn`` is bound to and compare them
    with what the catalog requires for ``mode`` and ``partitions``.

    ``conn`` must be able to read the account's tokenGroups and the domain head's DACL (the
    account itself can, and so can an administrator). Raises ``ldap.LDAPError`` on read errors.
    ``rights=False``: the DACL is not read; the extended rights are listed as ``not_checked``.
    ``bound_as_account``: ``conn`` is bound as the account, so rights on a container whose
    descriptor it may not read are found out by trying (``ad_container_access``).
    """
    grants = account_grants(mode, partitions)
    base = conn.contexts.default
    found = directory.find_account(conn.ldap, base, account)
    features_of = {g.permission.key: list(g.features) for g in grants}
    rows = [g.permission for g in grants]
    if found is None:
        report = check_consent(rows, (), features_of=features_of, known=MANIFEST.permissions)
        return AdAccountCheck(
            domain=domain,
            account=account,
            account_dn=None,
            mode=mode,
            partitions=tuple(partitions),
            consent=report,
            details={r.key: f"the account {account} does not exist in {domain}" for r in rows},
        )
    token = directory.token_sids(conn.ldap, found.dn)
    domain_sid = directory.object_sid(conn.ldap, base)
    root_sid = directory.root_domain_sid(conn.ldap, conn.contexts, domain_sid)
    try:
        head_sd = directory.read_dacl(conn.ldap, base) if rights else b""
    except LookupError:
        raise AdCheckError(
            f"{domain}: the bound account may not read the security descriptor of {base}; run"
            " the check with an operator's credentials (READ_CONTROL on the domain head)"
        ) from None
    held: list[GrantedEntry] = []
    absent: list[MissingGrant] = []
    unread: list[MissingGrant] = []
    details: dict[str, str] = {}
    required = []
    for grant in grants:
        row = grant.permission
        if row.kind is Kind.AD_GROUP:
            group = directory.find_group(
                conn.ldap, base, group_identity(row.name), domain_sid, root_sid
            )
            if group is None:
                absent.append(_missing(grant))
                details[row.key] = f"the group {row.name} does not exist in {domain}"
                continue
            required.append(row)
            if group.sid in token:
                held.append(_entry(row.name, Kind.AD_GROUP, "tokenGroups"))
                details[row.key] = f"member of {group.dn}"
            else:
                details[row.key] = f"not a member of {group.dn}"
        elif grant.container is not None:
            found_access = check_container_access(
                conn.ldap,
                base,
                grant.container,
                token=token,
                bound_as_account=bound_as_account,
            )
            details[row.key] = found_access.detail
            if found_access.held is None:
                unread.append(_missing(grant))
                continue
            required.append(row)
            if found_access.held:
                held.append(_entry(row.name, row.kind, grant.container.rdn))
        elif not rights:
            unread.append(_missing(grant))
            details[row.key] = f"the security descriptor of {base} was not read"
        else:
            required.append(row)
            allowed, ace = control_access_decision(head_sd, grant.right_guid, token)
            if allowed:
                held.append(_entry(row.name, Kind.AD_EXTENDED_RIGHT, "domain head DACL"))
            details[row.key] = (
                f"{'allowed' if allowed else 'denied'} by {ace.sddl(domain_sid)} on {base}"
                if ace is not None
                else f"no ACE on {base} grants {row.name} ({grant.right_guid}) to the account"
            )
    report = check_consent(required, held, features_of=features_of, known=MANIFEST.permissions)
    return AdAccountCheck(
        domain=domain,
        account=found.name,
        account_dn=found.dn,
        mode=mode,
        partitions=tuple(partitions),
        consent=report,
        absent=tuple(absent),
        details=details,
        not_checked=tuple(unread),
    )


def _entry(name: str, kind: Kind, where: str) -> GrantedEntry:
    return GrantedEntry(
        name=name, kind=kind.value, principal=Principal.GUARDIAN_AD_ACCOUNT.value, where=where
    )
