"""The sandbox's ID tokens carry ``groups`` as groupMembershipClaims asks (with the overage past
200 groups) and ``roles`` from app role assignments, direct or through a group."""

from __future__ import annotations

import uuid

from dirguard_sandbox.directory_state import Application, DirectoryState
from dirguard_sandbox.id_token_claims import GROUPS_IN_JWT, membership_claims
from dirguard_sandbox.seed_data import SeedOptions, generate_tenant


def _tenant_with_app(claims: str | None) -> tuple[DirectoryState, Application, str]:
    state = generate_tenant(SeedOptions(users=3, seed=5))
    user_id = next(iter(state.users))
    app = Application(
        app_id=str(uuid.uuid4()),
        object_id=str(uuid.uuid4()),
        service_principal_id=str(uuid.uuid4()),
        display_name="console",
        secrets=[],
        granted=[],
    )
    state.application_objects[app.object_id] = {
        "groupMembershipClaims": claims,
        "appRoles": [{"id": "r1", "value": "dirguard.approver", "isEnabled": True}],
    }
    return state, app, user_id


def _group(state: DirectoryState, user_id: str, *, security: bool) -> str:
    group_id = str(uuid.uuid4())
    state.groups[group_id] = {"id": group_id, "securityEnabled": security}
    state.members[group_id] = [user_id]
    return group_id


def test_groups_follow_group_membership_claims() -> None:
    for setting in (None, "SecurityGroup", "All"):
        state, app, user_id = _tenant_with_app(setting)
        secure = _group(state, user_id, security=True)
        mail = _group(state, user_id, security=False)
        groups = set(membership_claims(state, app, user_id).get("groups", []))
        if setting is None:
            assert "groups" not in membership_claims(state, app, user_id)
        elif setting == "SecurityGroup":
            assert secure in groups and mail not in groups
        else:
            assert {secure, mail} <= groups


def test_past_200_groups_the_token_points_at_graph_instead() -> None:
    state, app, user_id = _tenant_with_app("SecurityGroup")
    for _ in range(GROUPS_IN_JWT + 1):
        _group(state, user_id, security=True)
    claims = membership_claims(state, app, user_id)
    assert "groups" not in claims
    assert claims["_claim_names"] == {"groups": "src1"}
    assert claims["_claim_sources"]["src1"]["endpoint"].endswith(
        f"/users/{user_id}/getMemberObjects"
    )


def test_roles_come_from_assignments_to_the_user_or_a_group() -> None:
    state, app, user_id = _tenant_with_app(None)
    assert "roles" not in membership_claims(state, app, user_id)
    group_id = _group(state, user_id, security=True)
    state.app_role_assignments["a1"] = {
        "principalId": group_id,
        "resourceId": app.service_principal_id,
        "appRoleId": "r1",
    }
    assert membership_claims(state, app, user_id)["roles"] == ["dirguard.approver"]
