"""The sandbox side of a docs-example replay: real ids for the page's placeholders, and objects
made for the purpose (through the sandbox's own Graph API) where the example deletes or links one.

``prepare(template, method, page_values)`` answers the path values to use and, where the page's
body names objects of its own tenant, a function that rewrites the body with the sandbox's.
"""

from __future__ import annotations

import datetime
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from dirguard_sandbox.directory_state import DirectoryState
from dirguard_sandbox.license_catalog import CATALOG
from dirguard_sandbox.permissions_table import GRAPH_APP_ID, PERMISSIONS_BY_VALUE
from dirguard_sandbox.role_catalog import GLOBAL_ADMINISTRATOR, ROLES_BY_TEMPLATE
from tests.sandbox.docs_replay_directory import directory_value
from tests.sandbox.docs_replay_links import add_owner, make_links
from tests.sandbox.identity_helpers import AppCertificate, make_certificate

Body = Any
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PROOF_AUDIENCE = "00000002-0000-0000-c000-000000000000"
_DIRECTORY_OBJECT_URL = re.compile(r"https://graph\.microsoft\.com/v1\.0/(\w+)/[^\"/]+$")


@dataclass(frozen=True, kw_only=True)
class Prepared:
    path_values: dict[str, str]
    fix_body: Callable[[Body], Body] | None = None


