"""Exporting every change a filter matches as CSV or JSON, streamed: the rows are read a keyset
page at a time (:func:`dirguard.services.change_search.every_row`) and written out as they come,
so an export of millions of changes holds one page in memory, never the whole result."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from dirguard.services.change_filter import ChangeFilter
from dirguard.services.change_search import ChangeRow, every_row

CSV_COLUMNS = (
    "id",
    "when",
    "source",
    "sequence",
    "object_type",
    "object_name",
    "object_dn",
    "object_guid",
    "op",
    "attribute",
    "old",
    "new",
    "actor",
    "actor_source",
    "actor_address",
    "occurred_at",
    "observed_at",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def csv_record(row: ChangeRow) -> list[str]:
    v = row.view
    return [
        str(row.event_id),
        v.occurred_at or v.observed_at,
        v.source,
        str(v.sequence),
        _cell(v.object["type"]),
        _cell(v.object["name"]),
        _cell(v.object["dn"]),
        _cell(v.object["guid"]),
        v.op,
        _cell(v.attribute),
        _cell(v.old),
        _cell(v.new),
        _cell(v.actor),
        _cell(v.actor_source),
        _cell(v.actor_address),
        _cell(v.occurred_at),
        v.observed_at,
    ]


def csv_lines(session: Session, change_filter: ChangeFilter, *, batch: int = 500) -> Iterator[str]:
    """A header line, then one line per change, oldest first (values that are lists or
    documents as JSON text)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for row in every_row(session, change_filter, batch=batch):
        writer.writerow(csv_record(row))
        yield flush()


def json_chunks(
    session: Session, change_filter: ChangeFilter, *, batch: int = 500
) -> Iterator[str]:
    """One JSON document ``{"filter": ..., "changes": [...]}``, oldest first, in pieces."""
    yield '{"filter": ' + json.dumps(change_filter.as_dict(), ensure_ascii=False)
    yield ', "changes": ['
    first = True
    for row in every_row(session, change_filter, batch=batch):
        yield ("" if first else ",\n") + json.dumps(row.as_dict(), ensure_ascii=False)
        first = False
    yield "]}\n"
