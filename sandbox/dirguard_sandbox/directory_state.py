"""The tenant's state in memory: directory objects, links, deleted items, audits and change history.

Everything is plain JSON-ready data so that it can be saved to and loaded from a file. Every write
goes through this module so that the change sequence (what delta queries read) and the audit log
(what ``auditLogs/directoryAudits`` reads) can never miss one.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Json = dict[str, Any]
Clock = Callable[[], datetime.datetime]

DELETED_RETENTION = datetime.timedelta(days=30)
"""How long a soft-deleted user, group, application or service principal can be restored."""

KINDS = ("users", "groups")
"""Collections whose changes delta queries track."""


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def graph_time(moment: datetime.datetime) -> str:
    """Graph's DateTimeOffset form: ``2024-01-02T03:04:05Z``."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass(kw_only=True)
class Application:
    """An app registration with its service principal and client secrets (sandbox-private)."""

    app_id: str
    object_id: str
    service_principal_id: str
    display_name: str
    secrets: list[str]
    granted: list[str]
    secret_key_ids: dict[str, str] = field(default_factory=dict)
    """The keyId of each passwordCredential and its secret (``secrets`` lists the values)."""
    certificates: dict[str, str] = field(default_factory=dict)
    """The keyId of each keyCredential and its certificate (base64 DER), for client assertions."""


@dataclass(kw_only=True)
class MemberChange:
    """One link added to or removed from a group, in change-sequence order."""

    seq: int
    group_id: str
    member_id: str
    member_type: str
    added: bool


@dataclass(kw_only=True)
class Removal:
    """An object that left a collection (soft or hard delete), for delta's ``@removed``."""

    seq: int
    kind: str
    object_id: str
    reason: str


