"""A plan made again after a partial apply uses what the earlier plan already made
(``core.plan.reusing``): the step that would make it again is left out, later steps name the id
it got, their dependencies and positions follow, and the warning says so."""

from __future__ import annotations

from dirguard.core.plan import PlanDraft, Step, Target, check_shape, ref, reusing


def _target(external: str | dict[str, str], label: str) -> Target:
    return Target(provider="entra", external_id=external, label=label)


def _draft() -> PlanDraft:
    return PlanDraft(
        steps=(
            Step(
                op="restore",
                target=_target("old-user", "ann"),
                description="bring back ann",
                produces="id:old-user",
            ),
            Step(
                op="create",
                target=_target("old-ca", "policy"),
                description="re-create policy",
                produces="id:old-ca",
            ),
            Step(
                op="add-link",
                target=_target("team", "team"),
                description="add ann",
                payload={"id": ref("id:old-user")},
                depends_on=(1,),
            ),
            Step(
                op="patch",
                target=_target(ref("id:old-user"), "ann"),
                description="title",
                depends_on=(1, 2),
                payload={"policy": ref("id:old-ca")},
            ),
        ),
        warnings=("ann is purged",),
    )


def test_an_already_made_object_is_used_not_made_again() -> None:
    draft = reusing(_draft(), {"id:old-user": "new-user"})
    check_shape(draft.steps)
    assert [s.op for s in draft.steps] == ["create", "add-link", "patch"]
    add, patch = draft.steps[1], draft.steps[2]
    assert add.payload == {"id": "new-user"} and add.depends_on == ()
    assert patch.target.external_id == "new-user"
    assert patch.payload == {"policy": ref("id:old-ca")} and patch.depends_on == (1,)
    assert draft.warnings[0] == "ann is purged"
    assert "ann: made by an earlier plan as new-user" in draft.warnings[1]


def test_nothing_made_before_leaves_the_plan_as_it_is() -> None:
    draft = _draft()
    assert reusing(draft, {}) is draft
    assert reusing(draft, {"id:elsewhere": "x"}) is draft