class ReplayTenant:
    def __init__(self, client: httpx.Client, state: DirectoryState) -> None:
        self.client = client
        self.state = state
        self._counter = itertools.count(1)
        self._certificates: dict[str, AppCertificate] = {}
        self._hint = ""
        domains = state.domains.values()
        self.initial_domain = next(d["id"] for d in domains if d["isInitial"])
        self.default_domain = next(d["id"] for d in domains if d["isDefault"])

    # ----------------------------------------------------------------- helpers
    def localize(self, text: str) -> str:
        """contoso's domains as the sandbox's."""
        text = re.sub(r"contoso\.onmicrosoft\.com", self.initial_domain, text, flags=re.I)
        return re.sub(r"contoso\.com", self.default_domain, text, flags=re.I)

    def _ok(self, answer: httpx.Response) -> Any:
        assert answer.is_success, f"{answer.request.method} {answer.request.url}: {answer.text}"
        return answer.json() if answer.content else None

    def _name(self, stem: str) -> str:
        return f"{stem}{next(self._counter)}"

    def directory_url(self, object_id: str) -> str:
        return f"{self.client.base_url}/directoryObjects/{object_id}".replace(
            "//directory", "/directory"
        )

    def user(self, index: int = 1) -> str:
        return list(self.state.users)[index]

    def new_user(self) -> str:
        nickname = self._name("replay.user")
        body = {
            "accountEnabled": True,
            "displayName": nickname,
            "mailNickname": nickname,
            "userPrincipalName": f"{nickname}@{self.default_domain}",
            "passwordProfile": {"password": "Replay-Passw0rd!"},
        }
        return str(self._ok(self.client.post("/users", json=body))["id"])

    def new_group(self, *, unified: bool = False, members: int = 0) -> str:
        nickname = self._name("replaygroup")
        body = {
            "displayName": nickname,
            "mailNickname": nickname,
            "mailEnabled": unified,
            "securityEnabled": not unified,
            "groupTypes": ["Unified"] if unified else [],
        }
        group_id = str(self._ok(self.client.post("/groups", json=body))["id"])
        for index in range(members):
            self._ok(
                self.client.post(
                    f"/groups/{group_id}/members/$ref",
                    json={"@odata.id": self.directory_url(self.user(index + 1))},
                )
            )
        return group_id

    def deleted_group(self) -> str:
        group_id = self.new_group(unified=True)
        self._ok(self.client.delete(f"/groups/{group_id}"))
        return group_id

    def unified_group(self) -> str:
        """A seeded Microsoft 365 group with members and an owner."""
        return next(
            group_id
            for group_id, group in self.state.groups.items()
            if "Unified" in group["groupTypes"] and self.state.members.get(group_id)
        )

    def consented_sp(self) -> str:
        """A seeded app's service principal holding app roles and a delegated grant."""
        granted = {grant["clientId"] for grant in self.state.oauth2_grants.values()}
        assigned = {a["principalId"] for a in self.state.app_role_assignments.values()}
        return next(sp for sp in self.state.service_principals if sp in granted & assigned)

    def named_location(self, *, country: bool = False) -> str:
        body: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "displayName": self._name("Replay office "),
            "isTrusted": False,
            "ipRanges": [{"cidrAddress": "203.0.113.0/24"}],
        }
        if country:
            body = {
                "@odata.type": "#microsoft.graph.countryNamedLocation",
                "displayName": self._name("Replay countries "),
                "countriesAndRegions": ["NZ"],
                "includeUnknownCountriesAndRegions": False,
            }
        path = "/identity/conditionalAccess/namedLocations"
        return str(self._ok(self.client.post(path, json=body))["id"])

    def ca_policy(self) -> str:
        self._ok(
            self.client.patch(
                "/policies/identitySecurityDefaultsEnforcementPolicy", json={"isEnabled": False}
            )
        )
        body = {
            "displayName": self._name("Replay policy "),
            "state": "disabled",
            "conditions": {
                "applications": {"includeApplications": ["All"]},
                "users": {"includeUsers": ["All"]},
            },
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
        }
        return str(
            self._ok(self.client.post("/identity/conditionalAccess/policies", json=body))["id"]
        )

    def application(self) -> dict[str, Any]:
        """A new application holding a certificate (for addKey/removeKey proofs)."""
        certificate = make_certificate()
        body = {
            "displayName": self._name("Replay app "),
            "keyCredentials": [
                {"type": "AsymmetricX509Cert", "usage": "Verify", "key": certificate.der_base64}
            ],
        }
        app: dict[str, Any] = self._ok(self.client.post("/applications", json=body))
        self._certificates[app["id"]] = certificate
        return app

    def service_principal(self) -> str:
        app = self.application()
        answer = self.client.post("/servicePrincipals", json={"appId": app["appId"]})
        return str(self._ok(answer)["id"])

    def graph_sp(self) -> str:
        return next(
            sp_id
            for sp_id, sp in self.state.service_principals.items()
            if sp["appId"] == GRAPH_APP_ID
        )

    def proof(self, application_id: str) -> str:
        certificate = self._certificates[application_id]
        now = datetime.datetime.now(datetime.UTC)
        claims = {
            "aud": _PROOF_AUDIENCE,
            "iss": application_id,
            "nbf": now - datetime.timedelta(minutes=1),
            "exp": now + datetime.timedelta(minutes=10),
        }
        return jwt.encode(
            claims,
            certificate.key,
            algorithm="RS256",
            headers={"x5t": certificate.sha1_thumbprint()},
        )

    def grant(self) -> str:
        body = {
            "clientId": self.service_principal(),
            "consentType": "AllPrincipals",
            "principalId": None,
            "resourceId": self.graph_sp(),
            "scope": "User.Read",
        }
        return str(self._ok(self.client.post("/oauth2PermissionGrants", json=body))["id"])

    def role(self, template_id: str | None = None) -> dict[str, Any]:
        """An activated directory role (User Administrator unless named)."""
        template_id = template_id or "fe930be7-5e62-47db-91af-98c3a49a38b1"
        for role in self.state.directory_roles.values():
            if role["roleTemplateId"] == template_id:
                return role
        answer = self.client.post("/directoryRoles", json={"roleTemplateId": template_id})
        result: dict[str, Any] = self._ok(answer)
        return result

    # ----------------------------------------------------------------- per template
    def prepare(self, template: str, method: str, page: dict[str, str], hint: str) -> Prepared:
        """Sandbox values for the template's parameters, and a body fixer where one is needed;
        ``hint`` is the page's text (which kind of named location it shows, say)."""
        values: dict[str, str] = {}
        fix: Callable[[Body], Body] | None = None
        self._hint = hint
        for name, given in page.items():
            values[name] = self._value(name, template, method, given, values)
        make_links(self.client, self.state, template, method, values)
        specific = _BODY_FIXERS.get((method, template))
        if specific is not None:
            fix = specific(self, values)
        elif method in {"POST", "PATCH", "PUT"}:
            fix = self._link_fixer(template, values)
        return Prepared(path_values=values, fix_body=fix)

    def _value(
        self,
        name: str,
        template: str,
        method: str,
        given: str,
        earlier: dict[str, str],
    ) -> str:
        state = self.state
        deleting = method == "DELETE"
        if name == "user-id":
            if deleting and template == "/users/{user-id}":
                return self.new_user()
            return self.user(2)
        if name == "group-id":
            if deleting and template == "/groups/{group-id}":
                return self.new_group()
            if method != "GET" and ("/members" in template or "/owners" in template):
                return self.new_group(members=2)
            return self.unified_group()
        if name == "directoryObject-id":
            if template.startswith("/directory/deletedItems"):
                return self.deleted_group()
            for collection in ("applications", "servicePrincipals"):
                if template.startswith(f"/{collection}/") and "/owners/" in template:
                    owned = earlier[
                        "application-id" if collection == "applications" else "servicePrincipal-id"
                    ]
                    return add_owner(self.client, state, collection, owned)
            if template.startswith("/groups/") and "/members/" in template:
                return state.members[earlier["group-id"]][0]
            if template.startswith("/groups/") and "/owners/" in template:
                owner = self.user(3)
                self._ok(
                    self.client.post(
                        f"/groups/{earlier['group-id']}/owners/$ref",
                        json={"@odata.id": self.directory_url(owner)},
                    )
                )
                return owner
            if template.startswith("/directoryRoles/"):
                user_id = self.new_user()
                self._ok(
                    self.client.post(
                        f"/directoryRoles/{earlier['directoryRole-id']}/members/$ref",
                        json={"@odata.id": self.directory_url(user_id)},
                    )
                )
                return user_id
        if name == "organization-id":
            return state.tenant_id
        if name == "domain-id":
            return (
                self.localize(given)
                if self.localize(given) in state.domains
                else self.default_domain
            )
        if name == "conditionalAccessPolicy-id":
            return self.ca_policy()
        if name == "namedLocation-id":
            return self.named_location(country="countrynamedlocation" in self._hint.lower())
        if name == "authenticationMethodConfiguration-id":
            return given
        if name == "application-id":
            return str(self.application()["id"])
        if name == "servicePrincipal-id":
            if template.endswith("/appRoleAssignedTo") or "/appRoleAssignedTo/" in template:
                return self.graph_sp()
            if method == "GET" and template != "/servicePrincipals/{servicePrincipal-id}":
                return self.consented_sp()
            return self.service_principal()
        if name == "appRoleAssignment-id":
            return self._app_role_assignment(template, earlier)
        if name == "oAuth2PermissionGrant-id":
            return self.grant()
        if name == "directoryRole-id":
            held = method == "GET" and template.endswith("/members")
            role = self.role(GLOBAL_ADMINISTRATOR if held else None)
            if given.startswith("roleTemplateId="):
                return f"roleTemplateId={role['roleTemplateId']}"
            return str(role["id"])
        if name == "directoryRoleTemplate-id":
            return given if given in ROLES_BY_TEMPLATE else next(iter(ROLES_BY_TEMPLATE))
        if name == "directoryAudit-id":
            self.client.patch(f"/users/{self.user(1)}", json={"jobTitle": "Audited"})
            return str(state.audits[-1]["id"])
        found = directory_value(self.client, state, name, template, method, earlier)
        if found is not None:
            return found
        raise LookupError(f"no sandbox id for the parameter {{{name}}} of {template}")

    def _app_role_assignment(self, template: str, earlier: dict[str, str]) -> str:
        sp_id = self.service_principal()
        body = {
            "principalId": sp_id,
            "resourceId": self.graph_sp(),
            "appRoleId": PERMISSIONS_BY_VALUE["User.Read.All"].id,
        }
        if "/appRoleAssignedTo/" in template:
            path = f"/servicePrincipals/{earlier['servicePrincipal-id']}/appRoleAssignedTo"
        else:
            path = f"/servicePrincipals/{sp_id}/appRoleAssignments"
            earlier["servicePrincipal-id"] = sp_id
        return str(self._ok(self.client.post(path, json=body))["id"])

    def _link_fixer(self, template: str, values: dict[str, str]) -> Callable[[Body], Body]:
        """Rewrite ``@odata.id`` and ``…@odata.bind`` URLs of the page's tenant to sandbox
        objects the target does not hold yet."""
        fresh = iter(self.new_user() for _ in range(1))
        spare_users = [u for u in list(self.state.users)[5:15]]

        def url_for(kind: str) -> str:
            if template.startswith("/users/") and template.endswith("/manager/$ref"):
                return f"{self.client.base_url}/users/{self.user(4)}"
            object_id = next(fresh, None) or spare_users.pop()
            return f"{self.client.base_url}/{kind}/{object_id}"

        def fix(body: Body) -> Body:
            if not isinstance(body, dict):
                return body
            for name, value in list(body.items()):
                if name == "@odata.id" and isinstance(value, str):
                    found = _DIRECTORY_OBJECT_URL.match(value)
                    body[name] = url_for(found.group(1) if found else "directoryObjects")
                elif name.endswith("@odata.bind") and isinstance(value, list):
                    body[name] = [url_for("directoryObjects") for _ in value]
            return body

        return fix


