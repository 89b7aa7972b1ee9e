"""Terms of use agreements (``identityGovernance/termsOfUse/agreements``) as Microsoft's pages
describe them: a signed-in user with Agreement.Read.All lists and gets them, one with
Agreement.ReadWrite.All creates (with a base64 file) and deletes them, each write audited; an
application token is refused whatever it holds ("Application: Not supported",
https://learn.microsoft.com/graph/api/agreement-get), and ``msgraph-sdk``'s model parses every
answer with nothing unknown. The delegated tokens are signed by the sandbox's own key with the
claims its sign-in issues (``oidc_flow.delegated_tokens``)."""

from __future__ import annotations

import base64
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dirguard_sandbox.app import build_app
from dirguard_sandbox.role_catalog import GLOBAL_ADMINISTRATOR
from dirguard_sandbox.seed_data import SeedOptions, generate_tenant
from dirguard_sandbox.server import describe
from dirguard_sandbox.tokens import GRAPH_AUDIENCE, TokenSigner
from tests.fixtures.graph_sandbox import _SyncAsgiClient

PATH = "/v1.0/identityGovernance/termsOfUse/agreements"


class Tenant:
    def __init__(self) -> None:
        self.state = generate_tenant(SeedOptions(users=5, seed=3))
        self.signer = TokenSigner()
        self.http = _SyncAsgiClient(build_app(self.state, self.signer, throttling=False))
        self.info = describe(self.state, 0, Path("unused-ca.pem"))
        self.user_id = next(iter(self.state.users))

    def delegated(self, scopes: str, roles: list[str]) -> dict[str, str]:
        now = int(time.time())
        user = self.state.users[self.user_id]
        claims: dict[str, Any] = {
            "aud": GRAPH_AUDIENCE,
            "iss": f"https://sts.windows.net/{self.state.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "appid": self.info.full_client_id,
            "app_displayname": "dirguard test",
            "idtyp": "user",
            "oid": self.user_id,
            "scp": scopes,
            "sub": uuid.uuid4().hex,
            "tid": self.state.tenant_id,
            "upn": user["userPrincipalName"],
            "uti": uuid.uuid4().hex[:22],
            "ver": "1.0",
            "wids": roles,
        }
        return {"Authorization": f"Bearer {self.signer.sign(claims)}"}

    def app_only(self) -> dict[str, str]:
        answer = self.http.post(
            f"/{self.state.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.info.full_client_id,
                "client_secret": self.info.full_client_secret,
                "scope": "https://graph.microsoft.com/.default",
            },
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def tenant() -> Iterator[Tenant]:
    made = Tenant()
    yield made
    made.http.close()


def _parse(body: dict[str, Any]) -> Any:
    pytest.importorskip("msgraph")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from kiota_serialization_json.json_parse_node import JsonParseNode
        from msgraph.generated.models.agreement import Agreement
    plain = {k: v for k, v in body.items() if not k.startswith("@odata.context")}
    parsed = JsonParseNode(plain).get_object_value(Agreement)
    assert parsed.additional_data == {}
    return parsed


def test_a_reader_lists_and_gets_the_tenants_agreements(tenant: Tenant) -> None:
    reader = tenant.delegated("Agreement.Read.All", [])
    listed = tenant.http.get(PATH, headers=reader)
    assert listed.status_code == 200, listed.text
    [seeded] = listed.json()["value"]
    assert _parse(seeded).display_name == "Contoso terms of use"
    one = tenant.http.get(f"{PATH}/{seeded['id']}?$select=id,displayName", headers=reader)
    assert one.status_code == 200
    assert {k for k in one.json() if not k.startswith("@")} == {"id", "displayName"}
    assert tenant.http.get(f"{PATH}/{uuid.uuid4()}", headers=reader).status_code == 404


def test_an_application_token_is_refused_as_microsoft_documents(tenant: Tenant) -> None:
    answer = tenant.http.get(PATH, headers=tenant.app_only())
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "Authorization_RequestDenied"


def test_create_and_delete_are_audited_and_need_the_write_permission(tenant: Tenant) -> None:
    body = {
        "displayName": "Partner terms",
        "isViewingBeforeAcceptanceRequired": True,
        "files": [
            {
                "fileName": "terms.pdf",
                "language": "en",
                "isDefault": True,
                "fileData": {"data": base64.b64encode(b"%PDF-1.4 terms").decode()},
            }
        ],
    }
    reader = tenant.delegated("Agreement.Read.All", [GLOBAL_ADMINISTRATOR])
    assert tenant.http.post(PATH, json=body, headers=reader).status_code == 403
    writer = tenant.delegated("Agreement.ReadWrite.All", [GLOBAL_ADMINISTRATOR])
    missing = tenant.http.post(PATH, json={**body, "files": []}, headers=writer)
    assert missing.status_code == 400 and "files" in missing.json()["error"]["message"]
    created = tenant.http.post(PATH, json=body, headers=writer)
    assert created.status_code == 201, created.text
    agreement = _parse(created.json())
    assert (
        agreement.display_name == "Partner terms"
        and agreement.is_viewing_before_acceptance_required
    )
    assert "files" not in created.json(), "the file is a navigation property"
    gone = tenant.http.delete(f"{PATH}/{agreement.id}", headers=writer)
    assert gone.status_code == 204
    assert tenant.http.get(f"{PATH}/{agreement.id}", headers=writer).status_code == 404
    activities = [entry["activityDisplayName"] for entry in tenant.state.audits]
    assert activities[-2:] == ["Add agreement", "Delete agreement"]
