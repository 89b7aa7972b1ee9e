"""State shared by all sub-commands: where the configuration is, how to print."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from dirguard.cli.exit_codes import ExitCode
from dirguard.log_setup import configure_logging

if TYPE_CHECKING:
    from dirguard.config.loader import LoadedConfig


@dataclass
class CliState:
    config_path: Path | None = None
    """Explicit ``--config``; ``None`` means DIRGUARD_CONFIG or the default path."""
    verbose: int = 0
    """``-v`` count; when given it wins over the configuration's log level."""


def state(ctx: typer.Context) -> CliState:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliState):
        obj = CliState()
        ctx.find_root().obj = obj
    return obj


PIPED_WIDTH = 512
"""Output width when not on a terminal: Rich would cut tables to 80 columns for a pipe or a
file; ``COLUMNS`` still wins when set."""


def _console(*, stderr: bool = False) -> Console:
    made = Console(stderr=stderr)
    if not made.is_terminal and "COLUMNS" not in os.environ:
        made.width = PIPED_WIDTH
    return made


console = _console()
err_console = _console(stderr=True)


def print_json(data: Any) -> None:
    """Machine-readable output: one JSON document on standard output."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def load_cli_config(
    ctx: typer.Context, *, require_file: bool = False, as_json: bool = False
) -> LoadedConfig:
    """Load the configuration for a command; on problems print each one and exit with 3."""
    from dirguard.config.loader import ConfigError, load_config  # pydantic models: when used

    try:
        loaded = load_config(state(ctx).config_path, require_file=require_file)
    except ConfigError as exc:
        if as_json:
            print_json(
                {
                    "valid": False,
                    "source": exc.source,
                    "problems": [
                        {"key": p.key, "problem": p.problem, "fix": p.fix} for p in exc.problems
                    ],
                }
            )
            raise typer.Exit(ExitCode.CONFIG_INVALID) from None
        err_console.print(f"[bold red]Invalid configuration[/] ({exc.source}):", highlight=False)
        for problem in exc.problems:
            err_console.print(
                f"  [bold]{problem.key}[/]: {problem.problem}\n    fix: {problem.fix}",
                highlight=False,
                markup=True,
            )
        raise typer.Exit(ExitCode.CONFIG_INVALID) from None
    if not state(ctx).verbose:
        configure_logging(loaded.config.log.level, loaded.config.log.format)
    return loaded
