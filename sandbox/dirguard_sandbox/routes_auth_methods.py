"""``/users/{id}/authentication``: the user's registered methods (all of them under ``methods``,
and one collection per kind: phone, email, Microsoft Authenticator, FIDO2, software OATH and
Temporary Access Pass); the beta per-user MFA state is in ``routes_mfa_requirements``.

Phone and email methods carry Graph's fixed ids (one per phone type, one email); a Temporary
Access Pass is shown in clear only in the answer that creates it. Every change is logged as the
Authentication Methods service logs it (``Admin registered security info``...).

A signed-in (delegated) caller reads their own methods; another user's only with a role that
reads methods (``readable_user``), and changes them only with one that manages them
(``writable_user``). App-only callers are limited by their application permissions alone.
"""

from __future__ import annotations

import datetime
import re
import secrets

from starlette.responses import Response

from dirguard_sandbox.audit import modified_properties, record_audit, target
from dirguard_sandbox.delegated_access import may_manage_methods_of, may_read_methods_of
from dirguard_sandbox.directory_state import Json, graph_time, new_id
from dirguard_sandbox.errors import bad_request, insufficient_privileges, not_found
from dirguard_sandbox.graph_routing import Call, Handler, graph_json, handles, no_content
from dirguard_sandbox.odata_query import context_url, list_page, parse_query
from dirguard_sandbox.routes_roles import directory_role_ids
from dirguard_sandbox.routes_users import find_user
from dirguard_sandbox.seed_licensing_and_logs import EMAIL_METHOD_ID, PHONE_METHOD_IDS

_AUTH = "/users/{user-id}/authentication"
PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"  # noqa: S105 - an id, not a secret
"""The id Graph gives every user's password method."""
_PHONE_NUMBER = re.compile(r"^\+\d{1,3} \d{4,14}( x\d{1,6})?$")


# The collection segment, its OpenAPI item name and the type of its methods.
METHOD_KINDS: dict[str, tuple[str, str]] = {
    "phoneMethods": ("phoneAuthenticationMethod", "#microsoft.graph.phoneAuthenticationMethod"),
    "emailMethods": ("emailAuthenticationMethod", "#microsoft.graph.emailAuthenticationMethod"),
    "microsoftAuthenticatorMethods": (
        "microsoftAuthenticatorAuthenticationMethod",
        "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
    ),
    "fido2Methods": ("fido2AuthenticationMethod", "#microsoft.graph.fido2AuthenticationMethod"),
    "softwareOathMethods": (
        "softwareOathAuthenticationMethod",
        "#microsoft.graph.softwareOathAuthenticationMethod",
    ),
    "temporaryAccessPassMethods": (
        "temporaryAccessPassAuthenticationMethod",
        "#microsoft.graph.temporaryAccessPassAuthenticationMethod",
    ),
}


def writable_user(call: Call) -> Json:
    """The user whose methods a write changes; a signed-in caller must be allowed to manage
    that user's methods (an Authentication Administrator only a non-admin's)."""
    user = find_user(call.state, call.param("user_id"))
    if "scp" in call.claims:
        caller_roles = [str(role) for role in call.claims.get("wids") or []]
        if not may_manage_methods_of(caller_roles, directory_role_ids(call.state, user["id"])):
            raise insufficient_privileges()
    return user


def readable_user(call: Call) -> Json:
    """The user whose methods a read shows; a signed-in caller reads their own, and another
    user's only with a role that reads methods (an Authentication Administrator only a
    non-admin's), as Graph's "List methods" page says."""
    user = find_user(call.state, call.param("user_id"))
    if "scp" in call.claims and call.claims.get("oid") != user["id"]:
        caller_roles = [str(role) for role in call.claims.get("wids") or []]
        if not may_read_methods_of(caller_roles, directory_role_ids(call.state, user["id"])):
            raise insufficient_privileges()
    return user


def _password_method(user: Json) -> Json:
    return {
        "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
        "id": PASSWORD_METHOD_ID,
        "createdDateTime": user.get("createdDateTime"),
        "password": None,
    }


