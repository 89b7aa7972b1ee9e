"""The Administrator's web actions, each declared once.

A console form, its REST endpoint, the delegation check (``core/delegation.py``: a role is a set
of these keys), the permission manifest (the feature whose permissions the action uses) and the
generated docs all read the same row. ``writes`` names the fields an action writes on its target,
so that a role granting the action but not those fields is refused; an action whose fields are
chosen by the operator (edit properties) declares none here and is checked field by field.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Risk(StrEnum):
    """How much confirmation the console asks for."""

    ROUTINE = "routine"
    """Preview, then commit."""
    DESTRUCTIVE = "destructive"
    """Preview, then commit after typing the object's name (delete, wipe, suspend)."""
    REVEALS = "reveals"
    """Reveals a secret: needs a written reason, shows it once, audited (LAPS)."""


class InputKind(StrEnum):
    TEXT = "text"
    PASSWORD = "password"  # noqa: S105 - the kind of a form field, not a password
    FLAG = "flag"
    OBJECT = "object"
    """A DN, sAMAccountName or UPN (or an Entra id / UPN)."""
    OBJECTS = "objects"
    """Several of them, one per line."""
    FIELDS = "fields"
    """Attribute = value lines (edit properties)."""


@dataclass(frozen=True, kw_only=True)
class Input:
    """One field of the action's form (and of its REST body's ``params``)."""

    name: str
    label: str
    kind: InputKind = InputKind.TEXT
    required: bool = False
    default: str | bool | None = None
    help: str = ""


@dataclass(frozen=True, kw_only=True)
class AdminAction:
    key: str
    """``<directory>.<object kind>.<verb>``, e.g. ``ad.user.reset-password``."""
    title: str
    description: str
    directory: str
    """Provider kind: ``ad`` or ``entra``."""
    object_kind: str
    """What it acts on: ``user``, ``group``, ``device``…"""
    feature: str
    """The feature (``catalog/features_*.py``) whose permissions the service identity uses."""
    writes: tuple[str, ...] = ()
    risk: Risk = Risk.ROUTINE
    creates: bool = False
    """It creates its target (the scope is checked on where the object will be)."""
    inputs: tuple[Input, ...] = ()
    """What the operator fills in besides the object (the target)."""
    reads_other: tuple[str, ...] = ()
    """What the action reads from the other directory first (``tenant-domains``: the tenant's
    verified domains; ``ad-profile``: the user's AD account), given to its planner."""
    restores: str | None = None
    """The action whose last successful run on the object this one undoes, from its audit
    record (un-suspend puts back what suspend removed)."""


def _ad(verb: str, kind: str, title: str, description: str, **kw: object) -> AdminAction:
    return AdminAction(
        key=f"ad.{kind}.{verb}",
        title=title,
        description=description,
        directory="ad",
        object_kind=kind,
        feature="administrator.ad.web-actions",
        **kw,  # type: ignore[arg-type]
    )


def _entra(
    verb: str, kind: str, title: str, description: str, feature: str, **kw: object
) -> AdminAction:
    return AdminAction(
        key=f"entra.{kind}.{verb}",
        title=title,
        description=description,
        directory="entra",
        object_kind=kind,
        feature=f"administrator.{feature}",
        **kw,  # type: ignore[arg-type]
    )


_PASSWORD = Input(name="password", label="New password", kind=InputKind.PASSWORD, required=True)
_MUST_CHANGE = Input(
    name="must_change", label="Must change at next sign-in", kind=InputKind.FLAG, default=True
)
_MEMBER = Input(
    name="member",
    label="Member",
    kind=InputKind.OBJECT,
    required=True,
    help="DN, sAMAccountName or UPN of the user or group",
)
_NEW_AD_USER = (
    Input(name="sAMAccountName", label="Logon name (sAMAccountName)", required=True),
    Input(name="upn_suffix", label="UPN suffix", required=True, help="e.g. corp.example.com"),
    Input(name="displayName", label="Display name"),
    Input(name="givenName", label="First name"),
    Input(name="sn", label="Last name"),
    Input(name="department", label="Department"),
    Input(name="title", label="Job title"),
    Input(name="mail", label="E-mail"),
    Input(name="groups", label="Groups", kind=InputKind.OBJECTS, help="one per line"),
    Input(name="password", label="Initial password", kind=InputKind.PASSWORD, required=True),
    _MUST_CHANGE,
    Input(name="enabled", label="Enabled", kind=InputKind.FLAG, default=True),
)

