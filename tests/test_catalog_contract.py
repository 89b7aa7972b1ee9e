"""Contract over the whole resource-type table: every row is usable by snapshot, diff, rollback,
permission checks and docs. Adding a type is adding a row; this test is what holds it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import pytest

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Mode, Service
from dirguard.catalog.resource_type import (
    ArmSource,
    Collection,
    ExchangeSource,
    GraphSource,
    LdapSource,
    ResourceType,
    ResourceTypeRegistry,
)
from dirguard.catalog.type_permissions import modes_offered, permissions_for_type
from dirguard.providers.registry import RESOURCE_TYPES
from tests.fixtures.requirements import unavailable

TYPES = list(RESOURCE_TYPES.values())
SOURCE_PREFIX = {
    "ad": LdapSource,
    "entra": GraphSource,
    "intune": GraphSource,
    "exchange": ExchangeSource,
    "azure": ArmSource,
}
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
GRAPH_ENTITY = {
    "users": "user",
    "groups": "group",
    "applications": "application",
    "servicePrincipals": "servicePrincipal",
    "roleManagement/directory/roleAssignments": "unifiedRoleAssignment",
    "identity/conditionalAccess/policies": "conditionalAccessPolicy",
    "identity/conditionalAccess/namedLocations": "namedLocation",
    "policies/authorizationPolicy": "authorizationPolicy",
    "deviceManagement/managedDevices": "managedDevice",
}


def ids(value: ResourceType) -> str:
    return value.key


def test_keys_are_unique_and_name_their_source() -> None:
    assert len(TYPES) >= 19
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
            assert t.restore.reanimate


@pytest.mark.parametrize(
    "resource_type", [t for t in TYPES if isinstance(t.source, GraphSource)], ids=ids
)
def test_graph_types_poll_where_graph_has_no_delta(resource_type: ResourceType) -> None:
    assert isinstance(resource_type.source, GraphSource)
    has_delta = resource_type.source.collection in DELTA_COLLECTIONS
    expected = Collection.GRAPH_DELTA if has_delta else Collection.POLL_HASH
    assert resource_type.collection is expected


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
    entity = GRAPH_ENTITY[resource_type.source.collection]
    properties = _graph_properties()[entity]
    t = resource_type
    fields = (
        {t.identity, t.natural_key}
        | t.read_only_fields
        | t.volatile_fields
        | t.unordered_fields
        | t.linked_fields
    )
    unknown = sorted(fields - properties)
    assert not unknown, f"{entity} has no property {unknown}"