def _methods(call: Call, user: Json) -> list[Json]:
    registered = call.state.auth_methods.get(user["id"], {})
    return [_password_method(user), *registered.values()]


def _as_of(record: Json, now: datetime.datetime) -> Json:
    """A method as it stands at ``now``: a Temporary Access Pass is not yet valid before its
    start, usable during its lifetime and expired after it."""
    if record["@odata.type"] != METHOD_KINDS["temporaryAccessPassMethods"][1]:
        return record
    start = datetime.datetime.fromisoformat(record["startDateTime"])
    end = start + datetime.timedelta(minutes=record["lifetimeInMinutes"])
    reason = "NotYetValid" if now < start else "Expired" if now >= end else "EnabledByPolicy"
    return {**record, "isUsable": reason == "EnabledByPolicy", "methodUsabilityReason": reason}


def _answer_list(call: Call, user: Json, collection: str, records: list[Json]) -> Response:
    now = call.state.now()
    records = [_as_of(record, now) for record in records]
    known = {"id", "createdDateTime"}
    for record in records:
        known.update(name for name in record if not name.startswith("@"))
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=frozenset(known),
        type_name="authenticationMethod",
    )
    body = list_page(
        records,
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set=f"users('{user['id']}')/authentication/{collection}",
        default_select=None,
    )
    types = {record["id"]: record["@odata.type"] for record in records}
    body["value"] = [
        {"@odata.type": types[item["id"]], **item} if "id" in item else item
        for item in body["value"]
    ]
    return graph_json(body)


def _answer_one(
    call: Call, user: Json, collection: str, record: Json, status: int = 200
) -> Response:
    entity_set = f"users('{user['id']}')/authentication/{collection}"
    return graph_json(
        {
            "@odata.context": context_url(call.graph_base, entity_set, None) + "/$entity",
            **_as_of(record, call.state.now()),
        },
        status,
    )


def _audit(call: Call, user: Json, activity: str, operation: str, changes: list[Json]) -> None:
    entry = record_audit(
        call.state,
        actor=call.actor,
        activity=activity,
        category="UserManagement",
        operation_type=operation,
        targets=[target(call.state, user["id"], user, changes)],
    )
    entry["loggedByService"] = "Authentication Methods"


@handles("GET", f"{_AUTH}/methods")
async def list_methods(call: Call) -> Response:
    user = readable_user(call)
    return _answer_list(call, user, "methods", _methods(call, user))


@handles("GET", f"{_AUTH}/methods/{{authenticationMethod-id}}")
async def get_method(call: Call) -> Response:
    user = readable_user(call)
    wanted = call.param("authenticationMethod_id")
    for record in _methods(call, user):
        if record["id"] == wanted:
            return _answer_one(call, user, "methods", record)
    raise not_found(wanted)


def _of_kind(call: Call, user: Json, collection: str) -> list[Json]:
    odata_type = METHOD_KINDS[collection][1]
    registered = call.state.auth_methods.get(user["id"], {})
    return [record for record in registered.values() if record["@odata.type"] == odata_type]


def _find(call: Call, user: Json, collection: str) -> Json:
    item = METHOD_KINDS[collection][0]
    wanted = call.param(f"{item}_id")
    for record in _of_kind(call, user, collection):
        if record["id"] == wanted:
            return record
    raise not_found(wanted)


def _described(record: Json) -> Json:
    """What an audit shows of a method: its kind and non-secret identifying detail."""
    detail = {
        name: record.get(name)
        for name in ("phoneNumber", "phoneType", "emailAddress", "displayName", "model")
        if record.get(name) is not None
    }
    return {"methodType": record["@odata.type"].rsplit(".", 1)[1], **detail}


def _list_handler(collection: str) -> Handler:
    async def list_kind(call: Call) -> Response:
        user = readable_user(call)
        return _answer_list(call, user, collection, _of_kind(call, user, collection))

    return list_kind


def _get_handler(collection: str) -> Handler:
    async def get_kind(call: Call) -> Response:
        user = readable_user(call)
        return _answer_one(call, user, collection, _find(call, user, collection))

    return get_kind


