"""The Graph client against the sandbox over a long run: tokens renewed before they expire and
after Graph rejects one, the caller none the wiser; and the API version each call asks for."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from azure.core.credentials import AccessToken

from dirguard.providers.entra.graph_client import (
    REFRESH_MARGIN,
    GraphClient,
    GraphError,
    make_credential,
)
from dirguard_sandbox.throttling import ManualClock
from tests.fixtures.graph_sandbox import RunningSandbox, start_sandbox

MFA_STATE = "/users/{id}/authentication/requirements"


class Clock:
    """A clock the test moves by hand, in seconds since the epoch; starts at the real time."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SandboxTokens:
    """App-only tokens straight from the sandbox's token endpoint, a new one per call, with
    ``expires_on`` on the test's clock.

    azure-identity keeps its token cache by the real clock, so after the test moves its clock
    an hour on, azure-identity would (rightly) still hand out the token it holds; this
    credential has no cache and lives on the test's clock instead. The tokens are real: the
    sandbox signs and checks them."""

    def __init__(self, sandbox: RunningSandbox, clock: Clock) -> None:
        self._sandbox = sandbox
        self._clock = clock
        self.issued: list[str] = []
        self.claims: list[str | None] = []

    def get_token(self, *scopes: str, claims: str | None = None, **_: Any) -> AccessToken:
        info = self._sandbox.info
        answer = httpx.post(
            f"{info.login_base}/{info.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": info.full_client_id,
                "client_secret": info.full_client_secret,
                "scope": " ".join(scopes),
            },
            verify=self._sandbox.tls(),
        )
        answer.raise_for_status()
        body = answer.json()
        self.issued.append(body["access_token"])
        self.claims.append(claims)
        return AccessToken(body["access_token"], int(self._clock() + body["expires_in"]))


class ExpiringTokens(httpx.BaseTransport):
    """The real transport to the sandbox, with token expiry judged on the test's clock.

    The sandbox issues tokens for an hour of real time (``TOKEN_LIFETIME_SECONDS``, not
    configurable, and the sandbox is not this project's to change here), and a test cannot wait
    an hour. So this transport, in front of httpx's real one, gives each bearer token its
    lifetime (``exp`` - ``iat``) on the test's clock from the moment it is first sent and, once
    that has passed (or the test revoked the token), sends the request on with the token's
    signature cut off: the sandbox itself then answers with its 401
    ``InvalidAuthenticationToken`` envelope. ``challenge`` adds the ``WWW-Authenticate`` claims
    challenge Graph sends for a token revoked under continuous access evaluation."""

    def __init__(self, sandbox: RunningSandbox, clock: Clock) -> None:
        self._inner = httpx.HTTPTransport(verify=sandbox.tls())
        self._clock = clock
        self.revoked: set[str] = set()
        self.revoke_all = False
        self.challenge: str | None = None
        self.sent: list[tuple[str, str, int]] = []
        """(path, token, status) of every request."""
        self._expiry: dict[str, float] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        token = request.headers["Authorization"].removeprefix("Bearer ")
        if token not in self._expiry:
            claims = jwt.decode(token, options={"verify_signature": False})
            self._expiry[token] = self._clock() + claims["exp"] - claims["iat"]
        expired = self._expiry[token] <= self._clock()
        rejected = self.revoke_all or token in self.revoked or expired
        if rejected:
            request.headers["Authorization"] = f"Bearer {token.rsplit('.', 1)[0]}.cut"
        answer = self._inner.handle_request(request)
        self.sent.append((request.url.path, token, answer.status_code))
        if rejected and self.challenge is not None:
            answer.read()
            claims = base64.b64encode(self.challenge.encode()).decode()
            headers = {
                **answer.headers,
                "WWW-Authenticate": 'Bearer realm="", authorization_uri="https://login.'
                f'microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", '
                f'claims="{claims}"',
            }
            return httpx.Response(answer.status_code, headers=headers, content=answer.content)
        return answer

    def close(self) -> None:
        self._inner.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def wire(graph_sandbox: RunningSandbox, clock: Clock) -> Iterator[ExpiringTokens]:
    transport = ExpiringTokens(graph_sandbox, clock)
    yield transport
    transport.close()


def _client(
    sandbox: RunningSandbox, credential: Any, clock: Clock, wire: ExpiringTokens
) -> GraphClient:
    return GraphClient(
        tenant_id=sandbox.info.tenant_id,
        credential=credential,
        graph_url=sandbox.info.login_base,
        ca_file=sandbox.info.ca_file,
        clock=clock,
        transport=wire,
    )


def _user_ids(graph: GraphClient) -> list[str]:
    return sorted(str(u["id"]) for u in graph.pages("/users", **{"$select": "id"}))


def test_a_token_about_to_expire_is_replaced_before_it_is_sent(
    graph_sandbox: RunningSandbox, clock: Clock, wire: ExpiringTokens
) -> None:
    tokens = SandboxTokens(graph_sandbox, clock)
    expected = sorted(graph_sandbox.state.users)
    with _client(graph_sandbox, tokens, clock, wire) as graph:
        assert _user_ids(graph) == expected
        clock.advance(3599 - REFRESH_MARGIN + 1)
        assert _user_ids(graph) == expected
        clock.advance(3 * 3600)
        assert _user_ids(graph) == expected
    assert len(tokens.issued) == 3
    assert [token for _, token, _ in wire.sent] == [tokens.issued[0]] + [tokens.issued[1]] * (
        len(wire.sent) - 2
    ) + [tokens.issued[2]]
    assert {status for _, _, status in wire.sent} == {200}


