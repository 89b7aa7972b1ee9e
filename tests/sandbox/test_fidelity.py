"""The sandbox held against Microsoft's own reference: the Graph v1.0 CSDL schema, the list of real
GET path templates, and examples from the API reference pages (``../shared/reference/graph``)."""

from __future__ import annotations

import datetime
import json
import sqlite3
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from dirguard_sandbox.permissions_recovery import CSDL_ONLY_TEMPLATES
from dirguard_sandbox.permissions_table import ENDPOINTS
from tests.fixtures.graph_sandbox import RunningSandbox

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "graph"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def _reference(name: str) -> Path:
    path = REFERENCE / name
    if not path.exists():
        pytest.skip(f"Microsoft's reference file {path} is absent (../shared/reference/graph)")
    return path


@cache
def _schema() -> dict[str, dict[str, tuple[str, bool]]]:
    """``{type name: {property: (EDM type, nullable)}}`` with base types folded in."""
    root = ET.parse(_reference("v1.0-Prod.csdl")).getroot()  # noqa: S314 - Microsoft's own file
    own: dict[str, dict[str, tuple[str, bool]]] = {}
    bases: dict[str, str] = {}
    enums: set[str] = set()
    aliases = {
        schema.get("Alias", ""): schema.get("Namespace", "")
        for schema in root.iter(f"{EDM}Schema")
        if schema.get("Alias")
    }

    def full(type_name: str) -> str:
        """``graph.user`` (the schema's alias) as ``microsoft.graph.user``, also in Collection()."""
        if type_name.startswith("Collection("):
            return f"Collection({full(type_name[len('Collection(') : -1])})"
        prefix, _, rest = type_name.partition(".")
        return f"{aliases[prefix]}.{rest}" if prefix in aliases else type_name

    for schema in root.iter(f"{EDM}Schema"):
        namespace = schema.get("Namespace", "")
        for enum in schema.findall(f"{EDM}EnumType"):
            enums.add(f"{namespace}.{enum.get('Name')}")
        for kind in ("EntityType", "ComplexType"):
            for element in schema.findall(f"{EDM}{kind}"):
                name = f"{namespace}.{element.get('Name')}"
                own[name] = {
                    prop.get("Name", ""): (
                        full(prop.get("Type", "")),
                        prop.get("Nullable") != "false",
                    )
                    for prop in element.findall(f"{EDM}Property")
                }
                own[name].update(
                    {
                        nav.get("Name", ""): (full(nav.get("Type", "")), True)
                        for nav in element.findall(f"{EDM}NavigationProperty")
                    }
                )
                if element.get("BaseType"):
                    bases[name] = full(element.get("BaseType", ""))
    merged: dict[str, dict[str, tuple[str, bool]]] = {}
    for name in own:
        properties: dict[str, tuple[str, bool]] = {}
        chain = [name]
        while chain[-1] in bases:
            chain.append(bases[chain[-1]])
        for ancestor in reversed(chain):
            properties.update(own.get(ancestor, {}))
        merged[name] = properties
    merged["__enums__"] = {enum: ("", True) for enum in enums}
    return merged


def _problems(value: Any, type_name: str, where: str) -> list[str]:
    """Every property of ``value`` missing from ``type_name`` or of an incompatible JSON type."""
    schema = _schema()
    if type_name not in schema:
        return [f"{where}: type {type_name} is not in the CSDL"]
    declared = value.get("@odata.type")
    if isinstance(declared, str) and declared.removeprefix("#") in schema:
        type_name = declared.removeprefix("#")  # a derived type says which it is
    problems = []
    for name, item in value.items():
        if name.startswith("@") or "@" in name:
            continue
        if name not in schema[type_name]:
            problems.append(f"{where}.{name}: no such property on {type_name}")
            continue
        edm, nullable = schema[type_name][name]
        problems += _check_value(item, edm, nullable, f"{where}.{name}")
    return problems


