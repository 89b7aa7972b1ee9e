"""Who is asking, and may they: every route declares the least role it needs.

``dependencies=[require(Role.VIEWER)]`` on a router or route, or a parameter
``who: Annotated[Principal, require(Role.OPERATOR)]`` (shortcuts :data:`Viewer` …
:data:`Administrator`), checks on the server that the request is signed in (an API token in
``Authorization: Bearer``, or the console's session cookie) with at least that role, and that a
state-changing request from a browser carries the session's CSRF token (header
``X-CSRF-Token`` for htmx/fetch, the form field ``csrf_token`` for a plain form). The few routes
anyone may use (the sign-in page, static files, the schema) say :func:`public` instead;
``tests/web/test_route_roles.py`` fails for a route that says neither.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from dirguard.services.console.roles import Principal, Role
from dirguard.services.console.sessions import BrowserSession
from dirguard.web.context import web_context

SESSION_COOKIE = "dirguard_session"
SECURE_SESSION_COOKIE = "__Host-dirguard_session"
"""Over HTTPS the cookie has the ``__Host-`` prefix: the browser keeps it only when it is
``Secure``, for ``Path=/`` and without ``Domain``, so no sibling host can plant one."""
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ACCESS_MARK = "dirguard_access"
"""Attribute of every access dependency: the role it needs (``None``: public)."""

_NO_SESSION = object()


@dataclass(frozen=True)
class SessionCookie:
    """The session cookie a response sets (``value`` ``None``: clears it)."""

    name: str
    value: str | None
    secure: bool

    def header(self) -> str:
        parts = [f"{self.name}={self.value or ''}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if self.value is None:
            parts.append("Max-Age=0")
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)


class NotSignedIn(Exception):
    """No valid credentials: 401 for the API, the sign-in page for a browser."""


class Forbidden(Exception):
    """Signed in, but the role is too low (403)."""

    def __init__(self, principal: Principal, needed: Role) -> None:
        super().__init__(
            f"{principal.name} is {principal.role.label}; this needs {needed.label} or above"
        )
        self.principal = principal
        self.needed = needed


class CsrfRefused(Exception):
    """A state-changing browser request without the session's CSRF token (403)."""


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def cookie_name(request: Request) -> str:
    secure = web_context(request).secure_cookies or request.url.scheme == "https"
    return SECURE_SESSION_COOKIE if secure else SESSION_COOKIE


def browser_session(request: Request) -> BrowserSession | None:
    """The request's live session (looked up once per request)."""
    cached = getattr(request.state, "browser_session", _NO_SESSION)
    if cached is not _NO_SESSION:
        assert cached is None or isinstance(cached, BrowserSession)
        return cached
    cookie = request.cookies.get(cookie_name(request))
    found = web_context(request).sessions.find(cookie)
    request.state.browser_session = found
    return found


def ensure_session(request: Request) -> BrowserSession:
    """The request's session, a new anonymous one if it has none (its cookie is set on the
    response by :class:`~dirguard.web.headers.SecurityHeaders`)."""
    found = browser_session(request)
    if found is not None:
        return found
    return replace_session(request, web_context(request).sessions.open())


def replace_session(request: Request, session: BrowserSession) -> BrowserSession:
    """Make ``session`` the request's (after sign-in); its cookie goes on the response."""
    request.state.browser_session = session
    request.state.principal = session.principal
    request.state.session_cookie = SessionCookie(
        cookie_name(request), session.cookie, _secure(request)
    )
    return session


def drop_session(request: Request) -> None:
    """The request's session is over (sign-out): the response clears its cookie."""
    request.state.browser_session = None
    request.state.principal = None
    request.state.session_cookie = SessionCookie(cookie_name(request), None, _secure(request))


def _secure(request: Request) -> bool:
    return web_context(request).secure_cookies or request.url.scheme == "https"


def authenticate(request: Request) -> Principal | None:
    """The principal of the request: an API token (which must be valid if sent) or the signed-in
    session; ``None`` when neither."""
    cached = getattr(request.state, "principal", _NO_SESSION)
    if cached is not _NO_SESSION:
        assert cached is None or isinstance(cached, Principal)
        return cached
    principal: Principal | None
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotSignedIn("send an API token as 'Authorization: Bearer <token>'")
        principal = web_context(request).tokens.authenticate(
            token.strip(),
            address=client_address(request),
            use=f"{request.method} {request.url.path}",
        )
        if principal is None:
            raise NotSignedIn("the API token is unknown, expired or revoked")
    else:
        session = browser_session(request)
        principal = session.principal if session else None
    request.state.principal = principal
    return principal


async def check_csrf(request: Request) -> None:
    """A state-changing request from a browser must carry its session's CSRF token."""
    if request.method in SAFE_METHODS:
        return
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal) and principal.method == "token":
        return  # a bearer token is not sent by a browser on its own: nothing to forge
    session = await run_in_threadpool(browser_session, request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if session is None or not sent or not hmac.compare_digest(sent, session.csrf_token):
        raise CsrfRefused(
            "this request changes something and lacks the page's CSRF token; reload the page"
            " and try again"
        )


def require(role: Role) -> Any:
    """The dependency of a route that needs ``role`` or above (see the module's docstring)."""

    async def needs_role(request: Request) -> Principal:
        principal = await run_in_threadpool(authenticate, request)
        if principal is None:
            raise NotSignedIn("sign in to use this")
        await check_csrf(request)
        if not principal.may(role):
            raise Forbidden(principal, role)
        return principal

    setattr(needs_role, ACCESS_MARK, role)
    needs_role.__name__ = f"require_{role.label}"
    return Depends(needs_role)


def public() -> Any:
    """The dependency of a route anyone may use; a state change still needs the CSRF token of
    the (anonymous) session, so a sign-in form cannot be posted from another site."""

    async def anyone(request: Request) -> Principal | None:
        principal = await run_in_threadpool(authenticate, request)
        await check_csrf(request)
        return principal

    setattr(anyone, ACCESS_MARK, None)
    return Depends(anyone)


Viewer = Annotated[Principal, require(Role.VIEWER)]
Operator = Annotated[Principal, require(Role.OPERATOR)]
Approver = Annotated[Principal, require(Role.APPROVER)]
Administrator = Annotated[Principal, require(Role.ADMINISTRATOR)]
Anyone = Annotated[Principal | None, public()]

AccessCheck = Callable[[Request], Awaitable[Principal | None]]
