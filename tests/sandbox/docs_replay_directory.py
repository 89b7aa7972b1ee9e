"""Sandbox ids for the docs-example replay's placeholders of authentication methods,
administrative units, contacts, sign-ins and subscribed SKUs (``docs_replay_tenant`` asks here
before giving up on a parameter).

Methods Graph lets an administrator create (phone, email, Temporary Access Pass) are made through
the sandbox's Graph API; the ones only a person can enrol (Authenticator, FIDO2, software OATH)
are written into the tenant's state as an enrolment would leave them.
"""

from __future__ import annotations

from typing import Any

import httpx

from dirguard_sandbox.directory_state import DirectoryState, graph_time, new_id

PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"
_CREATE_BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "phoneAuthenticationMethod": (
        "phoneMethods",
        {"phoneNumber": "+1 2065550100", "phoneType": "mobile"},
    ),
    "emailAuthenticationMethod": ("emailMethods", {"emailAddress": "replay@personal.example"}),
    "temporaryAccessPassAuthenticationMethod": ("temporaryAccessPassMethods", {}),
}
_ENROLLED: dict[str, dict[str, Any]] = {
    "microsoftAuthenticatorAuthenticationMethod": {
        "deviceTag": "SoftwareTokenActivated",
        "displayName": "Pixel 8",
        "phoneAppVersion": "6.2401.0119",
    },
    "fido2AuthenticationMethod": {
        "aaGuid": "cb69481e-8ff7-4039-93ec-0a2729a154a8",
        "attestationCertificates": [],
        "attestationLevel": "attested",
        "displayName": "Security key",
        "model": "YubiKey 5",
    },
    "softwareOathAuthenticationMethod": {"secretKey": None},
}


def _ok(answer: httpx.Response) -> Any:
    assert answer.is_success, f"{answer.request.method} {answer.request.url}: {answer.text}"
    return answer.json() if answer.content else None


def _method(client: httpx.Client, state: DirectoryState, user_id: str, kind: str) -> str:
    if kind == "authenticationMethod":
        return PASSWORD_METHOD_ID
    odata_type = f"#microsoft.graph.{kind}"
    for method in state.auth_methods.get(user_id, {}).values():
        if method["@odata.type"] == odata_type:
            return str(method["id"])
    if kind in _CREATE_BODIES:
        collection, body = _CREATE_BODIES[kind]
        created = _ok(client.post(f"/users/{user_id}/authentication/{collection}", json=body))
        return str(created["id"])
    method_id = new_id()
    state.auth_methods.setdefault(user_id, {})[method_id] = {
        "@odata.type": odata_type,
        "id": method_id,
        "createdDateTime": graph_time(state.now()),
        **_ENROLLED[kind],
    }
    return method_id


def _unit(client: httpx.Client, state: DirectoryState, *, fresh: bool) -> str:
    if not fresh:
        for unit_id, unit in state.administrative_units.items():
            if unit["membershipType"] == "Assigned" and not unit["isMemberManagementRestricted"]:
                return unit_id
    created = _ok(client.post("/directory/administrativeUnits", json={"displayName": "Replay"}))
    return str(created["id"])


def directory_value(
    client: httpx.Client,
    state: DirectoryState,
    name: str,
    template: str,
    method: str,
    earlier: dict[str, str],
) -> str | None:
    """The sandbox id for ``{name}`` in ``template``, or None when it is not one of these."""
    kind = name.removesuffix("-id")
    if kind.endswith("uthenticationMethod"):
        return _method(client, state, earlier["user-id"], kind)
    if name == "administrativeUnit-id":
        deleting = method == "DELETE" and template.endswith("{administrativeUnit-id}")
        return _unit(client, state, fresh=deleting)
    if name == "orgContact-id":
        contact_id = next(iter(state.contacts))
        if template.endswith("/manager"):
            # A contact's manager comes from directory synchronization (Graph v1.0 has no call
            # that sets it), so the tenant is arranged with one directly.
            state.managers.setdefault(contact_id, next(iter(state.users)))
        return contact_id
    if name == "signIn-id":
        return str(state.sign_in_log[-1]["id"])
    if name == "subscribedSku-id":
        return next(iter(state.subscribed_skus))
    devices = {
        "device-id": state.devices,
        "managedDevice-id": state.managed_devices,
        "deviceLocalCredentialInfo-id": state.device_local_credentials,
    }.get(name)
    if devices is not None:
        # A delete takes the last one, so that every other example still finds the first.
        return list(devices)[-1] if method == "DELETE" else next(iter(devices))
    return None
