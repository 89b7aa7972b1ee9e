"""Rollback outside the domain partition (against the session's real Samba AD DC, through the
CLI): a subnet's description in the configuration partition is put back (one event, or the
whole subnet to a moment with its site link), a subnet created by mistake is deleted again, a
deleted subnet is reanimated from the configuration partition's Deleted Objects container with
its objectGUID (a search of the domain's naming context alone does not find that tombstone).
In the schema partition the throwaway DC refuses every modification (no ``dsdb:schema update
allowed``); there a step is shown to find and read its object and to report the DC's refusal."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.providers.ad.apply import apply_step
from dirguard.providers.ad.connection import AdConnection, NamingContexts
from dirguard.providers.ad.ldap_read import show_deleted_control
from dirguard.providers.ad.partition_search import search_bases
from dirguard.providers.ad.plan.restore_plan import PlannedStep, StepKind, as_values
from dirguard.providers.ad.tombstones import missing_tombstones
from dirguard.providers.ad.values import guid_bytes, guid_filter_value
from dirguard.store.column_types import utcnow
from dirguard.store.database import create_engine_for, session_factory
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.helpers import events_of, guid_of, read, write_config

Run = Callable[..., dict[str, Any]]


def _cli(tmp_path: Path, dc: SambaDC, partitions: str) -> Run:
    config = write_config(tmp_path, dc, extra=f"partitions = [{partitions}]\n")
    runner = CliRunner()
    env = {"TEST_DIRGUARD_AD_PASSWORD": dc.admin_password}

    def run(*args: str, code: int = 0) -> dict[str, Any]:
        result = runner.invoke(app, ["--config", str(config), *args, "--json"], env=env)
        assert result.exit_code == code, result.output
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed

    return run


def _event(tmp_path: Path, guid: str, op: str, attribute: str | None) -> Any:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        found = events_of(session_factory(engine), guid, op, attribute)
    finally:
        engine.dispose()
    assert found, f"no {op} event of {guid} ({attribute}) was captured"
    return found[-1]


def _configuration(conn: Any) -> str:
    [(_dn, attrs)] = conn.search_s("", ldap.SCOPE_BASE, "(objectClass=*)", ["*"])
    return bytes(attrs["configurationNamingContext"][0]).decode()


@pytest.fixture
def subnet_dn(ldap_admin: Any, unique: Callable[[str], str]) -> Iterator[str]:
    """A fresh subnet's DN under CN=Subnets,CN=Sites (not created); deleted afterwards."""
    octet = int(unique("")[:4], 16) % 250 + 1
    second = int(unique("")[4:], 16) % 250 + 1
    dn = f"CN=10.{octet}.{second}.0/24,CN=Subnets,CN=Sites,{_configuration(ldap_admin)}"
    yield dn
    with contextlib.suppress(ldap.NO_SUCH_OBJECT):
        ldap_admin.delete_s(dn)


def _add_subnet(conn: Any, dn: str, description: bytes) -> None:
    conn.add_s(dn, [("objectClass", [b"subnet"]), ("description", [description])])


def _gone(conn: Any, dn: str) -> bool:
    try:
        read(conn, dn, "objectGUID")
    except ldap.NO_SUCH_OBJECT:
        return True
    return False


@pytest.mark.samba
def test_a_subnet_description_change_is_captured_and_rolled_back(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, subnet_dn: str
) -> None:
    run = _cli(tmp_path, samba_dc, '"domain", "configuration"')
    _add_subnet(ldap_admin, subnet_dn, b"Berlin office")
    run("snapshot", "ad")
    ldap_admin.modify_s(subnet_dn, [(ldap.MOD_REPLACE, "description", [b"Hamburg office"])])
    run("capture", "ad")
    guid = guid_of(ldap_admin, subnet_dn)
    event = _event(tmp_path, guid, "modify", "description")
    assert as_values(event.old_value) == ("Berlin office",)
    assert as_values(event.new_value) == ("Hamburg office",)

    plan = run("rollback", "plan", "--event", str(event.sequence))
    [step] = plan["steps"]
    assert step["object_guid"] == guid
    assert step["dn"].lower() == subnet_dn.lower()
    assert "'Berlin office'" in step["description"]
    assert read(ldap_admin, subnet_dn, "description")["description"] == [b"Hamburg office"]

    done = run("rollback", "apply", str(plan["id"]))
    assert done["status"] == "applied"
    assert [s["status"] for s in done["steps"]] == ["succeeded"]
    assert done["steps"][0]["outcome"] == "verified"
    assert read(ldap_admin, subnet_dn, "description")["description"] == [b"Berlin office"]


