"""Create or update the API-access application of an Entra tenant (``dirguard connect entra``).

Acting as the administrator signed in through the setup application, it makes the tenant hold:
the API-access application with exactly the manifest's permissions for the chosen services and
mode in ``requiredResourceAccess``; its service principal; admin consent (an appRoleAssignment per
application permission, one AllPrincipals oauth2PermissionGrant per resource for the delegated
ones); a locally generated certificate in ``keyCredentials`` (its private key in the encrypted
secret store); the directory roles of the mode. Every step reads first and writes only what is
missing, so a second run changes nothing; what is granted beyond the manifest is removed only
with ``remove_extra``. Azure RBAC roles are checked, and in full mode assigned, in each
subscription given (``entra_setup_roles``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dirguard.config.secret_store import SecretStore
from dirguard.providers.entra.azure_rbac import ArmRbac
from dirguard.providers.entra.graph_client import GraphClient, GraphError
from dirguard.providers.entra.setup.cert import (
    RENEW_BEFORE,
    generate_certificate,
    load_certificate,
    new_key_id,
    secret_name,
)
from dirguard.providers.entra.setup.plan import ROLE, SCOPE, SetupTarget
from dirguard.providers.entra.setup.report import SetupError, SetupReport
from dirguard.providers.entra.setup.roles import assign_directory_roles, assign_rbac_roles

__all__ = ["EntraSetup", "SetupError", "SetupReport", "read_resources"]

API_APP_TAG = "dirguard:api-access"
"""Tag that marks dirguard's API-access application (found again by it on the next run)."""
API_APP_NAME = "dirguard API Access"


@dataclass(frozen=True, kw_only=True)
class Resource:
    """A resource application's service principal and its permissions by value."""

    app_id: str
    sp_id: str
    name: str
    roles: dict[str, str]
    """App role value -> id."""
    scopes: dict[str, str]
    """Delegated permission value -> id."""

    def ids(self, kind: str) -> dict[str, str]:
        return self.roles if kind == ROLE else self.scopes

    def value_of(self, kind: str, permission_id: str) -> str:
        for value, known in self.ids(kind).items():
            if known == permission_id:
                return value
        return permission_id


def _resource(graph: GraphClient, app_id: str) -> Resource:
    try:
        sp = graph.get(f"/servicePrincipals(appId='{app_id}')")
    except GraphError as exc:
        if exc.status == 404:
            raise SetupError(
                f"the tenant has no service principal for the resource application {app_id};"
                " it is needed to grant the manifest's permissions on it"
            ) from None
        raise
    return Resource(
        app_id=app_id,
        sp_id=str(sp["id"]),
        name=str(sp.get("displayName") or app_id),
        roles={r["value"]: r["id"] for r in sp.get("appRoles") or [] if r.get("value")},
        scopes={s["value"]: s["id"] for s in sp.get("oauth2PermissionScopes") or []},
    )


def read_resources(graph: GraphClient, target: SetupTarget) -> dict[str, Resource]:
    """The target's resource service principals; ``SetupError`` naming anything not offered."""
    resources = {app_id: _resource(graph, app_id) for app_id in target.resources()}
    unknown = [
        f"{w.value} ({w.type} on {resources[w.resource_app_id].name})"
        for w in target.permissions
        if w.value not in resources[w.resource_app_id].ids(w.type)
    ]
    if unknown:
        raise SetupError(f"the tenant's resources do not offer: {', '.join(unknown)}")
    return resources


