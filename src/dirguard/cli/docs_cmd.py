"""``dirguard docs``: regenerate ``docs/permissions.md`` from the catalog, or check it is fresh."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dirguard.catalog.permissions_doc import render
from dirguard.cli.context import console, err_console
from dirguard.cli.exit_codes import ExitCode
from dirguard.providers.registry import RESOURCE_TYPES

DEFAULT_OUTPUT = Path("docs/permissions.md")


def docs(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where the Markdown page goes.")
    ] = DEFAULT_OUTPUT,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 when the page is missing or stale."),
    ] = False,
) -> None:
    """Regenerate the permissions and resource-types page from the catalog."""
    text = render(RESOURCE_TYPES)
    if check:
        try:
            current = output.read_text(encoding="utf-8")
        except OSError as exc:
            err_console.print(
                f"{output}: cannot read ({exc.strerror}); run `dirguard docs`", soft_wrap=True
            )
            raise typer.Exit(ExitCode.FAILURE) from None
        if current != text:
            err_console.print(
                f"{output} is stale: it differs from the catalog; run `dirguard docs`",
                soft_wrap=True,
            )
            raise typer.Exit(ExitCode.FAILURE)
        console.print(f"{output} is up to date.")
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        err_console.print(f"{output}: cannot write ({exc.strerror})", soft_wrap=True)
        raise typer.Exit(ExitCode.FAILURE) from None
    console.print(f"Wrote {output} ({len(text.splitlines())} lines).")


def register(app: typer.Typer) -> None:
    app.command("docs")(docs)
