"""Grant, and check, the AD account's rights on a container (the catalog's
``ad-container-access`` rows: List Contents and Read Property on ``CN=Deleted Objects``).

``CN=Deleted Objects`` is owned by SYSTEM and gives Administrators only List Contents and Read
Property: no READ_CONTROL, no WRITE_DAC. An operator therefore first takes ownership, as
``dsacls /takeownership`` does (Windows lets an administrator, through SeTakeOwnershipPrivilege),
then adds the ACE. Samba 4.17 refuses the ownership change over LDAP even to Domain Admins; on a
Samba DC the grant is made in the DC's own database instead (``--samba-conf``, run as root on the
DC). When neither is possible the result is ``refused`` with the commands that do it by hand.

Whether the account holds the right is read from the container's DACL when the bound account
may read it, and otherwise, when bound as the account itself, found out the way DirSync needs it:
the account reads the container (``deleted_objects_readable``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ldap

from dirguard.providers.ad import directory
from dirguard.providers.ad.errors import ldap_error_text
from dirguard.providers.ad.ldap_read import deleted_objects_readable
from dirguard.providers.ad.sd.dacl_edit import (
    access_allowed_ace,
    access_mask_decision,
    with_aces_added,
)
from dirguard.providers.ad.setup.account_grants import ContainerAccess
from dirguard.providers.ad.setup.samba_local_acl import SambaLocalError, grant_locally

ADMINISTRATORS = "S-1-5-32-544"
"""The owner ``dsacls /takeownership`` gives an administrator's object."""


@dataclass(frozen=True, kw_only=True)
class ContainerGrant:
    status: Literal["added", "present", "refused"]
    detail: str


def manual_commands(dn: str, access: ContainerAccess, account_upn: str) -> str:
    """How an operator makes the grant by hand, on a Windows DC and on a Samba DC."""
    return (
        f'on a Windows DC: dsacls "{dn}" /takeownership, then dsacls "{dn}" /G'
        f' "{account_upn}:{access.rights}"; on a Samba DC, as root on the DC: dirguard connect ad'
        " --samba-conf /etc/samba/smb.conf (writes it in the DC's own database)"
    )


def grant_container_access(
    conn: Any,
    naming_context: str,
    access: ContainerAccess,
    *,
    account_sid: str,
    account_upn: str,
    samba_conf: Path | None = None,
) -> ContainerGrant:
    """Give the account ``access`` on its container in ``naming_context`` (nothing when an
    explicit ACE already grants it)."""
    dn = access.dn(naming_context)
    hidden = access.deleted_container
    if samba_conf is not None:
        try:
            local = grant_locally(samba_conf, dn, account_sid, access.mask)
        except SambaLocalError as exc:
            return ContainerGrant(status="refused", detail=str(exc))
        status: Literal["added", "present"] = "added" if local.status == "added" else "present"
        return ContainerGrant(status=status, detail=f"{dn}, in the DC's database ({samba_conf})")
    try:
        try:
            descriptor = directory.read_dacl(conn, dn, show_deleted=hidden)
        except LookupError:
            directory.take_ownership(conn, dn, ADMINISTRATORS, show_deleted=hidden)
            descriptor = directory.read_dacl(conn, dn, show_deleted=hidden)
    except (ldap.INSUFFICIENT_ACCESS, ldap.UNWILLING_TO_PERFORM, LookupError) as exc:
        why = directory_refusal(exc)
        return ContainerGrant(
            status="refused",
            detail=f"{why}; {manual_commands(dn, access, account_upn)}",
        )
    held, _ = access_mask_decision(descriptor, access.mask, {account_sid})
    if held:
        return ContainerGrant(status="present", detail=dn)
    new = with_aces_added(descriptor, [access_allowed_ace(account_sid, access.mask)])
    directory.write_dacl(conn, dn, new, show_deleted=hidden)
    return ContainerGrant(status="added", detail=dn)


def directory_refusal(exc: Exception) -> str:
    if isinstance(exc, ldap.LDAPError):
        return (
            f"the DC refused to let the operator take ownership over LDAP ({ldap_error_text(exc)})"
        )
    return f"the operator may not read the descriptor ({exc})"


@dataclass(frozen=True, kw_only=True)
class ContainerCheck:
    held: bool | None
    """``None``: neither the descriptor nor, bound as someone else, the account's view could be
    read; the detail says how to check."""
    detail: str


def check_container_access(
    conn: Any,
    naming_context: str,
    access: ContainerAccess,
    *,
    token: frozenset[str],
    bound_as_account: bool,
) -> ContainerCheck:
    """Whether an account whose token is ``token`` holds ``access``."""
    dn = access.dn(naming_context)
    try:
        descriptor = directory.read_dacl(conn, dn, show_deleted=access.deleted_container)
    except (LookupError, ldap.INSUFFICIENT_ACCESS, ldap.NO_SUCH_OBJECT):
        descriptor = None
    if descriptor is not None:
        held, why = access_mask_decision(descriptor, access.mask, token)
        return ContainerCheck(held=held, detail=f"{why} on {dn}")
    if bound_as_account and access.deleted_container:
        readable = deleted_objects_readable(conn, naming_context)
        return ContainerCheck(
            held=readable,
            detail=f"the account {'reads' if readable else 'cannot read'} {dn}"
            " (its descriptor is not readable; probed with a Show Deleted search)",
        )
    return ContainerCheck(
        held=None,
        detail=f"the descriptor of {dn} is not readable by the bound account; `dirguard connect"
        " validate` (bound as the service account) checks it",
    )