def _check_value(item: Any, edm: str, nullable: bool, where: str) -> list[str]:
    if item is None:
        return [] if nullable else [f"{where}: null in a non-nullable {edm}"]
    if edm.startswith("Collection("):
        if not isinstance(item, list):
            return [f"{where}: {edm} needs a JSON array"]
        inner = edm[len("Collection(") : -1]
        return [p for element in item for p in _check_value(element, inner, False, where)]
    simple: dict[str, type | tuple[type, ...]] = {
        "Edm.String": str,
        "Edm.Boolean": bool,
        "Edm.Int32": int,
        "Edm.Int64": int,
        "Edm.Guid": str,
        "Edm.DateTimeOffset": str,
        "Edm.Double": (int, float),
        "Edm.Binary": str,
    }
    if edm in simple:
        if not isinstance(item, simple[edm]) or (edm != "Edm.Boolean" and isinstance(item, bool)):
            return [f"{where}: {item!r} is not a {edm}"]
        if edm == "Edm.DateTimeOffset":
            datetime.datetime.fromisoformat(item)
        return []
    if edm in _schema()["__enums__"]:
        return [] if isinstance(item, str) else [f"{where}: enum {edm} needs a string"]
    if not isinstance(item, dict):
        return [f"{where}: {edm} needs a JSON object"]
    return _problems(item, edm, where)


def _answers(sandbox: RunningSandbox) -> list[tuple[str, dict[str, Any]]]:
    state = sandbox.state
    user_props = ",".join(next(iter(state.users.values())))
    group_props = ",".join(next(iter(state.groups.values())))
    with sandbox.client() as client:
        user_id = next(iter(state.users))
        client.patch(f"/users/{user_id}", json={"jobTitle": "Schema check"})
        auth, units = f"/users/{user_id}/authentication", "/directory/administrativeUnits"
        unit_id = next(iter(state.administrative_units))
        answers = [
            ("microsoft.graph.user", client.get("/users", params={"$select": user_props})),
            ("microsoft.graph.user", client.get(f"/users/{user_id}")),
            ("microsoft.graph.group", client.get("/groups", params={"$select": group_props})),
            ("microsoft.graph.organization", client.get("/organization")),
            ("microsoft.graph.domain", client.get("/domains")),
            ("microsoft.graph.directoryAudit", client.get("/auditLogs/directoryAudits")),
            ("microsoft.graph.servicePrincipal", client.get("/servicePrincipals")),
            ("microsoft.graph.authenticationMethod", client.get(f"{auth}/methods")),
            ("microsoft.graph.phoneAuthenticationMethod", client.get(f"{auth}/phoneMethods")),
            (
                "microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
                client.get(f"{auth}/microsoftAuthenticatorMethods"),
            ),
            ("microsoft.graph.subscribedSku", client.get("/subscribedSkus")),
            ("microsoft.graph.licenseDetails", client.get(f"/users/{user_id}/licenseDetails")),
            ("microsoft.graph.administrativeUnit", client.get(units)),
            ("microsoft.graph.administrativeUnit", client.get(f"{units}/delta")),
            ("microsoft.graph.directoryObject", client.get(f"{units}/{unit_id}/members")),
            ("microsoft.graph.orgContact", client.get("/contacts")),
            ("microsoft.graph.signIn", client.get("/auditLogs/signIns")),
            ("microsoft.graph.application", client.get("/applications/delta")),
            ("microsoft.graph.servicePrincipal", client.get("/servicePrincipals/delta")),
            ("microsoft.graph.directoryRole", client.get("/directoryRoles/delta")),
        ]
    result = []
    for type_name, answer in answers:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        for item in body.get("value", [body]):
            result.append((type_name, item))
    return result


def test_every_property_answered_exists_in_the_csdl(graph_sandbox: RunningSandbox) -> None:
    problems = []
    for type_name, item in _answers(graph_sandbox):
        problems += _problems(item, type_name, type_name.rsplit(".", 1)[1])
    assert sorted(set(problems)) == []


