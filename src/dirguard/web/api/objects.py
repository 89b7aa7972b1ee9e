"""``/api/v1/objects/{id}``: one stored object — its state (now or at a moment), its timeline,
two moments side by side — and ``/api/v1/compare``: what differs between two recorded moments of
a directory (or an OU subtree of it, or one object), or between a moment and the live directory.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse

from dirguard.services import console_history
from dirguard.services.change_filter import FilterError, parse_moment
from dirguard.services.change_search import MAX_PAGE
from dirguard.services.compare import CompareRequest, compare, directory_choice
from dirguard.web.access import Viewer
from dirguard.web.api.changes import ChangeOut, invalid
from dirguard.web.context import acting_runtime

router = APIRouter()

Moment = Annotated[str | None, Query(description="ISO 8601 time (no zone: UTC)")]


def moment(name: str, text: str | None) -> datetime | None:
    return None if text is None or not text.strip() else parse_moment(name, text)


class LinkOut(BaseModel):
    value: str
    object_id: int | None
    name: str | None
    type: str | None
    source: str | None
    deleted: bool


class AttributeOut(BaseModel):
    name: str
    values: list[str]
    links: list[LinkOut]


class ObjectRefOut(BaseModel):
    id: int
    source: str
    resource_type: str
    external_id: str
    natural_key: str | None
    path: str | None
    deleted: bool


class HistoryOut(BaseModel):
    changes: list[ChangeOut]
    next_cursor: str | None
    prev_cursor: str | None


class ObjectOut(BaseModel):
    object: ObjectRefOut
    at: str
    exists: bool
    attributes: list[AttributeOut]
    history: HistoryOut


def _object(request: Request, who: Any, object_id: int, at: datetime | None, **kw: Any) -> Any:
    return console_history.object_page(acting_runtime(request, who), object_id, at, **kw)


@router.get("/objects/{object_id}", summary="The object's current state and its newest changes")
def get_object(request: Request, who: Viewer, object_id: int) -> ObjectOut:
    view = _object(request, who, object_id, None, history_limit=20)
    return ObjectOut.model_validate(view.as_dict())


@router.get(
    "/objects/{object_id}/history",
    summary="The object's changes, a page at a time",
    response_model=HistoryOut,
)
def object_history(
    request: Request,
    who: Viewer,
    object_id: int,
    cursor: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> HistoryOut | JSONResponse:
    try:
        view = _object(request, who, object_id, None, history_cursor=cursor, history_limit=limit)
    except FilterError as error:
        return invalid(error)
    return HistoryOut.model_validate(view.history.as_dict())


class StateOut(BaseModel):
    object: ObjectRefOut
    at: str
    exists: bool
    attributes: list[AttributeOut]


@router.get(
    "/objects/{object_id}/state",
    summary="The object's recorded state at a moment",
    response_model=StateOut,
)
def object_state(
    request: Request, who: Viewer, object_id: int, at: Moment = None
) -> StateOut | JSONResponse:
    try:
        when = moment("at", at)
    except FilterError as error:
        return invalid(error)
    view = _object(request, who, object_id, when, history_limit=1)
    data = view.as_dict()
    data.pop("history")
    return StateOut.model_validate(data)


class SideRowOut(BaseModel):
    name: str
    before: list[str]
    after: list[str]
    changed: bool
    added: list[str]
    removed: list[str]
    ace_changes: list[str]
    before_links: list[LinkOut]
    after_links: list[LinkOut]


class SideBySideOut(BaseModel):
    object: ObjectRefOut
    before_at: str
    after_at: str
    before_exists: bool
    after_exists: bool
    rows: list[SideRowOut]


@router.get(
    "/objects/{object_id}/compare",
    summary="The object at two moments, side by side",
    response_model=SideBySideOut,
)
def object_compare(
    request: Request,
    who: Viewer,
    object_id: int,
    from_: Annotated[str, Query(alias="from", description="The earlier moment (ISO 8601)")],
    to: Moment = None,
) -> SideBySideOut | JSONResponse:
    runtime = acting_runtime(request, who)
    try:
        before = parse_moment("from", from_)
        after = moment("to", to) or runtime.clock()
    except FilterError as error:
        return invalid(error)
    found = console_history.object_moments(runtime, object_id, before, after)
    return SideBySideOut.model_validate(found.as_dict())


class FieldOut(BaseModel):
    field: str
    before: Any
    after: Any
    added: list[Any] | None = None
    removed: list[Any] | None = None


class DifferenceOut(BaseModel):
    guid: str
    type: str
    name: str | None
    dn: str | None
    presence: str
    fields: list[FieldOut]


class CompareOut(BaseModel):
    domain: str
    since: str
    until: str
    compared: int
    same: bool
    counts: dict[str, int]
    differences: list[DifferenceOut]
    next_object: int | None


@router.get(
    "/compare",
    summary="What differs between two moments of a directory (or a subtree, or one object),"
    " or between a moment and the live directory",
    response_model=CompareOut,
)
def compare_moments(
    request: Request,
    who: Viewer,
    from_: Annotated[str, Query(alias="from", description="The earlier moment (ISO 8601)")],
    to: Moment = None,
    live: Annotated[bool, Query(description="Compare with the directory as it is now")] = False,
    directory: Annotated[
        str | None,
        Query(
            description="The directory: an AD domain or an Entra tenant by its key"
            " (ad:corp.example.com, entra:contoso) or an AD domain's name"
        ),
    ] = None,
    under: Annotated[str | None, Query(description="Only objects under this DN")] = None,
    object: Annotated[str | None, Query(description="Only this object (GUID, DN, name)")] = None,
    after_object: Annotated[int | None, Query(description="A page's next_object")] = None,
    page_objects: Annotated[int, Query(ge=1, le=5000, description="Objects per page")] = 1000,
) -> CompareOut | JSONResponse:
    try:
        since = parse_moment("from", from_)
        until = moment("to", to)
        if live == (until is not None):
            raise FilterError("to", "give either to=TIME or live=true")
        if until is not None and until < since:
            raise FilterError("to", "is earlier than from")
    except FilterError as error:
        return invalid(error)
    report = compare(
        acting_runtime(request, who),
        CompareRequest(
            since=since,
            until=until,
            live=live,
            **directory_choice(directory),
            under=under,
            object=object,
            after_object=after_object,
            page_objects=page_objects,
        ),
    )
    return CompareOut.model_validate(report.as_dict())