def _delete_handler(collection: str) -> Handler:
    async def delete_kind(call: Call) -> Response:
        state = call.state
        user = writable_user(call)
        record = _find(call, user, collection)
        del state.auth_methods[user["id"]][record["id"]]
        state.bump(user["id"])
        changes = modified_properties({"method": _described(record)}, {}, ["method"])
        _audit(call, user, "Admin deleted security info", "Delete", changes)
        return no_content()

    return delete_kind


for _collection, (_item, _type) in METHOD_KINDS.items():
    handles("GET", f"{_AUTH}/{_collection}")(_list_handler(_collection))
    handles("GET", f"{_AUTH}/{_collection}/{{{_item}-id}}")(_get_handler(_collection))
    handles("DELETE", f"{_AUTH}/{_collection}/{{{_item}-id}}")(_delete_handler(_collection))


def _only(body: Json, allowed: tuple[str, ...], resource: str) -> None:
    for name in body:
        if name not in allowed and name != "@odata.type":
            raise bad_request(
                f"Property '{name}' does not exist as a declared property or extension property "
                f"of resource '{resource}'."
            )


def _register(call: Call, user: Json, record: Json, activity: str) -> None:
    state = call.state
    state.auth_methods.setdefault(user["id"], {})[record["id"]] = record
    state.bump(user["id"])
    changes = modified_properties({}, {"method": _described(record)}, ["method"])
    _audit(call, user, activity, "Add", changes)


@handles("POST", f"{_AUTH}/phoneMethods")
async def add_phone_method(call: Call) -> Response:
    user = writable_user(call)
    body = await call.body()
    _only(body, ("phoneNumber", "phoneType"), "phoneAuthenticationMethod")
    number, phone_type = _phone_fields(body)
    method_id = PHONE_METHOD_IDS[phone_type]
    if method_id in call.state.auth_methods.get(user["id"], {}):
        raise bad_request(f"The user already has a phone method of type '{phone_type}'.")
    record: Json = {
        "@odata.type": METHOD_KINDS["phoneMethods"][1],
        "id": method_id,
        "createdDateTime": graph_time(call.state.now()),
        "phoneNumber": number,
        "phoneType": phone_type,
        "smsSignInState": "notEnabled" if phone_type == "mobile" else "notSupported",
    }
    _register(call, user, record, "Admin registered security info")
    return _answer_one(call, user, "phoneMethods", record, 201)


@handles("POST", f"{_AUTH}/emailMethods")
async def add_email_method(call: Call) -> Response:
    user = writable_user(call)
    body = await call.body()
    _only(body, ("emailAddress",), "emailAuthenticationMethod")
    address = body.get("emailAddress")
    if not isinstance(address, str) or "@" not in address.strip("@"):
        raise bad_request(f"Invalid value '{address}' for property 'emailAddress'.")
    if EMAIL_METHOD_ID in call.state.auth_methods.get(user["id"], {}):
        raise bad_request("The user already has an email method.")
    record: Json = {
        "@odata.type": METHOD_KINDS["emailMethods"][1],
        "id": EMAIL_METHOD_ID,
        "createdDateTime": graph_time(call.state.now()),
        "emailAddress": address,
    }
    _register(call, user, record, "Admin registered security info")
    return _answer_one(call, user, "emailMethods", record, 201)


@handles("GET", f"{_AUTH}/passwordMethods")
async def list_password_methods(call: Call) -> Response:
    user = readable_user(call)
    return _answer_list(call, user, "passwordMethods", [_password_method(user)])


@handles("GET", f"{_AUTH}/passwordMethods/{{passwordAuthenticationMethod-id}}")
async def get_password_method(call: Call) -> Response:
    user = readable_user(call)
    wanted = call.param("passwordAuthenticationMethod_id")
    if wanted != PASSWORD_METHOD_ID:
        raise not_found(wanted)
    return _answer_one(call, user, "passwordMethods", _password_method(user))


