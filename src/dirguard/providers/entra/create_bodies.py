"""Creating an object anew and removing one, from a resource type's declaration (pure).

- :func:`create_request`: the POST that creates a hard-deleted object anew from a stored version
  (a schedule request for PIM), with every id it holds of another object found
  (:class:`FoundReference`) and, given an id map (old id or appId -> new), replaced, so a policy
  naming a re-created named location names the new one; link values beyond what the create
  body can bind, and separate writes, follow as requests on the new object.
- :func:`references_in`: what a stored object depends on (dependency order of re-creation).
- :func:`remove_request`: the DELETE (or ``adminRemove`` request) undoing a create.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from dirguard.catalog.graph_rules import Body, GraphCreate, LinkWrite, Reference
from dirguard.catalog.resource_type import Content, ResourceType
from dirguard.providers.entra.write_bodies import (
    GRAPH_BASE,
    GraphRequest,
    Refusal,
    directory_object_ref,
    directory_object_url,
    graph_source,
    item_path,
    link_ids,
    odata_type,
    separate_requests,
    skipped_field,
)

IdMap = Mapping[str, str]
"""Old value -> new value of re-created objects' ids (and appIds): one map, GUIDs do not clash."""

BIND_LIMIT = 20
"""Values one ``<link>@odata.bind`` of a create body may hold (Microsoft's ``Create group``)."""


@dataclass(frozen=True, kw_only=True)
class FoundReference:
    """An id of another object inside a body: where it is, the old value, what it may name."""

    pointer: tuple[str | int, ...]
    """Keys and indexes from the body's root to the value."""
    value: str
    """The id (or appId) as history holds it."""
    targets: tuple[str, ...]
    by: str
    mapped: bool
    """Replaced from the id map."""


@dataclass(frozen=True, kw_only=True)
class CreateRequest:
    """The request creating an object anew, what follows it, and the ids it holds."""

    request: GraphRequest
    after: tuple[GraphRequest, ...]
    """Requests on the new object once it exists (``{id}`` in their paths stands for its new
    id): link values beyond the bind limit or not bindable, separate writes."""
    references: tuple[FoundReference, ...]
    generated: tuple[str, ...]
    """Fields the writer makes up (a new user's ``passwordProfile``) before sending."""
    refused: tuple[Refusal, ...]


