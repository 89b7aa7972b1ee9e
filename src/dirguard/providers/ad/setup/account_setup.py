"""Provision dirguard's AD service account: check the operator, create the account, add its
groups, grant its extended rights on the domain head and its rights on containers
(``services.ad_container_access``). Idempotent: a second run adds nothing.

What the account needs comes from the catalog (``core.ad_account_grants``). Whether it is a gMSA
or a regular user with a stored password is found out by trying (``services.ad_account_create``).
A group the domain does not have (ADSyncOperators without Entra Connect; Remote Management Users
on Samba) is reported, not created.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ldap

from dirguard.catalog.permission_model import Mode
from dirguard.catalog.resource_type import Partition
from dirguard.config.secret_store import SecretStore
from dirguard.providers.ad import directory
from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.errors import ldap_error_text
from dirguard.providers.ad.sd.dacl_edit import (
    control_access_ace,
    grants_control_access,
    with_aces_added,
)
from dirguard.providers.ad.sd.security_descriptor import parse_security_descriptor
from dirguard.providers.ad.setup.account_create import (
    AccountKind,
    SetupAction,
    SetupContext,
    SetupError,
    ensure_account,
    secret_name,
)
from dirguard.providers.ad.setup.account_grants import (
    AccountGrant,
    OperatorNeed,
    account_grants,
    group_identity,
    operator_needs,
)
from dirguard.providers.ad.setup.container_access import grant_container_access

__all__ = [
    "DEFAULT_ACCOUNTS",
    "DomainSetup",
    "OperatorCheck",
    "SetupAction",
    "SetupError",
    "account_name",
    "check_operator",
    "ldap_error_text",
    "secret_name",
    "setup_account",
]

DEFAULT_ACCOUNTS = {Mode.READ_ONLY: "dirguard-ro", Mode.FULL: "dirguard-full"}

_BAD_NAME_CHARACTERS = '"/\\[]:;|=,+*?<>@ '


def account_name(account: str | None, mode: Mode) -> str:
    """The account's name (``$`` of a gMSA left off), checked against sAMAccountName's rules."""
    name = (account or DEFAULT_ACCOUNTS[mode]).removesuffix("$")
    if not name or len(name) > 19 or any(c in name for c in _BAD_NAME_CHARACTERS):
        raise SetupError(
            f"account name {name!r} is not valid: 1-19 characters, none of"
            f" {' '.join(_BAD_NAME_CHARACTERS.strip())} or a space"
        )
    return name


@dataclass(frozen=True, kw_only=True)
class OperatorCheck:
    operator: str
    needs: tuple[OperatorNeed, ...]
    missing: tuple[OperatorNeed, ...]

    @property
    def ok(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict[str, Any]:
        def need(n: OperatorNeed) -> dict[str, str]:
            return {
                "partition": n.partition.value,
                "setup": n.setup_name,
                "group": n.group,
                "feature": n.feature,
            }

        return {
            "operator": self.operator,
            "ok": self.ok,
            "needs": [need(n) for n in self.needs],
            "missing": [need(n) for n in self.missing],
        }


def check_operator(
    conn: AdConnection, partitions: Iterable[Partition], *, operator_upn: str | None = None
) -> OperatorCheck:
    """Whether the bound operator's token holds the group each partition's setup needs
    (``operator_upn``: the bind UPN, to find the operator where "Who am I?" is not offered)."""
    base = conn.contexts.default
    me = directory.whoami(conn.ldap, base, operator_upn)
    token = directory.token_sids(conn.ldap, me.dn)
    domain_sid = directory.object_sid(conn.ldap, base)
    root_sid = directory.root_domain_sid(conn.ldap, conn.contexts, domain_sid)
    needs = operator_needs(partitions)
    missing = tuple(
        n for n in needs if group_identity(n.group).sid_in(domain_sid, root_sid) not in token
    )
    return OperatorCheck(operator=me.name, needs=needs, missing=missing)


@dataclass(frozen=True, kw_only=True)
class DomainSetup:
    domain: str
    account: str
    """sAMAccountName."""
    account_dn: str
    account_kind: AccountKind
    kind_reason: str
    secret: str | None
    """``secret:NAME`` reference of a regular account's password (None for a gMSA)."""
    actions: tuple[SetupAction, ...]

    @property
    def changed(self) -> bool:
        return any(a.status in ("added", "created", "password-stored") for a in self.actions)

    @property
    def refused(self) -> tuple[SetupAction, ...]:
        """Grants the DC would not let the operator make (each detail says how to make it)."""
        return tuple(a for a in self.actions if a.status == "refused")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["changed"] = self.changed
        return data