class EntraSetup:
    """One run of the setup against one tenant."""

    def __init__(
        self,
        graph: GraphClient,
        *,
        tenant_id: str,
        target: SetupTarget,
        store: SecretStore,
        client_id: str | None = None,
        remove_extra: bool = False,
        rbac: ArmRbac | None = None,
        subscriptions: Sequence[str] = (),
    ) -> None:
        self.graph = graph
        self.target = target
        self.store = store
        self.client_id = client_id
        self.remove_extra = remove_extra
        self.rbac = rbac
        self.subscriptions = tuple(subscriptions)
        self.report = SetupReport(tenant_id=tenant_id)
        self.resources: dict[str, Resource] = {}

    def run(self) -> SetupReport:
        self.resources = read_resources(self.graph, self.target)
        app = self._application()
        self._required_access(app)
        sp_id = self._service_principal(app)
        self._app_role_assignments(sp_id)
        self._delegated_grants(sp_id)
        self._certificate(app)
        assign_directory_roles(
            self.graph, self.target, self.report, sp_id, remove_extra=self.remove_extra
        )
        if self.rbac is not None:
            assign_rbac_roles(
                self.rbac,
                self.subscriptions,
                self.target,
                self.report,
                sp_id,
                remove_extra=self.remove_extra,
            )
        return self.report

    # ---------------------------------------------------------------- application
    def _application(self) -> dict[str, Any]:
        if self.client_id:
            try:
                app = self.graph.get(f"/applications(appId='{self.client_id}')")
            except GraphError as exc:
                if exc.status != 404:
                    raise
                raise SetupError(
                    f"no application with client id {self.client_id} in the tenant"
                ) from None
        else:
            found = [
                a for a in self.graph.pages("/applications") if API_APP_TAG in a.get("tags", [])
            ]
            if len(found) > 1:
                ids = ", ".join(str(a["appId"]) for a in found)
                raise SetupError(
                    f"several applications are tagged {API_APP_TAG} ({ids}); name one with"
                    " --client-id"
                )
            app = found[0] if found else self._create_application()
        self.report.app_id = str(app["appId"])
        self.report.application_id = str(app["id"])
        if not self.report.actions:
            self.report.did("application", "kept", f"{app.get('displayName')} ({app['appId']})")
        return app

    def _create_application(self) -> dict[str, Any]:
        app = self.graph.request(
            "POST",
            "/applications",
            json={
                "displayName": API_APP_NAME,
                "signInAudience": "AzureADMyOrg",
                "tags": [API_APP_TAG],
                "requiredResourceAccess": [],
            },
        ).json()
        self.report.did("application", "created", f"{API_APP_NAME} ({app['appId']})")
        return dict(app)

    def _required_access(self, app: dict[str, Any]) -> None:
        have = {
            (entry["resourceAppId"], access["type"], access["id"])
            for entry in app.get("requiredResourceAccess") or []
            for access in entry.get("resourceAccess") or []
        }
        want = {
            (w.resource_app_id, w.type, self.resources[w.resource_app_id].ids(w.type)[w.value])
            for w in self.target.permissions
        }
        extra = have - want
        new = want | (set() if self.remove_extra else extra)
        if new == have:
            self.report.did("permissions", "kept", f"{len(want)} requested permissions")
            if extra:
                self.report.did(
                    "permissions", "kept", f"{self._names(extra)} (beyond the manifest)"
                )
            return
        body: dict[str, list[dict[str, str]]] = {}
        for resource, kind, permission_id in sorted(new):
            body.setdefault(resource, []).append({"id": permission_id, "type": kind})
        self.graph.request(
            "PATCH",
            f"/applications/{app['id']}",
            json={
                "requiredResourceAccess": [
                    {"resourceAppId": r, "resourceAccess": access} for r, access in body.items()
                ]
            },
        )
        if want - have:
            self.report.did("permissions", "added", self._names(want - have))
        if have - new:
            self.report.did("permissions", "removed", self._names(have - new))

    def _names(self, entries: Iterable[tuple[str, str, str]]) -> str:
        names = []
        for resource, kind, permission_id in sorted(entries):
            known = self.resources.get(resource)
            value = known.value_of(kind, permission_id) if known else permission_id
            label = "application" if kind == ROLE else "delegated"
            names.append(f"{value} ({label})")
        return ", ".join(names)

    def _service_principal(self, app: dict[str, Any]) -> str:
        try:
            sp = self.graph.get(f"/servicePrincipals(appId='{app['appId']}')")
            self.report.did("service principal", "kept", str(sp["id"]))
        except GraphError as exc:
            if exc.status != 404:
                raise
            answer = self.graph.request("POST", "/servicePrincipals", json={"appId": app["appId"]})
            sp = answer.json()
            self.report.did("service principal", "created", str(sp["id"]))
        self.report.service_principal_id = str(sp["id"])
        return str(sp["id"])

    # ------------------------------------------------------------------- consent
    def _app_role_assignments(self, sp_id: str) -> None:
        assigned = {
            (a["resourceId"], a["appRoleId"]): a["id"]
            for a in self.graph.pages(f"/servicePrincipals/{sp_id}/appRoleAssignments")
        }
        wanted: set[tuple[str, str]] = set()
        added: list[str] = []
        for w in self.target.permissions:
            if w.type != ROLE:
                continue
            resource = self.resources[w.resource_app_id]
            key = (resource.sp_id, resource.roles[w.value])
            wanted.add(key)
            if key in assigned:
                continue
            self.graph.request(
                "POST",
                f"/servicePrincipals/{sp_id}/appRoleAssignments",
                json={"principalId": sp_id, "resourceId": key[0], "appRoleId": key[1]},
            )
            added.append(w.value)
        if added:
            self.report.did("admin consent", "added", ", ".join(added))
        else:
            self.report.did("admin consent", "kept", f"{len(wanted)} application permissions")
        by_sp = {r.sp_id: r for r in self.resources.values()}
        extra = [(k, v) for k, v in assigned.items() if k not in wanted and k[0] in by_sp]
        if extra and self.remove_extra:
            for _key, assignment_id in extra:
                self.graph.request(
                    "DELETE", f"/servicePrincipals/{sp_id}/appRoleAssignments/{assignment_id}"
                )
            self.report.did("admin consent", "removed", self._role_names(extra, by_sp))
        elif extra:
            self.report.did("admin consent", "kept", f"{self._role_names(extra, by_sp)} (extra)")

    @staticmethod
    def _role_names(extra: list[tuple[tuple[str, str], str]], by_sp: dict[str, Resource]) -> str:
        return ", ".join(by_sp[r].value_of(ROLE, role) for (r, role), _ in extra)

    def _delegated_grants(self, sp_id: str) -> None:
        grants = {
            g["resourceId"]: g
            for g in self.graph.pages(f"/servicePrincipals/{sp_id}/oauth2PermissionGrants")
            if g.get("consentType") == "AllPrincipals"
        }
        for resource in self.resources.values():
            wanted = list(self.target.of(resource.app_id, SCOPE))
            grant = grants.get(resource.sp_id)
            if not wanted and grant is None:
                continue
            have = (grant or {}).get("scope", "").split()
            missing = [s for s in wanted if s not in have]
            extra = [s for s in have if s not in wanted]
            scope = wanted if self.remove_extra else [*have, *missing]
            where = f"on {resource.name}"
            if grant is None:
                self.graph.request(
                    "POST",
                    "/oauth2PermissionGrants",
                    json={
                        "clientId": sp_id,
                        "consentType": "AllPrincipals",
                        "resourceId": resource.sp_id,
                        "scope": " ".join(scope),
                    },
                )
            elif scope != have:
                self.graph.request(
                    "PATCH",
                    f"/oauth2PermissionGrants/{grant['id']}",
                    json={"scope": " ".join(scope)},
                )
            if missing:
                self.report.did("delegated consent", "added", f"{', '.join(missing)} {where}")
            if extra and self.remove_extra:
                self.report.did("delegated consent", "removed", f"{', '.join(extra)} {where}")
            if not missing and not (extra and self.remove_extra):
                self.report.did("delegated consent", "kept", f"{len(have)} {where}")

    # --------------------------------------------------------------- certificate
    def _certificate(self, app: dict[str, Any]) -> None:
        name = secret_name(self.report.tenant_id, str(app["appId"]))
        self.report.certificate_secret = name
        current = self.graph.get(f"/applications/{app['id']}")
        keys = current.get("keyCredentials") or []
        stored = load_certificate(self.store, name)
        now = datetime.now(UTC)
        usable = (
            stored is not None
            and stored.not_after - now > RENEW_BEFORE
            and any(k.get("customKeyIdentifier") == stored.thumbprint for k in keys)
        )
        mine = stored.thumbprint if stored is not None and usable else None
        # Other certificates dirguard uploaded (another machine's, or ones this one replaced)
        # go only with remove_extra; certificates dirguard did not upload are never touched.
        stale = [
            k
            for k in keys
            if self.remove_extra
            and str(k.get("displayName") or "").startswith(API_APP_NAME)
            and k.get("customKeyIdentifier") != mine
        ]
        kept = [
            {"keyId": k["keyId"], "type": k["type"], "usage": k["usage"]}
            for k in keys
            if k not in stale
        ]
        if stored is not None and usable:
            self.report.did("certificate", "kept", f"valid until {stored.not_after:%Y-%m-%d}")
            if stale:
                self.graph.request(
                    "PATCH", f"/applications/{app['id']}", json={"keyCredentials": kept}
                )
        else:
            certificate = generate_certificate(f"{API_APP_NAME} {app['appId']}", now)
            self.store.set(name, certificate.pem)
            upload = certificate.key_credential(new_key_id(), f"{API_APP_NAME} {now:%Y-%m-%d}")
            self.graph.request(
                "PATCH", f"/applications/{app['id']}", json={"keyCredentials": [*kept, upload]}
            )
            self.report.did(
                "certificate",
                "added",
                f"valid until {certificate.not_after:%Y-%m-%d}; private key in secret {name!r}",
            )
        for key in stale:
            self.report.did("certificate", "removed", str(key.get("displayName") or key["keyId"]))
