"""OData system query options on collections: ``$select``, ``$filter``, ``$top``, ``$count``,
``$orderby`` (only on the properties Graph sorts by), ``$expand`` (only the navigation properties
the route names) and paging with ``@odata.nextLink`` and an opaque ``$skiptoken``."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from dirguard_sandbox.errors import GraphError, bad_request
from dirguard_sandbox.graph_properties import selectable
from dirguard_sandbox.odata_filter import ParsedFilter, parse_filter

Json = dict[str, Any]

DEFAULT_PAGE_SIZE = 100
MAX_TOP = 999
_SUPPORTED = {
    "$select",
    "$filter",
    "$top",
    "$count",
    "$skiptoken",
    "$deltatoken",
    "$orderby",
    "$expand",
}


@dataclass(frozen=True, kw_only=True)
class QueryOptions:
    select: tuple[str, ...] | None
    filter: ParsedFilter | None
    top: int | None
    offset: int
    count: bool
    eventual: bool
    params: dict[str, str]
    orderby: tuple[str, bool] | None = None
    """The property to sort by and whether descending."""
    expand: str | None = None


def encode_token(payload: Json) -> str:
    """An opaque token (base64url of JSON), for ``$skiptoken`` and ``$deltatoken``."""
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_token(token: str) -> Json | None:
    """The payload of a token this module encoded, or None for anything else."""
    try:
        padded = token + "=" * (-len(token) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return payload if isinstance(payload, dict) else None


def parse_query(
    params: Mapping[str, str],
    headers: Mapping[str, str],
    *,
    known: frozenset[str],
    type_name: str,
    orderable: frozenset[str] = frozenset(),
    expandable: frozenset[str] = frozenset(),
) -> QueryOptions:
    """Read the query options; raise a 400 GraphError naming any bad or unsupported one."""
    plain = {key: value for key, value in params.items()}
    for key in plain:
        if key.startswith("$") and key not in _SUPPORTED:
            raise bad_request(f"The query parameter '{key}' is not supported by the sandbox.")
    select: tuple[str, ...] | None = None
    if "$select" in plain:
        select = tuple(part.strip() for part in plain["$select"].split(",") if part.strip())
        selectable_names = selectable(type_name, known)
        for name in select:
            if name not in selectable_names:
                raise bad_request(
                    f"Could not find a property named '{name}' on type "
                    f"'microsoft.graph.{type_name}'."
                )
    top: int | None = None
    if "$top" in plain:
        try:
            top = int(plain["$top"])
        except ValueError as error:
            raise bad_request(f"Invalid value '{plain['$top']}' for $top.") from error
        if not 1 <= top <= MAX_TOP:
            raise bad_request(f"Invalid page size specified: '{top}'. Must be between 1 and 999.")
    offset = 0
    if "$skiptoken" in plain:
        payload = decode_token(plain["$skiptoken"])
        if payload is None or not isinstance(payload.get("o"), int):
            raise bad_request("The $skiptoken is not one the sandbox issued.")
        offset = payload["o"]
    count_text = plain.get("$count", "false").lower()
    if count_text not in {"true", "false"}:
        raise bad_request(f"Invalid value '{plain['$count']}' for $count: use true or false.")
    eventual = headers.get("consistencylevel", "").lower() == "eventual"
    parsed = None
    if "$filter" in plain:
        parsed = parse_filter(plain["$filter"], known=known, type_name=type_name)
    orderby = _orderby(plain.get("$orderby"), known, orderable, type_name)
    expand = plain.get("$expand")
    if expand is not None and expand.strip() not in expandable:
        raise bad_request(
            f"Could not find a navigation property named '{expand}' that can be expanded on "
            f"type 'microsoft.graph.{type_name}'."
        )
    options = QueryOptions(
        orderby=orderby,
        expand=None if expand is None else expand.strip(),
        select=select,
        filter=parsed,
        top=top,
        offset=offset,
        count=count_text == "true",
        eventual=eventual,
        params=plain,
    )
    if options.count and not eventual:
        raise bad_request(
            "$count is supported on directory objects only with the ConsistencyLevel header "
            "set to eventual.",
            code="Request_UnsupportedQuery",
        )
    if parsed is not None and parsed.advanced and not (eventual and options.count):
        raise GraphError(
            400,
            "Request_UnsupportedQuery",
            "Operator 'ne', 'not' or 'endsWith' is not supported because the required parameters "
            "might be missing. Try adding $count with a value of true and the ConsistencyLevel "
            "header with a value of eventual.",
        )
    if options.orderby is not None and parsed is not None and not (eventual and options.count):
        raise GraphError(
            400,
            "Request_UnsupportedQuery",
            "Sorting and filtering together is an advanced query: add $count=true and the "
            "ConsistencyLevel header with a value of eventual.",
        )
    return options


def _orderby(
    text: str | None, known: frozenset[str], orderable: frozenset[str], type_name: str
) -> tuple[str, bool] | None:
    if text is None:
        return None
    name, _, direction = text.strip().partition(" ")
    direction = direction.strip().lower() or "asc"
    if direction not in {"asc", "desc"}:
        raise bad_request(f"Invalid $orderby direction '{direction}': use asc or desc.")
    if name not in known:
        raise bad_request(
            f"Could not find a property named '{name}' on type 'microsoft.graph.{type_name}'."
        )
    if name not in orderable:
        raise GraphError(
            400, "Request_UnsupportedQuery", "Sorting not supported for current query."
        )
    return name, direction == "desc"


def _sort_key(name: str) -> Callable[[Json], tuple[bool, str]]:
    def key(record: Json) -> tuple[bool, str]:
        value = record.get(name)
        return value is None, str(value).casefold() if value is not None else ""

    return key


def project(record: Json, select: tuple[str, ...] | None, default: tuple[str, ...] | None) -> Json:
    """The record restricted to the selected (or default) properties, in declaration order."""
    names = select if select is not None else default
    if names is None:
        return dict(record)
    return {name: record.get(name) for name in names}


def context_url(graph_base: str, entity_set: str, select: tuple[str, ...] | None) -> str:
    suffix = f"({','.join(select)})" if select else ""
    return f"{graph_base}/$metadata#{entity_set}{suffix}"


def list_page(
    records: Sequence[Json],
    options: QueryOptions,
    *,
    graph_base: str,
    path: str,
    entity_set: str,
    default_select: tuple[str, ...] | None,
    annotate_type: str | None = None,
    decorate: Callable[[Json, Json], None] | None = None,
) -> Json:
    """One page of a filtered, sorted, projected collection, with nextLink and count when asked;
    ``decorate(record, item)`` adds what ``$expand`` asked for to each answered item."""
    matching = records
    if options.filter is not None:
        predicate = options.filter.predicate
        matching = [record for record in records if predicate(record)]
    if options.orderby is not None:
        name, descending = options.orderby
        matching = sorted(matching, key=_sort_key(name), reverse=descending)
    size = options.top or DEFAULT_PAGE_SIZE
    window = matching[options.offset : options.offset + size]
    body: Json = {"@odata.context": context_url(graph_base, entity_set, options.select)}
    if options.count:
        body["@odata.count"] = len(matching)
    end = options.offset + size
    if end < len(matching):
        params = {key: value for key, value in options.params.items() if key != "$skiptoken"}
        params["$skiptoken"] = encode_token({"o": end})
        body["@odata.nextLink"] = f"{graph_base}{path}?{urlencode(params, safe='$,()')}"
    values = []
    for record in window:
        item = project(record, options.select, default_select)
        if annotate_type is not None:
            item = {"@odata.type": annotate_type, **item}
        if decorate is not None:
            decorate(record, item)
        values.append(item)
    body["value"] = values
    return body
