"""The answers of writes on authentication methods, licenses and invitations, and a listing with
every kind of authentication method, held against Microsoft's v1.0 CSDL (the GET answers are in
``test_fidelity``)."""

from __future__ import annotations

from typing import Any

from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.docs_replay_directory import directory_value
from tests.sandbox.test_fidelity import _problems


def test_write_answers_and_every_method_kind_exist_in_the_csdl(
    graph_sandbox: RunningSandbox,
) -> None:
    state = graph_sandbox.state
    user_id = list(state.users)[3]
    base = f"/users/{user_id}/authentication"
    answers: list[tuple[str, Any]] = []
    with graph_sandbox.client() as client:
        for kind in (
            "fido2AuthenticationMethod",
            "softwareOathAuthenticationMethod",
            "microsoftAuthenticatorAuthenticationMethod",
            "emailAuthenticationMethod",
            "phoneAuthenticationMethod",
        ):
            directory_value(client, state, f"{kind}-id", base, "GET", {"user-id": user_id})
        invited = client.post(
            "/invitations",
            json={
                "invitedUserEmailAddress": "csdl@partner.example",
                "inviteRedirectUrl": "https://myapps.microsoft.com",
            },
        )
        answers.append(("invitation", invited))
        answers.append(
            (
                "temporaryAccessPassAuthenticationMethod",
                client.post(f"{base}/temporaryAccessPassMethods", json={}),
            )
        )
        answers.append(
            (
                "user",
                client.post(
                    f"/users/{user_id}/assignLicense",
                    json={"addLicenses": [], "removeLicenses": []},
                ),
            )
        )
        guest_id = invited.json()["invitedUser"]["id"]
        every = ",".join(state.users[guest_id])
        answers.append(("user", client.get(f"/users/{guest_id}", params={"$select": every})))
        methods = client.get(f"{base}/methods")
    problems = []
    for type_name, answer in answers:
        assert answer.status_code in {200, 201}, answer.text
        problems += _problems(answer.json(), f"microsoft.graph.{type_name}", type_name)
    kinds = {item["@odata.type"] for item in methods.json()["value"]}
    assert len(kinds) == 7, kinds
    for item in methods.json()["value"]:
        problems += _problems(item, "microsoft.graph.authenticationMethod", item["@odata.type"])
    assert problems == []
