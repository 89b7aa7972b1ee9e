"""The Administrator's AD web actions over LDAP, as the Administrator AD account.

Each action is split in two: :meth:`AdActions.plan` reads the object as it is now and says what
would change (field, before → after: the preview the console shows), and :meth:`AdActions.perform`
writes exactly that plan, each modify carrying the values the preview showed as its
precondition (an LDAP delete of the old value, then an add of the new), so that an object
changed by someone else between preview and commit fails with a clear conflict instead of being
overwritten. Passwords are written, never read, shown or logged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ldap
import ldap.dn
import ldap.filter

from dirguard.core.admin_plan import ActionPlan, Edit, Performed
from dirguard.core.delegation import Target
from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.errors import ldap_error_text
from dirguard.providers.ad.ldap_read import PAGE_SIZE, paged_search
from dirguard.providers.ad.passwords import unicode_pwd
from dirguard.providers.ad.ranged_members import all_members
from dirguard.providers.base import SourceError

UF_ACCOUNTDISABLE = 0x0002
UF_NORMAL_ACCOUNT = 0x0200

READ = (
    "objectClass",
    "objectGUID",
    "distinguishedName",
    "sAMAccountName",
    "userPrincipalName",
    "displayName",
    "givenName",
    "sn",
    "department",
    "title",
    "mail",
    "telephoneNumber",
    "description",
    "userAccountControl",
    "lockoutTime",
    "member",
    "memberOf",
    "company",
    "manager",
    "physicalDeliveryOfficeName",
    "adminCount",
    "objectSid",
    "targetAddress",
    "mailNickname",
    "proxyAddresses",
)

PROTECTED_RIDS = frozenset({500, 502, 512, 516, 518, 519, 521, 544, 548, 549, 550, 551, 552})
"""Administrator, krbtgt, Domain/Schema/Enterprise Admins, domain controllers, Administrators
and the Account/Server/Print/Backup Operators and Replicator groups: the accounts and groups
Windows protects with AdminSDHolder."""


class ActionRefused(SourceError):
    """The request cannot be carried out as asked; the message names the field or the object."""


def _text(values: Sequence[bytes]) -> tuple[str, ...]:
    return tuple(v.decode("utf-8", "replace") for v in values)


def _kind(classes: Sequence[str]) -> str:
    lowered = {c.lower() for c in classes}
    if "computer" in lowered:
        return "computer"
    if "user" in lowered:
        return "user"
    if "group" in lowered:
        return "group"
    if "organizationalunit" in lowered:
        return "ou"
    return "object"


class AdActions:
    """Web actions on one domain, through a connection bound as the Administrator account."""

    def __init__(self, conn: AdConnection, *, source: str, page_size: int = PAGE_SIZE) -> None:
        self.conn = conn
        self.source = source
        self.base = conn.contexts.default
        self.page_size = page_size
        """Subtree searches are paged (AD answers at most MaxPageSize, 1,000, entries to one
        unpaged search)."""

    # ---- reading ------------------------------------------------------------------------------

    def find(self, ref: str) -> Target:
        """The object named by DN, sAMAccountName or userPrincipalName, as it is now."""
        ref = ref.strip()
        if not ref:
            raise ActionRefused("no object named: give a DN, sAMAccountName or UPN")
        if "=" in ref and ldap.dn.is_dn(ref):
            found = self._search(ref, ldap.SCOPE_BASE, "(objectClass=*)")
        else:
            escaped = ldap.filter.escape_filter_chars(ref)
            found = self._search(
                self.base,
                ldap.SCOPE_SUBTREE,
                f"(|(sAMAccountName={escaped})(userPrincipalName={escaped}))",
            )
        if not found:
            raise ActionRefused(f"no object {ref!r} in {self.source}", refused=False)
        if len(found) > 1:
            raise ActionRefused(f"{ref!r} names {len(found)} objects; give the DN")
        dn, attrs = found[0]
        return self._target(dn, attrs)

    def _target(self, dn: str, attrs: Mapping[str, list[bytes]]) -> Target:
        fields = {
            name: list(_text(values))
            for name, values in attrs.items()
            if name not in ("objectGUID", "objectSid")
        }
        fields["protected"] = ["1"] if _protected(attrs) else []
        return Target(
            source=self.source,
            directory="ad",
            object_kind=_kind(fields.get("objectClass", [])),
            path=dn,
            fields=fields,
        )

    def search(self, kind: str, text: str = "") -> list[Target]:
        """Users or groups of the domain whose name contains ``text`` (every one when empty):
        what list filtering then narrows to the operator's scopes."""
        classes = {
            "user": "(objectCategory=person)(objectClass=user)",
            "group": "(objectClass=group)",
        }
        if kind not in classes:
            raise ActionRefused(f"kind: {kind!r} is not one of {', '.join(classes)}")
        name = ""
        if text.strip():
            escaped = ldap.filter.escape_filter_chars(text.strip())
            name = f"(|(cn=*{escaped}*)(sAMAccountName=*{escaped}*)(displayName=*{escaped}*))"
        query = f"(&{classes[kind]}{name})"
        found = self._search(self.base, ldap.SCOPE_SUBTREE, query)
        return [self._target(dn, attrs) for dn, attrs in found]

    def scope_search(
        self, kind: str, base: str | None = None, extra: Sequence[str] = ()
    ) -> list[Target]:
        """Every user or group under ``base`` (the whole domain when ``None``), with the
        ``extra`` attributes besides the usual ones: what a rule's scope reads (``whenChanged``,
        ``lastLogonTimestamp``…). Paged as :meth:`search` (simple paged results of
        ``page_size``): AD answers one unpaged search with at most MaxPageSize (1,000)
        entries."""
        classes = {
            "user": "(&(objectCategory=person)(objectClass=user))",
            "group": "(objectClass=group)",
        }
        if kind not in classes:
            raise ActionRefused(f"kind: {kind!r} is not one of {', '.join(classes)}")
        found = self._search(base or self.base, ldap.SCOPE_SUBTREE, classes[kind], [*READ, *extra])
        return [self._target(dn, attrs) for dn, attrs in found]

    def groups_of(self, sign_in: str) -> frozenset[str]:
        """DNs of every group (nested ones included) the AD account whose userPrincipalName or
        sAMAccountName is ``sign_in`` belongs to; empty when there is no such account."""
        name = ldap.filter.escape_filter_chars(sign_in.strip())
        found = self._search(
            self.base,
            ldap.SCOPE_SUBTREE,
            f"(&(objectClass=user)(|(userPrincipalName={name})(sAMAccountName={name})))",
            ["distinguishedName"],
        )
        if len(found) != 1:
            return frozenset()
        user_dn = ldap.filter.escape_filter_chars(found[0][0])
        chain = f"(&(objectClass=group)(member:1.2.840.113556.1.4.1941:={user_dn}))"
        groups = self._search(self.base, ldap.SCOPE_SUBTREE, chain, ["distinguishedName"])
        return frozenset(dn for dn, _ in groups)

    def container(
        self, dn: str, params: Mapping[str, Any] | None = None, action: str = ""
    ) -> Target:
        """An OU or container, for the scope check of a create or a move's destination."""
        found = self._search(dn, ldap.SCOPE_BASE, "(objectClass=*)")
        if not found:
            raise ActionRefused(f"no OU or container {dn!r} in {self.source}")
        return Target(source=self.source, directory="ad", object_kind="ou", path=found[0][0])

    def _search(
        self, base: str, scope: int, query: str, attrs: Sequence[str] = READ
    ) -> list[tuple[str, dict[str, list[bytes]]]]:
        try:
            if scope == ldap.SCOPE_SUBTREE:
                pages = paged_search(
                    self.conn.ldap,
                    base,
                    ldap_filter=query,
                    attributes=tuple(attrs),
                    page_size=self.page_size,
                )
                return [entry for page in pages for entry in page]
            return [
                (dn, attrs)
                for dn, attrs in self.conn.ldap.search_s(base, scope, query, list(attrs))
                if dn is not None
            ]
        except ldap.NO_SUCH_OBJECT:
            return []
        except ldap.LDAPError as error:
            raise SourceError(f"{self.source}: reading {base}: {ldap_error_text(error)}") from None

    # ---- planning -----------------------------------------------------------------------------

    def plan(self, action: str, target: Target, params: Mapping[str, Any]) -> ActionPlan:
        """What ``action`` would change on ``target`` (nothing is written).

        Protected objects — privileged groups and accounts, and whatever AD marks with
        ``adminCount`` — are refused whatever the delegation says: on Windows AdminSDHolder
        already keeps an Account Operator off them, but Samba runs no SDProp, so there only
        this check stands between a help desk and Domain Admins."""
        if target.fields.get("protected"):
            raise ActionRefused(
                f"{target.path} is a protected (privileged) object: dirguard's web actions never"
                " change privileged groups or their members; use an administrator account",
                refused=True,
            )
        planner = _PLANNERS.get(action)
        if planner is None:
            raise ActionRefused(f"{action!r} is not an AD web action")
        return planner(self, target, params)

    # ---- writing ------------------------------------------------------------------------------

    def perform(self, plan: ActionPlan) -> Performed:
        """Write the plan; the DN the object has afterwards."""
        return Performed(path=self._perform(plan))

    def _perform(self, plan: ActionPlan) -> str:
        try:
            if plan.action == "ad.user.create":
                return self._create(plan)
            if plan.delete:
                self.conn.ldap.delete_s(plan.path)
                return plan.path
            modlist = _modlist(plan)
            if modlist:
                self.conn.ldap.modify_s(plan.path, modlist)
            if plan.new_path is not None and plan.new_path != plan.path:
                rdn, _, parent = _split(plan.new_path)
                self.conn.ldap.rename_s(plan.path, rdn, parent, delold=1)
                return plan.new_path
            return plan.path
        except ldap.NO_SUCH_ATTRIBUTE:
            raise ActionRefused(
                f"{plan.path} changed since the preview (a value it showed is gone): preview again"
            ) from None
        except (ldap.INSUFFICIENT_ACCESS, ldap.STRONG_AUTH_REQUIRED) as error:
            raise SourceError(
                f"{self.source}: the Administrator AD account may not do this on {plan.path}: "
                f"{ldap_error_text(error)}",
                refused=True,
            ) from None
        except (ldap.CONSTRAINT_VIOLATION, ldap.UNWILLING_TO_PERFORM) as error:
            raise ActionRefused(f"{plan.path}: the DC refused: {ldap_error_text(error)}") from None
        except ldap.ALREADY_EXISTS:
            raise ActionRefused(f"{plan.new_path or plan.path} already exists") from None
        except ldap.LDAPError as error:
            raise SourceError(f"{self.source}: {plan.path}: {ldap_error_text(error)}") from None

    def _create(self, plan: ActionPlan) -> str:
        assert plan.new_path is not None
        attrs = [("objectClass", [b"top", b"person", b"organizationalPerson", b"user"])]
        groups: tuple[str, ...] = ()
        for edit in plan.edits:
            if edit.field == "memberOf":
                groups = edit.after or ()
            elif edit.after and not edit.secret:
                attrs.append((edit.field, [v.encode() for v in edit.after]))
        # Created disabled without a password, then given the password, then enabled: the
        # order AD needs when the password policy applies to the new account.
        uac = UF_NORMAL_ACCOUNT | UF_ACCOUNTDISABLE
        attrs.append(("userAccountControl", [str(uac).encode()]))
        self.conn.ldap.add_s(plan.new_path, attrs)
        password = plan.hidden.get("password")
        changes: list[tuple[int, str, list[bytes]]] = []
        if password:
            changes.append((ldap.MOD_REPLACE, "unicodePwd", [unicode_pwd(password)]))
        if plan.hidden.get("must_change", "1") == "1":
            changes.append((ldap.MOD_REPLACE, "pwdLastSet", [b"0"]))
        if password and plan.hidden.get("enabled", "1") == "1":
            changes.append(
                (ldap.MOD_REPLACE, "userAccountControl", [str(UF_NORMAL_ACCOUNT).encode()])
            )
        if changes:
            self.conn.ldap.modify_s(plan.new_path, changes)
        for group in groups:
            self.conn.ldap.modify_s(group, [(ldap.MOD_ADD, "member", [plan.new_path.encode()])])
        return plan.new_path


