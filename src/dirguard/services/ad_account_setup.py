"""Provision dirguard's AD service account: check the operator, create the account, add its
groups, grant its extended rights on the domain head and its rights on containers
(``services.ad_container_access``). Idempotent: a second run adds nothing.

What the account needs comes from the catalog (``core.ad_account_grants``). The account is a
gMSA when the domain controller computes managed passwords, found out by trying: the schema must
have ``msDS-GroupManagedServiceAccount``, the forest a KDS root key, and the DC must return
``msDS-ManagedPassword`` for a gMSA the operator may read. Otherwise (Samba before 4.20, for one)
it is a regular user with a long random password, stored encrypted in dirguard's secret store and
never printed. A group the domain does not have (ADSyncOperators without Entra Connect; Remote
Management Users on Samba) is reported, not created.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import ldap

from dirguard.catalog.permission_model import Mode
from dirguard.catalog.resource_type import Partition
from dirguard.config.secret_store import SecretStore
from dirguard.connectors.ad.connection import AdConnection
from dirguard.core.ad_account_grants import (
    AccountGrant,
    OperatorNeed,
    account_grants,
    group_identity,
    operator_needs,
)
from dirguard.core.dacl_edit import (
    access_allowed_ace,
    control_access_ace,
    dacl_descriptor,
    grants_control_access,
    with_aces_added,
)
from dirguard.core.security_descriptor import parse_security_descriptor
from dirguard.log_setup import register_secret
from dirguard.services import ad_directory as directory
from dirguard.services.ad_container_access import grant_container_access
from dirguard.throwaway.samba_dc import generate_admin_password

DEFAULT_ACCOUNTS = {Mode.READ_ONLY: "dirguard-ro", Mode.FULL: "dirguard-full"}
PASSWORD_LENGTH = 64
UF_NORMAL_ACCOUNT = 0x0200
UF_DONT_EXPIRE_PASSWD = 0x10000
UF_WORKSTATION_TRUST_ACCOUNT = 0x1000
DESCRIPTION = "dirguard Guardian service account"
"""Start of the description of accounts dirguard creates (only their passwords it ever resets)."""
KDS_ROOT_KEYS = "CN=Master Root Keys,CN=Group Key Distribution Service,CN=Services"
AccountKind = Literal["gmsa", "user"]
Status = Literal["added", "present", "absent", "created", "exists", "password-stored", "refused"]


class SetupError(Exception):
    """The setup cannot go on; the message names the object and the reason, never a secret."""


def secret_name(domain: str, account: str) -> str:
    """The secret store entry holding a regular account's password (``secret:<this>``)."""
    return f"ad.{domain}.{account.removesuffix('$')}"


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
class SetupAction:
    kind: Literal["account", "group", "right", "access"]
    name: str
    status: Status
    detail: str = ""


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


@dataclass(frozen=True, kw_only=True)
class _Context:
    conn: AdConnection
    domain: str
    domain_sid: str
    root_sid: str
    operator: directory.DirectoryObject


def _gmsa_probe(ctx: _Context, name: str) -> tuple[bool, str]:
    """Create the gMSA when the DC computes managed passwords; (created, why or why not)."""
    conn, contexts = ctx.conn.ldap, ctx.conn.contexts
    schema = conn.search_s(
        contexts.schema,
        ldap.SCOPE_ONELEVEL,
        "(lDAPDisplayName=msDS-GroupManagedServiceAccount)",
        ["cn"],
    )
    if not [dn for dn, _a in schema if dn]:
        return False, "the schema has no msDS-GroupManagedServiceAccount class"
    keys_dn = f"{KDS_ROOT_KEYS},{contexts.configuration}"
    try:
        keys = conn.search_s(
            keys_dn, ldap.SCOPE_ONELEVEL, "(objectClass=msKds-ProvRootKey)", ["cn"]
        )
    except ldap.NO_SUCH_OBJECT:
        keys = []
    if not [dn for dn, _a in keys if dn]:
        return False, (
            f"the forest has no KDS root key ({keys_dn} holds none), so the domain controller"
            " cannot compute gMSA passwords"
        )
    dn = f"CN={name},CN=Managed Service Accounts,{contexts.default}"
    readers = _reader_sd(ctx.operator.sid)
    conn.add_s(
        dn,
        [
            ("objectClass", [b"msDS-GroupManagedServiceAccount"]),
            ("sAMAccountName", [f"{name}$".encode()]),
            ("dNSHostName", [f"{name}.{ctx.domain}".encode()]),
            ("msDS-ManagedPasswordInterval", [b"30"]),
            ("userAccountControl", [str(UF_WORKSTATION_TRUST_ACCOUNT).encode()]),
            ("msDS-GroupMSAMembership", [readers]),
        ],
    )
    found = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["msDS-ManagedPassword"])
    if found and found[0][1].get("msDS-ManagedPassword"):
        return True, "the domain controller computes managed passwords (msDS-ManagedPassword read)"
    conn.delete_s(dn)
    return False, (
        "a KDS root key exists, but the domain controller returned no msDS-ManagedPassword for a"
        " trial gMSA (removed again)"
    )


