"""A deleted object whose tombstone is gone is re-created from history (the session's real Samba
AD DC): the tombstone is expunged with ``samba-tool domain tombstones expunge``, the Show-Deleted
lookup finds none, the plan re-creates the user with its attributes and puts it back into its
group, says plainly that objectGUID and objectSid change, and the user comes back disabled.

Every step goes through the executor's ``apply_step``, which hands RECREATE steps to
:func:`dirguard.providers.ad.tombstones.recreate_step`."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad import KIND as AD
from dirguard.providers.ad.apply import apply_step
from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.plan.restore_plan import StepKind
from dirguard.providers.ad.tombstones import missing_tombstones
from dirguard.providers.ad.values import guid_text
from dirguard.providers.base import store_source
from dirguard.services.capture.capture import capture_domain
from dirguard.services.capture.snapshot import snapshot_domain
from dirguard.services.rollback.plans import plan_for_undelete
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.helpers import add_group, add_ou, add_user, read, remove_tree

pytestmark = pytest.mark.samba


def expunge_tombstones(dc: SambaDC) -> None:
    """Garbage-collect every tombstone of the domain partition now (as after the lifetime)."""
    later = (date.today() + timedelta(days=2)).isoformat()
    result = subprocess.run(
        [
            "samba-tool",
            "domain",
            "tombstones",
            "expunge",
            dc.base_dn,
            "-H",
            str(dc.workdir / "private" / "sam.ldb"),
            "-s",
            str(dc.smb_conf),
            f"--current-time={later}",
            "--tombstone-lifetime=1",
        ],
        env={**os.environ, **dc.client_env()},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-800:]


def test_a_user_with_no_tombstone_left_is_recreated_with_a_plain_warning(
    samba_dc: SambaDC,
    ad_conn: AdConnection,
    ad_domain: AdDomainConfig,
    ldap_admin: Any,
    tmp_path: Path,
    unique: Callable[[str], str],
) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    ou = f"OU={unique('recr')},{samba_dc.base_dn}"
    add_ou(ldap_admin, ou)
    try:
        sam = f"gil{uuid.uuid4().hex[:6]}"
        user, group = f"CN=gil,{ou}", f"CN=crew,{ou}"
        kept = {"description": [b"on call"], "title": [b"Operator"], "url": [b"a", b"b"]}
        add_user(ldap_admin, user, sam, dict(kept))
        add_group(ldap_admin, group, f"crew{uuid.uuid4().hex[:6]}")
        ldap_admin.modify_s(group, [(ldap.MOD_ADD, "member", [user.encode()])])
        before = read(ldap_admin, user, "objectGUID", "objectSid", "userAccountControl")
        guid = guid_text(before["objectGUID"][0])
        snapshot_domain(sessions, ad_conn, ad_domain)
        ldap_admin.delete_s(user)
        capture_domain(sessions, ad_conn, ad_domain)
        assert missing_tombstones(ad_conn, [guid]) == frozenset(), "the tombstone is there"

        expunge_tombstones(samba_dc)
        assert missing_tombstones(ad_conn, [guid]) == {guid}

        with sessions() as session:
            draft = plan_for_undelete(
                session,
                store_source(AD, ad_domain.name),
                sam,
                None,
                tombstones=partial(missing_tombstones, ad_conn),
            )
        first, *rest = draft.steps
        assert first.kind is StepKind.RECREATE
        assert first.description == (
            f"Re-create CN=gil in {ou} from dirguard's history (no tombstone is left): it gets "
            "a NEW objectGUID and objectSid; it comes back disabled"
        )
        assert [(s.kind, s.dn, s.values) for s in rest] == [(StepKind.ADD_VALUE, group, (user,))], (
            "the links others held are put back by DN"
        )
        assert any("its objectGUID and objectSid change" in w for w in draft.warnings)

        status, outcome = apply_step(ad_conn, first, force=False)
        assert status == "succeeded", outcome
        assert apply_step(ad_conn, rest[0], force=False)[0] == "succeeded"

        after = read(ldap_admin, user, "objectGUID", "objectSid", "userAccountControl", *kept)
        assert {k: sorted(v) for k, v in after.items() if k in kept} == kept
        assert after["objectGUID"] != before["objectGUID"]
        assert after["objectSid"] != before["objectSid"]
        assert int(after["userAccountControl"][0]) & 0x2, "an account comes back disabled"
        assert (
            outcome
            == f"verified; re-created with the new objectGUID {guid_text(after['objectGUID'][0])}"
        )
        assert read(ldap_admin, group, "member")["member"] == [user.encode()]
    finally:
        remove_tree(ldap_admin, ou)
        engine.dispose()
