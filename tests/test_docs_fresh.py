"""``docs/permissions.md`` is what ``dirguard docs`` generates from the catalog right now."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permissions_doc import render
from dirguard.cli.app import app
from dirguard.providers.registry import RESOURCE_TYPES

DOC = Path(__file__).resolve().parents[1] / "docs" / "permissions.md"
runner = CliRunner()


def test_committed_page_is_fresh() -> None:
    assert DOC.is_file(), "docs/permissions.md is missing; run `dirguard docs`"
    assert DOC.read_text(encoding="utf-8") == render(RESOURCE_TYPES), (
        "docs/permissions.md is stale; run `dirguard docs` and commit it"
    )
    result = runner.invoke(app, ["docs", "--check", "--output", str(DOC)])
    assert result.exit_code == 0, result.output


def test_page_covers_every_permission_feature_and_type() -> None:
    text = render(RESOURCE_TYPES)
    for permission in MANIFEST.permissions:
        assert f"`{permission.name}`" in text, permission.key
    for feature in MANIFEST.features:
        assert f"`{feature.key}`" in text, feature.key
    for key in RESOURCE_TYPES:
        assert f"### `{key}`" in text, key


def test_docs_writes_and_check_catches_a_stale_page(tmp_path: Path) -> None:
    page = tmp_path / "out" / "permissions.md"
    result = runner.invoke(app, ["docs", "--check", "--output", str(page)])
    assert result.exit_code == 1
    assert "run `dirguard docs`" in result.stderr
    assert runner.invoke(app, ["docs", "--output", str(page)]).exit_code == 0
    assert page.read_text(encoding="utf-8") == render(RESOURCE_TYPES)
    page.write_text(
        render(RESOURCE_TYPES).replace("Global Reader", "Global Readr"), encoding="utf-8"
    )
    result = runner.invoke(app, ["docs", "--check", "--output", str(page)])
    assert result.exit_code == 1
    assert "stale" in result.stderr
