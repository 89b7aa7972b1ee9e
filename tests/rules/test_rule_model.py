"""Rules as data: a rule file is read, refused naming the bad field, written back unchanged;
time conditions are measured against the given clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dirguard.core.delegation import Target
from dirguard.core.rules import ActionKind, RuleError, parse_rule, rule_data
from dirguard.core.rules_file import dumps, loads
from dirguard.core.rules_match import meets, parse_time
from dirguard.core.rules_schedule import due, next_after

LEAVERS = """
name = "leavers"
description = "Disabled in AD for 30 days: suspend in Entra, hand over meetings, tell the manager"
schedule = "0 2 * * *"

[scope]
directory = "ad"
source = "corp.example.com"
base = "OU=Staff,DC=corp,DC=example,DC=com"

[[conditions]]
disabled_for_days = 30

[[conditions]]
field = "department"
comparison = "not-equals"
values = ["Board"]

[[actions]]
do = "suspend"
in = "entra:contoso"
remove_licenses = true

[[actions]]
do = "meetings"
in = "entra:contoso"
mode = "forward"
to = "manager"

[[actions]]
do = "notify"
to = "manager"
subject = "$displayName has left"
body = "Their meetings are now yours."
"""


def test_a_rule_file_reads_and_writes_back_the_same_rule() -> None:
    rule = loads(LEAVERS)
    assert rule.name == "leavers" and rule.schedule == "0 2 * * *"
    assert [a.kind for a in rule.actions] == [
        ActionKind.SUSPEND,
        ActionKind.MEETINGS,
        ActionKind.NOTIFY,
    ]
    assert rule.actions[0].on == "entra:contoso"
    assert rule.time_conditions[0].days == 30
    again = loads(dumps(rule))
    assert again == rule
    assert parse_rule(rule_data(rule)) == rule


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schedule": "every day"}, "'schedule' 'every day': a schedule has five fields"),
        ({"schedule": "61 * * * *"}, "not a cron expression"),
        ({"scope": {"directory": "ldap", "source": "x"}}, "'directory' must be 'ad' or 'entra'"),
        ({"scope": {"directory": "ad"}}, "scope: 'source' is required"),
        ({"actions": []}, "'actions' must list at least one action"),
        ({"actions": [{"do": "explode"}]}, "action 1: 'do' must be one of"),
        ({"actions": [{"do": "move"}]}, "action 1: 'move' needs 'to'"),
        ({"actions": [{"do": "meetings", "mode": "keep"}]}, "'mode' must be 'cancel' or"),
        ({"actions": [{"do": "suspend", "in": "okta:x"}]}, "'in' must be 'ad:<domain>'"),
        ({"conditions": [{"disabled_for_days": -1}]}, "condition 1: 'disabled_for_days' must"),
        ({"conditions": [{"field": "x", "comparison": "near", "values": ["1"]}]}, "known:"),
        ({"colour": "blue"}, "unknown field(s) 'colour'"),
        ({"trigger": {"event": "renamed"}}, "trigger: 'event' must be one of"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(change: dict[str, object], message: str) -> None:
    data = rule_data(loads(LEAVERS))
    data.update(change)
    with pytest.raises(RuleError) as refused:
        parse_rule(data)
    assert message in str(refused.value)


def test_a_file_that_is_not_toml_is_refused_naming_it() -> None:
    with pytest.raises(RuleError, match=r"leavers\.toml: not TOML"):
        loads("name = ", origin="leavers.toml")


def _ad_user(uac: int, changed: datetime, **fields: object) -> Target:
    return Target(
        source="ad:corp.example.com",
        directory="ad",
        object_kind="user",
        path="CN=x",
        fields={
            "userAccountControl": [str(uac)],
            "whenChanged": [changed.strftime("%Y%m%d%H%M%S.0Z")],
            **fields,
        },
    )


def test_disabled_for_30_days_is_measured_against_the_clock() -> None:
    rule = loads(LEAVERS)
    changed = datetime(2026, 11, 1, 12, tzinfo=UTC)
    disabled = _ad_user(514, changed, department=["Sales"])
    assert not meets(rule, disabled, changed + timedelta(days=29, hours=23))
    assert meets(rule, disabled, changed + timedelta(days=30))
    assert not meets(rule, _ad_user(512, changed), changed + timedelta(days=90))
    board = _ad_user(514, changed, department=["Board"])
    assert not meets(rule, board, changed + timedelta(days=90))


def test_the_captured_disable_time_wins_over_when_changed() -> None:
    rule = loads(LEAVERS)
    changed = datetime(2026, 11, 30, tzinfo=UTC)
    user = _ad_user(514, changed, disabledSince="2026-10-01T00:00:00Z")
    assert meets(rule, user, changed + timedelta(days=1))


def test_no_sign_in_reads_last_logon_or_sign_in_activity_else_creation() -> None:
    rule = parse_rule(
        {
            "name": "stale",
            "scope": {"directory": "entra", "source": "contoso"},
            "conditions": [{"inactive_for_days": 90}],
            "actions": [{"do": "suspend"}],
        }
    )
    now = datetime(2026, 12, 1, tzinfo=UTC)

    def user(**fields: object) -> Target:
        return Target(
            source="entra:contoso", directory="entra", object_kind="user", path="1", fields=fields
        )

    recent = {"lastSignInDateTime": "2026-11-20T08:00:00Z"}
    old = {"lastSignInDateTime": "2026-08-01T08:00:00Z"}
    assert not meets(rule, user(signInActivity=recent), now)
    assert meets(rule, user(signInActivity=old), now)
    assert meets(rule, user(createdDateTime="2026-01-01T00:00:00Z"), now)
    assert not meets(rule, user(createdDateTime="2026-11-01T00:00:00Z"), now)
    # AD's lastLogonTimestamp is a FILETIME count
    assert parse_time("134089344000000000") == datetime(2025, 11, 30, tzinfo=UTC)


def test_a_schedule_is_due_once_its_next_firing_passed() -> None:
    saved = datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert next_after("0 2 * * *", saved) == datetime(2026, 12, 2, 2, tzinfo=UTC)
    assert not due("0 2 * * *", None, datetime(2026, 12, 2, 1, 59, tzinfo=UTC), saved)
    assert due("0 2 * * *", None, datetime(2026, 12, 2, 2, 0, tzinfo=UTC), saved)
    ran = datetime(2026, 12, 2, 2, 0, 5, tzinfo=UTC)
    assert not due("0 2 * * *", ran, datetime(2026, 12, 2, 23, tzinfo=UTC), saved)
