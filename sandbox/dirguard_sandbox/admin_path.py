"""The sandbox's own control paths (``/_sandbox/...``, beside Graph and Entra): each needs the
admin key the serve JSON line prints, in the ``x-sandbox-admin-key`` header, and is closed when
the sandbox runs without one."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dirguard_sandbox.fault_injection import ADMIN_KEY_HEADER


def admin_refusal(request: Request, admin_key: str | None) -> Response | None:
    """A 403 answer unless the request carries the admin key; None when it may go on."""
    given = request.headers.get(ADMIN_KEY_HEADER, "")
    if admin_key is not None and hmac.compare_digest(given, admin_key):
        return None
    return JSONResponse({"error": f"missing or wrong {ADMIN_KEY_HEADER} header"}, status_code=403)