@pytest.mark.samba
def test_a_subnet_is_restored_to_a_moment_attributes_and_site_link(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, subnet_dn: str
) -> None:
    run = _cli(tmp_path, samba_dc, '"domain", "configuration"')
    site = f"CN=Default-First-Site-Name,CN=Sites,{_configuration(ldap_admin)}"
    _add_subnet(ldap_admin, subnet_dn, b"Leipzig office")
    ldap_admin.modify_s(subnet_dn, [(ldap.MOD_REPLACE, "location", [b"Leipzig/Floor 1"])])
    guid = guid_of(ldap_admin, subnet_dn)
    run("snapshot", "ad")
    moment = utcnow().isoformat()
    ldap_admin.modify_s(
        subnet_dn,
        [
            (ldap.MOD_REPLACE, "description", [b"Dresden office"]),
            (ldap.MOD_DELETE, "location", None),
            (ldap.MOD_ADD, "siteObject", [site.encode()]),
        ],
    )

    applied = run("restore", guid, "--at", moment, "--apply")

    assert applied["status"] == "applied", applied["steps"]
    assert {s["attribute"] for s in applied["steps"]} == {"description", "location", "siteObject"}
    assert {s["status"] for s in applied["steps"]} == {"succeeded"}
    back = read(ldap_admin, subnet_dn, "description", "location", "siteObject")
    assert back == {"description": [b"Leipzig office"], "location": [b"Leipzig/Floor 1"]}


@pytest.mark.samba
def test_a_created_subnet_is_deleted_by_rolling_back_its_creation(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, subnet_dn: str
) -> None:
    run = _cli(tmp_path, samba_dc, '"domain", "configuration"')
    run("snapshot", "ad")
    _add_subnet(ldap_admin, subnet_dn, b"created by mistake")
    run("capture", "ad")
    event = _event(tmp_path, guid_of(ldap_admin, subnet_dn), "create", None)

    plan = run("rollback", "plan", "--event", str(event.sequence))
    assert [s["kind"] for s in plan["steps"]] == ["delete"]
    done = run("rollback", "apply", str(plan["id"]))
    assert [s["status"] for s in done["steps"]] == ["succeeded"], done["steps"]
    assert _gone(ldap_admin, subnet_dn)


@pytest.mark.samba
def test_a_deleted_subnet_is_undeleted_with_its_objectguid(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, subnet_dn: str
) -> None:
    run = _cli(tmp_path, samba_dc, '"domain", "configuration"')
    _add_subnet(ldap_admin, subnet_dn, b"Munich office")
    ldap_admin.modify_s(subnet_dn, [(ldap.MOD_REPLACE, "location", [b"Munich/Floor 3"])])
    run("snapshot", "ad")
    guid = guid_of(ldap_admin, subnet_dn)
    ldap_admin.delete_s(subnet_dn)
    assert _gone(ldap_admin, subnet_dn)
    query = f"(objectGUID={guid_filter_value(guid_bytes(guid))})"
    where = {
        base: ldap_admin.search_ext_s(
            base, ldap.SCOPE_SUBTREE, query, ["1.1"], serverctrls=[show_deleted_control()]
        )
        for base in (samba_dc.base_dn, _configuration(ldap_admin))
    }
    assert not [dn for dn, _a in where[samba_dc.base_dn] if dn], "not in the domain's context"
    [tombstone] = [dn for dn, _a in where[_configuration(ldap_admin)] if dn]
    assert "CN=Deleted Objects,CN=Configuration," in tombstone

    result = run("undelete", guid, "--as", "alice")

    assert result["status"] == "applied", result["steps"]
    assert {s["status"] for s in result["steps"]} <= {"succeeded", "unchanged"}
    assert "reanimate" in {s["kind"] for s in result["steps"]}
    back = read(ldap_admin, subnet_dn, "objectGUID", "description", "location")
    assert guid_of(ldap_admin, subnet_dn) == guid
    assert back["description"] == [b"Munich office"]
    assert back["location"] == [b"Munich/Floor 3"]


@pytest.mark.samba
def test_rolling_back_a_subnet_delete_reanimates_its_tombstone(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, ad_conn: AdConnection, subnet_dn: str
) -> None:
    run = _cli(tmp_path, samba_dc, '"domain", "configuration"')
    _add_subnet(ldap_admin, subnet_dn, b"Cologne office")
    run("snapshot", "ad")
    guid = guid_of(ldap_admin, subnet_dn)
    ldap_admin.delete_s(subnet_dn)
    assert missing_tombstones(ad_conn, [guid]) == frozenset(), "the tombstone is there"
    run("capture", "ad")
    event = _event(tmp_path, guid, "delete", None)

    plan = run("rollback", "plan", "--event", str(event.sequence))
    kinds = [s["kind"] for s in plan["steps"]]
    assert kinds[0] == "reanimate" and "recreate" not in kinds
    done = run("rollback", "apply", str(plan["id"]))

    assert done["status"] == "applied", done["steps"]
    assert guid_of(ldap_admin, subnet_dn) == guid
    assert read(ldap_admin, subnet_dn, "description")["description"] == [b"Cologne office"]