@dataclass(kw_only=True)
class DirectoryState:
    """One tenant. ``seq`` increases with every change; delta tokens are positions in it."""

    tenant_id: str
    epoch: str = field(default_factory=new_id)
    clock: Clock = utc_now
    seq: int = 0
    organization: Json = field(default_factory=dict)
    domains: dict[str, Json] = field(default_factory=dict)
    users: dict[str, Json] = field(default_factory=dict)
    groups: dict[str, Json] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    owners: dict[str, list[str]] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    service_principals: dict[str, Json] = field(default_factory=dict)
    app_role_assignments: dict[str, Json] = field(default_factory=dict)
    applications: dict[str, Application] = field(default_factory=dict)
    deleted: dict[str, Json] = field(default_factory=dict)
    deleted_links: dict[str, Json] = field(default_factory=dict)
    # ---- policies and managers (routes_policies, routes_manager) ----
    policies: dict[str, Json] = field(default_factory=dict)
    """Conditional access policies, named locations and the policy singletons, by kind."""
    managers: dict[str, str] = field(default_factory=dict)
    """Each user's manager: user id to manager id."""
    audits: list[Json] = field(default_factory=list)
    audit_latency: float | str = 0.0
    """How long a directoryAudit takes to appear: seconds, or ``"realistic"`` (Microsoft's 2 min
    p95 / 5 min p99, see ``audit_latency.py``); 0 (every in-process test tenant): at once."""
    audit_visible_at: dict[str, str] = field(default_factory=dict)
    """When each delayed directoryAudit becomes visible (ISO time), by audit id."""
    changed_at: dict[str, int] = field(default_factory=dict)
    member_changes: list[MemberChange] = field(default_factory=list)
    removals: list[Removal] = field(default_factory=list)
    delta_sessions: dict[str, Json] = field(default_factory=dict)
    """Pages of delta rounds under way (in memory only, never saved)."""
    # ---- applications, consent and directory roles (routes_applications, routes_roles) ----
    application_objects: dict[str, Json] = field(default_factory=dict)
    """Graph ``application`` records by object id (``applications`` holds their private side)."""
    oauth2_grants: dict[str, Json] = field(default_factory=dict)
    directory_roles: dict[str, Json] = field(default_factory=dict)
    """Activated directory roles by object id; their members live in ``role_assignments``."""
    role_assignments: dict[str, Json] = field(default_factory=dict)
    role_schedules: dict[str, Json] = field(default_factory=dict)
    """PIM requests, schedules and instances by id, each with its ``kind``."""
    sign_ins: dict[str, Json] = field(default_factory=dict)
    """Authorization codes and device codes waiting to be redeemed."""
    # ---- Azure Resource Manager (routes_arm) ----
    subscriptions: dict[str, Json] = field(default_factory=dict)
    """Azure subscriptions of the tenant by subscription id."""
    rbac_assignments: dict[str, Json] = field(default_factory=dict)
    """Azure role assignments by their full resource id."""
    # ---- authentication methods, licenses, administrative units, contacts, invitations, sign-in
    # logs and mail (routes_auth_methods, routes_licenses, routes_admin_units,
    # routes_contacts_invitations, routes_mail_signins) ----
    auth_methods: dict[str, dict[str, Json]] = field(default_factory=dict)
    """Each user's registered authentication methods by method id (with ``@odata.type``)."""
    mfa_states: dict[str, str] = field(default_factory=dict)
    """Per-user MFA state (beta ``authentication/requirements``); a user not listed: disabled."""
    subscribed_skus: dict[str, Json] = field(default_factory=dict)
    administrative_units: dict[str, Json] = field(default_factory=dict)
    unit_members: dict[str, list[str]] = field(default_factory=dict)
    contacts: dict[str, Json] = field(default_factory=dict)
    invitations: dict[str, Json] = field(default_factory=dict)
    sign_in_log: list[Json] = field(default_factory=list)
    """auditLogs/signIns entries, oldest first."""
    outbox: list[Json] = field(default_factory=list)
    events: dict[str, dict[str, Json]] = field(default_factory=dict)
    """Each user's calendar events by event id (routes_calendar)."""
    mailbox_permissions: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    """Exchange recipient rights (``mailbox_rights``): mailbox user id -> trustee user id ->
    ``SendAs`` / ``SendOnBehalf``."""
    mail_sent: dict[str, list[str]] = field(default_factory=dict)
    """When each mailbox sent (ISO times, the throttling window's), by mailbox user id."""
    mail_rate_limit: int = 10000
    """Graph requests one application may make to one mailbox per ``mail_rate_window``."""
    mail_rate_window: float = 600.0
    usage_activity: dict[str, dict[str, str]] = field(default_factory=dict)
    """Microsoft 365 usage (``routes_reports``): user id -> product (``Exchange``, ``OneDrive``,
    ``SharePoint``, ``Skype For Business``, ``Yammer``, ``Teams``) -> last activity date."""
    report_downloads: dict[str, str] = field(default_factory=dict)
    """Preauthenticated report download tokens -> the CSV they serve."""
    devices: dict[str, Json] = field(default_factory=dict)
    """Entra devices by object id (``seed_devices``)."""
    managed_devices: dict[str, Json] = field(default_factory=dict)
    """Intune managed devices by id."""
    device_local_credentials: dict[str, Json] = field(default_factory=dict)
    """Windows LAPS backups by the device's ``deviceId``."""
    """Messages sent with users/{id}/sendMail (read on the admin path)."""

    def now(self) -> datetime.datetime:
        return self.clock()

    def bump(self, object_id: str) -> int:
        """Record that ``object_id`` changed; return the new sequence number."""
        self.seq += 1
        self.changed_at[object_id] = self.seq
        return self.seq

    def collection(self, kind: str) -> dict[str, Json]:
        if kind == "users":
            return self.users
        if kind == "groups":
            return self.groups
        tables = {
            "applications": self.application_objects,
            "servicePrincipals": self.service_principals,
            "directoryRoles": self.directory_roles,
            "administrativeUnits": self.administrative_units,
            "contacts": self.contacts,
            "oauth2PermissionGrants": self.oauth2_grants,
        }
        return tables[kind]

    def remove_object(self, kind: str, object_id: str) -> Json:
        """Delete an object of ``kind`` for good, remembered for delta's ``@removed``."""
        record = self.collection(kind).pop(object_id)
        seq = self.bump(object_id)
        self.removals.append(Removal(seq=seq, kind=kind, object_id=object_id, reason="deleted"))
        return record

    def kind_of(self, object_id: str) -> str | None:
        for kind in KINDS:
            if object_id in self.collection(kind):
                return kind
        if object_id in self.service_principals:
            return "servicePrincipals"
        return None

    def object_type(self, object_id: str) -> str | None:
        """The ``#microsoft.graph.*`` type of a live directory object."""
        kind = self.kind_of(object_id)
        return {
            "users": "#microsoft.graph.user",
            "groups": "#microsoft.graph.group",
            "servicePrincipals": "#microsoft.graph.servicePrincipal",
        }.get(kind or "")

    def lookup(self, object_id: str) -> Json | None:
        for table in (self.users, self.groups, self.service_principals):
            if object_id in table:
                return table[object_id]
        return None

    # ------------------------------------------------------------------ links
    def add_link(self, table: dict[str, list[str]], group_id: str, member_id: str) -> bool:
        links = table.setdefault(group_id, [])
        if member_id in links:
            return False
        links.append(member_id)
        if table is self.members or table is self.unit_members:
            self.record_member_change(group_id, member_id, added=True)
        if table is self.members:
            self._refresh_licenses(member_id)
        return True

    def remove_link(self, table: dict[str, list[str]], group_id: str, member_id: str) -> bool:
        links = table.get(group_id, [])
        if member_id not in links:
            return False
        links.remove(member_id)
        if table is self.members or table is self.unit_members:
            self.record_member_change(group_id, member_id, added=False)
        if table is self.members:
            self._refresh_licenses(member_id)
        return True

    def _refresh_licenses(self, member_id: str) -> None:
        """A member joining or leaving a group gains or loses the group's licenses."""
        from dirguard_sandbox.group_licensing import refresh_user  # imports this module

        refresh_user(self, member_id)

    def record_member_change(self, group_id: str, member_id: str, *, added: bool) -> None:
        seq = self.bump(group_id)
        member_type = self.object_type(member_id) or "#microsoft.graph.directoryObject"
        self.member_changes.append(
            MemberChange(
                seq=seq,
                group_id=group_id,
                member_id=member_id,
                member_type=member_type,
                added=added,
            )
        )

    def groups_of(self, object_id: str) -> list[str]:
        return [gid for gid, links in self.members.items() if object_id in links]

    # ------------------------------------------------------------- deletions
    def soft_delete(self, kind: str, object_id: str) -> Json:
        """Move a user, group, application, service principal or administrative unit to
        directory/deletedItems. Its links leave the live directory (delta reports them removed)
        and are kept with it: "Recover from deletions"
        (https://learn.microsoft.com/entra/architecture/recover-from-deletions) says a
        soft-deleted user or Microsoft 365 group keeps its group memberships (and an
        administrative unit all its properties), so ``restore`` brings them back."""
        record = self.collection(kind).pop(object_id)
        links: Json = {"memberOf": [], "members": [], "owners": [], "administrativeUnits": []}
        for group_id in self.groups_of(object_id):
            self.remove_link(self.members, group_id, object_id)
            links["memberOf"].append(group_id)
        for group_id, owner_ids in list(self.owners.items()):
            if object_id in owner_ids:
                self.remove_link(self.owners, group_id, object_id)
        for unit_id, unit_member_ids in list(self.unit_members.items()):
            if object_id in unit_member_ids:
                self.remove_link(self.unit_members, unit_id, object_id)
                links["administrativeUnits"].append(unit_id)
        if kind == "groups":
            links["members"] = list(self.members.pop(object_id, []))
            links["owners"] = list(self.owners.pop(object_id, []))
        if kind == "administrativeUnits":
            links["members"] = list(self.unit_members.pop(object_id, []))
        record["deletedDateTime"] = graph_time(self.now())
        self.deleted[object_id] = {"kind": kind, "record": record}
        self.deleted_links[object_id] = links
        seq = self.bump(object_id)
        self.removals.append(Removal(seq=seq, kind=kind, object_id=object_id, reason="changed"))
        return record

    def restore(self, object_id: str) -> tuple[str, Json]:
        entry = self.deleted.pop(object_id)
        kind: str = entry["kind"]
        record: Json = entry["record"]
        record["deletedDateTime"] = None
        self.collection(kind)[object_id] = record
        links = self.deleted_links.pop(object_id, {})
        if kind == "groups":
            self.members[object_id] = []
            self.owners[object_id] = list(links.get("owners", []))
            for member_id in links.get("members", []):
                if self.lookup(member_id) is not None:
                    self.add_link(self.members, object_id, member_id)
        if kind == "administrativeUnits":
            self.unit_members[object_id] = []
            for member_id in links.get("members", []):
                if self.lookup(member_id) is not None:
                    self.add_link(self.unit_members, object_id, member_id)
        for group_id in links.get("memberOf", []):
            if group_id in self.groups:
                self.add_link(self.members, group_id, object_id)
        for unit_id in links.get("administrativeUnits", []):
            if unit_id in self.administrative_units:
                self.add_link(self.unit_members, unit_id, object_id)
        self.bump(object_id)
        return kind, record

    def purge(self, object_id: str) -> Json:
        entry = self.deleted.pop(object_id)
        self.deleted_links.pop(object_id, None)
        self.passwords.pop(object_id, None)
        seq = self.bump(object_id)
        self.removals.append(
            Removal(seq=seq, kind=entry["kind"], object_id=object_id, reason="deleted")
        )
        record: Json = entry["record"]
        return record

    def expire_deleted(self) -> None:
        """Permanently delete items soft-deleted more than 30 days ago."""
        limit = self.now() - DELETED_RETENTION
        for object_id, entry in list(self.deleted.items()):
            deleted_at = datetime.datetime.fromisoformat(entry["record"]["deletedDateTime"])
            if deleted_at < limit:
                self.purge(object_id)