def _ca_policy_body(tenant: ReplayTenant, values: dict[str, str]) -> Callable[[Body], Body]:
    tenant.ca_policy()  # security defaults off, as a tenant using conditional access has them

    def fix(body: Body) -> Body:
        conditions = body.get("conditions", {})
        users = conditions.get("users") or {}
        for key in ("includeGroups", "excludeGroups"):
            if key in users:
                users[key] = [next(iter(tenant.state.groups)) for _ in users[key]]
        locations = conditions.get("locations") or {}
        for key in ("includeLocations", "excludeLocations"):
            if key in locations:
                locations[key] = [
                    tenant.named_location() if _GUID.fullmatch(item) else item
                    for item in locations[key]
                ]
        return body

    return fix


def _assigned_to_body(tenant: ReplayTenant, values: dict[str, str]) -> Callable[[Body], Body]:
    def fix(body: Body) -> Body:
        resource = values["servicePrincipal-id"]
        principal = tenant.service_principal()
        if resource != tenant.graph_sp():
            resource = tenant.graph_sp()
        body.update(
            principalId=principal,
            resourceId=resource,
            appRoleId=PERMISSIONS_BY_VALUE["Group.Read.All"].id,
        )
        return body

    return fix


def _assignments_body(tenant: ReplayTenant, values: dict[str, str]) -> Callable[[Body], Body]:
    def fix(body: Body) -> Body:
        body.update(
            principalId=values["servicePrincipal-id"],
            resourceId=tenant.graph_sp(),
            appRoleId=PERMISSIONS_BY_VALUE["Directory.Read.All"].id,
        )
        return body

    return fix