def _protected(attrs: Mapping[str, list[bytes]]) -> bool:
    if attrs.get("adminCount", [b"0"])[0] not in (b"0", b""):
        return True
    sid = attrs.get("objectSid", [b""])[0]
    if len(sid) < 12:
        return False
    rid = int.from_bytes(sid[-4:], "little")
    # The domain's well-known RIDs, and BUILTIN (S-1-5-32-…: two sub-authorities).
    return rid in PROTECTED_RIDS


def _split(dn: str) -> tuple[str, str, str]:
    parts = ldap.dn.explode_dn(dn)
    return parts[0], ",", ",".join(parts[1:])


_REPLACED = frozenset({"pwdLastSet", "lockoutTime"})
"""Fields AD lets one only set (to 0), not delete a value of: replaced, not compared."""


def _modlist(plan: ActionPlan) -> list[tuple[int, str, list[bytes] | None]]:
    """Delete-the-old then add-the-new for each edit: the old values are the precondition."""
    modlist: list[tuple[int, str, list[bytes] | None]] = []
    for edit in plan.edits:
        if edit.secret:
            modlist.append((ldap.MOD_REPLACE, edit.field, [unicode_pwd(plan.hidden["password"])]))
            continue
        if edit.field == "distinguishedName":
            continue
        if edit.field in _REPLACED:
            modlist.append((ldap.MOD_REPLACE, edit.field, [v.encode() for v in edit.after or ()]))
            continue
        before, after = set(edit.before or ()), set(edit.after or ())
        removed = [v.encode() for v in (edit.before or ()) if v not in after]
        added = [v.encode() for v in (edit.after or ()) if v not in before]
        if removed:
            modlist.append((ldap.MOD_DELETE, edit.field, removed))
        if added:
            modlist.append((ldap.MOD_ADD, edit.field, added))
    return modlist