def test_a_token_graph_rejects_is_renewed_once_and_the_call_repeated(
    graph_sandbox: RunningSandbox, clock: Clock, wire: ExpiringTokens
) -> None:
    tokens = SandboxTokens(graph_sandbox, clock)
    user = next(iter(graph_sandbox.state.users))
    with _client(graph_sandbox, tokens, clock, wire) as graph:
        first = graph.token()
        wire.revoked.add(first)
        assert graph.get(f"/users/{user}")["id"] == user
    assert [(token, status) for _, token, status in wire.sent] == [
        (first, 401),
        (tokens.issued[1], 200),
    ]


def test_a_token_rejected_again_after_renewal_is_raised_without_a_loop(
    graph_sandbox: RunningSandbox, clock: Clock, wire: ExpiringTokens
) -> None:
    tokens = SandboxTokens(graph_sandbox, clock)
    wire.revoke_all = True
    with _client(graph_sandbox, tokens, clock, wire) as graph, pytest.raises(GraphError) as caught:
        graph.get("/organization")
    assert caught.value.status == 401
    assert caught.value.code == "InvalidAuthenticationToken"
    assert len(wire.sent) == 2
    assert len(tokens.issued) == 2


def _azure_identity(sandbox: RunningSandbox) -> Any:
    info = sandbox.info
    return make_credential(
        tenant_id=info.tenant_id,
        client_id=info.full_client_id,
        authority=info.login_base,
        ca_file=info.ca_file,
        client_secret=info.full_client_secret,
    )


def test_a_claims_challenge_gets_a_new_token_from_azure_identity(
    graph_sandbox: RunningSandbox, clock: Clock, wire: ExpiringTokens
) -> None:
    """azure-identity answers from its cache unless claims are asked for: the challenge's
    claims make it fetch a new token, which the repeated call carries."""
    wire.challenge = json.dumps({"access_token": {"nbf": {"essential": True, "value": "1"}}})
    with _client(graph_sandbox, _azure_identity(graph_sandbox), clock, wire) as graph:
        first = graph.token()
        wire.revoked.add(first)
        assert graph.get("/organization")["value"]
    (_, rejected, status), (_, renewed, again) = wire.sent
    assert (rejected, status, again) == (first, 401, 200)
    assert renewed != first


def test_an_unchanged_token_is_not_sent_again(
    graph_sandbox: RunningSandbox, clock: Clock, wire: ExpiringTokens
) -> None:
    """Without a challenge, azure-identity hands back the token it holds until five minutes
    before it expires; the client does not send it a second time but raises the 401."""
    with _client(graph_sandbox, _azure_identity(graph_sandbox), clock, wire) as graph:
        wire.revoked.add(graph.token())
        with pytest.raises(GraphError) as caught:
            graph.get("/organization")
    assert caught.value.status == 401
    assert len(wire.sent) == 1


def test_a_beta_call_reaches_beta(
    graph_sandbox: RunningSandbox, clock: Clock, wire: ExpiringTokens
) -> None:
    """The per-user MFA state exists only under ``/beta`` (as in Graph)."""
    user = next(iter(graph_sandbox.state.users))
    with _client(graph_sandbox, _azure_identity(graph_sandbox), clock, wire) as graph:
        state = graph.get(MFA_STATE.format(id=user), api_version="beta")
        with pytest.raises(GraphError) as on_v1:
            graph.get(MFA_STATE.format(id=user))
        graph.get("/organization")
    assert state["perUserMfaState"] in {"disabled", "enabled", "enforced"}
    assert on_v1.value.status == 400
    assert [path for path, _, _ in wire.sent] == [
        f"/beta{MFA_STATE.format(id=user)}",
        f"/v1.0{MFA_STATE.format(id=user)}",
        "/v1.0/organization",
    ]


def test_a_beta_collection_pages_on_beta(
    graph_sandbox: RunningSandbox, clock: Clock, wire: ExpiringTokens
) -> None:
    with _client(graph_sandbox, _azure_identity(graph_sandbox), clock, wire) as graph:
        ids = [u["id"] for u in graph.pages("/users", api_version="beta", **{"$top": "5"})]
    assert sorted(ids) == sorted(graph_sandbox.state.users)
    assert len(wire.sent) > 1
    assert all(path == "/beta/users" for path, _, _ in wire.sent)


def test_a_throttling_wait_that_outlasts_the_token_resumes_with_a_new_one(
    tmp_path: Path, clock: Clock
) -> None:
    """Conditional access allows one read a second; the client's wait (its sleep moves the
    sandbox's throttling clock and the token clock) here outlasts the token it held."""
    background = start_sandbox(tmp_path, throttling=True)
    throttle_clock = ManualClock()
    background.state.clock = throttle_clock
    sandbox = RunningSandbox(info=background.info, state=background.state)
    wire = ExpiringTokens(sandbox, clock)
    tokens = SandboxTokens(sandbox, clock)

    def sleep(seconds: float) -> None:
        throttle_clock.advance(seconds)
        clock.advance(3600.0)

    graph = GraphClient(
        tenant_id=sandbox.info.tenant_id,
        credential=tokens,
        graph_url=sandbox.info.login_base,
        ca_file=sandbox.info.ca_file,
        clock=clock,
        sleep=sleep,
        transport=wire,
    )
    try:
        with graph:
            graph.get("/identity/conditionalAccess/policies")
            graph.get("/identity/conditionalAccess/policies")
    finally:
        wire.close()
        background.stop()
    statuses = [status for _, _, status in wire.sent]
    assert statuses[0] == 200 and statuses[-1] == 200 and 429 in statuses
    assert 401 not in statuses
    assert len(set(tokens.issued)) == len(tokens.issued) == statuses.count(429) + 1
