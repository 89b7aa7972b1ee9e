"""Leavers: revoke sessions, suspend (one composite action: block sign-in, revoke sessions,
remove authentication methods, groups and licenses) and un-suspend from the suspension's
record ("user: revokeSignInSessions", "Update user", "Delete ...AuthenticationMethod",
"Remove member", "assignLicense")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dirguard.core.admin_plan import ActionPlan, Edit
from dirguard.core.delegation import Target
from dirguard.providers.entra.admin_actions import EntraActionRefused, EntraActions, GraphCall
from dirguard.providers.entra.admin_planners import (
    METHOD_PATHS,
    method_label,
    needs_user,
    user_methods,
)
from dirguard.providers.entra.write_bodies import directory_object_ref


def _plan_revoke(actions: EntraActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    needs_user(target, "entra.user.revoke-sessions")
    call = GraphCall(method="POST", path=f"users/{target.path}/revokeSignInSessions")
    notes = ["every refresh token and browser session of the user stops working"]
    if target.fields.get("userType") == "Guest":
        notes.append("a guest signs in at home: Microsoft does not revoke their sessions")
    return ActionPlan(
        action="entra.user.revoke-sessions", path=target.path, notes=tuple(notes), calls=(call,)
    )


def _groups_of(actions: EntraActions, target: Target) -> list[dict[str, Any]]:
    return [
        g
        for g in actions.collect(f"users/{target.path}/memberOf")
        if g.get("@odata.type") == "#microsoft.graph.group"
    ]


def _plan_suspend(actions: EntraActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    needs_user(target, "entra.user.suspend")
    user = target.path
    calls: list[GraphCall] = []
    edits: list[Edit] = []
    if target.fields.get("accountEnabled") is not False:
        calls.append(
            GraphCall(method="PATCH", path=f"users/{user}", body={"accountEnabled": False})
        )
        edits.append(Edit(field="accountEnabled", before=("true",), after=("false",)))
    calls.append(GraphCall(method="POST", path=f"users/{user}/revokeSignInSessions"))
    removable = [
        m for m in user_methods(actions, target) if str(m.get("@odata.type")) in METHOD_PATHS
    ]
    for method in removable:
        collection = METHOD_PATHS[str(method["@odata.type"])]
        calls.append(
            GraphCall(
                method="DELETE", path=f"users/{user}/authentication/{collection}/{method['id']}"
            )
        )
    if removable:
        edits.append(
            Edit(
                field="authenticationMethods",
                before=tuple(method_label(m) for m in removable),
                after=None,
            )
        )
    if params.get("remove_groups", True):
        groups = [g for g in _groups_of(actions, target) if not g.get("membershipRule")]
        for group in groups:
            calls.append(
                GraphCall(method="DELETE", path=f"groups/{group['id']}/members/{user}/$ref")
            )
        if groups:
            edits.append(
                Edit(field="memberOf", before=tuple(str(g["id"]) for g in groups), after=None)
            )
    held = [str(x["skuId"]) for x in target.fields.get("assignedLicenses") or []]
    if params.get("remove_licenses", True) and held:
        calls.append(
            GraphCall(
                method="POST",
                path=f"users/{user}/assignLicense",
                body={"addLicenses": [], "removeLicenses": held},
            )
        )
        edits.append(Edit(field="assignedLicenses", before=tuple(held), after=None))
    notes = (
        "sign-in blocked and every session revoked; removed methods cannot be put back by"
        " un-suspend (the user registers again, e.g. with a Temporary Access Pass)",
    )
    return ActionPlan(
        action="entra.user.suspend", path=user, edits=tuple(edits), notes=notes, calls=tuple(calls)
    )


def _plan_unsuspend(actions: EntraActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    needs_user(target, "entra.user.unsuspend")
    recorded = params.get("_recorded")
    if not isinstance(recorded, Mapping):
        raise EntraActionRefused(f"{target.path} has no recorded suspension to undo")
    before = {str(e["field"]): list(e.get("before") or []) for e in recorded.get("edits", [])}
    user = target.path
    calls: list[GraphCall] = []
    edits: list[Edit] = []
    if target.fields.get("accountEnabled") is False:
        calls.append(GraphCall(method="PATCH", path=f"users/{user}", body={"accountEnabled": True}))
        edits.append(Edit(field="accountEnabled", before=("false",), after=("true",)))
    current = {str(g["id"]) for g in _groups_of(actions, target)}
    back = [g for g in before.get("memberOf", []) if g not in current]
    for group in back:
        calls.append(
            GraphCall(
                method="POST", path=f"groups/{group}/members/$ref", body=directory_object_ref(user)
            )
        )
    if back:
        edits.append(Edit(field="memberOf", before=None, after=tuple(back)))
    held = {str(x["skuId"]) for x in target.fields.get("assignedLicenses") or []}
    licenses = [s for s in before.get("assignedLicenses", []) if s not in held]
    if licenses:
        calls.append(
            GraphCall(
                method="POST",
                path=f"users/{user}/assignLicense",
                body={
                    "addLicenses": [{"skuId": s, "disabledPlans": []} for s in licenses],
                    "removeLicenses": [],
                },
            )
        )
        edits.append(Edit(field="assignedLicenses", before=None, after=tuple(licenses)))
    notes = (
        "authentication methods are not put back: issue a Temporary Access Pass so the user"
        " can register again",
    )
    return ActionPlan(
        action="entra.user.unsuspend",
        path=user,
        edits=tuple(edits),
        notes=notes,
        calls=tuple(calls),
    )


LIFECYCLE_PLANNERS = {
    "entra.user.revoke-sessions": _plan_revoke,
    "entra.user.suspend": _plan_suspend,
    "entra.user.unsuspend": _plan_unsuspend,
}
