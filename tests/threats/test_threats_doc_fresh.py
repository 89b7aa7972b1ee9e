"""docs/threats.md is generated from the built-in rule files and kept fresh."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dirguard.cli.app import app

ROOT = Path(__file__).resolve().parents[2]


def test_the_threats_page_is_fresh() -> None:
    result = CliRunner().invoke(
        app, ["threats", "docs", "--check", "--output", str(ROOT / "docs/threats.md")]
    )
    assert result.exit_code == 0, result.output


def test_the_page_lists_every_builtin_rule() -> None:
    from dirguard.services.threats.definitions import builtin_rules

    page = (ROOT / "docs/threats.md").read_text(encoding="utf-8")
    for rule in builtin_rules():
        assert f"### {rule.id}: {rule.title}" in page
