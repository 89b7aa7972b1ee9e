"""AD planned steps as source-neutral plan steps (pure): each keeps what the executor needs
(round trip), the steps needing an object brought back depend on that step, and a re-creation
names the new objectGUID it produces."""

from __future__ import annotations

from dirguard.core.plan import check_shape
from dirguard.providers.ad.plan.restore_plan import PlannedStep, RestorePlanDraft, StepKind
from dirguard.providers.ad.plan.steps import generic_plan, planned_step

BASE = "DC=corp,DC=example"
TOMBSTONE = f"CN=ann\\0ADEL:1,CN=Deleted Objects,{BASE}"
ANN = f"CN=ann,OU=Staff,{BASE}"
BOB = f"CN=bob,OU=Staff,{BASE}"
GROUP = f"CN=Sales,{BASE}"


def _draft() -> RestorePlanDraft:
    return RestorePlanDraft(
        steps=(
            PlannedStep(
                kind=StepKind.REANIMATE,
                object_guid="ann",
                dn=TOMBSTONE,
                values=(ANN,),
                description="Bring ann back",
                event_ids=(7,),
            ),
            PlannedStep(
                kind=StepKind.RECREATE,
                object_guid="bob",
                dn=BOB,
                values=(BOB,),
                description="Re-create bob",
                entry=(("objectClass", ("user",)), ("sAMAccountName", ("bob",))),
            ),
            PlannedStep(
                kind=StepKind.SET,
                object_guid="ann",
                dn=ANN,
                attribute="description",
                values=("on call",),
                expected=(),
                description="Set description of ann",
            ),
            PlannedStep(
                kind=StepKind.ADD_VALUE,
                object_guid="group",
                dn=GROUP,
                attribute="member",
                values=(BOB.upper(),),
                description="Add bob back to Sales",
            ),
            PlannedStep(
                kind=StepKind.SET,
                object_guid="group",
                dn=GROUP,
                attribute="info",
                values=(b"\x00\xff",),
                expected=(b"\x01",),
                description="Set info of Sales",
                conflict="it changed again",
                skipped=True,
            ),
        ),
        warnings=("bob gets a new objectGUID",),
        unattributed_left_out=2,
    )


def test_each_step_comes_back_as_the_planned_step() -> None:
    draft = _draft()
    plan = generic_plan(draft)
    assert [planned_step(s) for s in plan.steps] == list(draft.steps)
    assert [s.op for s in plan.steps] == ["reanimate", "recreate", "set", "add-value", "set"]
    assert plan.steps[0].target.external_id == "ann" and plan.steps[0].target.label == TOMBSTONE
    assert plan.steps[2].expected == [] and plan.steps[0].expected is None
    assert plan.steps[4].skipped and plan.steps[4].conflict == "it changed again"
    assert (plan.warnings, dict(plan.notes)) == (draft.warnings, {"unattributed_left_out": 2})


def test_steps_depend_on_the_object_being_brought_back_and_recreations_produce_its_guid() -> None:
    plan = generic_plan(_draft())
    check_shape(plan.steps)
    assert [s.depends_on for s in plan.steps] == [(), (), (1,), (2,), ()]
    assert [s.produces for s in plan.steps] == [None, f"objectGUID of {BOB}", None, None, None]
