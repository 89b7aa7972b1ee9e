"""Contract over every Microsoft Graph row of the registry, held to Microsoft's schema (the v1.0
CSDL in ../shared/reference) and to Microsoft's own SDK: its ``$select``, links (each path a
chain of navigation properties), references (each a path through the entity's complex types,
naming a field of its target), create and separate fields exist; a delta-collected type's
entity has a delta function; every type key a row names is a row; the fixture object parses
with ``msgraph-sdk``'s model of the entity leaving nothing unknown; and the write-body builders
round-trip the fixture (nothing to write for the same state, a PATCH of exactly the writable
fields that differ, a create body without read-only fields whose references follow the id map).
"""

from __future__ import annotations

import importlib
import json
import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from dirguard.catalog.graph_rules import LinkRead, LinkWrite
from dirguard.catalog.resource_type import Collection, GraphSource, ResourceType
from dirguard.providers.entra.create_bodies import create_request, references_in, remove_request
from dirguard.providers.entra.graph_content import normalize
from dirguard.providers.entra.write_bodies import graph_json, item_path, patch_plan
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.store import json_codec
from tests.fixtures.requirements import unavailable

ROOT = Path(__file__).resolve().parents[1]
CSDL = ROOT.parent / "shared/reference/graph/v1.0-Prod.csdl"
FIXTURES = ROOT / "tests" / "fixtures" / "resource_types"
GRAPH_TYPES = [t for t in RESOURCE_TYPES.values() if isinstance(t.source, GraphSource)]
WRITTEN = [t for t in GRAPH_TYPES if t.writes is not None]


def ids(value: ResourceType) -> str:
    return value.key


def src(resource_type: ResourceType) -> GraphSource:
    assert isinstance(resource_type.source, GraphSource)
    return resource_type.source


def fixture(resource_type: ResourceType) -> dict[str, Any]:
    path = FIXTURES / f"{resource_type.key}.json"
    content = json_codec.decode(json.loads(path.read_text(encoding="utf-8")))
    assert isinstance(content, dict)
    return content


NAVIGATION = "}NavigationProperty"


@dataclass(frozen=True)
class Member:
    type: str
    """Type name without ``Collection(...)`` and namespace."""
    navigation: bool
    collection: bool = False


@cache
def schema() -> tuple[dict[str, dict[str, Member]], dict[str, str], set[str]]:
    """Type name -> its members (inherited and derived types' included), type -> base type, and
    the entity types whose collections have a ``delta`` function."""
    if not CSDL.is_file():
        unavailable("graph-reference", f"{CSDL} (../shared/reference) is absent")
    root = ET.parse(CSDL).getroot()  # noqa: S314 - Microsoft's published schema, read locally
    space = next(
        e
        for e in root.iter()
        if e.tag.endswith("}Schema") and e.get("Namespace") == "microsoft.graph"
    )
    own: dict[str, dict[str, Member]] = {}
    base: dict[str, str] = {}
    delta: set[str] = set()

    def short(name: str) -> str:
        return name.removeprefix("Collection(").removesuffix(")").rsplit(".", 1)[-1]

    for node in space:
        if node.tag.endswith("}EntityType") or node.tag.endswith("}ComplexType"):
            name = node.attrib["Name"]
            own[name] = {
                c.attrib["Name"]: Member(
                    short(c.attrib["Type"]),
                    c.tag.endswith(NAVIGATION),
                    c.attrib["Type"].startswith("Collection("),
                )
                for c in node
                if c.tag.endswith("}Property") or c.tag.endswith("}NavigationProperty")
            }
            if "BaseType" in node.attrib:
                base[name] = short(node.attrib["BaseType"])
        elif node.tag.endswith("}Function") and node.get("Name") == "delta":
            bound = next(c for c in node if c.tag.endswith("}Parameter")).attrib["Type"]
            if bound.startswith("Collection("):
                delta.add(short(bound))
    full: dict[str, dict[str, Member]] = {}
    for name in own:
        members, cursor = dict(own[name]), base.get(name)
        while cursor:
            members = {**own.get(cursor, {}), **members}
            cursor = base.get(cursor)
        full[name] = members
    for name, parent in base.items():  # a derived type's members count for its base
        full[parent] = {**own[name], **full.setdefault(parent, {})}
    return full, base, delta


def members(type_name: str) -> dict[str, Member]:
    return schema()[0][type_name]


def resolve(type_name: str, path: str, *, navigation: bool) -> str:
    """The type a dotted (or ``/``) path leads to from ``type_name``; fails naming the step."""
    current = type_name
    for step in re.split(r"[./]", path):
        name = step.removesuffix("[]")
        known = members(current)
        assert name in known, f"{current} has no property {name!r} (in {path!r})"
        member = known[name]
        if navigation:
            assert member.navigation, f"{current}.{name} is not a navigation property"
        current = member.type
    return current


