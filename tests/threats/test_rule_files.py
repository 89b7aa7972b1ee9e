"""Rule files: the built-ins load and cover the issue's lists; a bad file is refused with each
problem naming the file, the rule and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from dirguard.core.threats.model import RuleKind, Severity
from dirguard.core.threats.rule_files import RuleFileError, parse_rules
from dirguard.services.threats.definitions import builtin_rules

GOOD = """
[[rule]]
id = "SITE-1"
title = "Description edited"
severity = "low"
directory = "ad"
rationale = "why"
remediation = "what"
[rule.match]
resource_types = ["ad.user"]
attributes = ["description"]
"""


def _problems(text: str) -> list[str]:
    with pytest.raises(RuleFileError) as caught:
        parse_rules(text, "site.toml")
    return caught.value.problems


def test_the_builtins_cover_the_issue_lists() -> None:
    rules = builtin_rules()
    ids = {r.id for r in rules}
    assert len(ids) == len(rules) >= 60
    expected = {
        "AD-PRIV-GROUP-ADD",
        "AD-OPERATOR-GROUP-ADD",
        "AD-ADMINSDHOLDER-ACL",
        "AD-DCSYNC-GRANT",
        "AD-SPN-PRIVILEGED",
        "AD-UNCONSTRAINED-DELEGATION",
        "AD-RBCD-SET",
        "AD-GPO-LINK-SENSITIVE",
        "AD-KRBTGT-RESET",
        "AD-SIDHISTORY-WRITTEN",
        "AD-ADMINCOUNT-SET",
        "AD-BROAD-PRINCIPAL-GRANT",
        "ENTRA-GLOBAL-ADMIN-ASSIGNED",
        "ENTRA-PRIV-ROLE-ASSIGNED",
        "ENTRA-CA-DISABLED",
        "ENTRA-CA-DELETED",
        "ENTRA-CA-REPORT-ONLY",
        "ENTRA-NAMED-LOCATION-TRUSTED",
        "ENTRA-NAMED-LOCATION-WIDENED",
        "ENTRA-PRIV-APP-CREDENTIAL",
        "ENTRA-ADMIN-CONSENT-HIGH-RISK",
        "ENTRA-SECURITY-DEFAULTS-OFF",
        "ENTRA-AUTH-METHODS-WEAKENED",
        "ENTRA-DOMAIN-FEDERATION-CHANGED",
        "ENTRA-GUEST-INVITES-OPENED",
        "ENTRA-CROSS-TENANT-PARTNER-ADDED",
        "AD-EXP-KRBTGT-OLD",
    }
    assert expected <= ids
    assert all(r.rationale and r.remediation for r in rules)
    assert {r.kind for r in rules} == {RuleKind.CHANGE, RuleKind.EXPOSURE}
    noisy = [r for r in rules if r.noisy]
    assert noisy and not any(r.enabled for r in noisy)  # noisy rules are off by default
    assert next(r for r in rules if r.id == "AD-PRIV-GROUP-ADD").severity is Severity.CRITICAL


def test_a_good_site_rule_parses() -> None:
    [rule] = parse_rules(GOOD, "site.toml")
    assert (rule.id, rule.enabled, rule.origin) == ("SITE-1", True, "site.toml")
    assert rule.threshold.count == 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('severity = "low"', 'severity = "urgent"'), "site.toml: rule SITE-1: severity: 'urgent'"),
        (
            ('attributes = ["description"]', 'ops = ["add"]'),
            "rule SITE-1: match.ops: unknown operation 'add'",
        ),
        (('rationale = "why"\n', ""), "rule SITE-1: rationale: required text is missing"),
        (
            ('resource_types = ["ad.user"]', 'resource_type = ["ad.user"]'),
            "rule SITE-1: match.resource_type: unknown key",
        ),
        (
            ('title = "Description edited"', 'title = "x"\nmitre = ["1098"]'),
            "rule SITE-1: mitre: '1098' is not an ATT&CK technique id",
        ),
        (
            (
                'attributes = ["description"]',
                'attributes = ["description"]\n[rule.threshold]\ncount = 3\nwindow = "ten minutes"',
            ),
            "rule SITE-1: threshold.window: 'ten minutes' is not a duration",
        ),
        (
            (
                'attributes = ["description"]',
                'attributes = ["description"]\n[[rule.match.when]]\nregex = "("',
            ),
            "rule SITE-1: match.when[0].regex: not a regular expression",
        ),
        (
            (
                'attributes = ["description"]',
                'attributes = ["description"]\n[rule.grouping]\nby = ["colour"]',
            ),
            "rule SITE-1: grouping.by: 'colour' is not one of",
        ),
    ],
)
def test_each_problem_names_the_file_rule_and_field(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in GOOD
    problems = _problems(GOOD.replace(old, new))
    assert any(expected in p for p in problems), problems


def test_a_rule_without_id_is_named_by_position_and_duplicates_are_refused() -> None:
    problems = _problems(GOOD.replace('id = "SITE-1"\n', ""))
    assert any(p.startswith("site.toml: rule #1: id: required") for p in problems), problems
    problems = _problems(GOOD + GOOD)
    assert "site.toml: rule SITE-1: id: defined twice in this file" in problems


def test_not_toml_and_exposure_with_ops_are_refused() -> None:
    assert _problems("[[rule]\nid=")[0].startswith("site.toml: not valid TOML")
    exposure = GOOD.replace('directory = "ad"', 'directory = "ad"\nkind = "exposure"')
    exposure = exposure.replace('attributes = ["description"]', 'ops = ["modify"]')
    assert any(
        "rule SITE-1: match: an exposure check looks at objects" in p for p in _problems(exposure)
    )


def test_threats_test_names_the_field_of_a_bad_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dirguard.cli.app import app

    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('severity = "low"', 'severity = "urgent"'), encoding="utf-8")
    config = tmp_path / "dirguard.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "s.db"}"\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["--config", str(config), "threats", "test", str(bad)])
    assert result.exit_code == 3, result.output
    assert f"{bad}: rule SITE-1: severity: 'urgent' is not one of" in " ".join(
        result.output.split()
    )
