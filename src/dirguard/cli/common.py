"""What the commands share: failing with a message and an exit code, turning a service's
:class:`~dirguard.services.errors.ServiceError` into one, the runtime a command works in, and
the options several commands take."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from dirguard.cli.context import err_console, load_cli_config
from dirguard.cli.exit_codes import ExitCode
from dirguard.services.errors import Problem, ServiceError

if TYPE_CHECKING:
    from dirguard.services.runtime import Runtime

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
DomainOption = Annotated[
    str | None,
    typer.Option("--domain", "-d", help="Domain name from the configuration (default: all)."),
]
TenantOption = Annotated[
    str | None,
    typer.Option("--tenant", "-t", help="Entra tenant name from the configuration (default: all)."),
]
OneTenantOption = Annotated[
    str | None,
    typer.Option(
        "--tenant",
        "-t",
        help="Entra tenant name from the configuration: work on it instead of an AD domain.",
    ),
]
TIME_HELP = "ISO 8601 time, e.g. 2024-05-01T12:00:00+02:00; without a zone it is UTC."

EXIT_CODES = {
    Problem.FAILURE: ExitCode.FAILURE,
    Problem.NOT_FOUND: ExitCode.FAILURE,
    Problem.CONFLICT: ExitCode.FAILURE,
    Problem.PERMISSION: ExitCode.CRITICAL,
    Problem.CONFIG: ExitCode.CONFIG_INVALID,
    Problem.UNAVAILABLE: ExitCode.UNAVAILABLE,
}
"""The exit code of each kind of service failure (documented in ``dirguard --help``)."""


def fail(message: str, code: ExitCode) -> typer.Exit:
    """Print ``error: message`` on standard error; the exit to raise."""
    err_console.print(f"[red]error:[/red] {escape(message)}", markup=True, highlight=False)
    return typer.Exit(code)


@contextmanager
def service_errors() -> Iterator[None]:
    """A :class:`ServiceError` raised inside becomes its message and its kind's exit code."""
    try:
        yield
    except ServiceError as error:
        raise fail(error.message, EXIT_CODES[error.problem]) from None


@contextmanager
def cli_runtime(ctx: typer.Context) -> Iterator[Runtime]:
    """The command's runtime: the loaded configuration, its store (migrated), acting for the
    user running the command. Service errors inside end the command with their exit code."""
    from dirguard.services.runtime import open_runtime

    config = load_cli_config(ctx).config
    with service_errors(), open_runtime(config, getpass.getuser()) as runtime:
        yield runtime


def time_option(text: str | None) -> Any:
    """A time option's value (ISO 8601, no zone: UTC; ``None`` when not given), a
    :class:`~datetime.datetime`; a usage error otherwise (exit 2)."""
    if text is None:
        return None
    from dirguard.services.history import HistoryQueryError, parse_time

    try:
        return parse_time(text)
    except HistoryQueryError as error:
        raise typer.BadParameter(str(error)) from None
