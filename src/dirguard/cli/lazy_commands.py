"""Command groups whose sub-commands are imported when they run, not when the CLI starts.

Each ``dirguard`` command lives in a module of ``dirguard.cli`` with a ``register(app)``
function, and those modules import what their commands use (SQLAlchemy, the LDAP stack,
azure-identity, httpx). A :class:`LazyCommands` group knows each sub-command by name, the module
that registers it and the first paragraph of its help; it imports the module only when the
sub-command is run or its own help is asked for. The group's help lists every sub-command from
those paragraphs without importing anything (``tests/test_cli_startup.py`` checks that the list
reads exactly as it does with every module loaded).

A sub-command whose optional dependency is not installed ends with the message of
:mod:`dirguard.cli.extras` and exit code 4 instead of a traceback, whether the module needed it
at import or a function of it did later.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import takewhile
from typing import Any, ClassVar

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup
from typer.main import get_group

from dirguard.cli.exit_codes import ExitCode
from dirguard.cli.extras import missing_extra_message
from dirguard.cli.help_text import prepare_tree


@dataclass(frozen=True)
class LazyCommand:
    """A sub-command known before its module is imported."""

    name: str
    module: str
    """Module of ``dirguard.cli`` whose ``register(app)`` adds the command."""
    help: str
    """The first paragraph of the command's help, as the group's help lists it."""


class LazyCommands(TyperGroup):
    """A Typer group of :class:`LazyCommand` rows (set ``table`` in a subclass)."""

    table: ClassVar[Sequence[LazyCommand]] = ()
    package: ClassVar[str] = "dirguard.cli"

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._listing = False
        self._loaded: set[str] = set()
        self._module_of = {row.name: row.module for row in self.table}
        for row in self.table:
            if row.name not in self.commands:
                self.commands[row.name] = TyperCommand(
                    row.name, help=row.help, rich_markup_mode=self.rich_markup_mode
                )
        prepare_tree(self)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        module = self._module_of.get(cmd_name)
        if module is not None and module not in self._loaded and not self._listing:
            self._load(module)
        return self.commands.get(cmd_name)

    def _load(self, module: str) -> None:
        holder = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        importlib.import_module(f"{self.package}.{module}").register(holder)
        self._loaded.add(module)
        for name, command in get_group(holder).commands.items():
            if self._module_of.get(name) == module:
                prepare_tree(command)
                self.commands[name] = command

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """The help lists the sub-commands from the table: nothing is imported for it."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def invoke(self, ctx: _click.Context) -> Any:
        words = [*ctx._protected_args, *ctx.args]
        try:
            return super().invoke(ctx)
        except ModuleNotFoundError as error:
            typed = takewhile(lambda word: not word.startswith("-"), words)
            message = missing_extra_message(error, " ".join([ctx.command_path, *typed]))
            if message is None:
                raise
            typer.echo(message, err=True)
            raise typer.Exit(ExitCode.UNAVAILABLE) from None
