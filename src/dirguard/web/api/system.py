"""Who am I, and is the server up."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from dirguard import __version__
from dirguard.web.access import Anyone, Viewer

router = APIRouter()


class Me(BaseModel):
    name: str
    display_name: str | None
    role: str
    method: str


class Health(BaseModel):
    status: str
    version: str


@router.get("/me", summary="The signed-in principal and its role")
def me(who: Viewer) -> Me:
    return Me(name=who.name, display_name=who.display_name, role=who.role.label, method=who.method)


@router.get("/health", summary="The server answers (no sign-in needed)")
def health(_who: Anyone) -> Health:
    return Health(status="ok", version=__version__)