def _walk(
    value: Any, parts: list[str], pointer: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every value at dotted ``parts`` (``name[]``: each element) below ``value``."""
    if not parts:
        yield pointer, value
        return
    head, rest = parts[0], parts[1:]
    each = head.endswith("[]")
    name = head[:-2] if each else head
    if not isinstance(value, Mapping) or value.get(name) is None:
        return
    inner = value[name]
    if each:
        if isinstance(inner, list):
            for index, element in enumerate(inner):
                yield from _walk(element, rest, (*pointer, name, index))
    else:
        yield from _walk(inner, rest, (*pointer, name))


def _referenced_id(reference: Reference, value: Any) -> str | None:
    if not isinstance(value, str) or value in reference.keeps:
        return None
    if reference.prefix:
        return value[len(reference.prefix) :] if value.startswith(reference.prefix) else None
    return value


def references_in(resource_type: ResourceType, content: Content) -> tuple[FoundReference, ...]:
    """Every id of another object ``content`` holds (its declared references and link values),
    in declaration order: what a re-created object depends on."""
    found: list[FoundReference] = []
    writes = resource_type.writes
    for reference in writes.references if writes else ():
        for pointer, value in _walk(content, reference.path.split("."), ()):
            referenced = _referenced_id(reference, value)
            if referenced is not None:
                found.append(
                    FoundReference(
                        pointer=pointer,
                        value=referenced,
                        targets=reference.targets,
                        by=reference.by,
                        mapped=False,
                    )
                )
    for link in graph_source(resource_type).links:
        if link.write in {LinkWrite.REF_COLLECTION, LinkWrite.REF_SINGLE}:
            for index, value in enumerate(link_ids(content.get(link.field))):
                found.append(
                    FoundReference(
                        pointer=(link.field, index),
                        value=value,
                        targets=link.targets,
                        by="id",
                        mapped=False,
                    )
                )
    return tuple(found)


def substitute(
    resource_type: ResourceType, content: Content, ids: IdMap
) -> tuple[dict[str, Any], tuple[FoundReference, ...]]:
    """``content`` with every reference whose old value the id map holds replaced by the new
    one (links included), and the references found, ``mapped`` set where replaced."""
    result: Any = _copy(content)
    found: list[FoundReference] = []
    for ref in references_in(resource_type, content):
        mapped = ref.value in ids
        if mapped and ref.pointer[0] not in {
            link.field for link in graph_source(resource_type).links
        }:
            _replace(result, ref.pointer, ref.value, ids[ref.value])
        found.append(
            FoundReference(
                pointer=ref.pointer, value=ref.value, targets=ref.targets, by=ref.by, mapped=mapped
            )
        )
    for link in graph_source(resource_type).links:
        if link.field in result and link.write in {LinkWrite.REF_COLLECTION, LinkWrite.REF_SINGLE}:
            values = [ids.get(v, v) for v in link_ids(result[link.field])]
            result[link.field] = (values[0] if values else None) if link.single else values
    return result, tuple(found)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _replace(root: Any, pointer: tuple[str | int, ...], old: str, new: str) -> None:
    parent = root
    for step in pointer[:-1]:
        parent = parent[step]
    last = pointer[-1]
    value = parent[last]
    parent[last] = value[: len(value) - len(old)] + new if value.endswith(old) else new


def _create_fields(resource_type: ResourceType, create: GraphCreate) -> frozenset[str]:
    writes = resource_type.writes
    assert writes is not None
    return writes.create_only | frozenset(create.requires)


def create_request(
    resource_type: ResourceType,
    stored: Content,
    ids: IdMap | None = None,
    *,
    graph_base: str = GRAPH_BASE,
) -> CreateRequest:
    """The request creating ``stored`` anew, ids of re-created objects replaced from ``ids``.

    Raises :class:`ValueError` naming the type when it cannot be created anew (its row says
    why) or when the stored version lacks a field the create needs."""
    writes = resource_type.writes
    if writes is None or writes.create is None:
        raise ValueError(
            f"a {resource_type.title} cannot be created anew: {resource_type.restore.refusal}"
        )
    create = writes.create
    content, references = substitute(resource_type, stored, ids or {})
    allowed = _create_fields(resource_type, create)
    separate = {s.field: s for s in writes.separate}
    body: Body = {}
    kind = odata_type(resource_type, content)
    if kind is not None:
        body["@odata.type"] = kind
    for name, value in content.items():
        if skipped_field(resource_type, name) or name in separate or value is None:
            continue
        if name in allowed or (resource_type.writable(name) and name != resource_type.identity):
            body[name] = value
    missing = [name for name in create.requires if name not in body]
    if missing:
        raise ValueError(
            f"the stored {resource_type.title} lacks {', '.join(missing)}, which creating it needs"
        )
    after: list[GraphRequest] = []
    refused: list[Refusal] = []
    new_item = graph_source(resource_type).item.replace(
        "{collection}", graph_source(resource_type).collection
    )
    for link in graph_source(resource_type).links:
        values = link_ids(content.get(link.field))
        if not values:
            continue
        if not link.restorable or link.write in {LinkWrite.NONE, LinkWrite.OBJECTS}:
            refused.append(Refusal(field=link.field, reason=link.reason or "is not written"))
            continue
        if link.writable_when is not None and not link.writable_when(content):
            continue
        bound = values[:BIND_LIMIT] if link.bind_on_create else []
        if bound:
            body[f"{link.field}@odata.bind"] = [directory_object_url(v, graph_base) for v in bound]
        rest = values[len(bound) :]
        base = f"{new_item}/{link.path}"
        if link.single:
            after += (
                [
                    GraphRequest(
                        method="PUT",
                        path=f"{base}/$ref",
                        body=directory_object_ref(rest[0], graph_base),
                    )
                ]
                if rest
                else []
            )
        else:
            after += [
                GraphRequest(
                    method="POST", path=f"{base}/$ref", body=directory_object_ref(v, graph_base)
                )
                for v in rest
            ]
    for name, rule in separate.items():
        if content.get(name) and rule.build is not None:
            made, cannot = separate_requests(rule, new_item, None, content[name])
            after += made
            refused += cannot
        elif content.get(name) and name not in create.generated:
            refused.append(Refusal(field=name, reason=rule.reason))
    request_body = create.wrap(body) if create.wrap else body
    path = _fill(create.path, graph_source(resource_type).collection, body)
    return CreateRequest(
        request=GraphRequest(method="POST", path=path, body=request_body),
        after=tuple(after),
        references=references,
        generated=create.generated,
        refused=tuple(refused),
    )


def _fill(template: str, collection: str, body: Mapping[str, Any]) -> str:
    path = template.replace("{collection}", collection)
    for name, value in body.items():
        path = path.replace("{" + name + "}", str(value))
    return path


def remove_request(resource_type: ResourceType, content: Content) -> GraphRequest:
    """The request removing an object an undone selection created (``DELETE`` of its item, or
    the type's removal request). Raises :class:`ValueError` when the type cannot be removed."""
    writes = resource_type.writes
    if writes is None:
        raise ValueError(f"a {resource_type.title} declares no Graph writes")
    if writes.remove is not None:
        body = writes.remove.wrap(content) if writes.remove.wrap else dict(content)
        return GraphRequest(
            method="POST",
            path=_fill(writes.remove.path, graph_source(resource_type).collection, content),
            body=body,
        )
    if not writes.delete or graph_source(resource_type).singleton:
        raise ValueError(
            f"a {resource_type.title} cannot be deleted: {resource_type.restore.refusal}"
        )
    return GraphRequest(method="DELETE", path=item_path(resource_type, content))
