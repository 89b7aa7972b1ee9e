"""Deleting, re-creating or reanimating a schema object is refused when the plan is made, not
only when it is applied: ``rollback plan`` (JSON and text), ``restore --at``, ``undelete`` and
``rollback check`` show such a step as skipped with the reason, ``--force`` does not bring it
back, and ``rollback apply`` never sends it. A change to a schema object's attributes is still
planned (AD allows it).

How the history is made: the store holds the session's real Samba DC snapshot with the schema
partition selected (``partitions = ["domain", "schema"]``), so the real schema objects are
stored as the product stores them (type ``ad.schema_object``, DN under the schema naming
context). The throwaway DC refuses every schema write (it runs without ``dsdb:schema update
allowed``), so a schema object cannot be created, changed or deleted there to be captured.
The schema history a real forest would produce is therefore written into the store with the
store's own functions, in the shapes a capture pass gives them (:func:`append_events` with a
``create`` event carrying the new object's content, or a ``modify`` / ``delete`` event, and
:func:`record_state` for the object's state after it), and the real CLI plans from it.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad import KIND as AD
from dirguard.providers.ad.values import DN_ATTRIBUTE
from dirguard.providers.base import store_source
from dirguard.services.capture.snapshot import latest_versions, record_state
from dirguard.store.column_types import utcnow
from dirguard.store.database import create_engine_for, session_factory
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import AuditRecord, DirectoryObject
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.helpers import Sessions, write_config

pytestmark = pytest.mark.samba

REFUSAL = "is in the schema partition: AD never deletes, re-creates or reanimates schema objects"
ACTOR = "DIRGUARD\\schema-admin"
EXISTING = "CN=Extension-Name"
"""An attributeSchema of the base schema, stored by the snapshot."""


@dataclass(frozen=True, kw_only=True)
class Forest:
    """The CLI on a store holding the DC's domain and schema partitions."""

    run: Callable[..., Any]
    sessions: Callable[[], contextlib.AbstractContextManager[Sessions]]
    source: str
    schema_nc: str


@pytest.fixture(scope="module")
def forest(samba_dc: SambaDC, tmp_path_factory: pytest.TempPathFactory) -> Forest:
    tmp_path = tmp_path_factory.mktemp("schema")
    config = write_config(tmp_path, samba_dc, extra='partitions = ["domain", "schema"]\n')
    runner = CliRunner()
    env = {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}

    def run(*args: str, code: int = 0, json_output: bool = True) -> Any:
        extra = ["--json"] if json_output else []
        result = runner.invoke(app, ["--config", str(config), *args, *extra], env=env)
        assert result.exit_code == code, result.output
        return json.loads(result.stdout) if json_output else result

    @contextlib.contextmanager
    def sessions() -> Iterator[Sessions]:
        engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
        try:
            yield session_factory(engine)
        finally:
            engine.dispose()

    run("snapshot", "ad")
    return Forest(
        run=run,
        sessions=sessions,
        source=store_source(AD, samba_dc.realm.lower()),
        schema_nc=f"CN=Schema,CN=Configuration,{samba_dc.base_dn}",
    )


def _stored(session: Any, source: str, dn: str) -> DirectoryObject:
    [obj] = session.scalars(
        select(DirectoryObject).where(
            DirectoryObject.source == source, DirectoryObject.path.ilike(dn)
        )
    ).all()
    return obj


def _new_attribute(forest: Forest, name: str, *, actor: str | None = ACTOR) -> tuple[str, str, int]:
    """Record the creation of attributeSchema ``name`` as a capture pass records a new object
    (its content modelled on a stored base-schema attribute); ``(guid, dn, sequence)``."""
    dn = f"CN={name},{forest.schema_nc}"
    guid = str(uuid.uuid4())
    with forest.sessions() as sessions, sessions.begin() as session:
        template = _stored(session, forest.source, f"{EXISTING},{forest.schema_nc}")
        content = dict(latest_versions(session, [template.id])[template.id].content)
        for identity in ("objectGUID", "schemaIDGUID", "attributeID", "whenCreated", "uSNCreated"):
            content.pop(identity, None)
        content.update(
            {
                DN_ATTRIBUTE: [dn],
                "cn": [name],
                "name": [name],
                "lDAPDisplayName": [name[0].lower() + name[1:].replace("-", "")],
                "adminDescription": [f"{name}, added by a vendor installer"],
            }
        )
        obj = DirectoryObject(
            source=forest.source, resource_type=template.resource_type, external_id=guid, path=dn
        )
        session.add(obj)
        session.flush()
        [event] = append_events(
            session,
            [NewChangeEvent(object_id=obj.id, op=ChangeOp.CREATE, new_value=content, actor=actor)],
        )
        record_state(session, obj, content, None, None)
        return guid, dn, event.sequence


