"""Validate an Entra tenant connection: token, granted permissions, MFA posture, key expiry.

The granted set is read from the tenant itself: the app's service principal's appRoleAssignments
on Microsoft Graph, Exchange Online and the Office 365 Management APIs (appRoleId resolved to the
permission value through the resource service principal's appRoles; a resource the tenant has no
service principal for leaves its rows not checked), its directory role assignments, and, when the
connection names Azure subscriptions, its Azure RBAC roles at each (read from Resource Manager; a
role counts as held when every subscription grants it). Delegated permissions (the manifest's
delegated-consent rows) are read from the app's AllPrincipals oauth2PermissionGrants, one per
resource service principal, whose ``scope`` lists the permission values separated by spaces. It is
compared with the manifest rows the connection needs for its services and mode; rows of kinds not
read (legacy delegated rows, Azure RBAC without subscriptions, delegated grants the app may not
read) are reported as not checked.

A read-only connection must not be able to write: an application permission or a directory role
held beyond what the connection's services need in read-only mode that writes
(``Directory.ReadWrite.All``, Global Administrator, a role the manifest holds in full mode only)
is reported as ``excess`` — too much for read-only mode, since an application permission lets
the app write whatever it covers, whatever its directory role. (A just-in-time elevation under
way for a rollback shows there too while it lasts: ``dirguard elevation status``.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Lifecycle, Mode, Permission, Principal, Service
from dirguard.catalog.permission_rows_guardian_reads import (
    directory_role_writes,
    graph_permission_writes,
)
from dirguard.core.consent_check import ConsentReport, GrantedEntry, check_consent
from dirguard.providers.entra.azure_rbac import ArmRbac, held_everywhere
from dirguard.providers.entra.graph_client import GraphClient, GraphError
from dirguard.providers.entra.setup.plan import (
    EXCHANGE_APP_ID,
    GRAPH_APP_ID,
    O365_MANAGEMENT_APP_ID,
    RESOURCE_OF_KIND,
    SCOPE,
)

EXPIRY_WARNING = timedelta(days=30)
APP_ROLE_RESOURCES = {
    GRAPH_APP_ID: Kind.GRAPH_APPLICATION,
    EXCHANGE_APP_ID: Kind.EXCHANGE_APPLICATION,
    O365_MANAGEMENT_APP_ID: Kind.O365_MANAGEMENT_APPLICATION,
}
"""Resource applications whose app roles the manifest names, and the kind of those rows."""
CHECKED_KINDS = frozenset({*APP_ROLE_RESOURCES.values(), Kind.DIRECTORY_ROLE})
DELEGATED_RESOURCES = {
    kind: app_id for kind, (app_id, grant_type) in RESOURCE_OF_KIND.items() if grant_type == SCOPE
}
"""Kind of a delegated manifest row -> its resource application id."""
APP_PRINCIPALS = frozenset({Principal.ADMINISTRATOR_API_APP, Principal.GUARDIAN_APP})


@dataclass(frozen=True, kw_only=True)
class CredentialExpiry:
    kind: str
    """``secret`` or ``certificate``."""
    name: str
    end: datetime
    days_left: int


@dataclass(frozen=True, kw_only=True)
class MfaPosture:
    security_defaults: bool | None
    """None when the policy could not be read (see ``warnings``)."""
    mfa_policies: tuple[str, ...]
    """Enabled conditional access policies that require MFA for all users."""


@dataclass(frozen=True, kw_only=True)
class TenantValidation:
    tenant: str
    mode: Mode
    services: tuple[Service, ...]
    consent: ConsentReport
    not_checked: tuple[Permission, ...]
    mfa: MfaPosture
    expiring: tuple[CredentialExpiry, ...]
    warnings: tuple[str, ...]
    excess: tuple[GrantedEntry, ...] = ()
    """Read-only mode: granted permissions and roles that write, beyond what the services need."""

    @property
    def partial_consent(self) -> bool:
        return not self.consent.complete

    @property
    def too_much(self) -> bool:
        return bool(self.excess)


def _full_only(services: Sequence[Service]) -> set[tuple[str, str]]:
    """(kind, name) of the app rows the manifest holds in full mode and not in read-only mode."""

    def rows(mode: Mode) -> set[tuple[str, str]]:
        return {
            (p.kind.value, p.name.casefold())
            for service in services
            for p in MANIFEST.select(service=service, mode=mode)
            if p.principal in APP_PRINCIPALS
        }

    return rows(Mode.FULL) - rows(Mode.READ_ONLY)


def read_only_excess(
    granted: Sequence[GrantedEntry],
    required: Sequence[Permission],
    services: Sequence[Service],
    mode: Mode,
) -> tuple[GrantedEntry, ...]:
    """What a read-only connection holds that lets it write and that no required row needs:
    a Graph application permission that writes, a directory role that writes, or any row the
    manifest holds in full mode only (User Access Administrator). Delegated grants act only for
    a signed-in user and are not counted. Nothing in full mode."""
    if mode is not Mode.READ_ONLY:
        return ()
    full_only = _full_only(services)
    found: dict[tuple[str | None, str], GrantedEntry] = {}
    for entry in granted:
        if any(entry.satisfies(row) for row in required):
            continue
        writes = (
            (entry.kind == Kind.GRAPH_APPLICATION.value and graph_permission_writes(entry.name))
            or (entry.kind == Kind.DIRECTORY_ROLE.value and directory_role_writes(entry.name))
            or ((entry.kind or "", entry.name.casefold()) in full_only)
        )
        if writes and entry.kind not in {k.value for k in DELEGATED_RESOURCES}:
            found.setdefault((entry.kind, entry.name.casefold()), entry)
    return tuple(found.values())


def required_rows(
    services: Sequence[Service], mode: Mode, *, rbac: bool = False
) -> tuple[tuple[Permission, ...], tuple[Permission, ...]]:
    """(rows checked against the tenant, rows not read); ``rbac``: Azure roles are read."""
    kinds = CHECKED_KINDS | {Kind.AZURE_RBAC_ROLE} if rbac else CHECKED_KINDS
    checked: list[Permission] = []
    unchecked: list[Permission] = []
    for service in services:
        for row in MANIFEST.select(service=service, mode=mode):
            if row.principal not in APP_PRINCIPALS or row.lifecycle is Lifecycle.SETUP_ONLY:
                continue
            if (row.kind in kinds and row.lifecycle is Lifecycle.REQUIRED) or (
                row.kind in DELEGATED_RESOURCES and row.lifecycle is Lifecycle.DELEGATED_CONSENT
            ):
                checked.append(row)
            else:
                unchecked.append(row)
    return tuple(checked), tuple(unchecked)


def _app_roles(graph: GraphClient, absent: set[Kind]) -> dict[str, tuple[Kind, dict[str, str]]]:
    """Resource service principal id -> (row kind, app role id -> value); a resource the tenant
    has no service principal for adds its kind to ``absent`` (Microsoft Graph must exist)."""
    found: dict[str, tuple[Kind, dict[str, str]]] = {}
    for app_id, kind in APP_ROLE_RESOURCES.items():
        try:
            resource = graph.get(f"/servicePrincipals(appId='{app_id}')")
        except GraphError as exc:
            if exc.status != 404 or app_id == GRAPH_APP_ID:
                raise
            absent.add(kind)
            continue
        roles = {role["id"]: role["value"] for role in resource.get("appRoles", [])}
        found[str(resource["id"])] = (kind, roles)
    return found


def read_granted(
    graph: GraphClient, client_id: str, absent: set[Kind] | None = None
) -> tuple[GrantedEntry, ...]:
    """The application permissions (on Microsoft Graph, Exchange Online and the Office 365
    Management APIs) and directory roles the app's service principal holds. Kinds whose resource
    the tenant lacks are added to ``absent``."""
    sp = graph.get(f"/servicePrincipals(appId='{client_id}')")
    resources = _app_roles(graph, set() if absent is None else absent)
    entries: list[GrantedEntry] = []
    for assignment in graph.pages(f"/servicePrincipals/{sp['id']}/appRoleAssignments"):
        kind, values = resources.get(assignment.get("resourceId", ""), (None, {}))
        value = values.get(assignment.get("appRoleId", ""))
        if kind is not None and value:
            entries.append(GrantedEntry(name=value, kind=kind.value, where="appRole"))
    names = {
        d["id"]: d["displayName"] for d in graph.pages("/roleManagement/directory/roleDefinitions")
    }
    for assignment in graph.pages("/roleManagement/directory/roleAssignments"):
        if assignment.get("principalId") != sp["id"]:
            continue
        name = names.get(assignment.get("roleDefinitionId", ""))
        if name:
            entries.append(
                GrantedEntry(name=name, kind=Kind.DIRECTORY_ROLE.value, where="directory role")
            )
    return tuple(entries)


def read_delegated(
    graph: GraphClient, client_id: str, absent: set[Kind], warnings: list[str]
) -> tuple[GrantedEntry, ...] | None:
    """The delegated permissions consented for all users of the app, per resource (the
    AllPrincipals oauth2PermissionGrants of its service principal); ``None`` when the app may not
    read its grants (a warning says so). A resource the tenant has no service principal for adds
    its kinds to ``absent``."""
    sp = graph.get(f"/servicePrincipals(appId='{client_id}')")
    kinds_of: dict[str, list[Kind]] = {}
    for kind, app_id in DELEGATED_RESOURCES.items():
        kinds_of.setdefault(app_id, []).append(kind)
    by_sp: dict[str, list[Kind]] = {}
    for app_id, kinds in kinds_of.items():
        try:
            resource = graph.get(f"/servicePrincipals(appId='{app_id}')")
        except GraphError as exc:
            if exc.status != 404 or app_id == GRAPH_APP_ID:
                raise
            absent.update(kinds)
            continue
        by_sp[str(resource["id"])] = kinds
    try:
        grants = list(graph.pages(f"/servicePrincipals/{sp['id']}/oauth2PermissionGrants"))
    except GraphError as exc:
        if exc.status not in (401, 403):
            raise
        warnings.append(f"delegated permissions not checked: the grants were not read: {exc}")
        return None
    entries: list[GrantedEntry] = []
    for grant in grants:
        kinds = by_sp.get(str(grant.get("resourceId", "")), [])
        if grant.get("consentType") != "AllPrincipals" or not kinds:
            continue
        for value in str(grant.get("scope") or "").split():
            entries.extend(
                GrantedEntry(name=value, kind=kind.value, where="oauth2PermissionGrant")
                for kind in kinds
            )
    return tuple(entries)


def read_rbac(
    graph: GraphClient,
    rbac: ArmRbac,
    subscriptions: Sequence[str],
    client_id: str,
    warnings: list[str],
) -> tuple[GrantedEntry, ...]:
    """The Azure roles the app's service principal holds in every subscription."""
    sp = graph.get(f"/servicePrincipals(appId='{client_id}')")
    held = held_everywhere(rbac, subscriptions, str(sp["id"]), warnings)
    return tuple(
        GrantedEntry(name=role, kind=Kind.AZURE_RBAC_ROLE.value, where="Azure role")
        for role in sorted(held)
    )


