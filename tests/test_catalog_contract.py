"""Contract over the whole resource-type registry, walked provider by provider: every row is
usable by snapshot, capture, diff, rollback, permission checks and docs, and carries the
behaviour it declares. Adding a type is adding a row and its fixture
(``tests/fixtures/resource_types/<key>.json``: one object of the type, as stored); this test is
what holds it, with no table of its own per type (Cloud Custodian's registry lint)."""

from __future__ import annotations

import ast
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Mode, Service
from dirguard.catalog.permission_rows_guardian_reads import (
    directory_role_writes,
    graph_permission_writes,
)
from dirguard.catalog.resource_type import (
    ArmSource,
    Collection,
    ExchangeSource,
    GraphSource,
    LdapSource,
    ResourceType,
    ResourceTypeRegistry,
    select_type,
)
from dirguard.catalog.type_permissions import modes_offered, permissions_for_type
from dirguard.providers.ad.provider import AdProvider
from dirguard.providers.entra.provider import EntraProvider
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.store import json_codec
from tests.fixtures.requirements import unavailable

PROVIDERS = RESOURCE_TYPES.providers()
TYPES = [t for provider in PROVIDERS for t in RESOURCE_TYPES.of_provider(provider)]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "resource_types"
SRC = Path(__file__).resolve().parents[1] / "src" / "dirguard"
SOURCE_PREFIX = {
    "ad": LdapSource,
    "entra": GraphSource,
    "intune": GraphSource,
    "exchange": ExchangeSource,
    "azure": ArmSource,
}
"""What the key's first part says about where a type is read from (one line per source)."""
DELTA_COLLECTIONS = {
    "users",
    "groups",
    "applications",
    "servicePrincipals",
    "directoryRoles",
    "administrativeUnits",
    "devices",
    "contacts",
    "oauth2PermissionGrants",
}
"""Graph collections with a delta function (../shared/reference/README.md); poll the rest."""

CSDL = Path(__file__).resolve().parents[1].parent / "shared/reference/graph/v1.0-Prod.csdl"


def ids(value: ResourceType) -> str:
    return value.key


def fixture(resource_type: ResourceType) -> dict[str, Any]:
    """The type's fixture object, decoded as the store decodes a version."""
    path = FIXTURES / f"{resource_type.key}.json"
    assert path.is_file(), f"{resource_type.key} has no fixture object ({path})"
    content = json_codec.decode(json.loads(path.read_text(encoding="utf-8")))
    assert isinstance(content, dict)
    return content


def same_place(a: ResourceType, b: ResourceType) -> bool:
    """``a`` and ``b`` are read from the same place (one AD partition, one collection), so the
    selectors decide between them."""
    if a.provider != b.provider:
        return False
    if isinstance(a.source, LdapSource) and isinstance(b.source, LdapSource):
        return a.source.partition is b.source.partition
    return a.source == b.source


def neighbours(resource_type: ResourceType) -> list[ResourceType]:
    """The rows read from the same place, ``resource_type`` included, in declaration order."""
    return [t for t in TYPES if same_place(t, resource_type)]


def test_the_registry_is_the_providers_rows() -> None:
    """Each provider's ``resource_types()`` is its part of the registry, in order; the registry
    holds nothing else."""
    providers = [AdProvider(), EntraProvider()]
    assert [p.kind for p in providers] == list(PROVIDERS)
    for provider in providers:
        assert provider.resource_types() == RESOURCE_TYPES.of_provider(provider.kind)
        assert {t.provider for t in provider.resource_types()} == {provider.kind}


def test_keys_are_unique_and_name_their_source() -> None:
    assert len(TYPES) >= 19
    assert len(TYPES) == len(RESOURCE_TYPES), "every row belongs to one provider"
    with pytest.raises(ValueError, match="declared twice"):
        ResourceTypeRegistry([TYPES[0], TYPES[0]])
    for t in TYPES:
        prefix, _, name = t.key.partition(".")
        assert name and name == name.lower(), t.key
        assert isinstance(t.source, SOURCE_PREFIX[prefix]), t.key
    with pytest.raises(KeyError, match=r"known types: ad\.computer"):
        RESOURCE_TYPES["ad.nothing"]


@pytest.mark.parametrize("resource_type", TYPES, ids=ids)
def test_features_exist_and_give_permissions_in_every_mode_offered(
    resource_type: ResourceType,
) -> None:
    known = set(MANIFEST.feature_keys())
    assert resource_type.read_features, "no read feature"
    assert resource_type.write_features, "no write feature"
    for key in resource_type.read_features + resource_type.write_features:
        assert key in known, f"unknown feature {key!r}"
    # Full mode monitors and writes every type.
    assert Mode.FULL in modes_offered(resource_type, write=False)
    assert Mode.FULL in modes_offered(resource_type, write=True)
    for write in (False, True):
        for mode in modes_offered(resource_type, write=write):
            assert permissions_for_type(resource_type, mode, write=write), (mode, write)
    # Guardian monitors every type in read-only mode too, and never writes there.
    assert Mode.READ_ONLY in modes_offered(resource_type, write=False)
    for key in resource_type.write_features:
        feature = MANIFEST.feature(key)
        if feature.service is Service.GUARDIAN:
            assert feature.modes == {Mode.FULL}, key


