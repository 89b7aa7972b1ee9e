"""A scripted bad hour on the session's real Samba AD DC is undone by one plan.

One account (the domain admin) creates, modifies, moves, renames and deletes objects, changes
group memberships and deletes an OU with its children, while dirguard captures; meanwhile a
delegated non-admin account makes one legitimate change outside the department, which neither
plan may undo. One plan —
everything under the department OU in the window, or everything the admin did in the window
with the changes of unknown actor (Samba logs no move or rename) included on request — is made
through the CLI, and applied (``apply_plan``: the CLI's apply adds the rights checks tested
elsewhere). A fresh snapshot then equals the snapshot taken before the bad hour, except for the
volatile attributes the resource types declare and ``lastKnownParent``, which Samba leaves on
each object brought back from a tombstone: that difference is asserted exactly."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad.apply import AdStepWriter
from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes
from dirguard.providers.ad.values import Content
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.capture.snapshot import latest_versions, snapshot_domain
from dirguard.services.rollback.plans import UNATTRIBUTED_NOTE
from dirguard.services.rollback.steps import apply_plan
from dirguard.store.column_types import utcnow
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.models import DirectoryObject
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.helpers import (
    add_group,
    add_ou,
    add_user,
    guid_of,
    remove_tree,
    write_config,
)
from tests.who.helpers import DELEGATE_PASSWORD, bind_as, read_attribute

pytestmark = pytest.mark.samba

REANIMATION_TRACE = "lastKnownParent"
"""Left on an object brought back from a tombstone (as on Windows): not volatile, and not
something a restore may write (the catalog lists it read-only). The one difference the test
expects, on each reanimated object."""


def directory_state(
    tmp_path: Path, name: str, conn: AdConnection, domain: AdDomainConfig, root: str
) -> dict[str, tuple[str, Content]]:
    """A fresh snapshot of the domain into its own store; the objects under ``root`` by GUID:
    their DN and content without the volatile attributes of their resource type."""
    engine = create_engine_for(f"sqlite:///{tmp_path / f'{name}.db'}")
    try:
        upgrade(engine)
        sessions = session_factory(engine)
        snapshot_domain(sessions, conn, domain)
        with sessions() as session:
            objects = [
                o
                for o in session.scalars(select(DirectoryObject))
                if (o.path or "").lower().endswith(root.lower())
            ]
            latest = latest_versions(session, (o.id for o in objects))
            return {
                o.external_id: (
                    str(o.path),
                    RESOURCE_TYPES[o.resource_type].significant(latest[o.id].content),
                )
                for o in objects
            }
    finally:
        engine.dispose()


def bad_hour(ldap_admin: Any, dept: str, outside: str, tag: str, run: Callable[..., Any]) -> None:
    """Creates, modifies, moves, a rename, deletes, membership changes and an OU deleted with
    its children, with a capture pass in the middle (as the monitor would)."""
    staff, groups, projects = f"OU=Staff,{dept}", f"OU=Groups,{dept}", f"OU=Projects,{dept}"
    alice, bob, fred = (f"CN={n},{staff}" for n in ("alice", "bob", "fred"))
    team, helpdesk = f"CN=team,{groups}", f"CN=helpdesk,{groups}"
    # creates: a user put in a group, an OU with a child
    eve = f"CN=eve,{staff}"
    add_user(ldap_admin, eve, f"eve{tag}", {"description": [b"new hire"]})
    ldap_admin.modify_s(team, [(ldap.MOD_ADD, "member", [eve.encode()])])
    add_ou(ldap_admin, f"OU=Temp,{dept}")
    add_user(ldap_admin, f"CN=tmp,OU=Temp,{dept}", f"tmp{tag}")
    # modifies: text, a removed value, a multi-valued add, binary
    ldap_admin.modify_s(
        alice,
        [
            (ldap.MOD_REPLACE, "description", [b"fired"]),
            (ldap.MOD_DELETE, "title", None),
            (ldap.MOD_ADD, "otherTelephone", [b"+1 555 0199"]),
            (ldap.MOD_REPLACE, "jpegPhoto", [b"\x00\xff" * 40]),
        ],
    )
    ldap_admin.modify_s(bob, [(ldap.MOD_REPLACE, "telephoneNumber", [b"000"])])
    ldap_admin.modify_s(dept, [(ldap.MOD_REPLACE, "description", [b"closed"])])
    # memberships
    ldap_admin.modify_s(team, [(ldap.MOD_DELETE, "member", [bob.encode()])])
    ldap_admin.modify_s(helpdesk, [(ldap.MOD_ADD, "member", [alice.encode()])])
    run("capture", "ad")
    # a move out of the department, a rename (no audit record on Samba: actor unknown)
    ldap_admin.rename_s(bob, "CN=bob", outside)
    ldap_admin.rename_s(alice, "CN=alice-old", staff)
    # a delete of a member, and an OU deleted with its children (children first, as LDAP must)
    ldap_admin.delete_s(fred)
    for child in (
        f"CN=dana,OU=Archive,{projects}",
        f"OU=Archive,{projects}",
        f"CN=carl,{projects}",
        f"CN=proj,{projects}",
        projects,
    ):
        ldap_admin.delete_s(child)


@pytest.mark.parametrize("selection", ["under", "actor"])
def test_a_bad_hour_is_undone_by_one_plan(
    selection: str,
    samba_dc: SambaDC,
    ad_conn: AdConnection,
    ad_domain: AdDomainConfig,
    tmp_path: Path,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    runner = CliRunner()
    config = write_config(tmp_path, samba_dc)
    env = {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, ["--config", str(config), *args, "--json"], env=env)
        assert result.exit_code == code, result.output
        return json.loads(result.stdout)

    tag = unique("")
    root = f"OU=bh{tag},{samba_dc.base_dn}"
    dept, outside = f"OU=Dept,{root}", f"OU=Outside,{root}"
    staff, groups, projects = f"OU=Staff,{dept}", f"OU=Groups,{dept}", f"OU=Projects,{dept}"
    delegate = unique("deleg")
    for ou in (root, dept, outside, staff, groups, projects, f"OU=Archive,{projects}"):
        add_ou(ldap_admin, ou)
    try:
        people = {
            "alice": {
                "description": [b"keeps the lights on"],
                "title": [b"Engineer"],
                "otherTelephone": [b"+1 555 0100", b"+1 555 0101"],
                "jpegPhoto": [bytes(range(256))],
            },
            "bob": {"telephoneNumber": [b"+1 555 0102"], "department": [b"IT"]},
            "fred": {"description": [b"on call"], "url": [b"a", b"b"]},
        }
        for name, attributes in people.items():
            add_user(ldap_admin, f"CN={name},{staff}", f"{name}{tag}", attributes)
        add_user(ldap_admin, f"CN=carl,{projects}", f"carl{tag}", {"title": [b"Lead"]})
        ldap_admin.add_s(
            f"CN=dana,OU=Archive,{projects}",
            [("objectClass", [b"contact"]), ("mail", [b"dana@example.org"])],
        )
        add_group(ldap_admin, f"CN=team,{groups}", f"team{tag}")
        add_group(ldap_admin, f"CN=helpdesk,{groups}", f"helpdesk{tag}")
        add_group(ldap_admin, f"CN=proj,{projects}", f"proj{tag}")
        for group, members in (
            (f"CN=team,{groups}", ("alice", "bob", "fred")),
            (f"CN=proj,{projects}", ("carl",)),
        ):
            values = [f"CN={m},{staff if m != 'carl' else projects}".encode() for m in members]
            ldap_admin.modify_s(group, [(ldap.MOD_ADD, "member", values)])
        ldap_admin.modify_s(
            f"CN=proj,{projects}", [(ldap.MOD_ADD, "member", [f"CN=alice,{staff}".encode()])]
        )
        # Another account, delegated to write in the Outside OU, makes a legitimate change in
        # the window: neither plan may undo it (not the bad account's; not under Dept).
        kept = f"CN=kept,{outside}"
        samba_tool("user", "create", delegate, DELEGATE_PASSWORD)
        delegate_dn = f"CN={delegate},CN=Users,{samba_dc.base_dn}"
        sid = sid_from_bytes(read_attribute(ldap_admin, delegate_dn, "objectSid"))[0]
        samba_tool("dsacl", "set", f"--objectdn={outside}", f"--sddl=(A;CI;RPWP;;;{sid})")
        ldap_admin.add_s(kept, [("objectClass", [b"contact"]), ("description", [b"old"])])
        before = directory_state(tmp_path, "before", ad_conn, ad_domain, root)
        run("snapshot", "ad")

        since = utcnow().isoformat()
        bad_hour(ldap_admin, dept, outside, tag, run)
        other = bind_as(samba_dc, f"{delegate}@{samba_dc.realm}", DELEGATE_PASSWORD)
        try:
            other.modify_s(kept, [(ldap.MOD_REPLACE, "description", [b"fixed by the delegate"])])
        finally:
            other.unbind_s()
        run("capture", "ad")

        if selection == "under":

            def refused(*args: str) -> Any:
                return runner.invoke(
                    app, ["--config", str(config), "rollback", "plan", *args], env=env
                )

            bad = refused("--under", "Sales", "--since", since)
            assert bad.exit_code == 1 and "'Sales' is not a distinguished name" in bad.output
            mixed = refused("--under", dept, "--since", since, "--include-unattributed")
            assert (
                mixed.exit_code == 2 and "--include-unattributed goes with --actor" in mixed.output
            )
            plan = run("rollback", "plan", "--under", dept, "--since", since)
        else:
            actor = f"{samba_dc.domain}\\{samba_dc.admin_user}"
            left_out = run("rollback", "plan", "--actor", actor, "--since", since)
            assert left_out["selection"]["unattributed_left_out"] >= 2
            plan = run(
                "rollback", "plan", "--actor", actor, "--since", since, "--include-unattributed"
            )
            flagged = [s for s in plan["steps"] if UNATTRIBUTED_NOTE in s["description"]]
            assert {s["description"].split(" [")[0] for s in flagged} >= {
                f"Move CN=bob,{outside} back to {staff}",
                f"Rename CN=alice-old,{staff} back to CN=alice",
            }
        described = [s["description"] for s in plan["steps"]]
        reanimated = [d.split(" back from")[0] for d in described if d.startswith("Bring ")]
        assert reanimated[0] == "Bring OU=Projects", "an OU deleted with children comes back first"
        assert reanimated.index("Bring OU=Archive") < reanimated.index("Bring CN=dana")
        deletes = [d for d in described if d.startswith("Delete ")]
        assert deletes.index(f"Delete CN=tmp,OU=Temp,{dept} (created by the selected change)") < (
            deletes.index(f"Delete OU=Temp,{dept} (created by the selected change)")
        ), "children of a created OU are deleted before it"

        engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
        try:
            writer = AdStepWriter(ad_conn, source=ad_domain.name, bind_upn=ad_domain.bind_upn)
            report = apply_plan(session_factory(engine), writer, plan["id"], requested_by="ops")
        finally:
            engine.dispose()
        assert report.status == "applied", [
            (s.description, s.outcome) for s in report.steps if s.status != "succeeded"
        ]
        after = directory_state(tmp_path, "after", ad_conn, ad_domain, root)

        assert set(after) == set(before), "the same objects, with the same objectGUIDs"
        differences = {
            (before[guid][0], name)
            for guid in before
            for name in set(before[guid][1]) | set(after[guid][1])
            if before[guid][1].get(name) != after[guid][1].get(name)
        }
        brought_back = {
            f"CN=fred,{staff}",
            projects,
            f"OU=Archive,{projects}",
            f"CN=carl,{projects}",
            f"CN=proj,{projects}",
            f"CN=dana,OU=Archive,{projects}",
        }
        shown = {
            (dn, name): (before[g][1].get(name), after[g][1].get(name))
            for g in before
            for dn, name in differences
            if before[g][0] == dn
        }
        assert differences == {(dn, REANIMATION_TRACE) for dn in brought_back} | {
            (kept, "description")
        }, shown
        assert after[guid_of(ldap_admin, kept)][1]["description"] == ["fixed by the delegate"]
    finally:
        remove_tree(ldap_admin, root)
        remove_tree(ldap_admin, f"CN={delegate},CN=Users,{samba_dc.base_dn}")
