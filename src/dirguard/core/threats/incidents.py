"""When matches become an alert (pure): thresholds (N matches of one rule and group within a
window), dedup (a repeat within the dedup window joins the open alert of its group, so an
incident is one alert) and throttling (at most one notification per rule and group within the
throttle window)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dirguard.core.threats.model import Rule


class Action(StrEnum):
    PENDING = "pending"
    """Below the rule's threshold: remembered, no alert yet."""
    NEW = "new"
    JOIN = "join"


@dataclass(frozen=True, kw_only=True)
class OpenAlert:
    id: int
    last_seen: datetime
    last_notified: datetime | None


@dataclass(frozen=True, kw_only=True)
class Decision:
    action: Action
    notify: bool
    alert_id: int | None = None


def decide(
    rule: Rule,
    at: datetime,
    earlier: Sequence[datetime],
    open_alert: OpenAlert | None,
    now: datetime,
) -> Decision:
    """What a new match of ``rule`` at ``at`` does. ``earlier``: when the group's earlier
    matches not yet in an alert happened; ``open_alert``: the group's open alert, if any."""
    grouping = rule.grouping
    if open_alert is not None and at - open_alert.last_seen <= grouping.dedup_window:
        quiet = (
            open_alert.last_notified is not None
            and now - open_alert.last_notified < grouping.throttle
        )
        return Decision(action=Action.JOIN, notify=not quiet, alert_id=open_alert.id)
    window = rule.threshold.window
    within = [t for t in earlier if at - window <= t <= at]
    if len(within) + 1 >= rule.threshold.count:
        return Decision(action=Action.NEW, notify=True)
    return Decision(action=Action.PENDING, notify=False)


def in_window(rule: Rule, at: datetime, times: Sequence[datetime]) -> list[datetime]:
    """The times of ``times`` that count towards the threshold of a match at ``at``."""
    return [t for t in times if at - rule.threshold.window <= t <= at]
