"""A rollback selection from a form or a JSON body (the console's "new rollback" and
``POST /api/v1/plans``): one of an event, an object to a moment, an actor's window, or an OU
subtree in a window; every bad field is named."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dirguard.services.errors import ServiceError
from dirguard.services.history import HistoryQueryError, parse_time
from dirguard.services.rollback.plan_cases import (
    ByActor,
    ByEvent,
    ObjectAt,
    PlanRequest,
    Selection,
    UnderOu,
)

KINDS = ("event", "object", "actor", "subtree")


class SelectionError(ServiceError):
    """A field of the selection is missing or wrong; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def _text(fields: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = fields.get(name)
    text = "" if value is None else str(value).strip()
    if not text and required:
        raise SelectionError(name, "required for this kind of selection")
    return text or None


def _time(fields: Mapping[str, Any], name: str, *, required: bool = True) -> Any:
    text = _text(fields, name, required=required)
    if text is None:
        return None
    try:
        return parse_time(text)
    except HistoryQueryError as error:
        raise SelectionError(name, str(error)) from None


def _flag(fields: Mapping[str, Any], name: str) -> bool:
    value = fields.get(name)
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes")


def plan_request(fields: Mapping[str, Any]) -> PlanRequest:
    """The plan request ``fields`` describe (``kind`` and its fields; ``domain``, ``force``,
    ``include_unattributed``, ``disable_instead``; ``refresh`` unless false)."""
    kind = _text(fields, "kind")
    selection: Selection
    if kind == "event":
        raw = _text(fields, "event")
        try:
            sequence = int(raw or "")
        except ValueError:
            raise SelectionError("event", f"{raw!r} is not a change number") from None
        if sequence < 1:
            raise SelectionError("event", "change numbers start at 1")
        selection = ByEvent(sequence=sequence)
    elif kind == "object":
        selection = ObjectAt(object_text=_text(fields, "object") or "", at=_time(fields, "at"))
    elif kind == "actor":
        selection = ByActor(
            actor=_text(fields, "actor") or "",
            since=_time(fields, "since"),
            until=_time(fields, "until", required=False),
            include_unattributed=_flag(fields, "include_unattributed"),
        )
    elif kind == "subtree":
        selection = UnderOu(
            base_dn=_text(fields, "base_dn") or "",
            since=_time(fields, "since"),
            until=_time(fields, "until", required=False),
        )
    else:
        raise SelectionError("kind", f"{kind!r}; give one of {', '.join(KINDS)}")
    given = {
        k: str(fields[k]).strip()
        for k in ("kind", "event", "object", "at", "actor", "base_dn", "since", "until")
        if fields.get(k) not in (None, "")
    }
    refresh = fields.get("refresh")
    return PlanRequest(
        selection=selection,
        domain=_text(fields, "domain", required=False),
        force=_flag(fields, "force"),
        disable_instead=_flag(fields, "disable_instead"),
        refresh=True if refresh in (None, "") else _flag(fields, "refresh"),
        given=given,
    )
