"""``dirguard sandbox serve``: run the sandbox Microsoft 365 tenant (a separate program in
``sandbox/``; this command only starts it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

sandbox_app = typer.Typer(
    help="The sandbox Microsoft 365 tenant: a local Graph + Entra token emulator.",
    no_args_is_help=True,
)


@sandbox_app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0: a free one).")] = 0,
    users: Annotated[int, typer.Option(help="Users to generate.")] = 25,
    seed: Annotated[int, typer.Option(help="Generator seed (same seed, same tenant).")] = 1,
    state: Annotated[
        Path | None, typer.Option(help="JSON file to load the tenant from and save it to.")
    ] = None,
    tls_dir: Annotated[
        Path | None, typer.Option(help="Where to write the generated CA and certificate.")
    ] = None,
    realistic: Annotated[
        bool,
        typer.Option(
            help="Managers, nested groups of each kind, line-of-business apps, conditional "
            "access, role and PIM assignments, soft-deleted items."
        ),
    ] = False,
    admin_only: Annotated[
        bool,
        typer.Option(
            help="Only the Global Administrator, Microsoft's first-party apps and one Azure "
            "subscription: what `dirguard connect entra` starts from."
        ),
    ] = False,
) -> None:
    """Serve a sandbox tenant over HTTPS on loopback; prints one JSON line with tenant id,
    URLs, CA file, two ready applications, a Global Administrator sign-in and the admin URLs
    (faults, and the outbox where sent mail lands)."""
    from dirguard_sandbox.__main__ import main

    argv = ["serve", "--port", str(port), "--users", str(users), "--seed", str(seed)]
    if state is not None:
        argv += ["--state", str(state)]
    if tls_dir is not None:
        argv += ["--tls-dir", str(tls_dir)]
    if realistic and admin_only:
        raise typer.BadParameter("--realistic and --admin-only exclude each other")
    argv += ["--realistic"] * realistic + ["--admin-only"] * admin_only
    raise typer.Exit(main(argv))


def register(app: typer.Typer) -> None:
    app.add_typer(sandbox_app, name="sandbox")