def _one(fields: Mapping[str, Any], name: str) -> tuple[str, ...] | None:
    values = fields.get(name)
    return tuple(values) if values else None


def _uac(target: Target) -> int:
    values = target.fields.get("userAccountControl") or ["0"]
    return int(values[0])


def _needs_user(target: Target, action: str) -> None:
    if target.object_kind != "user":
        raise ActionRefused(f"{action} works on users; {target.path} is a {target.object_kind}")


def _plan_enable(
    self: AdActions, target: Target, params: Mapping[str, Any], *, on: bool
) -> ActionPlan:
    action = "ad.user.enable" if on else "ad.user.disable"
    _needs_user(target, action)
    old = _uac(target)
    new = old & ~UF_ACCOUNTDISABLE if on else old | UF_ACCOUNTDISABLE
    if new == old:
        state = "enabled" if on else "disabled"
        return ActionPlan(
            action=action, path=target.path, notes=(f"already {state}: nothing to do",)
        )
    edit = Edit(field="userAccountControl", before=(str(old),), after=(str(new),))
    return ActionPlan(action=action, path=target.path, edits=(edit,))


def _plan_reset(self: AdActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    _needs_user(target, "ad.user.reset-password")
    password = params.get("password")
    if not isinstance(password, str) or not password:
        raise ActionRefused("password: give the new password")
    edits = [Edit(field="unicodePwd", before=None, after=None, secret=True)]
    if params.get("must_change", True):
        edits.append(Edit(field="pwdLastSet", before=None, after=("0",)))
    return ActionPlan(
        action="ad.user.reset-password",
        path=target.path,
        edits=tuple(edits),
        hidden={"password": password},
    )


def _plan_unlock(self: AdActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    _needs_user(target, "ad.user.unlock")
    locked = _one(target.fields, "lockoutTime")
    if not locked or locked == ("0",):
        return ActionPlan(action="ad.user.unlock", path=target.path, notes=("not locked out",))
    return ActionPlan(
        action="ad.user.unlock",
        path=target.path,
        edits=(Edit(field="lockoutTime", before=locked, after=("0",)),),
    )


EDITABLE = frozenset(
    {
        "displayName",
        "givenName",
        "sn",
        "department",
        "title",
        "mail",
        "telephoneNumber",
        "description",
        "company",
        "physicalDeliveryOfficeName",
        "manager",
    }
)
"""Attributes the edit action may set (the role narrows this further)."""


def _plan_edit(self: AdActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    changes = params.get("fields")
    if not isinstance(changes, Mapping) or not changes:
        raise ActionRefused("fields: give at least one attribute and its new value")
    edits = []
    for name, value in changes.items():
        if name not in EDITABLE:
            raise ActionRefused(
                f"fields: {name!r} cannot be edited here (editable: {', '.join(sorted(EDITABLE))})"
            )
        after = (
            None
            if value in (None, "", [])
            else tuple([str(v) for v in value] if isinstance(value, list) else [str(value)])
        )
        before = _one(target.fields, name)
        if before != after:
            edits.append(Edit(field=name, before=before, after=after))
    notes = () if edits else ("every value is already as asked: nothing to do",)
    return ActionPlan(action="ad.user.edit", path=target.path, edits=tuple(edits), notes=notes)


def _plan_move(self: AdActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    to = params.get("to")
    if not isinstance(to, str) or not to.strip():
        raise ActionRefused("to: give the destination OU's DN")
    destination = self.container(to.strip())
    rdn = ldap.dn.explode_dn(target.path)[0]
    new_dn = f"{rdn},{destination.path}"
    edit = Edit(field="distinguishedName", before=(target.path,), after=(new_dn,))
    return ActionPlan(
        action="ad.user.move",
        path=target.path,
        new_path=new_dn,
        edits=(edit,),
        checks=(destination,),
    )


def _plan_delete(self: AdActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    return ActionPlan(
        action="ad.user.delete",
        path=target.path,
        delete=True,
        notes=("the guardian can bring it back with its links (dirguard undelete)",),
    )


def _plan_member(
    self: AdActions, target: Target, params: Mapping[str, Any], *, add: bool
) -> ActionPlan:
    action = "ad.group.add-member" if add else "ad.group.remove-member"
    if target.object_kind != "group":
        raise ActionRefused(f"{action} works on groups; {target.path} is a {target.object_kind}")
    ref = params.get("member")
    if not isinstance(ref, str) or not ref.strip():
        raise ActionRefused("member: name the user or group to add or remove")
    found = self.find(ref)
    if found.fields.get("protected"):
        raise ActionRefused(
            f"{found.path} is a protected (privileged) object: its group memberships are not"
            " changed by web actions",
            refused=True,
        )
    member = found.path
    current = tuple(all_members(self.conn.ldap, target.path))  # past MaxValRange too
    folded = {m.casefold() for m in current}
    if add and member.casefold() in folded:
        return ActionPlan(action=action, path=target.path, notes=(f"{member} is already a member",))
    if not add and member.casefold() not in folded:
        return ActionPlan(action=action, path=target.path, notes=(f"{member} is not a member",))
    after = (
        (*current, member)
        if add
        else tuple(m for m in current if m.casefold() != member.casefold())
    )
    # Only the one value is written (MOD_ADD / MOD_DELETE of the member), never the whole list.
    edit = Edit(field="member", before=None if add else (member,), after=(member,) if add else None)
    return ActionPlan(
        action=action,
        path=target.path,
        edits=(edit,),
        notes=(f"{len(after)} member(s) afterwards",),
    )


def _plan_create(self: AdActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    name = str(params.get("sAMAccountName") or "").strip()
    if not name or len(name) > 20 or any(c in name for c in '"/\\[]:;|=,+*?<>@ '):
        raise ActionRefused(
            'sAMAccountName: 1 to 20 characters, none of " / \\ [ ] : ; | = , + * ? < > @ or space'
        )
    suffix = str(params.get("upn_suffix") or "").strip().lstrip("@")
    if not suffix:
        raise ActionRefused("upn_suffix: give the UPN suffix (a domain name)")
    display = str(params.get("displayName") or name).strip()
    password = params.get("password")
    if not isinstance(password, str) or not password:
        raise ActionRefused("password: give the initial password")
    new_dn = f"CN={ldap.dn.escape_dn_chars(display)},{target.path}"
    edits = [
        Edit(field="sAMAccountName", before=None, after=(name,)),
        Edit(field="userPrincipalName", before=None, after=(f"{name}@{suffix}",)),
        Edit(field="displayName", before=None, after=(display,)),
    ]
    for key in ("givenName", "sn", "department", "title", "mail", "telephoneNumber", "description"):
        value = str(params.get(key) or "").strip()
        if value:
            edits.append(Edit(field=key, before=None, after=(value,)))
    groups = tuple(self.find(g).path for g in params.get("groups") or ())
    if groups:
        edits.append(Edit(field="memberOf", before=None, after=groups))
    edits.append(Edit(field="unicodePwd", before=None, after=None, secret=True))
    must_change = bool(params.get("must_change", True))
    enabled = bool(params.get("enabled", True))
    notes = [
        "must change the password at first sign-in" if must_change else "password kept",
        "enabled" if enabled else "created disabled",
    ]
    return ActionPlan(
        action="ad.user.create",
        path=target.path,
        new_path=new_dn,
        edits=tuple(edits),
        notes=tuple(notes),
        hidden={
            "password": password,
            "must_change": "1" if must_change else "0",
            "enabled": "1" if enabled else "0",
        },
    )


EXCHANGE_FIELDS = ("targetAddress", "mailNickname")
"""What Exchange's schema extension adds and a remote mailbox needs."""
REMOTE_MAILBOX_FLAGS = {
    "msExchRecipientTypeDetails": "2147483648",
    "msExchRemoteRecipientType": "1",
    "msExchRecipientDisplayType": "-2147483642",
}
"""What ``Enable-RemoteMailbox`` sets besides the addresses (a remote user mailbox)."""


def _schema_has(self: AdActions, names: tuple[str, ...]) -> set[str]:
    """Which of ``names`` the domain's schema defines."""
    query = "(|" + "".join(f"(lDAPDisplayName={n})" for n in names) + ")"
    found = self._search(self.conn.contexts.schema, ldap.SCOPE_ONELEVEL, query, ["lDAPDisplayName"])
    return {str(attrs["lDAPDisplayName"][0].decode()) for _, attrs in found}


def _plan_remote_mailbox(self: AdActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    _needs_user(target, "ad.user.enable-remote-mailbox")
    tenant = params.get("_tenant-domains")
    if not isinstance(tenant, Mapping):
        raise ActionRefused("the tenant's verified domains were not read")
    present = _schema_has(self, (*EXCHANGE_FIELDS, *REMOTE_MAILBOX_FLAGS))
    missing = [n for n in EXCHANGE_FIELDS if n not in present]
    if missing:
        raise ActionRefused(
            f"{self.source}: the schema has no Exchange attributes ({', '.join(missing)}): extend"
            " it first (Exchange setup /PrepareSchema), then enable remote mailboxes"
        )
    if target.fields.get("targetAddress"):
        return ActionPlan(
            action="ad.user.enable-remote-mailbox",
            path=target.path,
            notes=(f"already routed to {target.fields['targetAddress'][0]}",),
        )
    alias = str((target.fields.get("sAMAccountName") or [""])[0])
    upn = str(target.fields["userPrincipalName"][0])
    remote = f"{alias}@{tenant['routing_domain']}"
    proxies = tuple(target.fields.get("proxyAddresses") or ())
    edits = [
        Edit(field="targetAddress", before=None, after=(f"SMTP:{remote}",)),
        Edit(field="mailNickname", before=_one(target.fields, "mailNickname"), after=(alias,)),
        Edit(
            field="proxyAddresses",
            before=proxies or None,
            after=(*proxies, f"SMTP:{upn}", f"smtp:{remote}"),
        ),
    ]
    edits += [
        Edit(field=k, before=None, after=(v,))
        for k, v in REMOTE_MAILBOX_FLAGS.items()
        if k in present
    ]
    return ActionPlan(
        action="ad.user.enable-remote-mailbox",
        path=target.path,
        edits=tuple(edits),
        notes=(f"{upn} in tenant {tenant['tenant']}; mail routed to {remote}",),
    )


Planner = Callable[[AdActions, Target, Mapping[str, Any]], ActionPlan]

_PLANNERS: dict[str, Planner] = {
    "ad.user.create": _plan_create,
    "ad.user.edit": _plan_edit,
    "ad.user.reset-password": _plan_reset,
    "ad.user.enable": lambda self, t, p: _plan_enable(self, t, p, on=True),
    "ad.user.disable": lambda self, t, p: _plan_enable(self, t, p, on=False),
    "ad.user.unlock": _plan_unlock,
    "ad.user.move": _plan_move,
    "ad.user.delete": _plan_delete,
    "ad.group.add-member": lambda self, t, p: _plan_member(self, t, p, add=True),
    "ad.group.remove-member": lambda self, t, p: _plan_member(self, t, p, add=False),
    "ad.user.enable-remote-mailbox": _plan_remote_mailbox,
}
