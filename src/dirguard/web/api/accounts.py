"""Console accounts (administrator): list, add a local one, change a role, disable or enable,
remove a second factor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from dirguard.services.console.accounts import AccountInfo
from dirguard.services.console.roles import Role
from dirguard.web.access import Administrator
from dirguard.web.context import web_context

router = APIRouter()

RoleName = Annotated[str, Field(pattern="^(viewer|operator|approver|administrator)$")]


class AccountOut(BaseModel):
    name: str
    kind: str
    """``local`` or ``entra`` (seen signing in with Entra ID)."""
    role: str
    disabled: bool
    totp: bool
    created_at: datetime
    last_sign_in: datetime | None

    @classmethod
    def of(cls, info: AccountInfo) -> AccountOut:
        return cls(
            name=info.name,
            kind=info.kind,
            role=info.role.label,
            disabled=info.disabled,
            totp=info.totp,
            created_at=info.created_at,
            last_sign_in=info.last_sign_in,
        )


class NewAccount(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    role: RoleName = "viewer"
    password: str = Field(min_length=12, max_length=1024)


class AccountChange(BaseModel):
    role: RoleName | None = None
    disabled: bool | None = None


@router.get("/accounts", summary="Every console account")
def list_accounts(request: Request, who: Administrator) -> list[AccountOut]:
    return [AccountOut.of(a) for a in web_context(request).accounts.list()]


@router.post("/accounts", status_code=201, summary="Add a local console account")
async def add_account(request: Request, who: Administrator, body: NewAccount) -> AccountOut:
    accounts = web_context(request).accounts
    info = await run_in_threadpool(
        accounts.add, body.name, Role.parse(body.role), body.password, by=who.name
    )
    return AccountOut.of(info)


@router.patch(
    "/accounts/{name}", summary="Change a local account's role; disable or enable any account"
)
def change_account(
    request: Request, who: Administrator, name: str, body: AccountChange
) -> AccountOut:
    accounts = web_context(request).accounts
    info = accounts.get(name) if body.disabled is None else None
    if body.role is not None:
        info = accounts.set_role(name, Role.parse(body.role), by=who.name)
    if body.disabled is not None:
        info = accounts.set_disabled(name, body.disabled, by=who.name)
    assert info is not None
    return AccountOut.of(info)


@router.post("/accounts/{name}/reset-totp", summary="Remove a local account's second factor")
def reset_totp(request: Request, who: Administrator, name: str) -> AccountOut:
    return AccountOut.of(web_context(request).accounts.reset_totp(name, by=who.name))
