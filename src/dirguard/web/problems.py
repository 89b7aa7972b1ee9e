"""Errors as the client can use them: ``application/problem+json`` (RFC 9457) for the API, a
page that says what happened for a browser.

A service's :class:`~dirguard.services.errors.ServiceError` maps to the status of its kind
(:data:`STATUS`); not signed in is 401 for the API (with ``WWW-Authenticate: Bearer``) and the
sign-in page for a browser; a role too low or a missing CSRF token is 403; an unknown path 404;
a request that does not validate 422 (with each field's problem).
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from dirguard.services.errors import Problem, ServiceError
from dirguard.web.access import CsrfRefused, Forbidden, NotSignedIn, is_api
from dirguard.web.templating import render

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE = "urn:dirguard:problem:"

STATUS = {
    Problem.FAILURE: 500,
    Problem.NOT_FOUND: 404,
    Problem.CONFLICT: 409,
    Problem.PERMISSION: 403,
    Problem.CONFIG: 500,
    Problem.UNAVAILABLE: 503,
}
"""HTTP status of each kind of service failure (as ``cli/common.py`` has exit codes)."""


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """One problem+json response."""
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE}{kind}" if kind else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _page(request: Request, status: int, detail: str) -> Response:
    return render(
        request,
        "error.html",
        status_code=status,
        status=status,
        title=HTTPStatus(status).phrase,
        detail=detail,
    )


def _answer(request: Request, status: int, detail: str, kind: str | None) -> Response:
    if is_api(request):
        return problem(status, detail, kind=kind)
    return _page(request, status, detail)


async def _not_signed_in(request: Request, error: Exception) -> Response:
    if is_api(request):
        return problem(
            401, str(error), kind="not-signed-in", headers={"WWW-Authenticate": "Bearer"}
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)


async def _forbidden(request: Request, error: Exception) -> Response:
    return _answer(request, 403, str(error), "forbidden")


async def _csrf(request: Request, error: Exception) -> Response:
    return _answer(request, 403, str(error), "csrf")


async def _http(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    if error.status_code == 404 and detail == "Not Found":
        detail = f"there is nothing at {request.url.path}"
    response = _answer(request, error.status_code, detail, None)
    for name, value in (error.headers or {}).items():
        response.headers[name] = value
    return response


async def _validation(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in item.get("loc", ())), "problem": item.get("msg", "")}
        for item in error.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['problem']}" for e in errors) or "invalid request"
    if is_api(request):
        return problem(422, detail, kind="invalid-request", errors=errors)
    return _page(request, 422, detail)


async def _service(request: Request, error: Exception) -> Response:
    assert isinstance(error, ServiceError)
    status = STATUS[error.problem]
    if status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, error.message)
    return _answer(request, status, error.message, error.problem.value)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(NotSignedIn, _not_signed_in)
    app.add_exception_handler(Forbidden, _forbidden)
    app.add_exception_handler(CsrfRefused, _csrf)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ServiceError, _service)