def read_mfa(graph: GraphClient, warnings: list[str]) -> MfaPosture:
    defaults: bool | None = None
    try:
        policy = graph.get("/policies/identitySecurityDefaultsEnforcementPolicy")
        defaults = bool(policy.get("isEnabled"))
    except GraphError as exc:
        warnings.append(f"security defaults not read: {exc}")
    policies: list[str] = []
    try:
        for item in graph.pages("/identity/conditionalAccess/policies"):
            controls = (item.get("grantControls") or {}).get("builtInControls") or []
            users = ((item.get("conditions") or {}).get("users") or {}).get("includeUsers") or []
            if item.get("state") == "enabled" and "mfa" in controls and "All" in users:
                policies.append(str(item.get("displayName", item.get("id"))))
    except GraphError as exc:
        warnings.append(f"conditional access policies not read: {exc}")
    return MfaPosture(security_defaults=defaults, mfa_policies=tuple(policies))


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_expiry(
    graph: GraphClient, client_id: str, now: datetime, warnings: list[str]
) -> tuple[CredentialExpiry, ...]:
    """Secrets and certificates of the application ending within ``EXPIRY_WARNING``."""
    try:
        app = graph.get(f"/applications(appId='{client_id}')")
    except GraphError as exc:
        warnings.append(f"application credentials not read: {exc}")
        return ()
    found: list[CredentialExpiry] = []
    for field, kind in (("passwordCredentials", "secret"), ("keyCredentials", "certificate")):
        for credential in app.get(field) or []:
            if not credential.get("endDateTime"):
                continue
            end = _parse_time(credential["endDateTime"])
            if end - now <= EXPIRY_WARNING:
                found.append(
                    CredentialExpiry(
                        kind=kind,
                        name=str(credential.get("displayName") or credential.get("keyId")),
                        end=end,
                        days_left=(end - now).days,
                    )
                )
    return tuple(sorted(found, key=lambda c: c.end))


