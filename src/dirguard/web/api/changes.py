"""``/api/v1/changes``: the recorded changes by filter, a keyset page at a time; the whole filter
exported as CSV or JSON; new matching changes as server-sent events; saved searches.

The filter is the query string (:class:`~dirguard.services.change_filter.ChangeFilter`):
``directory``, ``object``, ``type``, ``attribute``, ``actor``, ``address``, ``op`` — repeated
for several values, ``not_<field>`` to exclude — and ``since``, ``until``, ``q``. A bad value is
a 422 problem+json whose ``field`` names the parameter.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from dirguard.services import console_history
from dirguard.services.change_filter import FIELD_HELP, FIELDS, ChangeFilter, FilterError
from dirguard.services.change_search import MAX_PAGE, ChangeRow
from dirguard.web.access import Viewer
from dirguard.web.context import acting_runtime
from dirguard.web.problems import problem

router = APIRouter()

STREAM_POLL_SECONDS = 1.0
MAX_HOLD_SECONDS = 300


def filter_parameters() -> list[dict[str, Any]]:
    """The filter's query parameters as OpenAPI documents them."""
    out: list[dict[str, Any]] = []
    for name in FIELDS:
        for key, verb in ((name, "only changes whose"), (f"not_{name}", "no changes whose")):
            out.append(
                {
                    "name": key,
                    "in": "query",
                    "required": False,
                    "description": f"{verb} {name} is this ({FIELD_HELP[name]}); repeatable",
                    "schema": {"type": "array", "items": {"type": "string"}},
                    "style": "form",
                    "explode": True,
                }
            )
    for key, text in (
        ("since", "changes at or after this ISO 8601 time (no zone: UTC)"),
        ("until", "changes at or before this ISO 8601 time"),
        ("q", "free text in the attribute, values, object name or DN, actor or address"),
    ):
        out.append(
            {"name": key, "in": "query", "required": False, "description": text,
             "schema": {"type": "string"}}
        )  # fmt: skip
    return out


FILTER_DOC = {"parameters": filter_parameters()}


def invalid(error: FilterError) -> JSONResponse:
    return problem(422, str(error), kind="invalid-filter", field=error.field)


def request_filter(request: Request) -> ChangeFilter:
    return ChangeFilter.from_params(request.query_params.multi_items())


class ObjectOut(BaseModel):
    guid: str | None
    type: str | None
    name: str | None
    dn: str | None


class ChangeOut(BaseModel):
    id: int = Field(description="The event's store id (what ``after`` and live updates count)")
    object_id: int
    sequence: int = Field(description="Position in its directory's hash chain")
    source: str
    object: ObjectOut
    op: str
    attribute: str | None
    old: Any
    new: Any
    details: Any = Field(description="A security descriptor change's ACE-level difference")
    actor: str | None = Field(description="Who made it; null: not known (never guessed)")
    actor_source: str | None
    actor_address: str | None
    occurred_at: str | None
    observed_at: str
    detected_by: str | None

    @classmethod
    def of(cls, row: ChangeRow) -> ChangeOut:
        return cls.model_validate(row.as_dict())


class ChangesPageOut(BaseModel):
    changes: list[ChangeOut]
    next_cursor: str | None = Field(description="Pass as ``cursor`` for the next page")
    prev_cursor: str | None = Field(description="Pass as ``cursor`` for the page before")
    filter: dict[str, list[str]]


Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Changes per page")]
Cursor = Annotated[str | None, Query(description="A next_cursor or prev_cursor of a page")]
Order = Annotated[Literal["newest", "oldest"], Query(description="Which end comes first")]


@router.get(
    "/changes",
    summary="Recorded changes matching the filter, a keyset page at a time",
    openapi_extra=FILTER_DOC,
    response_model=ChangesPageOut,
)
def list_changes(
    request: Request,
    who: Viewer,
    cursor: Cursor = None,
    limit: Limit = 50,
    order: Order = "newest",
) -> ChangesPageOut | JSONResponse:
    runtime = acting_runtime(request, who)
    try:
        wanted = request_filter(request)
        page = console_history.find_changes(
            runtime, wanted, cursor=cursor, limit=limit, order=order
        )
    except FilterError as error:
        return invalid(error)
    return ChangesPageOut(
        changes=[ChangeOut.of(r) for r in page.rows],
        next_cursor=page.next_cursor,
        prev_cursor=page.prev_cursor,
        filter=wanted.as_dict(),
    )