def test_recovery_answers_exist_in_the_csdl(graph_sandbox: RunningSandbox) -> None:
    """Deleted policies, named locations and administrative units, contacts and grant delta, and
    PIM's audit entries: every property they answer is one the CSDL declares."""
    state = graph_sandbox.state
    ca = "/identity/conditionalAccess"
    with graph_sandbox.client() as client:
        location = client.post(
            f"{ca}/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "displayName": "Schema office",
                "ipRanges": [{"cidrAddress": "192.0.2.0/24"}],
            },
        ).json()
        policy = client.post(
            f"{ca}/policies",
            json={
                "displayName": "Schema policy",
                "state": "disabled",
                "conditions": {
                    "users": {"includeUsers": ["All"]},
                    "applications": {"includeApplications": ["All"]},
                },
                "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
            },
        ).json()
        client.delete(f"{ca}/policies/{policy['id']}")
        client.delete(f"{ca}/namedLocations/{location['id']}")
        unit = client.post("/directory/administrativeUnits", json={"displayName": "Schema"}).json()
        client.delete(f"/directory/administrativeUnits/{unit['id']}")
        client.post(
            "/roleManagement/directory/roleEligibilityScheduleRequests",
            json={
                "action": "adminAssign",
                "principalId": list(state.users)[5],
                "roleDefinitionId": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
                "directoryScopeId": "/",
                "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P30D"}},
            },
        )
        client_id, resource_id = list(state.service_principals)[:2]
        client.post(
            "/oauth2PermissionGrants",
            json={
                "clientId": client_id,
                "consentType": "AllPrincipals",
                "resourceId": resource_id,
                "scope": "User.Read",
            },
        )
        answers = [
            ("microsoft.graph.conditionalAccessPolicy", client.get(f"{ca}/deletedItems/policies")),
            ("microsoft.graph.namedLocation", client.get(f"{ca}/deletedItems/namedLocations")),
            (
                "microsoft.graph.administrativeUnit",
                client.get("/directory/deletedItems/graph.administrativeUnit"),
            ),
            ("microsoft.graph.orgContact", client.get("/contacts/delta")),
            ("microsoft.graph.oAuth2PermissionGrant", client.get("/oauth2PermissionGrants/delta")),
            ("microsoft.graph.directoryAudit", client.get("/auditLogs/directoryAudits")),
        ]
    problems = []
    for type_name, answer in answers:
        assert answer.status_code == 200, answer.text
        items = answer.json()["value"]
        assert items, type_name
        for item in items:
            problems += _problems(item, type_name, type_name.rsplit(".", 1)[1])
    assert sorted(set(problems)) == []


def test_every_emulated_route_is_a_real_graph_path() -> None:
    database = sqlite3.connect(_reference("msgraph-openapi-v1.db"))
    try:
        real = {
            path
            for (path,) in database.execute(
                "SELECT path FROM endpoints WHERE graphVersion = 'v1.0'"
            )
        }
    finally:
        database.close()
    missing = []
    for endpoint in ENDPOINTS:
        path = endpoint.template
        if endpoint.method != "GET":
            # Writes act on a readable resource: the item, or the collection of a link.
            path = path.removesuffix("/$ref")
            for action in (
                "/restore",
                "/addPassword",
                "/removePassword",
                "/addKey",
                "/removeKey",
                "/assignLicense",
                "/sendMail",
                "/syncDevice",
                "/retire",
                "/wipe",
                "/revokeSignInSessions",
                "/cancel",
                "/forward",
            ):
                path = path.removesuffix(action)
            path = (
                path.removesuffix("/{directoryObject-id}")
                if "/members/" in path or ("/owners/" in path)
                else path
            )
        if endpoint.template in CSDL_ONLY_TEMPLATES or endpoint.template == LAPS_TEMPLATE:
            continue  # checked against the CSDL below
        if path not in real:
            missing.append(f"{endpoint.method} {endpoint.template}")
    assert missing == []


def _navigation(root: ET.Element, type_name: str, name: str) -> str | None:
    """The target type (no ``Collection()``) of ``type_name``'s navigation property ``name``."""
    for entity in root.iter(f"{EDM}EntityType"):
        if entity.get("Name") == type_name:
            for prop in entity.iter(f"{EDM}NavigationProperty"):
                if prop.get("Name") == name:
                    target = str(prop.get("Type"))
                    return target.removeprefix("Collection(").removesuffix(")").split(".")[-1]
    return None


