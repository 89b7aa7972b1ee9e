"""Rules in the store: each change a new version with one audit record, an unchanged save none;
export → import round-trips; a bad file is refused naming the field."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import Config
from dirguard.services.errors import ServiceError
from dirguard.services.rules.rule_store import (
    delete_rule,
    export_rule,
    get_rule,
    import_rule,
    list_rules,
    rule_versions,
    save_rule,
)
from dirguard.services.runtime import Runtime
from dirguard.store.models import AuditRecord

RULE = {
    "name": "sales-group",
    "scope": {"directory": "ad", "source": "corp.example.com"},
    "conditions": [{"field": "department", "comparison": "equals", "values": ["Sales"]}],
    "actions": [{"do": "add-to-group", "group": "CN=Sales,DC=corp,DC=example,DC=com"}],
}


def test_versions_audit_export_and_import(store_sessions: sessionmaker[Session]) -> None:
    runtime = Runtime(config=Config(), sessions=store_sessions, principal="admin@contoso.com")
    assert save_rule(runtime, RULE).version == 1
    assert save_rule(runtime, RULE).version == 1  # unchanged: no new version
    changed = {**RULE, "schedule": "*/15 * * * *"}
    assert save_rule(runtime, changed).version == 2
    assert [v["version"] for v in rule_versions(runtime, "sales-group")] == [2, 1]
    text = export_rule(runtime, "sales-group")
    assert 'schedule = "*/15 * * * *"' in text
    delete_rule(runtime, "sales-group")
    assert list_rules(runtime) == []
    again = import_rule(runtime, text, origin="sales-group.toml")
    assert again.rule == get_rule(runtime, "sales-group").rule
    assert again.rule.schedule == "*/15 * * * *"
    with runtime.sessions() as session:
        actions = list(session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)))
    assert actions == ["rules.save", "rules.save", "rules.delete", "rules.save"]
    with pytest.raises(ServiceError, match=r"bad\.toml: rule 'x', scope: 'source' is required"):
        import_rule(
            runtime,
            'name = "x"\n[scope]\ndirectory = "ad"\n[[actions]]\ndo = "disable"\n',
            origin="bad.toml",
        )
