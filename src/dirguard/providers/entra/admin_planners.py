"""What each Entra web action would change, read from Graph as it is now, and the Graph requests
that change it (Microsoft's pages name each request: "Create user", "Invite", "assignLicense",
"Add members", "Delete temporaryAccessPassAuthenticationMethod", "Create
temporaryAccessPassMethod", beta "Update strongAuthenticationRequirements",
"user: revokeSignInSessions")."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dirguard.core.admin_plan import ActionPlan, Edit
from dirguard.core.delegation import Target
from dirguard.providers.entra.admin_actions import EntraActionRefused, EntraActions, GraphCall
from dirguard.providers.entra.write_bodies import directory_object_ref

Planner = Callable[[EntraActions, Target, Mapping[str, Any]], ActionPlan]

EDITABLE = {
    "displayName": "displayName",
    "givenName": "givenName",
    "surname": "surname",
    "department": "department",
    "jobTitle": "jobTitle",
    "companyName": "companyName",
    "officeLocation": "officeLocation",
    "mobilePhone": "mobilePhone",
    "usageLocation": "usageLocation",
    "businessPhones": "businessPhones",
}
"""User properties the edit action may set (the role narrows this further)."""

METHOD_PATHS = {
    "#microsoft.graph.phoneAuthenticationMethod": "phoneMethods",
    "#microsoft.graph.emailAuthenticationMethod": "emailMethods",
    "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod": "microsoftAuthenticatorMethods",
    "#microsoft.graph.fido2AuthenticationMethod": "fido2Methods",
    "#microsoft.graph.temporaryAccessPassAuthenticationMethod": "temporaryAccessPassMethods",
    "#microsoft.graph.softwareOathAuthenticationMethod": "softwareOathMethods",
    "#microsoft.graph.windowsHelloForBusinessAuthenticationMethod": (
        "windowsHelloForBusinessMethods"
    ),
}
"""Method types that can be removed, and their collection under ``authentication``."""

MFA_STATES = ("disabled", "enabled", "enforced")


def _shown(value: Any) -> tuple[str, ...] | None:
    if value in (None, "", []):
        return None
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return (str(value),)


def needs_user(target: Target, action: str) -> None:
    if target.object_kind != "user":
        raise EntraActionRefused(
            f"{action} works on users; {target.path} is a {target.object_kind}"
        )


def _skus(actions: EntraActions) -> dict[str, dict[str, Any]]:
    """The tenant's subscribed SKUs by part number (case-insensitive)."""
    return {str(s["skuPartNumber"]).casefold(): s for s in actions.collect("subscribedSkus")}


def _free(sku: Mapping[str, Any]) -> int:
    enabled = int((sku.get("prepaidUnits") or {}).get("enabled") or 0)
    return enabled - int(sku.get("consumedUnits") or 0)


def _sku_ids(actions: EntraActions, names: list[str], what: str) -> tuple[list[str], list[str]]:
    """SKU ids of the part numbers named, and a note per SKU with its free seats."""
    known = _skus(actions)
    ids, notes = [], []
    for name in names:
        sku = known.get(name.casefold())
        if sku is None:
            choices = ", ".join(sorted(str(s["skuPartNumber"]) for s in known.values()))
            raise EntraActionRefused(f"{what}: the tenant has no license {name!r} ({choices})")
        ids.append(str(sku["skuId"]))
        notes.append(f"{sku['skuPartNumber']}: {_free(sku)} free seat(s)")
    return ids, notes


