"""Jinja2 templates (``web/templates/``, autoescaped) and :func:`render`, which gives every page
what the base layout needs: who is signed in, the navigation they may see, the red banner's
messages and the CSRF token for forms and htmx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from dirguard import __version__
from dirguard.web.access import browser_session
from dirguard.web.banner import banner_messages
from dirguard.web.navigation import NavItem, visible

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
HTMX_FILE = "htmx-2.0.11.min.js"
"""htmx 2.0.11 from the npm registry (``npm pack htmx.org@2.0.11``), BSD Zero-Clause licence
beside it: served from the console itself, no CDN."""

templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.globals["dirguard_version"] = __version__
templates.env.globals["htmx_file"] = HTMX_FILE


def _navigation(request: Request) -> tuple[NavItem, ...]:
    items = request.app.state.navigation
    assert isinstance(items, tuple)
    return items


def page_context(request: Request, **values: Any) -> dict[str, Any]:
    session = browser_session(request)
    principal = getattr(request.state, "principal", None) or (
        session.principal if session else None
    )
    context: dict[str, Any] = {
        "principal": principal,
        "nav": visible(_navigation(request), principal),
        "banner": banner_messages(request),
        "csrf_token": session.csrf_token if session else "",
        "current_path": request.url.path,
    }
    context.update(values)
    return context


def render(request: Request, template: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    """The page ``template`` rendered with ``values`` and the layout's context."""
    return templates.TemplateResponse(
        request, template, page_context(request, **values), status_code=status_code
    )