def test_conditional_access_deleted_items_follow_the_csdl() -> None:
    """The older OpenAPI path list lacks conditional access ``deletedItems``; the v1.0 CSDL has
    it: ``conditionalAccessRoot.deletedItems`` to ``caPoliciesDeletableRoot``, whose
    ``policies`` and ``namedLocations`` hold the deleted items, and ``restore`` bound to each."""
    root = ET.parse(_reference("v1.0-Prod.csdl")).getroot()  # noqa: S314 - Microsoft's own file
    restorable = {
        str(action.find(f"{EDM}Parameter").get("Type")).split(".")[-1]  # type: ignore[union-attr]
        for action in root.iter(f"{EDM}Action")
        if action.get("Name") == "restore" and action.find(f"{EDM}Parameter") is not None
    }
    assert CSDL_ONLY_TEMPLATES
    for template in CSDL_ONLY_TEMPLATES:
        segments = template.removeprefix("/identity/conditionalAccess/").split("/")
        current = _navigation(root, "conditionalAccessRoot", segments[0])
        assert current == "caPoliciesDeletableRoot", template
        item_type = _navigation(root, current, segments[1])
        assert item_type in {"conditionalAccessPolicy", "namedLocation"}, template
        rest = segments[2:]
        if rest:
            assert rest[0] == f"{{{item_type}-id}}", template
        if rest[1:]:
            assert rest[1:] == ["restore"] and item_type in restorable, template


LAPS_TEMPLATE = "/directory/deviceLocalCredentials/{deviceLocalCredentialInfo-id}"
"""A real v1.0 path ("Get deviceLocalCredentialInfo") the older OpenAPI file lacks."""


def test_the_laps_path_is_in_the_csdl() -> None:
    root = ET.parse(_reference("v1.0-Prod.csdl")).getroot()  # noqa: S314 - Microsoft's own file
    assert _navigation(root, "directory", "deviceLocalCredentials") == "deviceLocalCredentialInfo"
    assert any(e.template == LAPS_TEMPLATE for e in ENDPOINTS)
    bound = {
        action.get("Name"): str(action.find(f"{EDM}Parameter").get("Type"))  # type: ignore[union-attr]
        for action in root.iter(f"{EDM}Action")
        if action.get("Name") in ("syncDevice", "retire", "wipe", "revokeSignInSessions")
    }
    assert bound == {
        "syncDevice": "graph.managedDevice",
        "retire": "graph.managedDevice",
        "wipe": "graph.managedDevice",
        "revokeSignInSessions": "graph.user",
    }


def _example(file: str, name: str) -> dict[str, Any]:
    examples = json.loads(_reference("docs-examples-v1.0.json").read_text(encoding="utf-8"))
    for example in examples:
        if example["file"] == file and (example.get("request") or {}).get("name") == name:
            body: dict[str, Any] = example["body"]
            return body
    pytest.fail(f"example {name} of {file} not found in docs-examples-v1.0.json")


def test_get_user_answers_the_documented_default_properties(graph_sandbox: RunningSandbox) -> None:
    documented = _example("user-get.md", "get_user_1")
    with graph_sandbox.client() as client:
        ours = client.get(f"/users/{graph_sandbox.info.admin_user_principal_name}").json()
    assert {k for k in ours if not k.startswith("@")} == {
        k for k in documented if not k.startswith("@")
    }


def test_members_answer_has_the_documented_shape(graph_sandbox: RunningSandbox) -> None:
    documented = _example("group-list-members.md", "get_group_members")
    group_id = next(g for g, members in graph_sandbox.state.members.items() if members)
    with graph_sandbox.client() as client:
        ours = client.get(f"/groups/{group_id}/members").json()
    assert ours["@odata.context"].endswith(documented["@odata.context"].rsplit("/", 1)[1])
    assert set(documented["value"][0]) <= set(ours["value"][0])


_CA_BODY = {
    "displayName": "Fidelity check",
    "state": "enabledForReportingButNotEnforced",
    "conditions": {
        "clientAppTypes": ["all"],
        "applications": {"includeApplications": ["All"]},
        "users": {"includeUsers": ["All"]},
        "signInRiskLevels": ["high"],
    },
    "grantControls": {"operator": "OR", "builtInControls": ["block"]},
}