def validate_tenant(
    graph: GraphClient,
    *,
    tenant: str,
    client_id: str,
    services: Sequence[Service],
    mode: Mode,
    now: datetime | None = None,
    rbac: ArmRbac | None = None,
    subscriptions: Sequence[str] = (),
) -> TenantValidation:
    """Everything ``dirguard connect validate`` reports for one tenant.

    Raises ``GraphAuthError`` when no token can be had and ``GraphError`` when the app's own
    service principal or its grants cannot be read.
    """
    graph.token()
    with_rbac = rbac is not None and bool(subscriptions)
    required, not_checked = required_rows(services, mode, rbac=with_rbac)
    warnings: list[str] = []
    absent: set[Kind] = set()
    granted = read_granted(graph, client_id, absent)
    delegated = read_delegated(graph, client_id, absent, warnings)
    if delegated is None:
        not_checked += tuple(p for p in required if p.kind in DELEGATED_RESOURCES)
        required = tuple(p for p in required if p.kind not in DELEGATED_RESOURCES)
    else:
        granted += delegated
    if absent:
        warnings.append(
            "the tenant has no service principal for the resource of "
            + ", ".join(sorted(k.value for k in absent))
            + " permissions; those are not checked"
        )
        not_checked += tuple(p for p in required if p.kind in absent)
        required = tuple(p for p in required if p.kind not in absent)
    if rbac is not None and with_rbac:
        granted += read_rbac(graph, rbac, subscriptions, client_id, warnings)
    features_of = {p.key: [f.key for f in MANIFEST.features_for(p.key, mode)] for p in required}
    consent = check_consent(required, granted, features_of=features_of, known=MANIFEST.permissions)
    excess = read_only_excess(granted, required, services, mode)
    mfa = read_mfa(graph, warnings)
    expiring = read_expiry(graph, client_id, now or datetime.now(UTC), warnings)
    return TenantValidation(
        tenant=tenant,
        mode=mode,
        services=tuple(services),
        consent=consent,
        not_checked=not_checked,
        mfa=mfa,
        expiring=expiring,
        warnings=tuple(warnings),
        excess=excess,
    )
