"""Done-when of the undelete: a user with 20 populated attributes in 25 groups is deleted;
``dirguard undelete`` brings back the same objectGUID and objectSid, every attribute and every
membership (against the session's real Samba AD DC, through the CLI)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.store.database import create_engine_for, session_factory
from dirguard.store.models import AuditRecord
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.helpers import (
    add_group,
    add_user,
    read,
    scratch_ou,
    write_config,
)

pytestmark = pytest.mark.samba

PHOTO = os.urandom(700) + bytes(range(256))
"""A binary attribute value with every byte value in it (zero bytes included)."""


def _twenty_attributes(tag: str) -> dict[str, list[bytes]]:
    text = {
        "givenName": "Jana",
        "sn": "Doe-Ünïcode",
        "displayName": f"Jana Doe {tag}",
        "description": "Sales lead, north region",
        "title": "Lead",
        "department": "Sales",
        "company": "Example AG",
        "telephoneNumber": "+49 30 1234567",
        "mobile": "+49 170 1234567",
        "mail": f"jana.{tag}@example.test",
        "streetAddress": "Hauptstraße 1",
        "l": "Berlin",
        "postalCode": "10115",
        "physicalDeliveryOfficeName": "B-204",
        "employeeID": f"E{tag}",
        "info": "Restored by dirguard if all goes well",
        "wWWHomePage": "https://example.test/jana",
    }
    values = {k: [v.encode("utf-8")] for k, v in text.items()}
    values["otherTelephone"] = [b"+49 30 1111", b"+49 30 2222"]
    values["url"] = [b"https://a.example.test", b"https://b.example.test"]
    values["thumbnailPhoto"] = [PHOTO]
    return values


def test_undelete_brings_back_guid_sid_attributes_and_memberships(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    runner = CliRunner()
    config = write_config(tmp_path, samba_dc)
    env = {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}

    def run(*args: str, code: int = 0) -> dict[str, Any]:
        result = runner.invoke(app, ["--config", str(config), *args, "--json"], env=env)
        assert result.exit_code == code, result.output
        assert samba_dc.admin_password not in result.output
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed

    tag = unique("")
    with scratch_ou(ldap_admin, f"OU=undel-{tag},{samba_dc.base_dn}") as ou_dn:
        run("snapshot", "ad")
        sam = f"jana{tag}"
        user_dn = f"CN=Jana {tag},{ou_dn}"
        attributes = _twenty_attributes(tag)
        assert len(attributes) == 20
        add_user(ldap_admin, user_dn, sam, attributes)
        groups = [f"CN=g{n:02d}-{tag},{ou_dn}" for n in range(25)]
        for n, group in enumerate(groups):
            add_group(ldap_admin, group, f"g{n:02d}{tag}")
            ldap_admin.modify_s(group, [(ldap.MOD_ADD, "member", [user_dn.encode()])])
        before = read(ldap_admin, user_dn, "objectGUID", "objectSid", *attributes)
        run("capture", "ad")

        ldap_admin.delete_s(user_dn)
        with pytest.raises(ldap.NO_SUCH_OBJECT):
            read(ldap_admin, user_dn, "objectGUID")

        plan = run("undelete", sam, "--as", "alice")

        assert plan["status"] == "applied", plan["steps"]
        assert plan["requested_by"] == "alice"
        assert {s["status"] for s in plan["steps"]} <= {"succeeded", "unchanged"}
        after = read(ldap_admin, user_dn, "objectGUID", "objectSid", "memberOf", *attributes)
        assert after["objectGUID"] == before["objectGUID"]
        assert after["objectSid"] == before["objectSid"]
        for name, values in attributes.items():
            assert sorted(after.get(name, [])) == sorted(values), name
        assert after["thumbnailPhoto"] == [PHOTO]
        member_of = {v.decode().lower() for v in after["memberOf"]}
        assert member_of == {g.lower() for g in groups}

        engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
        try:
            with session_factory(engine)() as session:
                audit = session.scalars(
                    select(AuditRecord).where(AuditRecord.action.like("rollback.%"))
                ).all()
        finally:
            engine.dispose()
        assert {a.actor for a in audit} == {"alice"}
        assert {a.details["by"] for a in audit} == {"dirguard"}
        assert "rollback.reanimate" in {a.action for a in audit}
        assert len([a for a in audit if a.action == "rollback.add-value"]) == 25


def test_undelete_of_a_live_object_is_refused_with_a_clear_error(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    runner = CliRunner()
    config = write_config(tmp_path, samba_dc)
    env = {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}
    with scratch_ou(ldap_admin, f"OU={unique('live')},{samba_dc.base_dn}") as ou_dn:
        assert (
            runner.invoke(app, ["--config", str(config), "snapshot", "ad"], env=env).exit_code == 0
        )
        result = runner.invoke(app, ["--config", str(config), "undelete", ou_dn], env=env)
        assert result.exit_code == 1
        assert "is not deleted" in result.stderr
        missing = runner.invoke(app, ["--config", str(config), "undelete", "nobody-x1"], env=env)
        assert missing.exit_code == 1
        assert "no object 'nobody-x1'" in missing.stderr