@router.get(
    "/changes/export",
    summary="Every change matching the filter, oldest first, as CSV or JSON (streamed)",
    openapi_extra=FILTER_DOC,
    response_class=StreamingResponse,
)
def export_changes(
    request: Request,
    who: Viewer,
    format: Annotated[Literal["csv", "json"], Query(description="csv or json")] = "csv",
) -> Response:
    runtime = acting_runtime(request, who)
    try:
        pieces = console_history.export_changes(runtime, request_filter(request), format)
    except FilterError as error:
        return invalid(error)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return StreamingResponse(
        pieces,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="dirguard-changes.{format}"'},
    )


def sse_event(event_id: int, name: str, data: str) -> str:
    lines = "".join(f"data: {line}\n" for line in data.split("\n"))
    return f"id: {event_id}\nevent: {name}\n{lines}\n"


def start_after(request: Request, after: int) -> int:
    """Where a stream resumes: the browser's ``Last-Event-ID`` when it reconnects."""
    resumed = request.headers.get("last-event-id", "")
    return max(after, int(resumed)) if resumed.isdigit() else after


async def live_rows(
    request: Request, runtime: Any, wanted: ChangeFilter, after: int, hold: float
) -> AsyncIterator[list[ChangeRow]]:
    """Batches of matching changes stored after ``after``, polled every second for ``hold``
    seconds or until the client goes away (it reconnects and resumes from the last id)."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + hold
    while True:
        rows = await run_in_threadpool(console_history.changes_after, runtime, wanted, after)
        if rows:
            after = rows[-1].event_id
            yield rows
            continue
        if loop.time() >= ends or await request.is_disconnected():
            return
        await asyncio.sleep(STREAM_POLL_SECONDS)


Hold = Annotated[
    float,
    Query(ge=0, le=MAX_HOLD_SECONDS, description="Seconds to keep the stream open"),
]
After = Annotated[
    int,
    Query(ge=0, description="Send changes stored after this event id (a page's newest id)"),
]


@router.get(
    "/changes/stream",
    summary="Server-sent events: each new change matching the filter (event 'change', JSON)",
    openapi_extra=FILTER_DOC,
    response_class=StreamingResponse,
)
def stream_changes(request: Request, who: Viewer, after: After, hold: Hold = 30) -> Response:
    runtime = acting_runtime(request, who)
    try:
        wanted = request_filter(request)
    except FilterError as error:
        return invalid(error)

    async def events() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        async for rows in live_rows(request, runtime, wanted, start_after(request, after), hold):
            for r in rows:
                yield sse_event(r.event_id, "change", json.dumps(ChangeOut.of(r).model_dump()))

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )


class SavedSearchOut(BaseModel):
    id: int
    name: str
    owner: str
    shared: bool
    filter: dict[str, list[str]]


class SavedSearchIn(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    shared: bool = False
    filter: dict[str, list[str]] = Field(
        default_factory=dict,
        description="Query parameters and their values, as a changes page's ``filter`` says",
    )


@router.get("/searches", summary="Your saved searches and everyone's shared ones")
def list_searches(request: Request, who: Viewer) -> list[SavedSearchOut]:
    found = console_history.list_searches(acting_runtime(request, who), who.name)
    return [SavedSearchOut.model_validate(s.as_dict()) for s in found]


@router.post(
    "/searches",
    summary="Save a search under a name",
    status_code=201,
    response_model=SavedSearchOut,
)
def save_search(
    request: Request, who: Viewer, body: SavedSearchIn
) -> SavedSearchOut | JSONResponse:
    try:
        wanted = ChangeFilter.from_dict(body.filter)
    except FilterError as error:
        return invalid(error)
    saved = console_history.save_search(
        acting_runtime(request, who), who.name, body.name, wanted, shared=body.shared
    )
    return SavedSearchOut.model_validate(saved.as_dict())


@router.get("/searches/{search_id}", summary="One saved search")
def get_search(request: Request, who: Viewer, search_id: int) -> SavedSearchOut:
    found = console_history.get_search(acting_runtime(request, who), who.name, search_id)
    return SavedSearchOut.model_validate(found.as_dict())


@router.delete(
    "/searches/{search_id}", summary="Delete one of your saved searches", status_code=204
)
def delete_search(request: Request, who: Viewer, search_id: int) -> Response:
    console_history.delete_search(acting_runtime(request, who), who.name, search_id)
    return Response(status_code=204)
