"""Graph write requests built from a resource type's declaration (pure): what rollback sends to
turn an object's current state into a stored one (creating anew and removing:
``create_bodies.py``).

Content is an object as Graph returns it (the JSON of a stored version; links as lists of ids
or ``{"id": ...}`` objects, a single-valued link as an id or ``None``). Every request names its
path under the API version root. Nothing here talks to Graph.

- :func:`patch_plan`: the PATCH of the plain fields that differ (read-only, volatile, create-only
  and separately written fields left out; ``@odata.type`` where the type needs it), the
  separate calls (``assignLicense``, ``removePassword``), the ``$ref`` writes of each link, and
  what cannot be written, each with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dirguard.catalog.graph_rules import Body, GraphLink, LinkWrite
from dirguard.catalog.resource_type import Content, GraphSource, ResourceType

GRAPH_BASE = "https://graph.microsoft.com/v1.0"
"""Microsoft Graph's global v1.0 root; a national cloud's (or the sandbox's) is passed in."""


@dataclass(frozen=True, kw_only=True)
class GraphRequest:
    """One request: method, path under the API version root, JSON body (``None``: none)."""

    method: str
    path: str
    body: Body | None = None


@dataclass(frozen=True, kw_only=True)
class Refusal:
    """A field (or a link value) that is not written, and why."""

    field: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class PatchPlan:
    """The requests that write a stored state back over the current one, in order: the PATCH
    first, then separate calls, then link writes."""

    requests: tuple[GraphRequest, ...]
    refused: tuple[Refusal, ...]


def graph_source(resource_type: ResourceType) -> GraphSource:
    """The row's Graph source (a clear error for a row of another source)."""
    if not isinstance(resource_type.source, GraphSource):
        raise TypeError(f"{resource_type.key} is not read from Microsoft Graph")
    return resource_type.source


def item_path(resource_type: ResourceType, content: Content) -> str:
    """The object's path: its item template with its collection (and parent) and id."""
    source = graph_source(resource_type)
    object_id = resource_type.identify(content)
    if object_id is None:
        raise ValueError(f"the {resource_type.title} holds no {resource_type.identity}")
    collection = source.collection
    if source.parent_field is not None:
        collection = collection.replace("{parent}", str(content.get(source.parent_field, "")))
    return source.item.replace("{collection}", collection).replace("{id}", object_id)


def odata_type(resource_type: ResourceType, content: Content) -> str | None:
    """The ``@odata.type`` a body of the type carries: the object's own, else the one its row
    infers from its fields; ``None`` when the type's bodies carry none."""
    writes = resource_type.writes
    if writes is None or not writes.odata_type:
        return None
    given = content.get("@odata.type")
    if isinstance(given, str) and given:
        return given
    return writes.odata_type_of(content) if writes.odata_type_of else None


STORED_DELETION_MARKER = "isDeleted"
"""The field the store marks a removed object with (``graph_content.DELETED``)."""


def graph_json(resource_type: ResourceType, stored: Content) -> dict[str, Any]:
    """A stored state (each field a list of values, the store's form) as Graph JSON: a
    collection property (``source.collections``) or a multi-valued link as an array, a
    single-valued link as its id, anything else as its one value; the deletion marker left
    out, ``@odata.type`` put back where the type's bodies need it. Plain Graph JSON (values not
    wrapped in lists) passes through unchanged."""
    source = graph_source(resource_type)
    links = {link.field: link for link in source.links}
    result: dict[str, Any] = {}
    for name, value in stored.items():
        if name == STORED_DELETION_MARKER:
            continue
        if not isinstance(value, list) or name in source.collections:
            result[name] = value
        elif name in links:
            result[name] = (value[0] if value else None) if links[name].single else list(value)
        else:
            result[name] = value[0] if len(value) == 1 else (None if not value else list(value))
    kind = odata_type(resource_type, result)
    if kind is not None:
        result["@odata.type"] = kind
    return result


def skipped_field(resource_type: ResourceType, name: str) -> bool:
    links = {link.field for link in graph_source(resource_type).links}
    return name.startswith("@odata.") or "@" in name or name in links


def _same(resource_type: ResourceType, name: str, a: Any, b: Any) -> bool:
    return resource_type.significant({name: a}) == resource_type.significant({name: b})


def _synced(content: Content | None) -> bool:
    return bool(content and content.get("onPremisesSyncEnabled"))


def patch_plan(
    resource_type: ResourceType,
    target: Content,
    current: Content,
    *,
    graph_base: str = GRAPH_BASE,
) -> PatchPlan:
    """What writes ``target`` (a stored version) over ``current`` (the object now);
    ``graph_base`` is the tenant's Graph root, named by ``$ref`` bodies."""
    writes = resource_type.writes
    if writes is None:
        raise TypeError(f"{resource_type.key} declares no Graph writes")
    item = item_path(resource_type, current)
    synced = _synced(current)
    body: Body = {}
    refused: list[Refusal] = []
    separate = {s.field: s for s in writes.separate}
    requests: list[GraphRequest] = []
    for name in sorted(set(target) | set(current)):
        if skipped_field(resource_type, name) or name == resource_type.identity:
            continue
        old, new = current.get(name), target.get(name)
        if _same(resource_type, name, old, new):
            continue
        if name in separate:
            requests_, refusals = separate_requests(separate[name], item, old, new)
            requests += requests_
            refused += refusals
        elif not resource_type.writable(name) or name in writes.create_only:
            if name not in resource_type.volatile_fields:
                refused.append(Refusal(field=name, reason=_not_writable(resource_type, name)))
        elif synced and name in writes.on_premises_mastered:
            refused.append(Refusal(field=name, reason=SYNCED))
        elif not writes.patch:
            refused.append(Refusal(field=name, reason=IMMUTABLE))
        else:
            body[name] = new
    if body:
        kind = odata_type(resource_type, target)
        if kind is not None:
            body = {"@odata.type": kind, **body}
        requests.insert(0, GraphRequest(method="PATCH", path=item, body=body))
    for link in graph_source(resource_type).links:
        link_requests, link_refusals = link_plan(
            resource_type, link, target, current, graph_base=graph_base
        )
        requests += link_requests
        refused += link_refusals
    return PatchPlan(requests=tuple(requests), refused=tuple(refused))


SYNCED = "the object is synchronized from on-premises AD, which owns this field: restore it there"
IMMUTABLE = "the object cannot be changed in place: it is deleted and created anew"


def _not_writable(resource_type: ResourceType, name: str) -> str:
    writes = resource_type.writes
    if writes is not None and name in writes.create_only:
        return "is set when the object is created and cannot be changed afterwards"
    return "is set by the service and never written"


def separate_requests(
    rule: Any, item: str, old: Any, new: Any
) -> tuple[list[GraphRequest], list[Refusal]]:
    if rule.build is None:
        return [], [Refusal(field=rule.field, reason=rule.reason)]
    made, cannot = rule.build(old, new)
    requests = [
        GraphRequest(method=r.method, path=f"{item}/{r.path}" if r.path else item, body=r.body)
        for r in made
    ]
    return requests, [Refusal(field=rule.field, reason=reason) for reason in cannot]


def link_ids(value: Any) -> list[str]:
    """A link's values as ids (a list of ids or of objects with ``id``; one id; ``None``)."""
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    ids = []
    for entry in values:
        if isinstance(entry, Mapping):
            if entry.get("id") is not None and "@removed" not in entry:
                ids.append(str(entry["id"]))
        elif entry is not None:
            ids.append(str(entry))
    return ids


def directory_object_url(object_id: str, graph_base: str = GRAPH_BASE) -> str:
    """The URL naming a directory object in ``@odata.id`` and ``@odata.bind`` values, as
    Microsoft's ``Add members`` and ``Create group`` pages write it."""
    return f"{graph_base.rstrip('/')}/directoryObjects/{object_id}"


def directory_object_ref(object_id: str, graph_base: str = GRAPH_BASE) -> Body:
    """The ``$ref`` body naming a directory object."""
    return {"@odata.id": directory_object_url(object_id, graph_base)}


def link_plan(
    resource_type: ResourceType,
    link: GraphLink,
    target: Content,
    current: Content,
    *,
    graph_base: str = GRAPH_BASE,
) -> tuple[list[GraphRequest], list[Refusal]]:
    """The ``$ref`` writes that turn the link's current values into the target's."""
    item = item_path(resource_type, current)
    mastered = resource_type.writes.on_premises_mastered if resource_type.writes else frozenset()
    old, new = link_ids(current.get(link.field)), link_ids(target.get(link.field))
    if sorted(old) == sorted(new):
        return [], []
    if not link.restorable or link.write in {LinkWrite.NONE, LinkWrite.OBJECTS}:
        return [], [Refusal(field=link.field, reason=link.reason or "is not written")]
    if link.writable_when is not None and not link.writable_when(current):
        return [], [Refusal(field=link.field, reason=link.reason)]
    if _synced(current) and link.field in mastered:
        return [], [Refusal(field=link.field, reason=SYNCED)]
    base = f"{item}/{link.path}"
    if link.single:
        if new:
            return [
                GraphRequest(
                    method="PUT", path=f"{base}/$ref", body=directory_object_ref(new[0], graph_base)
                )
            ], []
        return [GraphRequest(method="DELETE", path=f"{base}/$ref")], []
    requests = [
        GraphRequest(
            method="POST", path=f"{base}/$ref", body=directory_object_ref(value, graph_base)
        )
        for value in new
        if value not in old
    ]
    requests += [
        GraphRequest(method="DELETE", path=f"{base}/{value}/$ref")
        for value in old
        if value not in new
    ]
    return requests, []