def _plan_create(actions: EntraActions, where: Target, params: Mapping[str, Any]) -> ActionPlan:
    nickname = str(params.get("mailNickname") or "").strip()
    domain = str(params.get("domain") or "").strip().lstrip("@")
    if not nickname or not domain:
        raise EntraActionRefused("mailNickname and domain: give both (UPN = mailNickname@domain)")
    verified = {str(d["id"]).casefold() for d in actions.collect("domains") if d.get("isVerified")}
    if domain.casefold() not in verified:
        raise EntraActionRefused(f"The domain '@{domain}' is not valid.")
    upn = f"{nickname}@{domain}"
    body: dict[str, Any] = {
        "accountEnabled": bool(params.get("enabled", True)),
        "displayName": str(params.get("displayName") or nickname),
        "mailNickname": nickname,
        "userPrincipalName": upn,
        "passwordProfile": {
            "forceChangePasswordNextSignIn": bool(params.get("must_change", True)),
            "password": str(params.get("password") or ""),
        },
    }
    if not body["passwordProfile"]["password"]:
        raise EntraActionRefused("password: give the initial password")
    for name in ("givenName", "surname", "department", "jobTitle", "usageLocation"):
        value = str(params.get(name) or "").strip()
        if value:
            body[name] = value
    licenses = list(params.get("licenses") or [])
    sku_ids, notes = _sku_ids(actions, licenses, "licenses") if licenses else ([], [])
    if sku_ids and "usageLocation" not in body:
        raise EntraActionRefused("usageLocation: a user given licenses needs a usage location")
    calls = [GraphCall(method="POST", path="users", body=body)]
    if sku_ids:
        calls.append(
            GraphCall(
                method="POST",
                path="users/{id}/assignLicense",
                body={
                    "addLicenses": [{"skuId": s, "disabledPlans": []} for s in sku_ids],
                    "removeLicenses": [],
                },
            )
        )
    for unit in where.admin_units:
        calls.append(
            GraphCall(
                method="POST",
                path=f"directory/administrativeUnits/{unit}/members/$ref",
                body=directory_object_ref("{id}"),
            )
        )
    edits = [
        Edit(field="userPrincipalName", before=None, after=(upn,)),
        Edit(field="displayName", before=None, after=(body["displayName"],)),
        Edit(field="passwordProfile", before=None, after=None, secret=True),
    ]
    edits += [
        Edit(field=k, before=None, after=(str(body[k]),))
        for k in ("givenName", "surname", "department", "jobTitle", "usageLocation")
        if k in body
    ]
    if licenses:
        edits.append(Edit(field="assignedLicenses", before=None, after=tuple(licenses)))
    return ActionPlan(
        action="entra.user.create",
        path=where.path,
        new_path=upn,
        edits=tuple(edits),
        notes=tuple(notes),
        calls=tuple(calls),
    )


def _plan_invite(actions: EntraActions, where: Target, params: Mapping[str, Any]) -> ActionPlan:
    address = str(params.get("email") or "").strip()
    if "@" not in address:
        raise EntraActionRefused("email: give the guest's e-mail address")
    redirect = str(params.get("redirect_url") or "https://myapps.microsoft.com").strip()
    if not redirect.startswith("https://"):
        raise EntraActionRefused("redirect_url: must be an https:// address")
    body: dict[str, Any] = {
        "invitedUserEmailAddress": address,
        "inviteRedirectUrl": redirect,
        "sendInvitationMessage": bool(params.get("send_message", True)),
    }
    if params.get("displayName"):
        body["invitedUserDisplayName"] = str(params["displayName"])
    if params.get("message"):
        body["invitedUserMessageInfo"] = {"customizedMessageBody": str(params["message"])}
    edits = [
        Edit(field="invitedUserEmailAddress", before=None, after=(address,)),
        Edit(field="inviteRedirectUrl", before=None, after=(redirect,)),
    ]
    note = "an invitation e-mail is sent" if body["sendInvitationMessage"] else "no e-mail sent"
    return ActionPlan(
        action="entra.user.invite",
        path=where.path,
        new_path=address,
        edits=tuple(edits),
        notes=(note,),
        calls=(GraphCall(method="POST", path="invitations", body=body),),
    )