@pytest.mark.parametrize("resource_type", GRAPH_TYPES, ids=ids)
def test_select_links_and_write_fields_are_microsofts(resource_type: ResourceType) -> None:
    source, entity = src(resource_type), src(resource_type).entity
    properties = members(entity)
    if source.select and not source.singleton:  # a singleton is known by its path
        assert resource_type.identity in source.select, "select the identity"
    fields = set(source.select) | set(resource_type.never_written)
    writes = resource_type.writes
    if writes is not None:
        fields |= writes.create_only | writes.on_premises_mastered - resource_type.linked_fields
        fields |= {s.field for s in writes.separate}
        if writes.create is not None:
            fields |= {f for f in writes.create.requires if not f.startswith("@")}
            fields |= set(writes.create.generated)
    unknown = sorted(f for f in fields if f not in properties)
    assert not unknown, f"{entity} has no property {unknown}"
    assert resource_type.linked_fields == {link.field for link in source.links}
    for link in source.links:
        resolve(entity, link.path, navigation=True)
        assert link.field not in source.select, f"{link.field} is read as a link, not selected"
        if link.read is LinkRead.DELTA:
            assert resource_type.collection is Collection.GRAPH_DELTA, link.field
        if not link.restorable or link.write is LinkWrite.NONE:
            assert link.reason, f"{link.field}: say why it is not restored"


@pytest.mark.parametrize("resource_type", GRAPH_TYPES, ids=ids)
def test_named_types_exist_and_references_name_a_field_of_them(
    resource_type: ResourceType,
) -> None:
    source = src(resource_type)
    for link in source.links:
        for target in link.targets:
            assert target in RESOURCE_TYPES, f"{link.field} points to unknown {target}"
    if source.parent is not None:
        assert source.parent in RESOURCE_TYPES
        assert "{parent}" in source.collection and source.parent_field in members(source.entity)
    for reference in resource_type.writes.references if resource_type.writes else ():
        resolve(source.entity, reference.path, navigation=False)
        assert reference.targets, reference.path
        for target in reference.targets:
            assert target in RESOURCE_TYPES, f"{reference.path} names unknown {target}"
            assert reference.by in members(src(RESOURCE_TYPES[target]).entity), reference


@pytest.mark.parametrize("resource_type", GRAPH_TYPES, ids=ids)
def test_delta_is_declared_where_microsoft_has_it(resource_type: ResourceType) -> None:
    source, (_, base, delta) = src(resource_type), schema()
    entity, chain = source.entity, set()
    while entity:
        chain.add(entity)
        entity = base.get(entity, "")
    if source.delta is not None:
        assert chain & delta, f"{source.entity} has no delta function"
        assert source.delta == f"{source.collection}/delta"
    assert (resource_type.collection is Collection.GRAPH_DELTA) == (source.delta is not None)


def _sdk_model(entity: str) -> Any:
    pytest.importorskip("msgraph")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        module = re.sub(r"(?<!^)(?=[A-Z])", "_", entity).lower()
        models = importlib.import_module(f"msgraph.generated.models.{module}")
        from kiota_serialization_json.json_parse_node import JsonParseNode
    return JsonParseNode, getattr(models, entity[0].upper() + entity[1:])


@pytest.mark.parametrize("resource_type", GRAPH_TYPES, ids=ids)
def test_msgraph_sdk_parses_the_fixture_with_nothing_unknown(resource_type: ResourceType) -> None:
    node, model = _sdk_model(src(resource_type).entity)
    own = fixture(resource_type)
    plain = {k: v for k, v in own.items() if k not in resource_type.linked_fields}
    parsed = node(plain).get_object_value(model)
    assert parsed.additional_data == {}, "properties the SDK does not know"
    identity = getattr(parsed, re.sub(r"(?<!^)(?=[A-Z])", "_", resource_type.identity).lower())
    assert identity == own.get(resource_type.identity)


def _changed(value: Any) -> Any:
    if value is None:
        return "set"
    if isinstance(value, bool):
        return not value
    if isinstance(value, str):
        return value + " (changed)"
    if isinstance(value, int):
        return value + 1
    if isinstance(value, list):
        return [*value, "extra"] if all(isinstance(v, str) for v in value) else value[:-1]
    return None  # a complex value cleared


