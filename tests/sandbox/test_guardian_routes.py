"""The routes the Entra guardian reads (issue 18's list), through msgraph-sdk and httpx, each held
to its Microsoft page (cited in ``routes_relationships``, ``routes_owners`` and
``routes_tenant_settings``):

- "List a user's memberships (direct and transitive)"
  (https://learn.microsoft.com/graph/api/user-list-transitivememberof) and "List group transitive
  members" (https://learn.microsoft.com/graph/api/group-list-transitivemembers);
- "Add owner" / "List owners" / "Remove owner" of an application
  (https://learn.microsoft.com/graph/api/application-post-owners) and "List ownedObjects"
  (https://learn.microsoft.com/graph/api/user-list-ownedobjects);
- "List authenticationStrengthPolicies"
  (https://learn.microsoft.com/graph/api/authenticationstrengthroot-list-policies).
"""

from __future__ import annotations

import warnings

import httpx
import pytest

from tests.fixtures.graph_sandbox import RunningSandbox

pytest.importorskip("msgraph", reason="msgraph-sdk is a test dependency ([test] extra)")

from tests.sandbox.sdk_client import Sdk, sdk

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from msgraph.generated.models.reference_create import ReferenceCreate

__all__ = ["sdk"]  # the module's SDK client fixture

pytestmark = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]


def _ref(sandbox: RunningSandbox, object_id: str) -> dict[str, str]:
    return {"@odata.id": f"{sandbox.info.graph_base}/directoryObjects/{object_id}"}