def _plan_edit(actions: EntraActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    needs_user(target, "entra.user.edit")
    changes = params.get("fields")
    if not isinstance(changes, Mapping) or not changes:
        raise EntraActionRefused("fields: give at least one property and its new value")
    body: dict[str, Any] = {}
    edits = []
    for name, value in changes.items():
        if name not in EDITABLE:
            raise EntraActionRefused(
                f"fields: {name!r} cannot be edited here (editable: {', '.join(EDITABLE)})"
            )
        new: Any = None if value in ("", None) else value
        if name == "businessPhones":
            new = [] if new is None else ([new] if isinstance(new, str) else list(new))
        if _shown(target.fields.get(name)) != _shown(new):
            body[name] = new
            edits.append(
                Edit(field=name, before=_shown(target.fields.get(name)), after=_shown(new))
            )
    calls = (GraphCall(method="PATCH", path=f"users/{target.path}", body=body),) if body else ()
    notes = () if edits else ("every value is already as asked: nothing to do",)
    return ActionPlan(
        action="entra.user.edit", path=target.path, edits=tuple(edits), notes=notes, calls=calls
    )


def _plan_licenses(actions: EntraActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    needs_user(target, "entra.user.assign-licenses")
    add, notes = _sku_ids(actions, list(params.get("add") or []), "add")
    remove, _ = _sku_ids(actions, list(params.get("remove") or []), "remove")
    held = [str(x["skuId"]) for x in target.fields.get("assignedLicenses") or []]
    after = [s for s in held if s not in remove] + [s for s in add if s not in held]
    if after == held:
        return ActionPlan(
            action="entra.user.assign-licenses",
            path=target.path,
            notes=("the licenses are already as asked",),
        )
    call = GraphCall(
        method="POST",
        path=f"users/{target.path}/assignLicense",
        body={
            "addLicenses": [{"skuId": s, "disabledPlans": []} for s in add if s not in held],
            "removeLicenses": [s for s in remove if s in held],
        },
    )
    edit = Edit(field="assignedLicenses", before=_shown(held), after=_shown(after))
    return ActionPlan(
        action="entra.user.assign-licenses",
        path=target.path,
        edits=(edit,),
        notes=tuple(notes),
        calls=(call,),
    )


def _plan_member(
    actions: EntraActions, target: Target, params: Mapping[str, Any], *, add: bool
) -> ActionPlan:
    action = "entra.group.add-member" if add else "entra.group.remove-member"
    if target.object_kind != "group":
        raise EntraActionRefused(
            f"{action} works on groups; {target.path} is a {target.object_kind}"
        )
    member = actions.find(str(params.get("member") or ""))
    members = {
        str(m["id"]) for m in actions.collect(f"groups/{target.path}/members", **{"$select": "id"})
    }
    name = str(
        member.fields.get("userPrincipalName") or member.fields.get("displayName") or member.path
    )
    if add == (member.path in members):
        state = "already a member" if add else "not a member"
        return ActionPlan(action=action, path=target.path, notes=(f"{name} is {state}",))
    notes: tuple[str, ...] = ()
    if target.fields.get("isAssignableToRole"):
        notes = ("a role-assignable group: its members hold its directory roles",)
    if target.fields.get("visibility") == "HiddenMembership":
        notes += (
            "a group with hidden membership: only its members, its owners and readers holding"
            " Member.Read.Hidden see who is in it",
        )
    if add:
        call = GraphCall(
            method="POST",
            path=f"groups/{target.path}/members/$ref",
            body=directory_object_ref(member.path),
        )
        edit = Edit(field="members", before=None, after=(name,))
    else:
        call = GraphCall(method="DELETE", path=f"groups/{target.path}/members/{member.path}/$ref")
        edit = Edit(field="members", before=(name,), after=None)
    return ActionPlan(action=action, path=target.path, edits=(edit,), notes=notes, calls=(call,))


def user_methods(actions: EntraActions, target: Target) -> list[dict[str, Any]]:
    return actions.collect(f"users/{target.path}/authentication/methods")


def method_label(method: Mapping[str, Any]) -> str:
    kind = str(method.get("@odata.type", "")).rsplit(".", 1)[-1].replace("AuthenticationMethod", "")
    detail = method.get("phoneNumber") or method.get("emailAddress") or method.get("displayName")
    return f"{kind} {method['id']}" + (f" ({detail})" if detail else "")


def _plan_list_methods(
    actions: EntraActions, target: Target, params: Mapping[str, Any]
) -> ActionPlan:
    needs_user(target, "entra.user.list-methods")
    labels = tuple(method_label(m) for m in user_methods(actions, target))
    return ActionPlan(
        action="entra.user.list-methods",
        path=target.path,
        notes=labels or ("no methods registered",),
    )


def _plan_remove_method(
    actions: EntraActions, target: Target, params: Mapping[str, Any]
) -> ActionPlan:
    needs_user(target, "entra.user.remove-method")
    wanted = str(params.get("method") or "").strip()
    methods = {str(m["id"]): m for m in user_methods(actions, target)}
    method = methods.get(wanted)
    if method is None:
        listed = ", ".join(method_label(m) for m in methods.values()) or "none"
        raise EntraActionRefused(f"method: the user has no method {wanted!r} (has: {listed})")
    collection = METHOD_PATHS.get(str(method.get("@odata.type")))
    if collection is None:
        raise EntraActionRefused(f"method: {method_label(method)} cannot be removed")
    call = GraphCall(
        method="DELETE", path=f"users/{target.path}/authentication/{collection}/{wanted}"
    )
    edit = Edit(field="authenticationMethods", before=(method_label(method),), after=None)
    return ActionPlan(
        action="entra.user.remove-method", path=target.path, edits=(edit,), calls=(call,)
    )


def _plan_tap(actions: EntraActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    needs_user(target, "entra.user.issue-tap")
    try:
        minutes = int(params.get("lifetime_minutes") or 60)
    except (TypeError, ValueError):
        raise EntraActionRefused("lifetime_minutes: a whole number of minutes") from None
    if not 10 <= minutes <= 43200:
        raise EntraActionRefused("lifetime_minutes: between 10 and 43200 (30 days)")
    once = bool(params.get("usable_once", True))
    call = GraphCall(
        method="POST",
        path=f"users/{target.path}/authentication/temporaryAccessPassMethods",
        body={"lifetimeInMinutes": minutes, "isUsableOnce": once},
        reveals="temporaryAccessPass",
    )
    edit = Edit(field="authenticationMethods", before=None, after=None, secret=True)
    return ActionPlan(
        action="entra.user.issue-tap",
        path=target.path,
        edits=(edit,),
        notes=(
            f"valid {minutes} minutes" + (", usable once" if once else ""),
            "the pass is shown once, after you confirm",
        ),
        calls=(call,),
    )


def _plan_mfa(actions: EntraActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    needs_user(target, "entra.user.set-mfa-state")
    wanted = str(params.get("state") or "").strip().lower()
    if wanted not in MFA_STATES:
        raise EntraActionRefused(f"state: one of {', '.join(MFA_STATES)}, not {wanted!r}")
    path = f"users/{target.path}/authentication/requirements"
    try:
        current = str(actions.graph.get(path, api_version="beta").get("perUserMfaState"))
    except Exception as error:  # GraphError: said with the path
        raise EntraActionRefused(f"reading the MFA state: {error}") from None
    if current == wanted:
        return ActionPlan(
            action="entra.user.set-mfa-state", path=target.path, notes=(f"already {wanted}",)
        )
    call = GraphCall(
        method="PATCH", path=path, api_version="beta", body={"perUserMfaState": wanted}
    )
    edit = Edit(field="perUserMfaState", before=(current,), after=(wanted,))
    return ActionPlan(
        action="entra.user.set-mfa-state", path=target.path, edits=(edit,), calls=(call,)
    )


def _plan_sync_profile(
    actions: EntraActions, target: Target, params: Mapping[str, Any]
) -> ActionPlan:
    needs_user(target, "entra.user.sync-profile")
    if target.fields.get("onPremisesSyncEnabled"):
        raise EntraActionRefused(
            f"{target.fields.get('userPrincipalName')} is synchronized from AD by Entra Connect:"
            " its profile follows the AD account already (change it in AD)"
        )
    profile = params.get("_ad-profile")
    if not isinstance(profile, Mapping):
        raise EntraActionRefused("the AD account was not read")
    body: dict[str, Any] = {}
    edits = []
    for name, value in dict(profile["values"]).items():
        current = target.fields.get(name)
        if name == "businessPhones":
            value = list(value or [])
        if _shown(current) != _shown(value):
            body[name] = value
            edits.append(Edit(field=name, before=_shown(current), after=_shown(value)))
    calls = (GraphCall(method="PATCH", path=f"users/{target.path}", body=body),) if body else ()
    notes = (f"from {profile['account']}",) + (() if edits else ("already the same",))
    return ActionPlan(
        action="entra.user.sync-profile",
        path=target.path,
        edits=tuple(edits),
        notes=notes,
        calls=calls,
    )


PLANNERS: dict[str, Planner] = {
    "entra.user.sync-profile": _plan_sync_profile,
    "entra.user.create": _plan_create,
    "entra.user.invite": _plan_invite,
    "entra.user.edit": _plan_edit,
    "entra.user.assign-licenses": _plan_licenses,
    "entra.group.add-member": lambda a, t, p: _plan_member(a, t, p, add=True),
    "entra.group.remove-member": lambda a, t, p: _plan_member(a, t, p, add=False),
    "entra.user.list-methods": _plan_list_methods,
    "entra.user.remove-method": _plan_remove_method,
    "entra.user.issue-tap": _plan_tap,
    "entra.user.set-mfa-state": _plan_mfa,
}


def planners() -> dict[str, Planner]:
    """Every Entra planner, by action key."""
    from dirguard.providers.entra.admin_planners_devices import DEVICE_PLANNERS
    from dirguard.providers.entra.admin_planners_lifecycle import LIFECYCLE_PLANNERS

    return {**PLANNERS, **LIFECYCLE_PLANNERS, **DEVICE_PLANNERS}
