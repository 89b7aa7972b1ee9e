"""Matching events and objects against threat rules (pure; the store is reached through a
:class:`Context` the caller provides)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from dirguard.core.threats.checks import glob_match, holds, items_of, walk
from dirguard.core.threats.identity import Identities, selects
from dirguard.core.threats.model import EventFacts, ObjectFacts, Rule, RuleKind


class Context(Identities, Protocol):
    """What some rules need beyond the event: the object's current content, its SID and first
    recorded names (:mod:`dirguard.core.threats.identity`), and the groups a member belongs
    to."""

    def content(self, object_id: int) -> dict[str, Any]: ...

    def groups_of(self, source: str, member: str) -> Sequence[str]:
        """DNs, names and SIDs of the groups of ``source`` whose ``member`` holds ``member``
        (a DN)."""
        ...

    def is_deleted(self, source: str, external_id: str) -> bool:
        """Whether ``source``'s object of this id (a Graph id, an objectGUID) is deleted."""
        ...


@dataclass(frozen=True, kw_only=True)
class Hit:
    """One event (or object) a rule matched, with the incident key it is grouped under."""

    rule: Rule
    group_key: str
    at: datetime
    event: EventFacts | None = None
    obj: ObjectFacts | None = None
    protected: bool = False
    """The object is one the rule's auto-undo protects (``auto_undo.objects``, or any)."""


def _value_text(value: Any) -> str:
    items = items_of(value)
    return "" if not items else str(items[0])


def group_key(rule: Rule, facts: EventFacts) -> str:
    parts = []
    for by in rule.grouping.by:
        if by == "actor":
            parts.append(facts.actor or "unknown")
        elif by == "object":
            parts.append(facts.shown_path or facts.object_name or str(facts.object_id))
        elif by == "source":
            parts.append(facts.source)
        elif by == "attribute":
            parts.append(facts.attribute or "")
        else:
            parts.append(
                _value_text(facts.new_value if facts.new_value is not None else facts.old_value)
            )
    return "|".join(parts)


def _event_object(patterns: tuple[str, ...], facts: EventFacts, ctx: Context | None) -> bool:
    if facts.shown_path != facts.object_path and selects(
        patterns, facts.shown_path, None, None, None
    ):
        return True
    return selects(patterns, facts.object_path, facts.object_name, facts.object_id, ctx)


def excluded(rule: Rule, facts: EventFacts, ctx: Context | None = None) -> bool:
    """Whether the rule's exclusions leave this event alone."""
    ex = rule.exclude
    if ex.actors and facts.actor and glob_match(facts.actor, ex.actors):
        return True
    if ex.objects and _event_object(ex.objects, facts, ctx):
        return True
    if ex.values:
        for value in (*items_of(facts.new_value), *items_of(facts.old_value)):
            if isinstance(value, str) and glob_match(value, ex.values):
                return True
    return False


def _in_groups(rule: Rule, ctx: Context, source: str, member: str | None) -> bool:
    m = rule.match
    if not m.member_of and not m.not_member_of:
        return True
    groups = ctx.groups_of(source, member) if member else ()
    if m.member_of and not any(glob_match(g, m.member_of) for g in groups):
        return False
    return not (m.not_member_of and any(glob_match(g, m.not_member_of) for g in groups))


def _event_shape(rule: Rule, facts: EventFacts) -> bool:
    m = rule.match
    if rule.directory.value != facts.directory:
        return False
    if m.resource_types and not glob_match(facts.resource_type, m.resource_types):
        return False
    if m.ops and facts.op not in m.ops:
        return False
    return not (
        m.attributes and not (facts.attribute and glob_match(facts.attribute, m.attributes))
    )


def _event_objects(rule: Rule, facts: EventFacts, ctx: Context) -> bool:
    m = rule.match
    if m.objects and not _event_object(m.objects, facts, ctx):
        return False
    return not (m.not_objects and _event_object(m.not_objects, facts, ctx))


def protects(rule: Rule, facts: EventFacts, ctx: Context | None) -> bool:
    """Whether ``facts``' object is among the objects the rule's auto-undo protects."""
    undo = rule.auto_undo
    return undo.enabled and (not undo.objects or _event_object(undo.objects, facts, ctx))


def match_event(rule: Rule, facts: EventFacts, ctx: Context, now: datetime) -> Hit | None:
    """The hit when ``rule`` (a change rule) matches ``facts`` and no exclusion applies."""
    if rule.kind is not RuleKind.CHANGE or not _event_shape(rule, facts):
        return None
    if not all(holds(c, facts.old_value, facts.new_value, now) for c in rule.match.when):
        return None
    if not _event_objects(rule, facts, ctx) or excluded(rule, facts, ctx):
        return None
    if rule.match.object_checks:
        content = ctx.content(facts.object_id)
        if not all(_content_holds(c, content, now) for c in rule.match.object_checks):
            return None
    if rule.match.unless_deleted and _refers_to_deleted(rule, facts, ctx):
        return None
    member = _value_text(facts.new_value) if rule.match.member_of_value else facts.object_path
    if not _in_groups(rule, ctx, facts.source, member):
        return None
    return Hit(
        rule=rule,
        group_key=group_key(rule, facts),
        at=facts.at,
        event=facts,
        protected=protects(rule, facts, ctx),
    )


def _refers_to_deleted(rule: Rule, facts: EventFacts, ctx: Context) -> bool:
    content = ctx.content(facts.object_id)
    for path in rule.match.unless_deleted:
        for ref in items_of(walk(content, path)):
            if isinstance(ref, str) and ctx.is_deleted(facts.source, ref):
                return True
    return False


def _content_holds(check: Any, content: dict[str, Any], now: datetime) -> bool:
    return holds(check, None, content, now)


def match_object(rule: Rule, obj: ObjectFacts, ctx: Context, now: datetime) -> Hit | None:
    """The hit when ``rule`` (an exposure check) finds ``obj`` exposed."""
    m = rule.match
    if rule.kind is not RuleKind.EXPOSURE or rule.directory.value != obj.directory:
        return None
    if m.resource_types and not glob_match(obj.resource_type, m.resource_types):
        return None

    def chosen(patterns: tuple[str, ...]) -> bool:
        return selects(patterns, obj.path, obj.name, obj.object_id, ctx)

    if m.objects and not chosen(m.objects):
        return None
    if m.not_objects and chosen(m.not_objects):
        return None
    if rule.exclude.objects and chosen(rule.exclude.objects):
        return None
    if not all(_content_holds(c, obj.content, now) for c in m.object_checks):
        return None
    if not _in_groups(rule, ctx, obj.source, obj.path):
        return None
    key = obj.path or obj.name or str(obj.object_id)
    return Hit(rule=rule, group_key=key, at=now, obj=obj)


def match_events(
    rules: Iterable[Rule], events: Iterable[EventFacts], ctx: Context, now: datetime
) -> list[Hit]:
    """Every (rule, event) hit, events in the order given; a rule superseded by another that
    matched the same event (``Rule.superseded_by``) is left out."""
    chosen = [r for r in rules if r.enabled and r.kind is RuleKind.CHANGE]
    hits: list[Hit] = []
    for facts in events:
        found = [h for r in chosen if (h := match_event(r, facts, ctx, now)) is not None]
        matched = {h.rule.id for h in found}
        hits.extend(h for h in found if not matched.intersection(h.rule.superseded_by))
    return hits
