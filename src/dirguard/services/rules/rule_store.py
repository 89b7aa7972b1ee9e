"""Saving, reading, exporting and importing rules; every save that changes a rule is a new
version and one audit record (before → after)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from dirguard.core.rules import Rule, RuleError, parse_rule, rule_data
from dirguard.core.rules_file import dumps, loads
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.models_rules import RuleVersion, StoredRule


@dataclass(frozen=True, kw_only=True)
class SavedRule:
    rule: Rule
    version: int
    created_at: datetime
    updated_at: datetime
    updated_by: str

    def as_dict(self) -> dict[str, Any]:
        return {
            **rule_data(self.rule),
            "version": self.version,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


def _parsed(data: Mapping[str, Any]) -> Rule:
    try:
        return parse_rule(data)
    except RuleError as error:
        raise ServiceError(str(error), Problem.CONFLICT) from None


def _saved(row: StoredRule) -> SavedRule:
    return SavedRule(
        rule=parse_rule(row.definition),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def save_rule(runtime: Runtime, data: Mapping[str, Any]) -> SavedRule:
    """Create or update the rule ``data`` names; unchanged data adds no version."""
    rule = _parsed(data)
    definition = rule_data(rule)
    now = runtime.clock()
    with runtime.sessions.begin() as session:
        row = session.scalars(select(StoredRule).where(StoredRule.name == rule.name)).first()
        before = None if row is None else row.definition
        if row is not None and row.definition == definition:
            return _saved(row)
        if row is None:
            row = StoredRule(
                name=rule.name,
                version=1,
                definition=definition,
                enabled=rule.enabled,
                created_at=now,
                updated_at=now,
                updated_by=runtime.principal,
            )
            session.add(row)
        else:
            row.version += 1
            row.definition = definition
            row.enabled = rule.enabled
            row.updated_at = now
            row.updated_by = runtime.principal
        session.flush()
        session.add(
            RuleVersion(
                rule_id=row.id,
                version=row.version,
                definition=definition,
                saved_at=now,
                saved_by=runtime.principal,
            )
        )
        record_audit(
            session,
            runtime.principal,
            "rules.save",
            f"rule:{rule.name}",
            {"version": row.version, "before": before, "after": definition},
            AuditOutcome.SUCCEEDED,
        )
        return _saved(row)


def delete_rule(runtime: Runtime, name: str) -> None:
    with runtime.sessions.begin() as session:
        row = session.scalars(select(StoredRule).where(StoredRule.name == name)).first()
        if row is None:
            raise ServiceError(f"no rule {name!r}", Problem.NOT_FOUND)
        record_audit(
            session,
            runtime.principal,
            "rules.delete",
            f"rule:{name}",
            {"version": row.version, "before": row.definition, "after": None},
            AuditOutcome.SUCCEEDED,
        )
        session.delete(row)


def get_rule(runtime: Runtime, name: str) -> SavedRule:
    with runtime.sessions() as session:
        row = session.scalars(select(StoredRule).where(StoredRule.name == name)).first()
        if row is None:
            raise ServiceError(f"no rule {name!r}", Problem.NOT_FOUND)
        return _saved(row)


def list_rules(runtime: Runtime) -> list[SavedRule]:
    with runtime.sessions() as session:
        return [_saved(r) for r in session.scalars(select(StoredRule).order_by(StoredRule.name))]


def rule_versions(runtime: Runtime, name: str) -> list[dict[str, Any]]:
    """Every version of the rule, newest first (who saved it, when, what it said)."""
    with runtime.sessions() as session:
        rule_id = session.scalars(select(StoredRule.id).where(StoredRule.name == name)).first()
        if rule_id is None:
            raise ServiceError(f"no rule {name!r}", Problem.NOT_FOUND)
        rows = session.scalars(
            select(RuleVersion)
            .where(RuleVersion.rule_id == rule_id)
            .order_by(RuleVersion.version.desc())
        )
        return [
            {
                "version": v.version,
                "saved_at": v.saved_at.isoformat(),
                "saved_by": v.saved_by,
                "definition": v.definition,
            }
            for v in rows
        ]


def export_rule(runtime: Runtime, name: str) -> str:
    """The rule's current version as its TOML file."""
    return dumps(get_rule(runtime, name).rule)


def import_rule(runtime: Runtime, text: str, *, origin: str = "rule file") -> SavedRule:
    """Save the rule of a TOML file (a new version when it differs)."""
    try:
        rule = loads(text, origin=origin)
    except RuleError as error:
        raise ServiceError(str(error), Problem.CONFLICT) from None
    return save_rule(runtime, rule_data(rule))
