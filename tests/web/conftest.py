"""Fixtures for tests of the console and REST API, on the real app over a real (temporary SQLite)
store.

- ``web_runtime``: a :class:`~dirguard.services.runtime.Runtime` over a migrated store in
  ``tmp_path``, its secret store there too, acting as ``dirguard``, on ``web_clock``;
- ``web_clock``: the runtime's clock, set by hand (``web_clock.advance(minutes=31)``);
- ``web_app``: the FastAPI app over that runtime (``[web]`` defaults, or ``web_settings``);
- ``web_client(role="viewer")``: a TestClient signed in as a local account of that role through
  the real sign-in form (session cookie; it sends the session's CSRF token on every request
  like the console's script does, ``csrf=False`` to leave it out);
  ``web_client(role="operator", token=True)``: a client with an API token of that role instead;
  ``web_client()`` (no role): a visitor nobody signed in.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dirguard.config.schema import Config, SecretsConfig, StoreConfig, WebConfig
from dirguard.services.console.roles import Principal, Role
from dirguard.services.runtime import Runtime
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.web.app import create_app
from dirguard.web.context import WebContext

PASSWORD = "correct horse battery staple"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


class ManualClock:
    """The runtime's clock: stands still until told to move."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def web_clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))


@pytest.fixture
def web_settings() -> WebConfig:
    """The ``[web]`` section the app is built with; override in a test module for others."""
    return WebConfig(tls=False)


@pytest.fixture
def web_runtime(
    tmp_path: Path, web_clock: ManualClock, web_settings: WebConfig
) -> Iterator[Runtime]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = Config(
        store=StoreConfig(url=url, checkpoint_file=tmp_path / "checkpoints.jsonl"),
        secrets=SecretsConfig(
            key_file=tmp_path / "secret.key", store_file=tmp_path / "secrets.json"
        ),
        web=web_settings,
    )
    engine = create_engine_for(url)
    upgrade(engine)
    try:
        yield Runtime(
            config=config, sessions=session_factory(engine), principal="dirguard", clock=web_clock
        )
    finally:
        engine.dispose()


@pytest.fixture
def web_app(web_runtime: Runtime) -> FastAPI:
    return create_app(web_runtime)


def csrf_of(html: str) -> str:
    """The CSRF token a console page carries (its ``csrf-token`` meta element)."""
    found = CSRF_META.search(html)
    assert found is not None, "the page has no csrf-token meta element"
    return found.group(1)


class WebClientFactory(Protocol):
    def __call__(
        self,
        role: str | None = None,
        *,
        token: bool = False,
        csrf: bool = True,
        name: str | None = None,
    ) -> TestClient: ...


def sign_in(client: TestClient, name: str, password: str = PASSWORD, code: str = "") -> None:
    """Sign in through the real form (GET for the session and its token, then POST)."""
    page = client.get("/signin")
    assert page.status_code == 200, page.text
    answer = client.post(
        "/signin",
        data={"name": name, "password": password, "code": code, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    home = client.get("/")
    assert home.status_code == 200, home.text
    client.headers["X-CSRF-Token"] = csrf_of(home.text)


@pytest.fixture
def web_client(web_app: FastAPI) -> Iterator[WebClientFactory]:
    clients: list[TestClient] = []
    made: set[str] = set()
    context = web_context_of(web_app)

    def make(
        role: str | None = None,
        *,
        token: bool = False,
        csrf: bool = True,
        name: str | None = None,
    ) -> TestClient:
        client = TestClient(web_app, base_url="http://testserver")
        client.__enter__()
        clients.append(client)
        if role is None:
            return client
        wanted = Role.parse(role)
        account = name or f"{wanted.label}-user"
        if account not in made:
            context.accounts.add(account, wanted, PASSWORD, by="tests")
            made.add(account)
        if token:
            principal = Principal(name=account, role=wanted, method="password")
            new = context.tokens.create(
                principal, name="tests", role=wanted, lifetime=timedelta(days=1)
            )
            client.headers["Authorization"] = f"Bearer {new.token}"
            return client
        sign_in(client, account)
        if not csrf:
            del client.headers["X-CSRF-Token"]
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def web_context_of(app: FastAPI) -> WebContext:
    """The app's shared context (its session, token and account stores)."""
    context = app.state.web
    assert isinstance(context, WebContext)
    return context
