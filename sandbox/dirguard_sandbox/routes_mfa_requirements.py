"""The beta ``/users/{id}/authentication/requirements``: a user's per-user MFA state
(disabled, enabled or enforced), served under ``/beta`` only, as Graph does. Setting a user who
has already registered an MFA method to enabled enforces it (documented); the change is logged
as Entra logs it, an ``Update user`` with ``StrongAuthenticationRequirement`` old and new.

A signed-in user reads their own state; another user's needs Global Reader or Authentication
Policy Administrator (or Global Administrator), as the beta "Get authentication method states"
page says. Writes follow the methods' rule (``writable_user``).
"""

from __future__ import annotations

from starlette.responses import Response

from dirguard_sandbox.audit import modified_properties, record_audit, target
from dirguard_sandbox.delegated_access import may_read_mfa_state_of
from dirguard_sandbox.errors import bad_request, insufficient_privileges
from dirguard_sandbox.graph_routing import Call, graph_json, handles, no_content
from dirguard_sandbox.routes_auth_methods import writable_user
from dirguard_sandbox.routes_users import find_user

_REQUIREMENTS = "/users/{user-id}/authentication/requirements"
MFA_STATES = ("disabled", "enabled", "enforced")


@handles("GET", _REQUIREMENTS)
async def get_requirements(call: Call) -> Response:
    user = find_user(call.state, call.param("user_id"))
    caller_roles = [str(role) for role in call.claims.get("wids") or []]
    delegated_for_another = "scp" in call.claims and call.claims.get("oid") != user["id"]
    if delegated_for_another and not may_read_mfa_state_of(caller_roles):
        raise insufficient_privileges()
    state_name = call.state.mfa_states.get(user["id"], "disabled")
    return graph_json(
        {
            "@odata.context": f"{call.graph_base}/$metadata#users('{user['id']}')"
            "/authentication/requirements/$entity",
            "perUserMfaState": state_name,
        }
    )


@handles("PATCH", _REQUIREMENTS)
async def update_requirements(call: Call) -> Response:
    state = call.state
    user = writable_user(call)
    body = await call.body()
    unknown = sorted(set(body) - {"perUserMfaState", "@odata.type"})
    if unknown:
        raise bad_request(
            f"Property '{unknown[0]}' does not exist as a declared property or extension "
            "property of resource 'strongAuthenticationRequirements'."
        )
    wanted = body.get("perUserMfaState")
    if wanted not in MFA_STATES:
        raise bad_request(
            f"Invalid value '{wanted}' for property 'perUserMfaState': use one of "
            f"{', '.join(MFA_STATES)}."
        )
    # Documented: a user set to enabled who has already registered an MFA method is enforced.
    if wanted == "enabled" and state.auth_methods.get(user["id"]):
        wanted = "enforced"
    before = state.mfa_states.get(user["id"], "disabled")
    if wanted == "disabled":
        state.mfa_states.pop(user["id"], None)
    else:
        state.mfa_states[user["id"]] = wanted
    state.bump(user["id"])
    name = "strongAuthenticationRequirement"
    changes = modified_properties({name: before}, {name: wanted}, [name])
    record_audit(
        state,
        actor=call.actor,
        activity="Update user",
        category="UserManagement",
        operation_type="Update",
        targets=[target(state, user["id"], user, changes)],
    )
    return no_content()