_FIELDS = Input(
    name="fields",
    label="Attributes",
    kind=InputKind.FIELDS,
    required=True,
    help="one 'attribute = value' per line; an empty value clears it",
)
_NEW_CLOUD_USER = (
    Input(name="mailNickname", label="Mail nickname (before the @)", required=True),
    Input(name="domain", label="Domain", required=True, help="a verified domain of the tenant"),
    Input(name="displayName", label="Display name"),
    Input(name="givenName", label="First name"),
    Input(name="surname", label="Last name"),
    Input(name="department", label="Department"),
    Input(name="jobTitle", label="Job title"),
    Input(
        name="usageLocation",
        label="Usage location",
        help="two letters, e.g. FR; needed for licenses",
    ),
    Input(
        name="licenses",
        label="Licenses (SKU part numbers)",
        kind=InputKind.OBJECTS,
        help="one per line, e.g. ENTERPRISEPACK",
    ),
    Input(name="password", label="Initial password", kind=InputKind.PASSWORD, required=True),
    _MUST_CHANGE,
    Input(name="enabled", label="Enabled", kind=InputKind.FLAG, default=True),
)
_NEW_GUEST = (
    Input(name="email", label="Guest's e-mail address", required=True),
    Input(name="displayName", label="Display name"),
    Input(name="redirect_url", label="Redirect URL", default="https://myapps.microsoft.com"),
    Input(name="message", label="Message in the invitation"),
    Input(
        name="send_message", label="Send the invitation e-mail", kind=InputKind.FLAG, default=True
    ),
)

