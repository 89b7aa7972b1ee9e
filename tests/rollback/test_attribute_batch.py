"""Set steps on one object written together (``providers/ad/apply.py``: one read before, one
modify, one read back) against the session's real Samba AD DC: each step still gets its own
outcome — written, already as intended, skipped as changed again — and a value the directory
refuses fails only its own step, the others still written."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dirguard.providers.ad.apply import AdStepWriter
from dirguard.providers.ad.plan.restore_plan import PlannedStep, StepKind
from dirguard.providers.ad.plan.steps import generic_step
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config
from tests.rollback.helpers import add_user, guid_of, read, scratch_ou


def _set(guid: str, dn: str, attribute: str, value: str, expected: str | None) -> PlannedStep:
    return PlannedStep(
        kind=StepKind.SET,
        object_guid=guid,
        dn=dn,
        attribute=attribute,
        values=(value,),
        expected=None if expected is None else (expected,),
        description=f"set {attribute}",
    )


@pytest.mark.samba
def test_set_steps_of_one_object_written_together_keep_their_own_outcomes(
    samba_dc: SambaDC, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    from dirguard.providers.ad.connection import connect

    with scratch_ou(ldap_admin, f"OU={unique('batch')},{samba_dc.base_dn}") as ou:
        user = f"CN={unique('usr')},{ou}"
        add_user(
            ldap_admin,
            user,
            unique("usr"),
            {"description": [b"now"], "company": [b"Kept"], "department": [b"Moved on"]},
        )
        guid = guid_of(ldap_admin, user)
        steps = [
            _set(guid, user, "description", "before", expected="now"),
            _set(guid, user, "company", "Kept", expected="Other"),  # already as intended
            _set(guid, user, "department", "Sales", expected="Finance"),  # changed again
            _set(guid, user, "title", "Engineer", expected=None),
        ]
        with connect(domain_config(samba_dc), samba_dc.admin_password) as conn:
            writer = AdStepWriter(conn, source="ad:test", bind_upn=None)
            generic = [generic_step(s) for s in steps]
            assert len({writer.batch_key(s) for s in generic}) == 1
            results = writer.apply_batch(generic, {}, force=False)
        assert [r.status for r in results] == ["succeeded", "unchanged", "skipped", "succeeded"]
        assert "changed again" in results[2].outcome
        held = read(ldap_admin, user, "description", "company", "department", "title")
        assert held == {
            "description": [b"before"],
            "company": [b"Kept"],
            "department": [b"Moved on"],
            "title": [b"Engineer"],
        }


@pytest.mark.samba
def test_a_refused_value_fails_its_own_step_and_the_others_are_written(
    samba_dc: SambaDC, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    from dirguard.providers.ad.connection import connect

    with scratch_ou(ldap_admin, f"OU={unique('batch')},{samba_dc.base_dn}") as ou:
        user = f"CN={unique('usr')},{ou}"
        add_user(ldap_admin, user, unique("usr"), {"description": [b"now"]})
        guid = guid_of(ldap_admin, user)
        steps = [
            _set(guid, user, "description", "before", expected="now"),
            _set(guid, user, "countryCode", "not a number", expected=None),  # integer syntax
            _set(guid, user, "title", "Engineer", expected=None),
        ]
        with connect(domain_config(samba_dc), samba_dc.admin_password) as conn:
            writer = AdStepWriter(conn, source="ad:test", bind_upn=None)
            results = writer.apply_batch([generic_step(s) for s in steps], {}, force=False)
        assert [r.status for r in results] == ["succeeded", "failed", "succeeded"]
        assert results[1].outcome.startswith("the directory refused"), results[1].outcome
        held = read(ldap_admin, user, "description", "title", "countryCode")
        assert held["description"] == [b"before"] and held["title"] == [b"Engineer"]
        assert held.get("countryCode", [b"0"]) == [b"0"]
