"""REST: the Administrator's web actions and the objects an operator may act on.

Any signed-in console user may call these; what they may do is decided by the delegation
(roles × scopes) on every call, on the object as the directory shows it then — a help desk
never gets an object outside its scopes in a list, and a call on one is refused (403). Actions
run as dirguard's Administrator service account. Managing the delegation itself is in
:mod:`.admin_delegation` (administrators only).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dirguard.catalog.admin_actions import ACTIONS_BY_KEY, ADMIN_ACTIONS
from dirguard.core.delegation import ConsoleUser, Trustee
from dirguard.services.admin.action_inputs import checked_params
from dirguard.services.admin.actions import (
    ActionRequest,
    list_objects,
    preview_action,
)
from dirguard.services.console.roles import Principal
from dirguard.services.errors import Problem, ServiceError
from dirguard.web.access import Viewer
from dirguard.web.context import acting_runtime

router = APIRouter()


def console_user(principal: Principal) -> ConsoleUser:
    """The delegation's view of the signed-in person: their name and the Entra groups their
    sign-in carried (``groups`` claim), each a trustee assignments can be made to."""
    groups = principal.groups
    return ConsoleUser(
        name=principal.name,
        groups=frozenset(Trustee(kind="entra-group", ident=str(g).casefold()) for g in groups),
    )


class InputOut(BaseModel):
    name: str
    label: str
    kind: str
    required: bool
    help: str


class ActionOut(BaseModel):
    key: str
    title: str
    description: str
    directory: str
    object_kind: str
    risk: str
    feature: str
    inputs: list[InputOut]


class ActionBody(BaseModel):
    source: str = Field(description="The AD domain's (or tenant's) configured name")
    target: str = Field(description="The object: DN, sAMAccountName or UPN; for a create, the OU")
    params: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = Field(
        default=None, max_length=2000, description="Why (shown to approvers when it needs approval)"
    )


class PreviewOut(BaseModel):
    action: str
    title: str
    target: str
    edits: list[dict[str, Any]]
    notes: list[str]
    allowed_by: list[str]


class ResultOut(PreviewOut):
    object: str
    request_id: str
    audit_id: int
    revealed: str | None = Field(
        default=None, description="A secret the action made (a Temporary Access Pass), shown once"
    )


class ObjectOut(BaseModel):
    path: str
    kind: str
    name: str
    fields: dict[str, Any]
    actions: list[str]


class ObjectsOut(BaseModel):
    objects: list[ObjectOut]
    truncated: bool


@router.get("/admin/actions", summary="The web actions dirguard offers")
def actions(_who: Viewer) -> list[ActionOut]:
    return [
        ActionOut(
            key=a.key,
            title=a.title,
            description=a.description,
            directory=a.directory,
            object_kind=a.object_kind,
            risk=a.risk.value,
            feature=a.feature,
            inputs=[
                InputOut(
                    name=i.name, label=i.label, kind=i.kind.value, required=i.required, help=i.help
                )
                for i in a.inputs
            ],
        )
        for a in ADMIN_ACTIONS
    ]


def _request(key: str, body: ActionBody, request: Request) -> ActionRequest:
    declared = ACTIONS_BY_KEY.get(key)
    if declared is None:
        raise ServiceError(f"no web action {key!r}", Problem.NOT_FOUND)
    request_id = request.headers.get("x-request-id") or None
    made = ActionRequest(
        action=key,
        source=body.source,
        target=body.target,
        params=checked_params(declared, body.params),
    )
    if request_id:
        made = ActionRequest(
            action=made.action,
            source=made.source,
            target=made.target,
            params=made.params,
            request_id=request_id[:64],
        )
    return made


@router.post(
    "/admin/actions/{key}/preview", summary="What the action would change (writes nothing)"
)
async def preview(key: str, body: ActionBody, request: Request, who: Viewer) -> PreviewOut:
    runtime = acting_runtime(request, who)
    made = _request(key, body, request)
    result = await run_in_threadpool(preview_action, runtime, console_user(who), made)
    return PreviewOut(**result.as_dict())


@router.post(
    "/admin/actions/{key}",
    summary="Run the action as dirguard's service account (202: filed for approval)",
    response_model=None,
)
async def run(key: str, body: ActionBody, request: Request, who: Viewer) -> ResultOut | Response:
    from dirguard.services.approvals.requests import submit

    runtime = acting_runtime(request, who)
    made = _request(key, body, request)
    done = await run_in_threadpool(submit, runtime, console_user(who), made, body.reason)
    if done.result is None:
        return JSONResponse({"approval": done.request}, status_code=202)
    return ResultOut(**done.result.as_dict())


@router.get("/admin/objects", summary="The users or groups the caller's delegation holds")
async def objects(
    request: Request,
    who: Viewer,
    source: str,
    kind: str = Query("user", pattern="^(user|group|device|managed-device)$"),
    q: str = Query("", max_length=256),
    directory: str = Query("ad", pattern="^(ad|entra)$"),
) -> ObjectsOut:
    runtime = acting_runtime(request, who)
    found, truncated = await run_in_threadpool(
        lambda: list_objects(runtime, console_user(who), source, kind, q, directory=directory)
    )
    return ObjectsOut(
        objects=[
            ObjectOut(
                path=o.path, kind=o.kind, name=o.name, fields=o.fields, actions=list(o.actions)
            )
            for o in found
        ],
        truncated=truncated,
    )


class SkuOut(BaseModel):
    part_number: str
    sku_id: str
    capability: str
    enabled: int
    suspended: int
    warning: int
    consumed: int
    free: int
    overused: bool


class DomainOut(BaseModel):
    name: str
    verified: bool
    default: bool
    initial: bool
    authentication: str
    services: list[str]


class TenantFactsOut(BaseModel):
    tenant: str
    read_at: str
    skus: list[SkuOut]
    domains: list[DomainOut]


@router.get(
    "/admin/tenants/{name}/facts",
    summary="The tenant's subscribed SKUs (seats) and domains, read live from Graph",
)
async def facts(name: str, request: Request, who: Viewer) -> TenantFactsOut:
    from dirguard.services.admin.tenant_facts import tenant_facts
    from dirguard.services.console.roles import Role

    runtime = acting_runtime(request, who)
    found = await run_in_threadpool(
        lambda: tenant_facts(
            runtime, console_user(who), name, console_admin=who.may(Role.ADMINISTRATOR)
        )
    )
    return TenantFactsOut(**found.as_dict())