ADMIN_ACTIONS: tuple[AdminAction, ...] = (
    # ---- Active Directory ------------------------------------------------------------------
    _ad("create", "user", "New user", "Create a user from a template: OU, groups, attributes,"
        " UPN suffix and initial password.", creates=True, inputs=_NEW_AD_USER),
    _ad("edit", "user", "Edit properties", "Change the attributes the role may write.",
        inputs=(_FIELDS,)),
    _ad("reset-password", "user", "Reset password", "Set a new password, optionally to be"
        " changed at next sign-in.", writes=("unicodePwd", "pwdLastSet"),
        inputs=(_PASSWORD, _MUST_CHANGE)),
    _ad("enable", "user", "Enable", "Let the account sign in again.",
        writes=("userAccountControl",)),
    _ad("disable", "user", "Disable", "Stop the account from signing in.",
        writes=("userAccountControl",)),
    _ad("unlock", "user", "Unlock", "Clear a lockout after failed sign-ins.",
        writes=("lockoutTime",)),
    _ad("move", "user", "Move", "Move the account to another OU (both OUs must be in scope).",
        writes=("distinguishedName",),
        inputs=(Input(name="to", label="Destination OU (DN)", kind=InputKind.OBJECT,
                      required=True),)),
    _ad("delete", "user", "Delete", "Delete the account (the guardian can bring it back).",
        risk=Risk.DESTRUCTIVE),
    _ad("add-member", "group", "Add member", "Add a user or group to the group.",
        writes=("member",), inputs=(_MEMBER,)),
    _ad("remove-member", "group", "Remove member", "Remove a member from the group.",
        writes=("member",), inputs=(_MEMBER,)),
    _ad("enable-remote-mailbox", "user", "Enable remote mailbox", "Give an on-premises user an"
        " Exchange Online mailbox; its UPN suffix must be a verified domain of the tenant.",
        writes=("targetAddress", "proxyAddresses", "mailNickname"),
        reads_other=("tenant-domains",),
        inputs=(Input(name="tenant", label="Tenant (configured name; empty: the only one)"),)),
    # ---- Entra ID / Microsoft 365 -------------------------------------------------------------
    _entra("create", "user", "New cloud user", "Create a cloud user, with licenses from the"
           " tenant's subscribed SKUs (free seats shown).", "web-actions.users", creates=True,
           inputs=_NEW_CLOUD_USER),
    _entra("invite", "user", "New Guest", "Invite a guest: e-mail, redirect URL and message.",
           "web-actions.new-guest", creates=True, inputs=_NEW_GUEST),
    _entra("edit", "user", "Edit properties", "Change the properties the role may write.",
           "web-actions.users", inputs=(_FIELDS,)),
    _entra("sync-profile", "user", "Sync profile from AD", "Copy the mapped attributes of the"
           " user's AD account onto the cloud user.", "web-actions.users",
           reads_other=("ad-profile",),
           inputs=(Input(name="domain", label="AD domain (empty: the only one)"),)),
    _entra("assign-licenses", "user", "Licenses", "Assign or remove licenses.",
           "web-actions.users", writes=("assignedLicenses",),
           inputs=(Input(name="add", label="Add (SKU part numbers)", kind=InputKind.OBJECTS),
                   Input(name="remove", label="Remove (SKU part numbers)",
                         kind=InputKind.OBJECTS))),
    _entra("add-member", "group", "Add member", "Add a member (Microsoft 365, security,"
           " role-assignable and hidden-membership groups).", "web-actions.groups",
           writes=("members",), inputs=(_MEMBER,)),
    _entra("remove-member", "group", "Remove member", "Remove a member.",
           "web-actions.groups", writes=("members",), inputs=(_MEMBER,)),
    _entra("list-methods", "user", "Authentication methods", "List the user's registered"
           " methods.", "web-actions.authentication-methods"),
    _entra("remove-method", "user", "Remove method", "Remove a phone, Authenticator, FIDO2 key"
           " or Temporary Access Pass.", "web-actions.authentication-methods",
           writes=("authenticationMethods",),
           inputs=(Input(name="method", label="Method id", required=True,
                         help="from the user's Authentication methods"),)),
    _entra("issue-tap", "user", "Temporary Access Pass", "Issue a time-limited pass to"
           " register methods.", "web-actions.authentication-methods", risk=Risk.REVEALS,
           writes=("authenticationMethods",),
           inputs=(Input(name="lifetime_minutes", label="Lifetime (minutes)", default="60"),
                   Input(name="usable_once", label="Usable once", kind=InputKind.FLAG,
                         default=True))),
    _entra("set-mfa-state", "user", "MFA state", "Per-user MFA: Disabled, Enabled or"
           " Enforced.", "web-actions.mfa-state", writes=("perUserMfaState",),
           inputs=(Input(name="state", label="State (disabled, enabled, enforced)",
                         required=True),)),
    _entra("revoke-sessions", "user", "Revoke sessions", "Sign the user out everywhere"
           " (refresh tokens revoked).", "web-actions.users"),
    _entra("suspend", "user", "Suspend", "Block sign-in, revoke sessions, remove methods, and"
           " remove groups and licenses as the template says; recorded for un-suspend.",
           "suspend", risk=Risk.DESTRUCTIVE, writes=("accountEnabled",),
           inputs=(Input(name="remove_groups", label="Remove from groups", kind=InputKind.FLAG,
                         default=True),
                   Input(name="remove_licenses", label="Remove licenses", kind=InputKind.FLAG,
                         default=True))),
    _entra("unsuspend", "user", "Un-suspend", "Put back what suspend removed, from its record.",
           "suspend", writes=("accountEnabled",), restores="entra.user.suspend"),
    _entra("enable", "device", "Enable device", "Let the device authenticate again.",
           "device-actions", writes=("accountEnabled",)),
    _entra("disable", "device", "Disable device", "Stop the device from authenticating.",
           "device-actions", writes=("accountEnabled",)),
    _entra("delete", "device", "Delete device", "Delete the Entra device.", "device-actions",
           risk=Risk.DESTRUCTIVE),
    _entra("sync", "managed-device", "Sync", "Ask the Intune device to check in now.",
           "device-actions"),
    _entra("retire", "managed-device", "Retire", "Remove company data and management.",
           "device-actions", risk=Risk.DESTRUCTIVE),
    _entra("wipe", "managed-device", "Wipe", "Reset the device to factory settings.",
           "device-actions", risk=Risk.DESTRUCTIVE,
           inputs=(Input(name="keep_user_data", label="Keep user data", kind=InputKind.FLAG),
                   Input(name="keep_enrollment_data", label="Keep enrollment data",
                         kind=InputKind.FLAG))),
    _entra("delete", "managed-device", "Delete managed device", "Remove the device from"
           " Intune.", "device-actions", risk=Risk.DESTRUCTIVE),
    _entra("reveal-laps", "device", "Show LAPS password", "Show the device's local"
           " administrator password once, with a reason, audited.", "laps", risk=Risk.REVEALS,
           inputs=(Input(name="reason", label="Why you need it (kept in the audit log)",
                         required=True),)),
)  # fmt: skip

ACTIONS_BY_KEY: dict[str, AdminAction] = {a.key: a for a in ADMIN_ACTIONS}


def action(key: str) -> AdminAction:
    """The action of that key; ``KeyError`` naming it and the known keys' directory."""
    try:
        return ACTIONS_BY_KEY[key]
    except KeyError:
        raise KeyError(f"no web action {key!r}") from None