def _reader_sd(sid: str) -> bytes:
    """msDS-GroupMSAMembership: D:(A;;0xf01ff;;;<sid>) (who may read the managed password)."""
    return dacl_descriptor([access_allowed_ace(sid, 0xF01FF)])


def _made_by_dirguard(conn: Any, dn: str) -> bool:
    found = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["description"])
    values = found[0][1].get("description", []) if found else []
    return any(v.decode("utf-8").startswith(DESCRIPTION) for v in values)


def _password() -> str:
    return generate_admin_password(PASSWORD_LENGTH)


def _unicode_pwd(password: str) -> bytes:
    return f'"{password}"'.encode("utf-16-le")


def _ensure_account(
    ctx: _Context, name: str, mode: Mode, store: SecretStore
) -> tuple[directory.DirectoryObject, AccountKind, str, str | None, list[SetupAction]]:
    conn, base = ctx.conn.ldap, ctx.conn.contexts.default
    existing = directory.find_account(conn, base, name)
    secret = secret_name(ctx.domain, name)
    if existing is not None:
        if "msDS-GroupManagedServiceAccount" in existing.object_classes:
            return (
                existing,
                "gmsa",
                "the account exists as a gMSA",
                None,
                [SetupAction(kind="account", name=existing.name, status="exists", detail="gMSA")],
            )
        actions = [SetupAction(kind="account", name=existing.name, status="exists")]
        if secret not in store.names():
            if not _made_by_dirguard(conn, existing.dn):
                raise SetupError(
                    f"{ctx.domain}: the account {existing.name} exists but was not created by"
                    " dirguard and its password is not in the secret store; choose another"
                    f" --account, or store its password with `dirguard secret set {secret}`"
                )
            password = _password()
            register_secret(password)
            conn.modify_s(existing.dn, [(ldap.MOD_REPLACE, "unicodePwd", [_unicode_pwd(password)])])
            store.set(secret, password)
            actions.append(
                SetupAction(
                    kind="account",
                    name=existing.name,
                    status="password-stored",
                    detail="the secret store had no password for it: a new one was set",
                )
            )
        return existing, "user", "the account exists as a regular user", f"secret:{secret}", actions
    created, why = _gmsa_probe(ctx, name)
    if created:
        account = directory.find_account(conn, base, f"{name}$")
        assert account is not None
        return (
            account,
            "gmsa",
            why,
            None,
            [SetupAction(kind="account", name=account.name, status="created", detail="gMSA")],
        )
    password = _password()
    register_secret(password)
    dn = f"CN={name},CN=Users,{base}"
    conn.add_s(
        dn,
        [
            ("objectClass", [b"user"]),
            ("sAMAccountName", [name.encode()]),
            ("userPrincipalName", [f"{name}@{ctx.domain}".encode()]),
            ("description", [f"{DESCRIPTION} ({mode.value})".encode()]),
            ("unicodePwd", [_unicode_pwd(password)]),
            ("userAccountControl", [str(UF_NORMAL_ACCOUNT | UF_DONT_EXPIRE_PASSWD).encode()]),
        ],
    )
    store.set(secret, password)
    account = directory.find_account(conn, base, name)
    assert account is not None
    reason = f"regular user, not a gMSA: {why}; its password is stored encrypted as secret:{secret}"
    return (
        account,
        "user",
        reason,
        f"secret:{secret}",
        [SetupAction(kind="account", name=account.name, status="created", detail="regular user")],
    )


def _memberships(
    ctx: _Context, account: directory.DirectoryObject, groups: Sequence[str]
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
    ctx: _Context, account: directory.DirectoryObject, rights: Sequence[tuple[str, str]]
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
    ctx: _Context,
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
    root on a Samba DC, for the grants Samba refuses over LDAP."""
    name = account_name(account, mode)
    base = conn.contexts.default
    domain_sid = directory.object_sid(conn.ldap, base)
    ctx = _Context(
        conn=conn,
        domain=domain,
        domain_sid=domain_sid,
        root_sid=directory.root_domain_sid(conn.ldap, conn.contexts, domain_sid),
        operator=directory.whoami(conn.ldap, base, operator_upn),
    )
    grants = account_grants(mode, partitions)
    try:
        found, kind, reason, secret, actions = _ensure_account(ctx, name, mode, store)
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


def ldap_error_text(error: ldap.LDAPError) -> str:
    """The server's description and diagnostic text of an LDAP error (no request values)."""
    details = error.args[0] if error.args and isinstance(error.args[0], dict) else {}
    parts = [str(details.get("desc", "")).strip(), str(details.get("info", "")).strip()]
    return ": ".join(p for p in parts if p) or type(error).__name__
