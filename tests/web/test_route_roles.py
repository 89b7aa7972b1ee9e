"""Every route of the app says who may use it, and the server holds to it for every role.

The table is walked from the app itself (:data:`dirguard.web.areas.AREAS`), so a route added
later is covered without touching this file: one without ``require(...)`` or ``public()``
fails ``test_every_route_declares_its_role``; each role below the one a route needs is refused
(403), the ones at or above it are let through, and nobody signed in gets 401 (API) or the
sign-in page (console).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from dirguard.services.console.roles import Principal, Role
from dirguard.web.access import ACCESS_MARK
from dirguard.web.app import API_PREFIX, OPENAPI_URL
from dirguard.web.areas import AREAS
from tests.web.conftest import web_context_of

NOT_ACCESS = object()


def _marks(dependant: object) -> Iterator[object]:
    for dependency in getattr(dependant, "dependencies", ()):
        call = getattr(dependency, "call", None)
        mark = getattr(call, ACCESS_MARK, NOT_ACCESS)
        if mark is not NOT_ACCESS:
            yield mark
        yield from _marks(dependency)


def _routes() -> list[tuple[str, str, APIRoute]]:
    found = []
    for area in AREAS:
        for prefix, router in ((API_PREFIX, area.api), ("", area.pages)):
            if router is None:
                continue
            for route in router.routes:
                assert isinstance(route, APIRoute), f"{area.name}: {route!r} is not an APIRoute"
                for method in sorted(route.methods):
                    found.append((method, prefix + route.path, route))
    return found


ROUTES = _routes()
IDS = [f"{method} {path}" for method, path, _ in ROUTES]


def _needed(route: APIRoute) -> list[object]:
    return list(_marks(route.dependant))


@pytest.mark.parametrize(("method", "path", "route"), ROUTES, ids=IDS)
def test_every_route_declares_its_role(method: str, path: str, route: APIRoute) -> None:
    marks = _needed(route)
    assert len(marks) == 1, (
        f"{method} {path} must depend on exactly one of require(Role.X) or public() "
        f"(dirguard.web.access); it has {len(marks)}"
    )


def test_the_app_has_no_route_outside_the_areas(web_app: FastAPI) -> None:
    """Routes come from AREAS only (so the table above sees them all); besides them the app has
    its static files and its schema."""
    known = {(m, p) for m, p, _ in ROUTES}
    routers = {id(a.api) for a in AREAS} | {id(a.pages) for a in AREAS}
    for route in web_app.routes:
        included = getattr(route, "original_router", None)  # FastAPI's include_router entry
        if included is not None:
            inner = [getattr(r, "original_router", r) for r in included.routes]
            assert id(included) in routers or all(id(r) in routers for r in inner), route
        elif isinstance(route, Mount):
            assert route.path == "/static", f"unexpected mount {route.path}"
        elif isinstance(route, APIRoute):
            for method in route.methods:
                assert (method, route.path) in known, f"{method} {route.path} is not in AREAS"
        else:
            assert isinstance(route, Route) and route.path == OPENAPI_URL, route
    paths = set(web_app.openapi()["paths"])
    assert paths <= {p for _, p, _ in ROUTES}


def _concrete(path: str) -> str:
    """The path with each parameter filled by something that names nothing stored."""
    return re.sub(r"\{[^}]+\}", "999999", path)


def _call(client: TestClient, method: str, path: str) -> int:
    kwargs: dict[str, object] = {"follow_redirects": False}
    if method in {"POST", "PUT", "PATCH"}:
        kwargs["json"] = {}
    return client.request(method, _concrete(path), **kwargs).status_code  # type: ignore[arg-type]


GUARDED = [(m, p, r) for m, p, r in ROUTES if isinstance(_needed(r)[0], Role)]

DELEGATED = {
    ("GET", "/api/v1/admin/tenants/{name}/facts"): "holds no delegated role",
}
"""Routes open to a role only together with a delegation (the Administrator's delegated
administration): a console user of that role without one is refused (403, saying so), a
console administrator is not. The table's role clients hold no delegation."""


@pytest.fixture
def role_clients(web_app: FastAPI) -> Iterator[dict[Role, TestClient]]:
    """A client per role, each with an API token of that role (a token and a session pass the
    same role check; the session's own checks are in test_sessions)."""
    context = web_context_of(web_app)
    clients = {}
    for role in Role:
        principal = Principal(name=f"{role.label}-tables", role=role, method="password")
        made = context.tokens.create(principal, name="table", role=role, lifetime=timedelta(days=1))
        client = TestClient(web_app, headers={"Authorization": f"Bearer {made.token}"})
        clients[role] = client.__enter__()
    yield clients
    for client in clients.values():
        client.__exit__(None, None, None)


@pytest.mark.parametrize(
    ("method", "path", "route"), GUARDED, ids=[f"{m} {p}" for m, p, _ in GUARDED]
)
def test_each_role_is_refused_what_it_lacks(
    method: str, path: str, route: APIRoute, role_clients: dict[Role, TestClient], web_app: FastAPI
) -> None:
    needed = _needed(route)[0]
    assert isinstance(needed, Role)
    for role, client in role_clients.items():
        status = _call(client, method, path)
        if role < needed:
            assert status == 403, (
                f"{role.label} got {status} for {method} {path} (needs {needed.label})"
            )
        elif (method, path) in DELEGATED and role < Role.ADMINISTRATOR:
            answer = client.request(method, _concrete(path), follow_redirects=False)
            assert answer.status_code == 403, f"{role.label} without a delegation got {status}"
            assert DELEGATED[(method, path)] in answer.text
        else:
            assert status not in (401, 403), f"{role.label} refused ({status}) {method} {path}"
    with TestClient(web_app) as anonymous:
        status = _call(anonymous, method, path)
        if path.startswith("/api/"):
            assert status == 401, f"nobody signed in got {status} for {method} {path}"
        else:
            answer = anonymous.request(method, _concrete(path), follow_redirects=False)
            assert status in (303, 403), f"nobody signed in got {status} for {method} {path}"
            if method == "GET":
                assert answer.headers["location"].startswith("/signin?next=")


def test_a_refusal_is_problem_json_for_the_api(role_clients: dict[Role, TestClient]) -> None:
    answer = role_clients[Role.VIEWER].get("/api/v1/me", headers={"Authorization": "Bearer nope"})
    assert answer.status_code == 401
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.json()["detail"] == "the API token is unknown, expired or revoked"


def test_the_walk_catches_a_route_without_a_role() -> None:
    """The check above fails for a route that forgot its dependency (not just passes always)."""
    from fastapi import APIRouter

    router = APIRouter()

    @router.get("/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    [route] = router.routes
    assert isinstance(route, APIRoute)
    assert _needed(route) == []
