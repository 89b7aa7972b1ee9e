"""REST: managing the delegation (roles, scopes, assignments) — console administrators only.

Every change is audited by the service with the administrator's name, the definition before
and after; a bad definition is refused (409, problem+json) naming the field.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from dirguard.services.admin import delegation
from dirguard.services.admin.delegation_codec import role_document, scope_document
from dirguard.services.errors import Problem, ServiceError
from dirguard.web.access import Administrator
from dirguard.web.context import acting_runtime

router = APIRouter()


class AssignmentBody(BaseModel):
    role: str
    scope: str
    trustee_kind: str
    trustee: str


@router.get("/admin/delegation", summary="Roles, scopes and assignments in force")
async def show(request: Request, who: Administrator) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    current = await run_in_threadpool(delegation.current_delegation, runtime)
    return current.as_document()


def _same_name(name: str, document: dict[str, Any]) -> dict[str, Any]:
    if document.setdefault("name", name) != name:
        raise ServiceError(
            f"the body names {document['name']!r} but the path names {name!r}", Problem.CONFLICT
        )
    return document


@router.put("/admin/delegation/roles/{name}", summary="Create or replace a role")
async def put_role(
    name: str, document: dict[str, Any], request: Request, who: Administrator
) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    role = await run_in_threadpool(delegation.save_role, runtime, _same_name(name, document))
    return role_document(role)


@router.delete("/admin/delegation/roles/{name}", status_code=204, summary="Delete a role")
async def delete_role(name: str, request: Request, who: Administrator) -> None:
    await run_in_threadpool(delegation.delete_role, acting_runtime(request, who), name)


@router.put("/admin/delegation/scopes/{name}", summary="Create or replace a scope")
async def put_scope(
    name: str, document: dict[str, Any], request: Request, who: Administrator
) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    scope = await run_in_threadpool(delegation.save_scope, runtime, _same_name(name, document))
    return scope_document(scope)


@router.delete("/admin/delegation/scopes/{name}", status_code=204, summary="Delete a scope")
async def delete_scope(name: str, request: Request, who: Administrator) -> None:
    await run_in_threadpool(delegation.delete_scope, acting_runtime(request, who), name)


@router.post("/admin/delegation/assignments", status_code=201, summary="Assign a role over a scope")
async def add_assignment(
    body: AssignmentBody, request: Request, who: Administrator
) -> dict[str, str]:
    runtime = acting_runtime(request, who)
    await run_in_threadpool(
        delegation.assign, runtime, body.role, body.scope, body.trustee_kind, body.trustee
    )
    return body.model_dump()


@router.delete("/admin/delegation/assignments", status_code=204, summary="Remove an assignment")
async def remove_assignment(body: AssignmentBody, request: Request, who: Administrator) -> None:
    runtime = acting_runtime(request, who)
    removed = await run_in_threadpool(
        delegation.unassign, runtime, body.role, body.scope, body.trustee_kind, body.trustee
    )
    if not removed:
        raise ServiceError("no such assignment", Problem.NOT_FOUND)
