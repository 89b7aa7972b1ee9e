"""API tokens: list yours, make one (shown once), revoke one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from dirguard.services.console.api_tokens import TokenInfo
from dirguard.services.console.roles import Principal, Role
from dirguard.services.errors import Problem, ServiceError
from dirguard.web.access import Viewer
from dirguard.web.context import web_context

router = APIRouter()

RoleName = Annotated[str, Field(pattern="^(viewer|operator|approver|administrator)$")]


class TokenOut(BaseModel):
    id: int
    name: str
    owner: str
    role: str
    prefix: str
    """The token's first characters, to recognise it."""
    state: str
    """``active``, ``expired`` or ``revoked``."""
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, info: TokenInfo, now: datetime) -> TokenOut:
        return cls(
            id=info.id,
            name=info.name,
            owner=info.owner,
            role=info.role.label,
            prefix=info.prefix,
            state=info.state(now),
            created_at=info.created_at,
            expires_at=info.expires_at,
            revoked_at=info.revoked_at,
            last_used_at=info.last_used_at,
        )


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    role: RoleName = "viewer"
    """At most your own role."""
    expires_in_days: int = Field(default=90, ge=1, le=366)


class NewTokenOut(BaseModel):
    token: str
    """The token itself: shown this once, never again (only its hash is kept)."""
    info: TokenOut


def made_by_a_person(who: Principal) -> None:
    if who.method == "token":
        raise ServiceError(
            "API tokens are made by a signed-in person (console or session), not by a token",
            Problem.PERMISSION,
        )


@router.get("/tokens", summary="API tokens: yours, or with all=true every one (administrator)")
def list_tokens(
    request: Request, who: Viewer, all: Annotated[bool, Query()] = False
) -> list[TokenOut]:
    context = web_context(request)
    if all and who.role < Role.ADMINISTRATOR:
        raise ServiceError("listing every token needs the administrator role", Problem.PERMISSION)
    now = context.runtime.clock()
    return [TokenOut.of(t, now) for t in context.tokens.list(None if all else who.name)]


@router.post("/tokens", status_code=201, summary="Make an API token (the answer holds it once)")
async def create_token(request: Request, who: Viewer, body: TokenRequest) -> NewTokenOut:
    made_by_a_person(who)
    context = web_context(request)
    made = await run_in_threadpool(
        context.tokens.create,
        who,
        name=body.name,
        role=Role.parse(body.role),
        lifetime=timedelta(days=body.expires_in_days),
    )
    return NewTokenOut(token=made.token, info=TokenOut.of(made.info, context.runtime.clock()))


@router.delete("/tokens/{token_id}", summary="Revoke an API token (yours, or any as administrator)")
def revoke_token(request: Request, who: Viewer, token_id: int) -> TokenOut:
    context = web_context(request)
    return TokenOut.of(context.tokens.revoke(who, token_id), context.runtime.clock())
