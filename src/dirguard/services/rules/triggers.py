"""Rules run by a captured change ("user created in OU=New Hires", "user created with
department Sales"), after the capture pass that stored it has committed.

:func:`run_source_triggers` is called once a capture pass of a source is over — by
``dirguard capture`` after each source, by the monitor after each pass — never inside the
pass's transaction. It reads that source's change events past its own cursor (stream
``rule-triggers``), runs each enabled rule of the source whose trigger matches some of them on
just the objects they touched (the rule's conditions still apply, decided on each object as the
directory shows it now), then moves the cursor past those events. A rule that fails is recorded
as a failed run in its history and logged; it stops neither the other rules nor the capture.
If dirguard stops between the runs and the cursor, the next pass runs the rules again on the
same objects: rules are idempotent (a second run changes nothing).

Before its first pass (no cursor) the stream starts at the events observed since the oldest of
the source's triggered rules was saved: a new rule is not run on the whole history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from dirguard.core.change_op import ChangeOp
from dirguard.core.delegation import dn_within
from dirguard.core.rules import Rule
from dirguard.providers.base import store_source
from dirguard.services.rules.rule_store import list_rules
from dirguard.services.runtime import Runtime
from dirguard.store.cursors import get_cursor, save_cursor
from dirguard.store.models import ChangeEvent, DirectoryObject

log = logging.getLogger(__name__)
STREAM = "rule-triggers"
EVENTS = {
    ChangeOp.CREATE.value: "created",
    ChangeOp.UNDELETE.value: "created",
    ChangeOp.DELETE.value: "deleted",
}
"""The guardian's operations as a trigger's events (any other operation: ``changed``)."""


@dataclass(frozen=True, kw_only=True)
class SeenChange:
    op: str
    path: str
    object_kind: str


@dataclass(kw_only=True)
class TriggerReport:
    source: str
    events: int = 0
    runs: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    """The rules that could not run (each also a failed run in its history)."""


def _triggered(runtime: Runtime, source: str) -> list[tuple[Rule, datetime]]:
    return [
        (saved.rule, saved.created_at)
        for saved in list_rules(runtime)
        if saved.rule.enabled
        and saved.rule.trigger is not None
        and saved.rule.scope.store_source == source
    ]


def _matching(rule: Rule, changes: Iterable[SeenChange]) -> list[str]:
    trigger = rule.trigger
    assert trigger is not None
    paths = {
        c.path
        for c in changes
        if EVENTS.get(c.op, "changed") == trigger.event
        and c.object_kind == rule.scope.object_kind
        and (trigger.under is None or dn_within(c.path, trigger.under))
    }
    return sorted(paths, key=str.casefold)


def started_by(rule: Rule, paths: list[str]) -> str:
    """How the run is named in the history: the trigger's event and the object(s)."""
    assert rule.trigger is not None
    more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
    text = f"trigger: {rule.trigger.event} {paths[0]}{more}"
    return text if len(text) <= 255 else f"{text[:240]}…{more}"[:255]


def run_triggered(
    runtime: Runtime, source: str, changes: Iterable[SeenChange], rules: Iterable[Rule]
) -> TriggerReport:
    """Run each of ``rules`` whose trigger matches some of ``changes`` on those objects."""
    from dirguard.services.rules.engine import run_rule

    seen = list(changes)
    report = TriggerReport(source=source, events=len(seen))
    for rule in rules:
        paths = _matching(rule, seen)
        if not paths:
            continue
        try:
            ran = run_rule(
                runtime, rule.name, dry_run=False, started_by=started_by(rule, paths), only=paths
            )
        except Exception as error:  # a rule's failure is its run's, never the capture's
            log.warning("rule %s (triggered on %s) failed: %s", rule.name, source, error)
            report.failed.append(rule.name)
            continue
        log.info(
            "rule %s triggered by %d object(s) of %s: run %d %s",
            rule.name,
            len(paths),
            source,
            ran.run_id,
            ran.status,
        )
        report.runs.append(ran.run_id)
    return report


def _kind(resource_type: str) -> str:
    return resource_type.partition(".")[2]


def run_source_triggers(runtime: Runtime, source: str) -> TriggerReport:
    """After a capture pass of ``source`` (a store key, ``ad:corp.example.com``): run the
    triggered rules on its new events and move the stream's cursor past them."""
    rules = _triggered(runtime, source)
    with runtime.sessions() as session:
        stored = get_cursor(session, source, STREAM)
        if stored is not None:
            position = int(stored.decode())
        else:
            before = select(func.max(ChangeEvent.sequence)).where(ChangeEvent.source == source)
            if rules:
                before = before.where(ChangeEvent.observed_at < min(t for _, t in rules))
            position = session.scalar(before) or 0
        rows = session.execute(
            select(
                ChangeEvent.sequence,
                ChangeEvent.op,
                DirectoryObject.path,
                DirectoryObject.resource_type,
            )
            .join(DirectoryObject, DirectoryObject.id == ChangeEvent.object_id)
            .where(ChangeEvent.source == source, ChangeEvent.sequence > position)
            .order_by(ChangeEvent.sequence)
        ).all()
    if not rows and stored is not None:
        return TriggerReport(source=source)
    changes = [
        SeenChange(op=op, path=path, object_kind=_kind(kind)) for _, op, path, kind in rows if path
    ]
    report = run_triggered(runtime, source, changes, [r for r, _ in rules])
    last = max([position, *(s for s, *_ in rows)])
    with runtime.sessions.begin() as session:
        save_cursor(session, source, STREAM, str(last).encode())
    return report


def after_capture(runtime: Runtime, source: str) -> TriggerReport | None:
    """:func:`run_source_triggers` as dirguard itself, for the capture paths: any failure
    (the store busy, a rule file gone bad) is logged and left for the next pass — the capture
    that called it has committed and stays a success."""
    from dirguard.store.audit import SELF

    try:
        return run_source_triggers(runtime.acting_as(SELF), source)
    except Exception:
        log.exception(
            "%s: the triggered rules did not run; tried again after the next pass", source
        )
        return None


def after_pass(runtime: Runtime, detect: Callable[[str], object] | None) -> Callable[[str], object]:
    """The monitor's hook after each committed pass (``name``: an AD domain's name or a
    source's store key): threat detection first (its failure is logged by the monitor), then
    the rules the pass's changes trigger (their failures are their own)."""

    def after(name: str) -> None:
        try:
            if detect is not None:
                detect(name)
        finally:
            after_capture(runtime, name if ":" in name else store_source("ad", name))

    return after