def _policy_answers(sandbox: RunningSandbox) -> dict[str, tuple[str, Any]]:
    with sandbox.client() as client:
        ip = client.post(
            "/identity/conditionalAccess/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "displayName": "Fidelity office",
                "ipRanges": [{"cidrAddress": "198.51.100.0/24"}],
            },
        )
        country = client.post(
            "/identity/conditionalAccess/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.countryNamedLocation",
                "displayName": "Fidelity countries",
                "countriesAndRegions": ["CA"],
            },
        )
        policy = client.post("/identity/conditionalAccess/policies", json=_CA_BODY)
        user_ids = list(sandbox.state.users)
        client.put(
            f"/users/{user_ids[1]}/manager/$ref",
            json={"@odata.id": f"{sandbox.info.graph_base}/users/{user_ids[0]}"},
        )
        gets = {
            "/identity/conditionalAccess/policies": "conditionalAccessPolicy",
            "/identity/conditionalAccess/namedLocations": "namedLocation",
            "/policies/authorizationPolicy": "authorizationPolicy",
            "/policies/authenticationFlowsPolicy": "authenticationFlowsPolicy",
            "/policies/authenticationMethodsPolicy": "authenticationMethodsPolicy",
            "/policies/identitySecurityDefaultsEnforcementPolicy": (
                "identitySecurityDefaultsEnforcementPolicy"
            ),
            "/policies/crossTenantAccessPolicy": "crossTenantAccessPolicy",
            "/policies/crossTenantAccessPolicy/default": (
                "crossTenantAccessPolicyConfigurationDefault"
            ),
            f"/users/{user_ids[1]}/manager": "user",
            f"/users/{user_ids[0]}/directReports": "user",
            f"/users/{user_ids[1]}?$expand=manager": "user",
        }
        answers = {path: (type_name, client.get(path)) for path, type_name in gets.items()}
    answers["post ip"] = ("namedLocation", ip)
    answers["post country"] = ("namedLocation", country)
    answers["post policy"] = ("conditionalAccessPolicy", policy)
    return {
        path: (f"microsoft.graph.{type_name}", answer.json())
        for path, (type_name, answer) in answers.items()
        if answer.status_code in {200, 201}
    } | {
        path: ("failed", answer.text)
        for path, (_, answer) in answers.items()
        if answer.status_code not in {200, 201}
    }


def test_every_policy_and_manager_property_exists_in_the_csdl(
    graph_sandbox: RunningSandbox,
) -> None:
    answers = _policy_answers(graph_sandbox)
    assert [path for path, (type_name, _) in answers.items() if type_name == "failed"] == []
    problems = []
    for path, (type_name, body) in answers.items():
        for item in body.get("value", [body]):
            problems += _problems(item, type_name, path)
    assert sorted(set(problems)) == []


def test_policy_answers_have_the_documented_properties(graph_sandbox: RunningSandbox) -> None:
    answers = _policy_answers(graph_sandbox)
    pairs = [
        (
            "conditionalaccessroot-post-policies.md",
            "create_conditionalaccesspolicy_from_conditionalaccessroot_1",
            "post policy",
        ),
        (
            "conditionalaccessroot-post-namedlocations.md",
            "create_namedlocation_from_conditionalaccessroot_1",
            "post ip",
        ),
        (
            "conditionalaccessroot-post-namedlocations.md",
            "create_namedlocation_from_conditionalaccessroot_2",
            "post country",
        ),
        (
            "identitysecuritydefaultsenforcementpolicy-get.md",
            "get_identitysecuritydefaultsenforcementpolicy",
            "/policies/identitySecurityDefaultsEnforcementPolicy",
        ),
        (
            "authenticationflowspolicy-get.md",
            "get_authenticationflowspolicy",
            "/policies/authenticationFlowsPolicy",
        ),
    ]
    for file, name, ours in pairs:
        documented = _example(file, name)
        body = answers[ours][1]
        assert {k for k in documented if not k.startswith("@")} <= set(body), file
        # The 2021 pages drop the ``identity/`` prefix Graph puts before conditionalAccess, and
        # one of them the ``/$entity`` of a single-valued answer.
        context = documented["@odata.context"].rsplit("#", 1)[1].removesuffix("/$entity")
        assert body["@odata.context"].removesuffix("/$entity").endswith(context), file
    policy = _example(
        "conditionalaccessroot-post-policies.md",
        "create_conditionalaccesspolicy_from_conditionalaccessroot_1",
    )
    ours = answers["post policy"][1]
    assert set(policy["conditions"]) <= set(ours["conditions"])
    assert set(policy["conditions"]["users"]) <= set(ours["conditions"]["users"])
    assert set(policy["grantControls"]) <= set(ours["grantControls"])
    documented_manager = _example("user-list-manager.md", "get_manager_2")
    manager = next(body for path, (_, body) in answers.items() if path.endswith("/manager"))
    assert set(documented_manager) <= set(manager)
