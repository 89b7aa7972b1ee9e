"""Find or create dirguard's AD service account (the first step of ``ad_account_setup``).

The account is a gMSA when the domain controller computes managed passwords, found out by
trying: the schema must have ``msDS-GroupManagedServiceAccount``, the forest a KDS root key, and
the DC must return ``msDS-ManagedPassword`` for a gMSA the operator may read. Otherwise (Samba
before 4.20, for one) it is a regular user with a long random password, stored encrypted in
dirguard's secret store and never printed. An existing regular account keeps its password
unless dirguard made it (its description starts with ``DESCRIPTION``) and the secret store has
none for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import ldap

from dirguard.catalog.permission_model import Mode
from dirguard.config.secret_store import SecretStore
from dirguard.log_setup import register_secret
from dirguard.providers.ad import directory
from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.passwords import complex_password, unicode_pwd
from dirguard.providers.ad.sd.dacl_edit import access_allowed_ace, dacl_descriptor

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


@dataclass(frozen=True, kw_only=True)
class SetupAction:
    kind: Literal["account", "group", "right", "access"]
    name: str
    status: Status
    detail: str = ""


@dataclass(frozen=True, kw_only=True)
class SetupContext:
    """The domain the setup works in, and the operator bound to it."""

    conn: AdConnection
    domain: str
    domain_sid: str
    root_sid: str
    operator: directory.DirectoryObject


def _gmsa_probe(ctx: SetupContext, name: str) -> tuple[bool, str]:
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
    return complex_password(PASSWORD_LENGTH)


def ensure_account(
    ctx: SetupContext, name: str, mode: Mode, store: SecretStore
) -> tuple[directory.DirectoryObject, AccountKind, str, str | None, list[SetupAction]]:
    """The account, its kind, why that kind, its password's ``secret:`` reference (None for a
    gMSA) and what was done."""
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
            conn.modify_s(existing.dn, [(ldap.MOD_REPLACE, "unicodePwd", [unicode_pwd(password)])])
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
            ("unicodePwd", [unicode_pwd(password)]),
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