def _memberships(
    ctx: SetupContext, account: directory.DirectoryObject, groups: Sequence[str]
) -> list[SetupAction]:
    conn, base = ctx.conn.ldap, ctx.conn.contexts.default
    token = directory.token_sids(conn, account.dn)
    actions: list[SetupAction] = []
    for name in groups:
        group = directory.find_group(conn, base, group_identity(name), ctx.domain_sid, ctx.root_sid)
        if group is None:
            actions.append(
                SetupAction(
                    kind="group",
                    name=name,
                    status="absent",
                    detail=f"the group does not exist in {ctx.domain}; not created",
                )
            )
        elif group.sid in token:
            actions.append(SetupAction(kind="group", name=name, status="present"))
        else:
            try:
                conn.modify_s(group.dn, [(ldap.MOD_ADD, "member", [account.dn.encode()])])
            except (ldap.TYPE_OR_VALUE_EXISTS, ldap.ALREADY_EXISTS):
                actions.append(SetupAction(kind="group", name=name, status="present"))
                continue
            actions.append(SetupAction(kind="group", name=name, status="added", detail=group.dn))
    return actions


def _rights(
    ctx: SetupContext, account: directory.DirectoryObject, rights: Sequence[tuple[str, str]]
) -> list[SetupAction]:
    conn, head = ctx.conn.ldap, ctx.conn.contexts.default
    sd = directory.read_dacl(conn, head)
    parsed = parse_security_descriptor(sd)
    aces = parsed.dacl.aces if parsed.dacl else ()
    actions: list[SetupAction] = []
    new: list[bytes] = []
    for name, guid in rights:
        if any(grants_control_access(ace, account.sid, guid) for ace in aces):
            actions.append(SetupAction(kind="right", name=name, status="present"))
        else:
            new.append(control_access_ace(account.sid, guid))
            actions.append(SetupAction(kind="right", name=name, status="added", detail=head))
    if new:
        directory.write_dacl(conn, head, with_aces_added(sd, new))
    return actions


def _container_access(
    ctx: SetupContext,
    account: directory.DirectoryObject,
    grants: Sequence[AccountGrant],
    samba_conf: Path | None,
) -> list[SetupAction]:
    actions: list[SetupAction] = []
    for grant in grants:
        if grant.container is None:
            continue
        result = grant_container_access(
            ctx.conn.ldap,
            ctx.conn.contexts.default,
            grant.container,
            account_sid=account.sid,
            account_upn=f"{account.name}@{ctx.domain}",
            samba_conf=samba_conf,
        )
        actions.append(
            SetupAction(kind="access", name=grant.name, status=result.status, detail=result.detail)
        )
    return actions


def setup_account(
    conn: AdConnection,
    *,
    domain: str,
    mode: Mode,
    partitions: Sequence[Partition],
    account: str | None,
    store: SecretStore,
    operator_upn: str | None = None,
    samba_conf: Path | None = None,
) -> DomainSetup:
    """Create or complete the service account in the domain ``conn`` is bound to (as an
    operator who passed :func:`check_operator`). ``samba_conf``: the DC's smb.conf, when run as
    root on a Samba DC, for the grants the DC refused over LDAP."""
    name = account_name(account, mode)
    base = conn.contexts.default
    domain_sid = directory.object_sid(conn.ldap, base)
    ctx = SetupContext(
        conn=conn,
        domain=domain,
        domain_sid=domain_sid,
        root_sid=directory.root_domain_sid(conn.ldap, conn.contexts, domain_sid),
        operator=directory.whoami(conn.ldap, base, operator_upn),
    )
    grants = account_grants(mode, partitions)
    try:
        found, kind, reason, secret, actions = ensure_account(ctx, name, mode, store)
        actions += _memberships(ctx, found, [g.name for g in grants if g.is_group])
        actions += _rights(ctx, found, [(g.name, g.right_guid) for g in grants if g.is_right])
        actions += _container_access(ctx, found, grants, samba_conf)
    except ldap.INSUFFICIENT_ACCESS as error:
        raise SetupError(
            f"{domain}: the operator may not make this change: {ldap_error_text(error)}"
        ) from None
    except ldap.LDAPError as error:
        raise SetupError(f"{domain}: {ldap_error_text(error)}") from None
    return DomainSetup(
        domain=domain,
        account=found.name,
        account_dn=found.dn,
        account_kind=kind,
        kind_reason=reason,
        secret=secret,
        actions=tuple(actions),
    )