@pytest.mark.parametrize("resource_type", WRITTEN, ids=ids)
def test_patch_writes_exactly_the_writable_fields_that_differ(resource_type: ResourceType) -> None:
    own = fixture(resource_type)
    assert patch_plan(resource_type, own, own).requests == (), "same state, nothing to write"
    writes = resource_type.writes
    assert writes is not None
    plain = [
        name
        for name in own
        if not name.startswith("@")
        and name not in resource_type.linked_fields
        and name != resource_type.identity
    ]
    for name in plain:
        target = {**own, name: _changed(own[name])}
        plan = patch_plan(resource_type, target, own)
        patches = [
            r
            for r in plan.requests
            if r.method == "PATCH" and r.path == item_path(resource_type, own)
        ]
        refused = {r.field for r in plan.refused}
        separate = {s.field for s in writes.separate}
        if (
            resource_type.writable(name)
            and name not in writes.create_only
            and writes.patch
            and not (own.get("onPremisesSyncEnabled") and name in writes.on_premises_mastered)
        ):
            assert [p.body for p in patches] == [
                {
                    **({"@odata.type": own["@odata.type"]} if writes.odata_type else {}),
                    name: target[name],
                }
            ], name
            assert not refused
        elif name in separate or name in resource_type.volatile_fields:
            assert not patches, name
        else:
            assert not patches and name in refused, name


@pytest.mark.parametrize(
    "resource_type", [t for t in WRITTEN if t.writes and t.writes.create], ids=ids
)
def test_create_body_leaves_out_what_graph_sets_and_follows_the_id_map(
    resource_type: ResourceType,
) -> None:
    own = fixture(resource_type)
    writes = resource_type.writes
    assert writes is not None and writes.create is not None
    made = create_request(resource_type, own)
    body = made.request.body
    assert made.request.method == "POST" and body is not None
    assert "{" not in made.request.path, made.request.path
    inner = body if writes.create.wrap is None else own
    for name in resource_type.read_only_fields | resource_type.volatile_fields:
        if name not in writes.create.requires:
            assert name not in (body if writes.create.wrap is None else {}), name
    for name in writes.create.requires:
        assert name in inner, name
    found = references_in(resource_type, own)
    ids_map = {ref.value: f"new-{index}" for index, ref in enumerate(found)}
    remade = create_request(resource_type, own, ids_map)
    text = json.dumps([remade.request.body, [r.body for r in remade.after], remade.request.path])
    for old, new in ids_map.items():
        assert new in text, f"{old} was not replaced"
        assert old not in text, f"{old} is still there"
    assert all(ref.mapped for ref in remade.references)


@pytest.mark.parametrize("resource_type", WRITTEN, ids=ids)
def test_remove_is_a_delete_or_says_why_not(resource_type: ResourceType) -> None:
    own = fixture(resource_type)
    writes = resource_type.writes
    assert writes is not None
    if (writes.delete and not src(resource_type).singleton) or writes.remove:
        request = remove_request(resource_type, own)
        assert request.method in {"DELETE", "POST"}
        assert "{" not in request.path
    else:
        with pytest.raises(ValueError, match="cannot be deleted"):
            remove_request(resource_type, own)
        assert resource_type.restore.refusal


@pytest.mark.parametrize("resource_type", GRAPH_TYPES, ids=ids)
def test_collections_are_the_arrays_microsoft_declares(resource_type: ResourceType) -> None:
    """What is written back as an array is what the CSDL declares an array, for every field the
    row selects, classes or holds in its fixture."""
    source, t = src(resource_type), resource_type
    known = members(source.entity)
    names = set(source.select) | set(fixture(t)) | t.unordered_fields | t.read_only_fields
    for name in (names | t.never_written | source.collections) - t.linked_fields:
        if name in known:
            assert (name in source.collections) == known[name].collection, name
    assert source.collections <= set(known), sorted(source.collections - set(known))


@pytest.mark.parametrize("resource_type", WRITTEN, ids=ids)
def test_a_stored_state_turns_back_into_the_graph_json_it_came_from(
    resource_type: ResourceType,
) -> None:
    """The store's form (``graph_content.normalize``: lists of values, no annotations, no nulls)
    read back by ``graph_json`` is the object Graph gave, its derived ``@odata.type``
    recovered where bodies need it."""
    own = fixture(resource_type)
    stored = normalize(resource_type, own)
    assert all(isinstance(v, list) for v in stored.values())
    back = graph_json(resource_type, stored)
    expected = {
        k: v
        for k, v in own.items()
        if v is not None
        and v != []
        and k not in resource_type.volatile_fields
        and (not k.startswith("@") or (k == "@odata.type" and resource_type.writes.odata_type))
    }
    assert resource_type.same_content(back, expected)
    assert back.get("@odata.type") == expected.get("@odata.type")
    if "@odata.type" in expected:
        kind = str(expected["@odata.type"]).removeprefix("#microsoft.graph.")
        assert kind in schema()[0], kind