@pytest.mark.parametrize("resource_type", TYPES, ids=ids)
def test_restore_rights_derive_from_the_write_features(resource_type: ResourceType) -> None:
    """What a restore step on the type needs is some of its write features: Guardian features
    offered in full mode only, each with permissions there."""
    rules = resource_type.restore
    assert rules.needs, "a restore write needs some feature"
    for reanimation in (False, True):
        for key in rules.rights(reanimation=reanimation):
            assert key in resource_type.write_features, key
            feature = MANIFEST.feature(key)
            assert feature.service is Service.GUARDIAN, key
            assert feature.modes == {Mode.FULL}, key
            assert MANIFEST.by_feature(key, Mode.FULL), key
    if not (rules.reanimate and rules.recreate and rules.delete):
        assert rules.refusal, "a refused operation says why"


@pytest.mark.parametrize("resource_type", TYPES, ids=ids)
def test_field_classes_are_consistent(resource_type: ResourceType) -> None:
    t = resource_type
    assert t.identity in t.read_only_fields, "the identity must be read-only"
    assert t.identity not in t.volatile_fields
    assert t.natural_key not in t.volatile_fields
    assert not t.linked_fields & t.volatile_fields
    assert not t.linked_fields & t.read_only_fields, "links are restored, so writable"
    if isinstance(t.source, LdapSource):
        assert t.identity == "objectGUID"
        assert t.collection is Collection.DIRSYNC
        assert "pwdLastSet" not in t.volatile_fields, "a password change is a change"
        assert {"whenChanged", "uSNChanged", "replPropertyMetaData"} <= t.volatile_fields
        assert {"objectSid", "whenCreated"} <= t.read_only_fields
        if t.source.partition.value != "schema":
            assert t.restore.reanimate, "a tombstone is reanimated"
        else:
            assert not (t.restore.reanimate or t.restore.recreate or t.restore.delete)
    for name in t.read_only_fields | t.volatile_fields | t.never_written:
        assert not t.writable(name) and not t.writable(name.upper()), name
    for name in t.linked_fields:
        assert t.writable(name), f"link {name} is restored, so written"


@pytest.mark.parametrize("resource_type", TYPES, ids=ids)
def test_the_selector_takes_its_own_fixture_and_no_other(resource_type: ResourceType) -> None:
    """Among the rows read from the same place, the fixture is classified as its own type; no
    other row's selector accepts it (the one taking the rest has none)."""
    own = fixture(resource_type)
    place = neighbours(resource_type)
    assert select_type(place, own) is resource_type
    if resource_type.selects is not None:
        assert resource_type.selects(own)
    for other in place:
        if other is not resource_type and other.selects is not None:
            assert not other.selects(own), f"{other.key} also selects it"
    assert sum(t.selects is None for t in place) <= 1, "one row at most takes the rest"


@pytest.mark.parametrize("resource_type", TYPES, ids=ids)
def test_identity_is_extracted_from_the_fixture(resource_type: ResourceType) -> None:
    own = fixture(resource_type)
    identity = resource_type.identify(own)
    assert isinstance(identity, str) and identity, "the fixture holds the identity"
    without = {k: v for k, v in own.items() if k != resource_type.identity}
    source = resource_type.source
    if isinstance(source, GraphSource) and source.singleton:
        # A tenant's one object of its kind is known by its path, with or without an id.
        assert resource_type.identify(without) == source.collection.rsplit("/", 1)[-1]
    else:
        assert resource_type.identify(without) is None, "no identity field: no identity made up"


def test_ad_objects_are_identified_before_they_are_classified() -> None:
    """Capture identifies a DirSync entry before knowing its row (the entry holds only what
    changed), so the AD rows share one identity extraction."""
    identify = RESOURCE_TYPES.identify("ad")
    for resource_type in RESOURCE_TYPES.of_provider("ad"):
        assert identify(fixture(resource_type)) == resource_type.identify(fixture(resource_type))


@pytest.mark.parametrize("resource_type", TYPES, ids=ids)
def test_versions_compare_without_volatile_fields_and_order_of_unordered_ones(
    resource_type: ResourceType,
) -> None:
    own = fixture(resource_type)
    reordered = {
        k: list(reversed(v)) if k in resource_type.unordered_fields and isinstance(v, list) else v
        for k, v in own.items()
    }
    assert resource_type.same_content(own, reordered)
    for name in resource_type.volatile_fields:
        assert resource_type.same_content(own, {**own, name: ["changed on its own"]}), name
    changed = {**own, resource_type.natural_key: "someone else"}
    assert not resource_type.same_content(own, changed)


