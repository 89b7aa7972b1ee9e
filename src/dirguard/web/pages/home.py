"""The console's front page: who is signed in and the areas they may open."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import HTMLResponse

from dirguard.web.access import Viewer
from dirguard.web.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, who: Viewer) -> HTMLResponse:
    return render(request, "home.html")
