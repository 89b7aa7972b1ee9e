"""The ASGI application: :func:`create_app` builds the console and the REST API over a runtime.

The OpenAPI 3.1 schema is at ``/api/openapi.json``; there is no Swagger UI (it would need a CDN
and inline script, which the CSP forbids).
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from dirguard import __version__
from dirguard.config.schema import WebConfig
from dirguard.services.runtime import Runtime
from dirguard.web import problems
from dirguard.web.areas import AREAS, Area
from dirguard.web.context import WebContext
from dirguard.web.headers import SecurityHeaders
from dirguard.web.templating import STATIC_DIR

API_PREFIX = "/api/v1"
OPENAPI_URL = "/api/openapi.json"


def create_app(
    runtime: Runtime,
    settings: WebConfig | None = None,
    *,
    secure_cookies: bool = False,
    areas: tuple[Area, ...] = AREAS,
) -> FastAPI:
    """The app over ``runtime`` (its store, configuration and clock). ``secure_cookies``: it is
    served over HTTPS (cookies get ``Secure`` and the ``__Host-`` prefix, HSTS is sent)."""
    app = FastAPI(
        title="dirguard",
        version=__version__,
        summary="Guardian and administration console for hybrid identity",
        openapi_url=OPENAPI_URL,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.web = WebContext.build(
        runtime, settings or runtime.config.web, secure_cookies=secure_cookies
    )
    app.state.navigation = tuple(item for area in areas for item in area.nav)
    api = APIRouter(prefix=API_PREFIX)
    for area in areas:
        if area.api is not None:
            api.include_router(area.api, tags=[area.name])
    app.include_router(api)
    for area in areas:
        if area.pages is not None:
            app.include_router(area.pages)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    problems.install(app)
    app.add_middleware(SecurityHeaders, hsts=secure_cookies)
    return app