def _description_change(forest: Forest, dn: str, old: str, new: str) -> int:
    """Record a change of ``dn``'s adminDescription as a capture pass does; its sequence."""
    with forest.sessions() as sessions, sessions.begin() as session:
        obj = _stored(session, forest.source, dn)
        previous = latest_versions(session, [obj.id])[obj.id]
        [event] = append_events(
            session,
            [
                NewChangeEvent(
                    object_id=obj.id,
                    op=ChangeOp.MODIFY,
                    attribute="adminDescription",
                    old_value=old,
                    new_value=new,
                    actor=ACTOR,
                )
            ],
        )
        record_state(session, obj, {**previous.content, "adminDescription": [new]}, previous, None)
        return event.sequence


def _deletion(forest: Forest, guid: str) -> int:
    """Record the deletion of the stored object ``guid`` as a capture pass records a tombstone
    it receives (one delete event; the tombstone keeps few attributes); its sequence."""
    with forest.sessions() as sessions, sessions.begin() as session:
        [obj] = session.scalars(
            select(DirectoryObject).where(DirectoryObject.external_id == guid)
        ).all()
        previous = latest_versions(session, [obj.id])[obj.id]
        live_dn = str(previous.content[DN_ATTRIBUTE][0])
        name = live_dn.split(",", 1)[0].removeprefix("CN=")
        tombstone = f"CN={name}\\0ADEL:{guid},CN=Deleted Objects,{forest.schema_nc}"
        [event] = append_events(
            session,
            [
                NewChangeEvent(
                    object_id=obj.id,
                    op=ChangeOp.DELETE,
                    attribute=DN_ATTRIBUTE,
                    old_value=live_dn,
                    new_value=tombstone,
                    actor=ACTOR,
                )
            ],
        )
        content = {
            DN_ATTRIBUTE: [tombstone],
            "objectClass": previous.content["objectClass"],
            "isDeleted": ["TRUE"],
            "cn": [f"{name}\nDEL:{guid}"],
        }
        record_state(session, obj, content, previous, None)
        return event.sequence


def _refused(step: dict[str, Any], dn: str) -> None:
    assert step["status"] == "skipped", step
    assert step["conflict"].startswith(f"{dn} {REFUSAL}"), step
    assert step["outcome"] == f"skipped: {step['conflict']}"
    assert "isDefunct = TRUE" in step["conflict"]


def _audited(forest: Forest, plan_id: int) -> list[str]:
    with forest.sessions() as sessions, sessions() as session:
        return [
            r.action
            for r in session.scalars(select(AuditRecord))
            if r.details.get("plan") == plan_id
        ]


def test_undoing_a_schema_creation_is_refused_in_the_plan_even_with_force(
    forest: Forest,
) -> None:
    guid, dn, sequence = _new_attribute(forest, "Contoso-Badge-Number")

    plan = forest.run("rollback", "plan", "--event", str(sequence), "--no-refresh")
    [step] = plan["steps"]
    assert (step["kind"], step["object_guid"]) == ("delete", guid)
    _refused(step, dn)
    assert any(REFUSAL in w for w in plan["selection"]["warnings"])

    forced = forest.run("rollback", "plan", "--event", str(sequence), "--force")
    assert forced["force"] is True
    [step] = forced["steps"]
    _refused(step, dn)

    check = forest.run("rollback", "check", str(forced["id"]))
    assert check["rights"]["needs"] == [], "a refused step needs no rights: it will not run"

    applied = forest.run("rollback", "apply", str(forced["id"]), code=1)
    assert applied["status"] == "partial"
    [step] = applied["steps"]
    _refused(step, dn)
    assert _audited(forest, forced["id"]) == [], "nothing was sent to the directory"


