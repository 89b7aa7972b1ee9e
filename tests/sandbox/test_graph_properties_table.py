"""The sandbox's table of what ``$select`` may name (``graph_properties.py``) is Microsoft's: each
listed entity type's structural properties, inherited ones included, exactly as the v1.0 CSDL
declares them; and ``$select`` of a property the sandbox keeps no value for answers ``null``,
as Graph does (https://learn.microsoft.com/graph/query-parameters#select-parameter)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from dirguard_sandbox.graph_properties import GRAPH_PROPERTIES
from tests.fixtures.graph_sandbox import InProcessTenant
from tests.fixtures.requirements import unavailable

CSDL = Path(__file__).resolve().parents[2].parent / "shared/reference/graph/v1.0-Prod.csdl"


def _csdl_properties() -> dict[str, set[str]]:
    root = ET.parse(CSDL).getroot()  # noqa: S314 - Microsoft's published schema, read locally
    schema = next(
        e
        for e in root.iter()
        if e.tag.endswith("}Schema") and e.get("Namespace") == "microsoft.graph"
    )
    entities = {e.attrib["Name"]: e for e in schema if e.tag.endswith("}EntityType")}
    found: dict[str, set[str]] = {}
    for name in entities:
        names: set[str] = set()
        cursor: str | None = name
        while cursor:
            node = entities[cursor]
            names |= {c.attrib["Name"] for c in node if c.tag.endswith("}Property")}
            base = node.get("BaseType")
            cursor = base.rsplit(".", 1)[-1] if base else None
        found[name] = names
    return found


def test_the_table_is_microsofts_schema() -> None:
    if not CSDL.is_file():
        unavailable("graph-reference", f"{CSDL} (../shared/reference) is absent")
    csdl = _csdl_properties()
    for type_name, names in GRAPH_PROPERTIES.items():
        assert names == csdl[type_name], type_name


def test_selecting_a_property_the_sandbox_keeps_no_value_for_answers_null(
    inprocess_tenant: Callable[..., InProcessTenant],
) -> None:
    tenant = inprocess_tenant(users=3, throttling=False)
    answer = tenant.http.get(
        "/v1.0/users?$select=id,employeeType,onPremisesImmutableId", headers=tenant.headers()
    )
    assert answer.status_code == 200, answer.text
    for user in answer.json()["value"]:
        assert set(user) == {"id", "employeeType", "onPremisesImmutableId"}
        assert user["employeeType"] is None
    wrong = tenant.http.get("/v1.0/users?$select=id,notAProperty", headers=tenant.headers())
    assert wrong.status_code == 400
    assert "notAProperty" in wrong.json()["error"]["message"]