SCHEMA_ATTRIBUTE = "CN=Extension-Name"
"""An attributeSchema of the base schema (its adminDescription is what an admin would change)."""


@pytest.mark.samba
def test_schema_steps_find_their_object_and_report_samba_refusing_schema_updates(
    ad_conn: AdConnection, ldap_admin: Any
) -> None:
    """The throwaway DC runs without ``dsdb:schema update allowed``, so Samba refuses every
    schema modification, an administrator's too: a schema change cannot even be made to be
    rolled back. What is checked: a step on a schema object finds it in the schema partition
    (also when the DN known at planning lies elsewhere), reads it back there, and a write the
    DC refuses fails with the DC's reason, the value untouched; a delete (undoing a create) is
    refused by dirguard itself, since AD never deletes schema objects."""
    dn = f"{SCHEMA_ATTRIBUTE},{ad_conn.contexts.schema}"
    current = tuple(
        v.decode() for v in read(ldap_admin, dn, "adminDescription").get("adminDescription", [])
    )
    guid = guid_of(ldap_admin, dn)

    def step(values: tuple[str, ...], planned_dn: str) -> PlannedStep:
        return PlannedStep(
            kind=StepKind.SET,
            object_guid=guid,
            dn=planned_dn,
            attribute="adminDescription",
            values=values,
            expected=current,
            description=f"Set adminDescription of {planned_dn}",
        )

    assert apply_step(ad_conn, step(current, dn), force=False) == (
        "unchanged",
        "already as intended",
    )
    elsewhere = f"CN=gone,{ad_conn.contexts.default}"
    assert apply_step(ad_conn, step(current, elsewhere), force=False)[0] == "unchanged"

    status, outcome = apply_step(ad_conn, step(("changed by dirguard",), dn), force=False)
    assert status == "failed"
    assert outcome.startswith("the directory refused:")
    assert "updates are not allowed" in outcome
    after = read(ldap_admin, dn, "adminDescription").get("adminDescription", [])
    assert tuple(v.decode() for v in after) == current

    delete = PlannedStep(kind=StepKind.DELETE, object_guid=guid, dn=dn, description=f"Delete {dn}")
    status, outcome = apply_step(ad_conn, delete, force=False)
    assert status == "failed"
    assert outcome.startswith(f"{dn} is in the schema partition: AD never deletes")
    assert guid_of(ldap_admin, dn) == guid


@pytest.mark.samba
def test_an_unknown_guid_is_looked_for_in_every_partition(ad_conn: AdConnection) -> None:
    missing = str(uuid.uuid4())
    step = PlannedStep(
        kind=StepKind.SET,
        object_guid=missing,
        dn=f"CN=x,CN=Subnets,CN=Sites,{ad_conn.contexts.configuration}",
        attribute="description",
        values=("a",),
        description="Set description",
    )
    assert apply_step(ad_conn, step, force=False) == (
        "failed",
        f"no object with objectGUID {missing} in the directory (not even a tombstone)",
    )
    assert missing_tombstones(ad_conn, [missing]) == {missing}


def test_the_partition_holding_a_dn_is_searched_first() -> None:
    contexts = NamingContexts(
        default="DC=corp,DC=example",
        configuration="CN=Configuration,DC=corp,DC=example",
        schema="CN=Schema,CN=Configuration,DC=corp,DC=example",
    )
    domain, configuration, schema = contexts.default, contexts.configuration, contexts.schema
    subnet = f"CN=10.0.0.0/8,CN=Subnets,CN=Sites,{configuration}"
    tombstone = f"CN=10.0.0.0/8\\0ADEL:1f0e,CN=Deleted Objects,{configuration.upper()}"
    assert search_bases(contexts, subnet) == (configuration, domain, schema)
    assert search_bases(contexts, tombstone) == (configuration, domain, schema)
    assert search_bases(contexts, f"CN=Comment,{schema}") == (schema, domain, configuration)
    assert search_bases(contexts, f"CN=jana,OU=Sales,{domain}") == (domain, configuration, schema)
    assert search_bases(contexts, "CN=x,DC=other,DC=example") == (domain, configuration, schema)
    assert search_bases(contexts, None) == (domain, configuration, schema)