def test_an_actors_plan_keeps_the_schema_attribute_change_and_skips_the_delete(
    forest: Forest,
) -> None:
    since = utcnow().isoformat()
    existing = f"{EXISTING},{forest.schema_nc}"
    with forest.sessions() as sessions, sessions() as session:
        before = latest_versions(session, [_stored(session, forest.source, existing).id])
    [content] = before.values()
    old = str((content.content.get("adminDescription") or [EXISTING[3:]])[0])
    _description_change(forest, existing, old, "changed by the installer")
    _guid, dn, _sequence = _new_attribute(forest, "Contoso-Cost-Center")

    plan = forest.run(
        "rollback", "plan", "--actor", ACTOR, "--since", since, "--force", "--no-refresh"
    )
    assert sorted(s["kind"] for s in plan["steps"]) == ["delete", "set"]
    by_kind = {s["kind"]: s for s in plan["steps"]}
    assert by_kind["set"]["status"] == "planned"
    assert by_kind["set"]["dn"].lower() == existing.lower()
    _refused(by_kind["delete"], dn)

    check = forest.run("rollback", "check", str(plan["id"]))
    assert [n["partition"] for n in check["rights"]["needs"]] == ["schema"]

    text = forest.run(
        "rollback",
        "plan",
        "--actor",
        ACTOR,
        "--since",
        since,
        "--no-refresh",
        json_output=False,
    )
    rows = [line for line in text.stdout.splitlines() if "│" in line]
    assert any("skipped" in row and "Delete" in row for row in rows), text.stdout
    assert any("planned" in row and "Set" in row for row in rows), text.stdout
    warnings = " ".join(text.stderr.split())
    assert REFUSAL in warnings and "skipped, also with --force" in warnings


def test_bringing_back_a_deleted_schema_object_is_refused_with_its_follow_up_steps(
    forest: Forest,
) -> None:
    guid, dn, _created = _new_attribute(forest, "Contoso-Locker-Id", actor=None)
    moment = utcnow().isoformat()
    deleted = _deletion(forest, guid)

    reanimation = forest.run("rollback", "plan", "--event", str(deleted), "--no-refresh")
    first, *follow_up = reanimation["steps"]
    assert first["kind"] == "reanimate"
    _refused(first, dn)
    assert follow_up, "the tombstone lost attributes the plan would set again"
    for step in follow_up:
        assert step["status"] == "skipped", step
        assert step["conflict"] == (
            f"{dn} is not brought back (schema partition), so this step has no object to act on"
        )

    # with --refresh the DC is asked for the tombstone: there is none, so a re-create is planned
    recreation = forest.run("rollback", "plan", "--event", str(deleted), "--force")
    [step] = recreation["steps"]
    assert step["kind"] == "recreate"
    _refused(step, dn)

    restore = forest.run("restore", guid, "--at", moment, "--no-refresh")
    assert restore["steps"][0]["kind"] == "reanimate"
    _refused(restore["steps"][0], dn)
    assert {s["status"] for s in restore["steps"]} == {"skipped"}

    undelete = forest.run("undelete", guid, code=1)
    assert undelete["status"] == "partial"
    assert undelete["steps"][0]["kind"] == "reanimate"
    _refused(undelete["steps"][0], dn)
    assert {s["status"] for s in undelete["steps"]} == {"skipped"}
    assert _audited(forest, undelete["id"]) == [], "nothing was sent to the directory"


def test_the_refused_steps_objects_are_the_snapshots_schema_objects(forest: Forest) -> None:
    """The planner knows the partition from the stored type: the snapshot stored every object
    of the schema naming context as ``ad.schema_object``, and no other object as one."""
    with forest.sessions() as sessions, sessions() as session:
        rows = session.execute(
            select(DirectoryObject.resource_type, DirectoryObject.path).where(
                DirectoryObject.source == forest.source
            )
        ).all()
    suffix = "," + forest.schema_nc.lower()
    in_schema = {t for t, path in rows if (path or "").lower().endswith(suffix)}
    schema_typed = [path for t, path in rows if t == "ad.schema_object"]
    assert in_schema == {"ad.schema_object"}
    assert len(schema_typed) > 1000, "the base schema's classes and attributes are stored"
    assert all((path or "").lower().endswith(suffix) for path in schema_typed)