@pytest.mark.parametrize(
    "resource_type", [t for t in TYPES if t.restore.disable_instead is not None], ids=ids
)
def test_disable_instead_writes_a_writable_field_once(resource_type: ResourceType) -> None:
    disable = resource_type.restore.disable_instead
    assert disable is not None
    own = fixture(resource_type)
    write = disable(own)
    assert resource_type.writable(write.field)
    assert write.expected == tuple(own.get(write.field) or ()) or write.expected is None
    assert write.values != write.expected, "disabling changes the fixture"
    again = disable({**own, write.field: list(write.values)})
    assert again.values == write.values, "a disabled object stays as it is"


def _string_constants(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.lineno, node.value


def _declares_rows(path: Path) -> bool:
    """``providers/<kind>/types.py`` or a module of ``providers/<kind>/types/``."""
    if path.name == "types.py":
        return path.parent.parent.name == "providers"
    return path.parent.name == "types" and path.parent.parent.parent.name == "providers"


def test_no_code_names_a_type_key_outside_the_rows() -> None:
    """What a type does is on its row: no module of the product compares, looks up or lists a
    type by its key, except the modules declaring the rows, and the migrations, which freeze
    what the rows said when they were written (a migration never imports today's code)."""
    keys = set(RESOURCE_TYPES)
    migrations = SRC / "store" / "migrations"
    found = [
        f"{path.relative_to(SRC)}:{line}: {value!r}"
        for path in sorted(SRC.rglob("*.py"))
        if not _declares_rows(path) and migrations not in path.parents
        for line, value in _string_constants(path)
        if value in keys
    ]
    assert not found, found


@pytest.mark.parametrize(
    "resource_type", [t for t in TYPES if isinstance(t.source, GraphSource)], ids=ids
)
def test_graph_types_poll_where_graph_has_no_delta(resource_type: ResourceType) -> None:
    assert isinstance(resource_type.source, GraphSource)
    source = resource_type.source
    has_delta = source.collection.rsplit("/", 1)[-1] in DELTA_COLLECTIONS and not source.parent
    expected = Collection.GRAPH_DELTA if has_delta else Collection.POLL_HASH
    assert resource_type.collection is expected
    assert source.delta == (f"{source.collection}/delta" if has_delta else None)


@cache
def _graph_properties() -> dict[str, set[str]]:
    """Entity type name -> its property and navigation names, inherited ones included."""
    root = ET.parse(CSDL).getroot()  # noqa: S314 - Microsoft's published schema, read locally
    own: dict[str, set[str]] = {}
    base: dict[str, str] = {}
    schema = next(
        e
        for e in root.iter()
        if e.tag.endswith("}Schema") and e.get("Namespace") == "microsoft.graph"
    )
    for entity in schema:
        if entity.tag.endswith("}EntityType") or entity.tag.endswith("}ComplexType"):
            name = entity.attrib["Name"]
            own[name] = {
                c.attrib["Name"]
                for c in entity
                if c.tag.endswith("}Property") or c.tag.endswith("}NavigationProperty")
            }
            if "BaseType" in entity.attrib:
                base[name] = entity.attrib["BaseType"].rsplit(".", 1)[-1]
    full: dict[str, set[str]] = {}
    for name in own:
        names, cursor = set(own[name]), base.get(name)
        while cursor:
            names |= own.get(cursor, set())
            cursor = base.get(cursor)
        full[name] = names
    for name, parent in base.items():  # derived types' properties (ipNamedLocation, ...)
        full.setdefault(parent, set()).update(own[name])
    return full


@pytest.mark.parametrize(
    "resource_type", [t for t in TYPES if isinstance(t.source, GraphSource)], ids=ids
)
def test_graph_field_names_exist_in_microsofts_schema(resource_type: ResourceType) -> None:
    if not CSDL.is_file():
        unavailable("graph-reference", f"{CSDL} (../shared/reference) is absent")
    assert isinstance(resource_type.source, GraphSource)
    entity = resource_type.source.entity
    properties = _graph_properties()[entity]
    t = resource_type
    fields = (
        {t.identity, t.natural_key}
        | t.read_only_fields
        | t.volatile_fields
        | t.unordered_fields
        | {link for link in t.linked_fields if "/" not in link}
    )
    # A link named by its path (``authentication/methods``) is resolved through the navigation
    # properties by tests/test_catalog_graph_contract.py.
    unknown = sorted(fields - properties)
    assert not unknown, f"{entity} has no property {unknown}"


@pytest.mark.parametrize(
    "resource_type", [t for t in TYPES if t.provider == "entra"], ids=lambda t: t.key
)
def test_entra_read_only_mode_holds_no_write_permission(resource_type: ResourceType) -> None:
    """Read-only mode reads every cloud type with read permissions only: an application
    permission is the app's own right whatever its directory role, so a write permission held
    in read-only mode would let the "read-only" app write."""
    read_only = permissions_for_type(resource_type, Mode.READ_ONLY, write=False)
    assert read_only
    for row in read_only:
        if row.kind is Kind.GRAPH_APPLICATION:
            assert not graph_permission_writes(row.name), row.key
        if row.kind is Kind.DIRECTORY_ROLE:
            assert not directory_role_writes(row.name), row.key