def _phone_fields(body: Json) -> tuple[str, str]:
    number, phone_type = body.get("phoneNumber"), body.get("phoneType")
    if phone_type not in PHONE_METHOD_IDS:
        raise bad_request(
            f"Invalid value '{phone_type}' for property 'phoneType': use one of "
            f"{', '.join(PHONE_METHOD_IDS)}."
        )
    if not isinstance(number, str) or not _PHONE_NUMBER.match(number):
        raise bad_request(
            f"Invalid phone number '{number}': use the form '+{{country code}} {{number}}', "
            "for example '+1 2065555555'."
        )
    return number, phone_type


async def _update(call: Call, collection: str, allowed: tuple[str, ...]) -> Response:
    state = call.state
    user = writable_user(call)
    record = _find(call, user, collection)
    body = await call.body()
    _only(body, allowed, METHOD_KINDS[collection][0])
    changed = {**record, **body}
    if collection == "phoneMethods":
        number, phone_type = _phone_fields(changed)
        if phone_type != record["phoneType"]:
            raise bad_request("'phoneType' of a phone method cannot change: add a new method.")
        changed["phoneNumber"] = number
    elif not isinstance(changed.get("emailAddress"), str) or "@" not in changed["emailAddress"]:
        raise bad_request(f"Invalid value '{changed.get('emailAddress')}' for 'emailAddress'.")
    state.auth_methods[user["id"]][record["id"]] = changed
    state.bump(user["id"])
    changes = modified_properties(
        {"method": _described(record)}, {"method": _described(changed)}, ["method"]
    )
    _audit(call, user, "Admin updated security info", "Update", changes)
    return no_content()


@handles("PATCH", f"{_AUTH}/phoneMethods/{{phoneAuthenticationMethod-id}}")
async def update_phone_method(call: Call) -> Response:
    return await _update(call, "phoneMethods", ("phoneNumber", "phoneType"))


@handles("PATCH", f"{_AUTH}/emailMethods/{{emailAuthenticationMethod-id}}")
async def update_email_method(call: Call) -> Response:
    return await _update(call, "emailMethods", ("emailAddress",))


@handles("POST", f"{_AUTH}/temporaryAccessPassMethods")
async def add_temporary_access_pass(call: Call) -> Response:
    state = call.state
    user = writable_user(call)
    body = await call.body()
    _only(
        body,
        ("startDateTime", "lifetimeInMinutes", "isUsableOnce"),
        "temporaryAccessPassAuthenticationMethod",
    )
    if _of_kind(call, user, "temporaryAccessPassMethods"):
        raise bad_request("The user already has a Temporary Access Pass; delete it first.")
    lifetime = body.get("lifetimeInMinutes", 60)
    if not isinstance(lifetime, int) or isinstance(lifetime, bool) or not 10 <= lifetime <= 43200:
        raise bad_request("'lifetimeInMinutes' must be a whole number from 10 to 43200.")
    usable_once = body.get("isUsableOnce", False)
    if not isinstance(usable_once, bool):
        raise bad_request("'isUsableOnce' must be true or false.")
    now = state.now()
    start = now
    if body.get("startDateTime") is not None:
        try:
            start = datetime.datetime.fromisoformat(str(body["startDateTime"]))
        except ValueError as error:
            raise bad_request(f"Invalid 'startDateTime': {body['startDateTime']!r}.") from error
        if start.tzinfo is None:
            raise bad_request("'startDateTime' needs a time zone (for example a trailing Z).")
    record: Json = {
        "@odata.type": METHOD_KINDS["temporaryAccessPassMethods"][1],
        "id": new_id(),
        "createdDateTime": graph_time(now),
        "startDateTime": graph_time(start),
        "lifetimeInMinutes": lifetime,
        "isUsableOnce": usable_once,
        "isUsable": start <= now,
        "methodUsabilityReason": "EnabledByPolicy" if start <= now else "NotYetValid",
        "temporaryAccessPass": None,
    }
    _register(call, user, record, "Admin registered temporary access pass method for user")
    shown = {**record, "temporaryAccessPass": secrets.token_urlsafe(6)[:8]}
    return _answer_one(call, user, "temporaryAccessPassMethods", shown, 201)
