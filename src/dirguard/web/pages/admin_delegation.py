"""Pages: the delegation — roles, scopes (OU subtrees, administrative units, virtual admin
units) and who holds which role where. Console administrators only; each change goes through
``services/admin/delegation.py``, which audits it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dirguard.catalog.admin_actions import ADMIN_ACTIONS
from dirguard.core.delegation import Comparison, ScopeKind
from dirguard.services.admin import delegation
from dirguard.services.admin.delegation_codec import role_document, scope_document
from dirguard.services.errors import ServiceError
from dirguard.web.access import Administrator
from dirguard.web.context import acting_runtime
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)


def _lines(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", "\n").splitlines() if part.strip()]


def _conditions(text: str) -> list[dict[str, Any]]:
    """``field comparison value`` per line (``department equals Sales``)."""
    conditions = []
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split(None, 2)
        field, comparison = parts[0], parts[1] if len(parts) > 1 else ""
        values = [v.strip() for v in parts[2].split("|")] if len(parts) > 2 else []
        conditions.append({"field": field, "comparison": comparison, "values": values})
    return conditions


async def _page(request: Request, who: Administrator, error: str | None = None) -> Response:
    current = await run_in_threadpool(delegation.current_delegation, acting_runtime(request, who))
    return render(
        request,
        "admin/delegation.html",
        status_code=409 if error else 200,
        roles=[role_document(r) for r in current.roles],
        scopes=[scope_document(s) for s in current.scopes],
        assignments=current.assignments,
        actions=ADMIN_ACTIONS,
        kinds=[k.value for k in ScopeKind],
        comparisons=[c.value for c in Comparison],
        error=error,
    )


@router.get("/admin/delegation", response_class=HTMLResponse)
async def page(request: Request, who: Administrator) -> Response:
    return await _page(request, who)


@router.post("/admin/delegation", response_class=HTMLResponse)
async def change(request: Request, who: Administrator) -> Response:
    form = await request.form()
    text = {k: v for k, v in form.items() if isinstance(v, str)}
    runtime = acting_runtime(request, who)
    what = text.get("what", "")
    try:
        if what == "role":
            await run_in_threadpool(
                delegation.save_role,
                runtime,
                {
                    "name": text.get("name", ""),
                    "actions": [str(v) for v in form.getlist("actions")],
                    "read_fields": _lines(text.get("read_fields", "")) or ["*"],
                    "write_fields": _lines(text.get("write_fields", "")),
                },
            )
        elif what == "scope":
            document: dict[str, Any] = {"name": text.get("name", ""), "kind": text.get("kind")}
            for key in ("source", "base"):
                if text.get(key, "").strip():
                    document[key] = text[key].strip()
            if text.get("kind") == ScopeKind.VIRTUAL.value:
                document["query"] = {
                    "directories": [str(v) for v in form.getlist("directories")] or ["ad", "entra"],
                    "object_kinds": _lines(text.get("object_kinds", "")),
                    "conditions": _conditions(text.get("conditions", "")),
                }
            await run_in_threadpool(delegation.save_scope, runtime, document)
        elif what == "assign":
            await run_in_threadpool(
                delegation.assign,
                runtime,
                text.get("role", ""),
                text.get("scope", ""),
                text.get("trustee_kind", ""),
                text.get("trustee", ""),
            )
        elif what == "unassign":
            await run_in_threadpool(
                delegation.unassign,
                runtime,
                text.get("role", ""),
                text.get("scope", ""),
                text.get("trustee_kind", ""),
                text.get("trustee", ""),
            )
        elif what == "delete-role":
            await run_in_threadpool(delegation.delete_role, runtime, text.get("name", ""))
        elif what == "delete-scope":
            await run_in_threadpool(delegation.delete_scope, runtime, text.get("name", ""))
        else:
            return await _page(request, who, f"unknown change {what!r}")
    except ServiceError as failure:
        return await _page(request, who, failure.message)
    return RedirectResponse("/admin/delegation", status_code=303)
