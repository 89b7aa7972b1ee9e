"""``--help`` reads as written: prose paragraphs flow to the terminal's width (no hard wraps
from the source's 100 columns), lists keep their lines, and ``[section] key`` is shown, not
swallowed as Rich markup."""

from __future__ import annotations

from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.cli.help_text import prepare


def test_paragraphs_flow_lists_and_kept_blocks_keep_their_lines() -> None:
    text = """First line
    goes on.

    A second paragraph
    wrapped in the source.

    - one item
      continued
    - another item

    \b
    kept   as
    written"""
    assert prepare(text).split("\n\n") == [
        "First line goes on.",
        "A second paragraph wrapped in the source.",
        "- one item\n  continued\n- another item",
        "\b\nkept   as\nwritten",
    ]
    assert prepare("With [rollback] four_eyes = true") == "With \\[rollback] four_eyes = true"


def test_rollback_apply_help_flows_and_shows_the_config_section() -> None:
    result = CliRunner().invoke(
        app, ["rollback", "apply", "--help"], env={"COLUMNS": "200", "TERM": "dumb"}
    )
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert any("what each partition the plan touches needs" in line for line in lines), lines
    assert any("With [rollback] four_eyes = true the plan needs" in line for line in lines), lines
