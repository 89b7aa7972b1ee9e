"""The console's rollback flow as services, on the session's real Samba AD DC: a plan is
previewed (rights check, steps), four-eyes refuses the planner's own approval and an apply
before another approver's, the approved plan is applied in the background with its steps
followed to the end and the DC back as it was; a deleted user is listed with who deleted it,
and undeleted from that list with its group membership."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap
import pytest
from sqlalchemy import select

from dirguard.services.capture.use_cases import CaptureRequest, capture
from dirguard.services.deleted_objects import list_deleted, undelete_object
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rollback import review
from dirguard.services.rollback.apply_jobs import ApplyJobs
from dirguard.services.rollback.plan_cases import ByEvent, PlanRequest, make_plan
from dirguard.store.models import AuditRecord, ChangeEvent, DirectoryObject
from dirguard.throwaway.samba_dc import SambaDC
from tests.console.helpers import dc_runtime
from tests.rollback.helpers import add_group, add_user, guid_of, read, scratch_ou

pytestmark = pytest.mark.samba


def _event_of(runtime: Any, guid: str, attribute: str) -> int:
    with runtime.sessions() as session:
        found = session.scalars(
            select(ChangeEvent.sequence)
            .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
            .where(DirectoryObject.external_id == guid, ChangeEvent.attribute == attribute)
            .order_by(ChangeEvent.sequence.desc())
        ).first()
    assert found is not None, f"no {attribute} event for {guid}"
    return int(found)


def test_four_eyes_then_background_apply_puts_the_value_back(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tag = unique("")
    with (
        scratch_ou(ldap_admin, f"OU=review-{tag},{samba_dc.base_dn}") as ou_dn,
        dc_runtime(
            tmp_path, samba_dc, monkeypatch, sections="[rollback]\nfour_eyes = true\n"
        ) as rt,
    ):
        user = f"CN=Rev {tag},{ou_dn}"
        add_user(ldap_admin, user, f"rev{tag}", {"description": [b"before"]})
        capture(rt, CaptureRequest())
        ldap_admin.modify_s(user, [(ldap.MOD_REPLACE, "description", [b"vandalised"])])
        capture(rt, CaptureRequest())
        event = _event_of(rt, guid_of(ldap_admin, user), "description")

        plan = make_plan(rt, PlanRequest(selection=ByEvent(sequence=event), given={"event": event}))
        shown = review.preview(rt, plan.id)
        assert shown.needs_approval and shown.four_eyes
        assert shown.check is not None and shown.check.would == "apply"
        assert [s.attribute for s in shown.plan.steps] == ["description"]
        assert [p.id for p in review.list_plans(rt)][:1] == [plan.id]

        with pytest.raises(ServiceError) as own:
            review.approve(rt, plan.id)
        assert own.value.problem is Problem.PERMISSION and "another approver" in str(own.value)
        jobs = ApplyJobs()
        with pytest.raises(ServiceError) as early:
            jobs.start(rt, plan.id)
        assert early.value.problem is Problem.PERMISSION and "four-eyes" in str(early.value)
        assert read(ldap_admin, user, "description")["description"] == [b"vandalised"]

        bob = rt.acting_as("bob")
        approved = review.approve(bob, plan.id, note="checked with the help desk")
        assert not approved.needs_approval
        assert [a.approved_by for a in approved.approvals] == ["bob"]
        with pytest.raises(ServiceError) as twice:
            review.approve(bob, plan.id)
        assert twice.value.problem is Problem.CONFLICT

        job = jobs.start(bob, plan.id)
        jobs.wait(plan.id, timeout=120)
        assert (job.state, job.status, job.error) == ("finished", "applied", None)
        done = review.progress(rt, plan.id)
        assert done.finished and done.done == done.total == 1
        assert done.steps[0]["status"] == "succeeded"
        assert read(ldap_admin, user, "description")["description"] == [b"before"]
        with pytest.raises(ServiceError) as again:
            jobs.start(bob, plan.id)
        assert again.value.problem is Problem.CONFLICT

        with rt.sessions() as session:
            actions = [
                (r.actor, r.action, r.outcome)
                for r in session.scalars(select(AuditRecord).order_by(AuditRecord.id))
            ]
        assert ("alice", "rollback.approve", "denied") in actions
        assert ("alice", "rollback.refused", "denied") in actions
        assert ("bob", "rollback.approve", "succeeded") in actions
        assert ("bob", "rollback.set", "succeeded") in actions or any(
            a[0] == "bob" and a[1].startswith("rollback.") and a[2] == "succeeded"
            for a in actions
            if a[1] != "rollback.approve"
        )


def test_deleted_user_is_listed_with_its_deleter_and_undeleted_with_its_group(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tag = unique("")
    with (
        scratch_ou(ldap_admin, f"OU=deleted-{tag},{samba_dc.base_dn}") as ou_dn,
        dc_runtime(tmp_path, samba_dc, monkeypatch) as rt,
    ):
        user = f"CN=Gone {tag},{ou_dn}"
        group = f"CN=grp-{tag},{ou_dn}"
        add_user(ldap_admin, user, f"gone{tag}")
        add_group(ldap_admin, group, f"grp{tag}")
        ldap_admin.modify_s(group, [(ldap.MOD_ADD, "member", [user.encode()])])
        guid = guid_of(ldap_admin, user)
        capture(rt, CaptureRequest())
        ldap_admin.delete_s(user)
        capture(rt, CaptureRequest())

        [gone] = [d for d in list_deleted(rt) if d.external_id == guid]
        assert gone.name == f"gone{tag}"
        assert gone.deleted_by is not None and "administrator" in gone.deleted_by.lower()
        assert gone.event is not None and gone.observed_at is not None

        applied = undelete_object(rt, gone.object_id)
        assert applied.status == "applied", applied.plan.steps
        assert guid_of(ldap_admin, user) == guid
        members = read(ldap_admin, group, "member")["member"]
        assert user.encode().lower() in [m.lower() for m in members]
        capture(rt, CaptureRequest())
        assert guid not in {d.external_id for d in list_deleted(rt)}
        with pytest.raises(ServiceError) as missing:
            undelete_object(rt, gone.object_id)
        assert missing.value.problem is Problem.NOT_FOUND
