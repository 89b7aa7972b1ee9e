"""Applications, consent, directory roles and PIM held against Microsoft's reference: every
property answered exists on the CSDL type with a matching JSON type, and answers carry the
properties of the API reference's examples."""

from __future__ import annotations

from typing import Any

from dirguard_sandbox.role_catalog import GLOBAL_ADMINISTRATOR, GLOBAL_READER
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.identity_helpers import graph_sp_id, make_certificate, register_app
from tests.sandbox.test_fidelity import _example, _problems

_RM = "/roleManagement/directory"


def _answers(sandbox: RunningSandbox) -> list[tuple[str, dict[str, Any]]]:
    admin_id = next(iter(sandbox.state.passwords))
    with sandbox.client() as client:
        app, sp = register_app(
            client, "fidelity app", permissions=("User.Read.All",), certificate=make_certificate()
        )
        secret = client.post(f"/applications/{app['id']}/addPassword", json={})
        grant = client.post(
            "/oauth2PermissionGrants",
            json={
                "clientId": sp["id"],
                "consentType": "Principal",
                "principalId": admin_id,
                "resourceId": graph_sp_id(client),
                "scope": "User.Read.All",
            },
        )
        eligibility = client.post(
            f"{_RM}/roleEligibilityScheduleRequests",
            json={
                "action": "adminAssign",
                "principalId": admin_id,
                "roleDefinitionId": GLOBAL_READER,
                "directoryScopeId": "/",
                "justification": "fidelity",
                "scheduleInfo": {"expiration": {"type": "noExpiration"}},
            },
        )
        answers = [
            ("application", client.get("/applications")),
            ("application", client.get(f"/applications/{app['id']}")),
            ("passwordCredential", secret),
            ("servicePrincipal", client.get(f"/servicePrincipals/{sp['id']}")),
            ("appRoleAssignment", client.get(f"/servicePrincipals/{sp['id']}/appRoleAssignments")),
            ("oAuth2PermissionGrant", grant),
            ("directoryRole", client.get("/directoryRoles")),
            ("directoryRoleTemplate", client.get("/directoryRoleTemplates")),
            ("unifiedRoleDefinition", client.get(f"{_RM}/roleDefinitions")),
            ("unifiedRoleAssignment", client.get(f"{_RM}/roleAssignments")),
            ("unifiedRoleEligibilityScheduleRequest", eligibility),
            ("unifiedRoleEligibilitySchedule", client.get(f"{_RM}/roleEligibilitySchedules")),
            (
                "unifiedRoleEligibilityScheduleInstance",
                client.get(f"{_RM}/roleEligibilityScheduleInstances"),
            ),
        ]
    result = []
    for type_name, answer in answers:
        assert answer.status_code in (200, 201), answer.text
        body = answer.json()
        items = body.get("value", [body])
        assert items, f"no {type_name} answered"
        result += [(f"microsoft.graph.{type_name}", item) for item in items]
    return result


def test_identity_answers_exist_in_the_csdl(graph_sandbox: RunningSandbox) -> None:
    problems = []
    for type_name, item in _answers(graph_sandbox):
        problems += _problems(item, type_name, type_name.rsplit(".", 1)[1])
    assert sorted(set(problems)) == []


def _keys(body: dict[str, Any]) -> set[str]:
    item = body["value"][0] if "value" in body else body
    return {key for key in item if not key.startswith("@")}


def test_answers_have_the_properties_of_the_api_reference_examples(
    graph_sandbox: RunningSandbox,
) -> None:
    """Each documented example's properties appear in the sandbox's answer to the same call."""
    admin_id = next(iter(graph_sandbox.state.passwords))
    with graph_sandbox.client() as client:
        _app, sp = register_app(client, "example replay")
        resource = graph_sp_id(client)
        role_id = client.get(f"/directoryRoles(roleTemplateId='{GLOBAL_ADMINISTRATOR}')").json()[
            "id"
        ]
        ours = {
            ("directoryroletemplate-list.md", "get_directoryroletemplates"): client.get(
                "/directoryRoleTemplates"
            ),
            ("directoryroletemplate-get.md", "get_directoryroletemplate"): client.get(
                f"/directoryRoleTemplates/{GLOBAL_ADMINISTRATOR}"
            ),
            ("directoryrole-list.md", "get_directoryroles"): client.get("/directoryRoles"),
            ("directoryrole-list-members.md", "get_directoryrole_members_objectid"): client.get(
                f"/directoryRoles/{role_id}/members"
            ),
            (
                "serviceprincipal-post-approleassignedto.md",
                "serviceprincipal_create_approleassignedto",
            ): client.post(
                f"/servicePrincipals/{resource}/appRoleAssignedTo",
                json={
                    "principalId": sp["id"],
                    "resourceId": resource,
                    "appRoleId": next(
                        iter(client.get(f"/servicePrincipals/{resource}").json()["appRoles"])
                    )["id"],
                },
            ),
            ("oauth2permissiongrant-post.md", "post_oAuth2PermissionGrant"): client.post(
                "/oauth2PermissionGrants",
                json={
                    "clientId": sp["id"],
                    "consentType": "Principal",
                    "principalId": admin_id,
                    "resourceId": resource,
                    "scope": "User.Read.All",
                },
            ),
        }
    missing = {}
    for (file, name), answer in ours.items():
        assert answer.status_code in (200, 201), f"{file}: {answer.text}"
        documented = _example(file, name)
        lacking = _keys(documented) - _keys(answer.json())
        if lacking:
            missing[file] = sorted(lacking)
    assert missing == {}


def test_add_password_answer_has_the_documented_properties(graph_sandbox: RunningSandbox) -> None:
    documented = _example("application-addpassword.md", "application_addpassword")
    with graph_sandbox.client() as client:
        app = client.post("/applications", json={"displayName": "add password shape"}).json()
        ours = client.post(
            f"/applications/{app['id']}/addPassword",
            json={"passwordCredential": {"displayName": "Password friendly name"}},
        ).json()
    assert {k for k in documented if not k.startswith("@")} <= set(ours)