def _new_group(client: httpx.Client, name: str) -> str:
    made = client.post(
        "/groups",
        json={
            "displayName": name,
            "mailEnabled": False,
            "mailNickname": name.lower().replace(" ", ""),
            "securityEnabled": True,
        },
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_nested_groups_show_in_transitive_memberships_both_ways(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    user_id = list(graph_sandbox.state.users)[17]
    with graph_sandbox.client() as client:
        inner, middle, outer = (
            _new_group(client, f"Nest {n}") for n in ("inner", "middle", "outer")
        )
        for group, member in ((inner, user_id), (middle, inner), (outer, middle)):
            added = client.post(f"/groups/{group}/members/$ref", json=_ref(graph_sandbox, member))
            assert added.status_code == 204, added.text
        direct = client.get(f"/users/{user_id}/memberOf").json()["value"]
        middle_of = client.get(f"/groups/{middle}/memberOf").json()["value"]
    page = sdk.run(sdk.client.users.by_user_id(user_id).transitive_member_of.get())
    assert page is not None and page.value is not None
    transitive = {item.id for item in page.value}
    assert {inner, middle, outer} <= transitive
    assert {inner} <= {g["id"] for g in direct} and not {middle, outer} & {g["id"] for g in direct}
    assert [g["id"] for g in middle_of] == [outer]
    members = sdk.run(sdk.client.groups.by_group_id(outer).transitive_members.get())
    assert members is not None and members.value is not None
    assert [m.id for m in members.value] == [middle, inner, user_id]
    assert [m.odata_type for m in members.value] == [
        "#microsoft.graph.group",
        "#microsoft.graph.group",
        "#microsoft.graph.user",
    ]


def test_application_owners_are_added_listed_audited_and_removed(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    state = graph_sandbox.state
    app_id = next(iter(state.application_objects))
    owner = list(state.users)[18]
    owners = sdk.client.applications.by_application_id(app_id).owners
    reference = ReferenceCreate(
        odata_id=f"{graph_sandbox.info.graph_base}/directoryObjects/{owner}"
    )
    sdk.run(owners.ref.post(reference))
    listed = sdk.run(owners.get())
    assert listed is not None and listed.value is not None
    assert [o.id for o in listed.value] == [owner]
    assert listed.value[0].odata_type == "#microsoft.graph.user"
    owned = sdk.run(sdk.client.users.by_user_id(owner).owned_objects.get())
    assert owned is not None and owned.value is not None
    assert app_id in {item.id for item in owned.value}
    with graph_sandbox.client() as client:
        again = client.post(f"/applications/{app_id}/owners/$ref", json=_ref(graph_sandbox, owner))
        group_id = next(iter(state.groups))
        group_owner = client.post(
            f"/applications/{app_id}/owners/$ref", json=_ref(graph_sandbox, group_id)
        )
        removed = client.delete(f"/applications/{app_id}/owners/{owner}/$ref")
        gone = client.delete(f"/applications/{app_id}/owners/{owner}/$ref")
        after = client.get(f"/applications/{app_id}/owners").json()["value"]
    assert again.status_code == 400 and "'owners'" in again.json()["error"]["message"]
    assert group_owner.status_code == 400
    assert "user or service principal" in group_owner.json()["error"]["message"]
    assert removed.status_code == 204 and gone.status_code == 404 and after == []
    activities = [
        (e["activityDisplayName"], e["targetResources"][0]["id"], e["targetResources"][1]["id"])
        for e in state.audits
        if e["activityDisplayName"].endswith("application") and "owner" in e["activityDisplayName"]
    ]
    assert activities[-2:] == [
        ("Add owner to application", owner, app_id),
        ("Remove owner from application", owner, app_id),
    ]


def test_service_principal_owners_and_memberships(graph_sandbox: RunningSandbox) -> None:
    state = graph_sandbox.state
    sp_id = list(state.service_principals)[1]
    owner = list(state.users)[19]
    with graph_sandbox.client() as client:
        group = _new_group(client, "Apps group")
        assert (
            client.post(
                f"/groups/{group}/members/$ref", json=_ref(graph_sandbox, sp_id)
            ).status_code
            == 204
        )
        added = client.post(
            f"/servicePrincipals/{sp_id}/owners/$ref", json=_ref(graph_sandbox, owner)
        )
        owners = client.get(f"/servicePrincipals/{sp_id}/owners").json()["value"]
        member_of = client.get(f"/servicePrincipals/{sp_id}/memberOf").json()["value"]
        client.delete(f"/servicePrincipals/{sp_id}/owners/{owner}/$ref")
    assert added.status_code == 204
    assert [o["id"] for o in owners] == [owner]
    assert group in {m["id"] for m in member_of}
    assert state.audits[-1]["activityDisplayName"] == "Remove owner from service principal"


def test_built_in_authentication_strengths(sdk: Sdk) -> None:
    page = sdk.run(sdk.client.identity.conditional_access.authentication_strength.policies.get())
    assert page is not None and page.value is not None
    by_id = {policy.id: policy for policy in page.value}
    assert set(by_id) == {f"00000000-0000-0000-0000-00000000000{n}" for n in (2, 3, 4)}
    phishing_resistant = by_id["00000000-0000-0000-0000-000000000004"]
    assert phishing_resistant.display_name == "Phishing-resistant MFA"
    assert {str(c.value) for c in phishing_resistant.allowed_combinations or []} == {
        "windowsHelloForBusiness",
        "fido2",
        "x509CertificateMultiFactor",
    }


def test_policy_settings_read_as_a_fresh_tenant_has_them(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    consent = sdk.run(sdk.client.policies.admin_consent_request_policy.get())
    assert consent is not None and consent.is_enabled is False
    grants = sdk.run(sdk.client.policies.permission_grant_policies.get())
    assert grants is not None and grants.value is not None
    assert "microsoft-company-admin" in {p.id for p in grants.value}
    with graph_sandbox.client(read_only=True) as reader:
        for path in (
            "/policies/tokenLifetimePolicies",
            "/identity/conditionalAccess/authenticationContextClassReferences",
            "/groupSettings",
        ):
            answer = reader.get(path)
            assert answer.status_code == 200, path
            assert answer.json()["value"] == []
        devices = reader.get("/devices").json()["value"]
    assert {d["id"] for d in devices} == set(graph_sandbox.state.devices)
    assert devices and all(d["trustType"] == "AzureAd" for d in devices)


def test_directory_synchronization_and_custom_attributes(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    """ "Get onPremisesDirectorySynchronization"
    (https://learn.microsoft.com/graph/api/onpremisesdirectorysynchronization-get) and "List
    customSecurityAttributeDefinitions"
    (https://learn.microsoft.com/graph/api/directory-list-customsecurityattributedefinitions)."""
    page = sdk.run(sdk.client.directory.on_premises_synchronization.get())
    assert page is not None and page.value is not None
    (sync,) = page.value
    assert sync.id == graph_sandbox.info.tenant_id
    assert sync.features is not None and sync.features.password_sync_enabled is False
    prevention = sync.configuration.accidental_deletion_prevention  # type: ignore[union-attr]
    assert prevention is not None and prevention.alert_threshold == 500
    with graph_sandbox.client(read_only=True) as reader:
        one = reader.get(f"/directory/onPremisesSynchronization/{sync.id}")
        missing = reader.get("/directory/onPremisesSynchronization/not-this-tenant")
        attributes = reader.get("/directory/customSecurityAttributeDefinitions")
        sets = reader.get("/directory/attributeSets")
        group = next(iter(graph_sandbox.state.groups))
        settings = reader.get(f"/groups/{group}/settings")
    assert one.status_code == 200 and one.json()["id"] == sync.id
    assert missing.status_code == 404
    assert [a.status_code for a in (attributes, sets, settings)] == [200, 200, 200]
    assert attributes.json()["value"] == sets.json()["value"] == settings.json()["value"] == []


def test_user_member_of_lists_groups_roles_and_units(graph_sandbox: RunningSandbox) -> None:
    """ "List a user's direct memberships" (https://learn.microsoft.com/graph/api/user-list-memberof):
    groups, directory roles and administrative units."""
    state = graph_sandbox.state
    user_id = list(state.users)[20]
    unit_id = next(u for u in state.administrative_units if user_id not in state.unit_members[u])
    with graph_sandbox.client() as client:
        group = _new_group(client, "Direct only")
        outer = _new_group(client, "Around direct")
        client.post(f"/groups/{group}/members/$ref", json=_ref(graph_sandbox, user_id))
        client.post(f"/groups/{outer}/members/$ref", json=_ref(graph_sandbox, group))
        client.post(
            f"/directory/administrativeUnits/{unit_id}/members/$ref",
            json=_ref(graph_sandbox, user_id),
        )
        role = client.post(
            "/roleManagement/directory/roleAssignments",
            json={
                "principalId": user_id,
                "roleDefinitionId": "5d6b6bb7-de71-4623-b4af-96380a352509",
                "directoryScopeId": "/",
            },
        )
        assert role.status_code == 201, role.text
        member_of = client.get(f"/users/{user_id}/memberOf").json()["value"]
        picked = client.get(f"/users/{user_id}/memberOf", params={"$select": "id,displayName"})
    kinds = {(item["@odata.type"], item["id"]) for item in member_of}
    assert ("#microsoft.graph.group", group) in kinds
    assert ("#microsoft.graph.group", outer) not in kinds, "memberOf is direct only"
    assert ("#microsoft.graph.administrativeUnit", unit_id) in kinds
    roles = [item for item in member_of if item["@odata.type"] == "#microsoft.graph.directoryRole"]
    assert [r["roleTemplateId"] for r in roles] == ["5d6b6bb7-de71-4623-b4af-96380a352509"]
    assert all(set(item) <= {"@odata.type", "id", "displayName"} for item in picked.json()["value"])


def test_conditional_access_template_through_the_sdk(sdk: Sdk) -> None:
    """ "List conditionalAccessTemplates"
    (https://learn.microsoft.com/graph/api/conditionalaccessroot-list-templates)."""
    page = sdk.run(sdk.client.identity.conditional_access.templates.get())
    assert page is not None and page.value is not None
    (admins,) = [t for t in page.value if t.id == "c7503427-338e-4c5e-902d-abe252abfb43"]
    assert admins.name == "Require multifactor authentication for admins"
    users = admins.details.conditions.users  # type: ignore[union-attr]
    assert "62e90394-69f5-4237-9190-012177145e10" in (users.include_roles or [])