def _grant_body(tenant: ReplayTenant, values: dict[str, str]) -> Callable[[Body], Body]:
    def fix(body: Body) -> Body:
        body.update(
            clientId=tenant.service_principal(),
            consentType="AllPrincipals",
            principalId=None,
            resourceId=tenant.graph_sp(),
            scope="User.Read.All",
        )
        return body

    return fix


def _grant_update(tenant: ReplayTenant, values: dict[str, str]) -> Callable[[Body], Body]:
    return lambda body: {**body, "scope": "User.Read.All Group.Read.All"}


def _key_body(tenant: ReplayTenant, values: dict[str, str]) -> Callable[[Body], Body]:
    app_id = values["application-id"]

    def fix(body: Body) -> Body:
        body["proof"] = tenant.proof(app_id)
        if isinstance(body.get("keyCredential"), dict):
            body["keyCredential"]["key"] = make_certificate().der_base64
        if "keyId" in body:
            record = tenant.state.application_objects[app_id]
            body["keyId"] = record["keyCredentials"][0]["keyId"]
        return body

    return fix


def _remove_password_body(tenant: ReplayTenant, values: dict[str, str]) -> Callable[[Body], Body]:
    app_id = values["application-id"]
    added = tenant.client.post(
        f"/applications/{app_id}/addPassword", json={"passwordCredential": {}}
    )
    key_id = tenant._ok(added)["keyId"]
    return lambda body: {**body, "keyId": key_id}


