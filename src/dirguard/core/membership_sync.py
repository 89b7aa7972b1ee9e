"""Keeping a group's (or a managed unit's) membership equal to a rule's scope: what to add,
what to remove, and whether the removals look like a broken query rather than real leavers.

Pure: the caller reads the members the group has now and the objects the scope holds now, each
keyed the way the two are matched (:func:`dirguard.core.delegation.member_key`, or the
userPrincipalName when the group lives in the other directory), and applies the plan.

The guard, after Entra Connect's "prevent accidental deletes" (which stops an export deleting
more than 500 objects): a scope that suddenly finds nothing — a renamed OU, a mistyped
department, a directory that answered with an empty page — would otherwise empty the group,
and with it every right the group grants. So a plan whose removals exceed ``max_remove_percent``
of the current members (always allowed: one removal, so a small group can still lose its one
leaver), or that would leave a non-empty group empty, is *held*: nothing of it is done until the
run is repeated with ``force``. The dry run says so, with the counts, before anything happens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_MAX_REMOVE_PERCENT = 20
"""A fifth of the members leaving in one run is unusual for a department or an OU."""


@dataclass(frozen=True, kw_only=True)
class MembershipPlan:
    adds: tuple[tuple[str, str], ...]
    """(key, reference to add by), in a stable order."""
    removes: tuple[tuple[str, str], ...]
    """(key, reference of the current member), in a stable order."""
    current: int
    desired: int
    held: str | None = None
    """Why the plan is not carried out without ``force`` (``None``: it may be)."""

    @property
    def changes_nothing(self) -> bool:
        return not self.adds and not self.removes

    def counts(self) -> dict[str, int]:
        return {
            "members": self.current,
            "desired": self.desired,
            "add": len(self.adds),
            "remove": len(self.removes),
        }


def plan_membership(
    current: Mapping[str, str],
    desired: Mapping[str, str],
    *,
    max_remove_percent: int = DEFAULT_MAX_REMOVE_PERCENT,
    force: bool = False,
    removable: frozenset[str] | None = None,
) -> MembershipPlan:
    """Adds and removes that make ``current`` equal ``desired`` (both: key → reference).

    ``removable``: when given, only these keys may be removed (a trigger's run sees only the
    objects it was told about, not the whole scope, so it must not remove the others)."""
    adds = tuple(sorted((k, desired[k]) for k in desired.keys() - current.keys()))
    gone = current.keys() - desired.keys()
    if removable is not None:
        gone &= removable
    removes = tuple(sorted((k, current[k]) for k in gone))
    held = None
    allowed = max(1, len(current) * max_remove_percent // 100)
    if not force and removes:
        if len(removes) == len(current) and not desired:
            held = (
                f"the scope found nothing: removing all {len(current)} member(s) would empty the"
                " group; check the rule's scope, then run again with --force"
            )
        elif len(removes) > allowed:
            share = 100 * len(removes) // max(1, len(current))
            held = (
                f"{len(removes)} of {len(current)} member(s) would be removed ({share}%), more"
                f" than the rule's max_remove_percent of {max_remove_percent}%: check the"
                " rule's scope, then run again with --force"
            )
    return MembershipPlan(
        adds=adds, removes=removes, current=len(current), desired=len(desired), held=held
    )
