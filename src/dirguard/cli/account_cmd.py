"""``dirguard account``: local console accounts, so the first administrator can be created on a
fresh install. A password is read from standard input (or prompted for, twice, without echo on
a terminal), never taken from the command line where ``ps`` and shell history would show it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dirguard.cli.common import JsonOption, cli_runtime, fail
from dirguard.cli.context import console, err_console, print_json
from dirguard.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from dirguard.services.console.accounts import LocalAccounts
    from dirguard.services.runtime import Runtime

account_app = typer.Typer(
    help="Local console accounts (for a site without Entra ID, or break-glass): add, list,"
    " set-role,\ndisable, reset-totp. Passwords are read from standard input or a prompt,"
    " never from\nthe command line.",
    no_args_is_help=True,
)

Name = Annotated[str, typer.Argument(help="The account's sign-in name.")]
RoleArg = Annotated[
    str, typer.Argument(help="viewer, operator, approver or administrator.", show_default=False)
]
RoleOption = Annotated[
    str,
    typer.Option("--role", "-r", help="viewer, operator, approver or administrator."),
]


def _accounts(runtime: Runtime) -> LocalAccounts:
    from dirguard.config.secret_store import SecretStore
    from dirguard.services.console.accounts import LocalAccounts

    secrets = runtime.config.secrets
    return LocalAccounts(
        runtime.sessions, runtime.clock, SecretStore(secrets.key_file, secrets.store_file)
    )


def _password(name: str) -> str:
    if sys.stdin.isatty():
        first = typer.prompt(f"Password for {name}", hide_input=True)
        if typer.prompt("Again", hide_input=True) != first:
            raise fail("the two passwords differ; nothing was changed", ExitCode.FAILURE)
        return str(first)
    return sys.stdin.readline().rstrip("\r\n")


def _role(text: str) -> object:
    from dirguard.services.console.roles import Role
    from dirguard.services.errors import ServiceError

    try:
        return Role.parse(text)
    except ServiceError as error:
        raise typer.BadParameter(error.message) from None


@account_app.command("add")
def add(ctx: typer.Context, name: Name, role: RoleOption = "viewer") -> None:
    """Create a local account with a role; its password is read from standard input."""
    chosen = _role(role)
    with cli_runtime(ctx) as runtime:
        info = _accounts(runtime).add(name, chosen, _password(name), by=runtime.principal)  # type: ignore[arg-type]
    err_console.print(f"added {escape(info.name)} ({info.role.label})", highlight=False)


@account_app.command("list")
def list_accounts(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The console's accounts (local and those seen signing in with Entra ID)."""
    with cli_runtime(ctx) as runtime:
        accounts = _accounts(runtime).list()
    if as_json:
        print_json([a.as_dict() for a in accounts])
        return
    table = Table("name", "kind", "role", "state", "TOTP", "last sign-in")
    for a in accounts:
        table.add_row(
            escape(a.name),
            a.kind,
            a.role.label,
            "disabled" if a.disabled else "enabled",
            "yes" if a.totp else "no",
            a.last_sign_in.isoformat(timespec="seconds") if a.last_sign_in else "never",
        )
    console.print(table)


@account_app.command("set-role")
def set_role(ctx: typer.Context, name: Name, role: RoleArg) -> None:
    """Change an account's role (its sessions end; its tokens keep at most the new role)."""
    chosen = _role(role)
    with cli_runtime(ctx) as runtime:
        info = _accounts(runtime).set_role(name, chosen, by=runtime.principal)  # type: ignore[arg-type]
    err_console.print(f"{escape(info.name)} is now {info.role.label}", highlight=False)


@account_app.command("disable")
def disable(ctx: typer.Context, name: Name) -> None:
    """Disable an account: it cannot sign in, its sessions end and its tokens stop working."""
    with cli_runtime(ctx) as runtime:
        _accounts(runtime).set_disabled(name, True, by=runtime.principal)
    err_console.print(f"disabled {escape(name)}", highlight=False)


@account_app.command("enable")
def enable(ctx: typer.Context, name: Name) -> None:
    """Enable a disabled account again."""
    with cli_runtime(ctx) as runtime:
        _accounts(runtime).set_disabled(name, False, by=runtime.principal)
    err_console.print(f"enabled {escape(name)}", highlight=False)


@account_app.command("set-password")
def set_password(ctx: typer.Context, name: Name) -> None:
    """Set an account's password, read from standard input."""
    with cli_runtime(ctx) as runtime:
        _accounts(runtime).set_password(name, _password(name), by=runtime.principal)
    err_console.print(f"password of {escape(name)} changed", highlight=False)


@account_app.command("enroll-totp")
def enroll_totp(ctx: typer.Context, name: Name) -> None:
    """Give an account a TOTP second factor: prints the otpauth:// URI for an authenticator
    app (shown once; it holds the seed)."""
    with cli_runtime(ctx) as runtime:
        uri = _accounts(runtime).enroll_totp(name, by=runtime.principal)
    typer.echo(uri)


@account_app.command("reset-totp")
def reset_totp(ctx: typer.Context, name: Name) -> None:
    """Remove an account's TOTP second factor (a lost phone); it signs in with its password."""
    with cli_runtime(ctx) as runtime:
        _accounts(runtime).reset_totp(name, by=runtime.principal)
    err_console.print(f"TOTP of {escape(name)} removed", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(account_app, name="account")