def _directory_role_body(tenant: ReplayTenant, values: dict[str, str]) -> Callable[[Body], Body]:
    def fix(body: Body) -> Body:
        taken = {role["roleTemplateId"] for role in tenant.state.directory_roles.values()}
        body["roleTemplateId"] = next(t for t in ROLES_BY_TEMPLATE if t not in taken)
        return body

    return fix


def _service_principal_body(tenant: ReplayTenant, values: dict[str, str]) -> Callable[[Body], Body]:
    app = tenant.client.post("/applications", json={"displayName": tenant._name("Replay SP ")})
    app_id = tenant._ok(app)["appId"]
    return lambda body: {**body, "appId": app_id}


def _group_license_body(tenant: ReplayTenant, values: dict[str, str]) -> Callable[[Body], Body]:
    """The page's ``skuId-value-N`` placeholders become two of the tenant's SKUs (with a service
    plan of each disabled); a removal first gives the group those licenses."""
    skus = [CATALOG[0], CATALOG[1]]
    by_placeholder = {f"skuId-value-{n}": sku for n, sku in enumerate(skus, start=1)}
    group_id = values["group-id"]

    def fix(body: Body) -> Body:
        if body.get("removeLicenses"):
            given = [{"skuId": sku.sku_id, "disabledPlans": []} for sku in skus]
            added = tenant.client.post(
                f"/groups/{group_id}/assignLicense",
                json={"addLicenses": given, "removeLicenses": []},
            )
            assert added.status_code == 202, added.text
        for entry in body.get("addLicenses") or []:
            sku = by_placeholder[entry["skuId"]]
            entry["skuId"] = sku.sku_id
            entry["disabledPlans"] = [sku.service_plans[0][0]]
        body["removeLicenses"] = [
            by_placeholder[sku_id].sku_id for sku_id in body.get("removeLicenses") or []
        ]
        return body

    return fix


_BODY_FIXERS: dict[
    tuple[str, str], Callable[[ReplayTenant, dict[str, str]], Callable[[Body], Body]]
] = {
    ("POST", "/identity/conditionalAccess/policies"): _ca_policy_body,
    ("PATCH", "/identity/conditionalAccess/policies/{conditionalAccessPolicy-id}"): _ca_policy_body,
    ("POST", "/servicePrincipals/{servicePrincipal-id}/appRoleAssignedTo"): _assigned_to_body,
    ("POST", "/servicePrincipals/{servicePrincipal-id}/appRoleAssignments"): _assignments_body,
    ("POST", "/oauth2PermissionGrants"): _grant_body,
    ("PATCH", "/oauth2PermissionGrants/{oAuth2PermissionGrant-id}"): _grant_update,
    ("POST", "/applications/{application-id}/addKey"): _key_body,
    ("POST", "/applications/{application-id}/removeKey"): _key_body,
    ("POST", "/applications/{application-id}/removePassword"): _remove_password_body,
    ("POST", "/directoryRoles"): _directory_role_body,
    ("POST", "/servicePrincipals"): _service_principal_body,
    ("POST", "/groups/{group-id}/assignLicense"): _group_license_body,
}
