"""``dirguard init``, ``dirguard config check|show`` and ``dirguard secret set|list|delete``."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.markup import escape

from dirguard.cli.context import console, err_console, load_cli_config, print_json, state
from dirguard.cli.exit_codes import ExitCode
from dirguard.config.credentials import CredentialError, resolve_credential
from dirguard.config.example import EXAMPLE_CONFIG
from dirguard.config.loader import resolve_path
from dirguard.config.schema import Config
from dirguard.config.secret_store import SecretStore, SecretStoreError

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]

config_app = typer.Typer(help="Validate and show the configuration.", no_args_is_help=True)
secret_app = typer.Typer(
    help="Manage dirguard's encrypted secret store (values are never printed).",
    no_args_is_help=True,
)


def init(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Write a commented example configuration to --config (or the default path)."""
    path = resolve_path(state(ctx).config_path)
    if path.exists() and not force:
        err_console.print(f"{path} already exists; use --force to overwrite it.", highlight=False)
        raise typer.Exit(ExitCode.FAILURE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    if as_json:
        print_json({"written": str(path)})
    else:
        console.print(f"Wrote example configuration to {path}", highlight=False)
        console.print(f"Edit it, then run: dirguard --config {path} config check", highlight=False)


def _credential_refs(config: Config) -> list[tuple[str, str]]:
    refs: list[tuple[str, str]] = []
    for i, domain in enumerate(config.ad.domains):
        for field in ("password", "elevation_password"):
            value = getattr(domain, field)
            if value:
                refs.append((f"ad.domains[{i}].{field}", value))
    for i, tenant in enumerate(config.entra.tenants):
        for field in ("client_secret", "certificate"):
            value = getattr(tenant, field)
            if value:
                refs.append((f"entra.tenants[{i}].{field}", value))
    return refs


@config_app.command("check")
def check(
    ctx: typer.Context,
    credentials: Annotated[
        bool,
        typer.Option("--credentials", help="Also resolve every credential reference."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Validate the configuration file and environment overrides (exit 3 when invalid)."""
    loaded = load_cli_config(ctx, require_file=state(ctx).config_path is not None, as_json=as_json)
    cfg = loaded.config
    resolved: list[dict[str, Any]] = []
    if credentials:
        store = SecretStore(cfg.secrets.key_file, cfg.secrets.store_file)
        for key, ref in _credential_refs(cfg):
            try:
                resolve_credential(ref, store)
                resolved.append({"key": key, "reference": ref, "ok": True})
            except CredentialError as exc:
                resolved.append({"key": key, "reference": ref, "ok": False, "problem": str(exc)})
    bad = [r for r in resolved if not r["ok"]]
    summary = {
        "valid": not bad,
        "path": str(loaded.path),
        "file_exists": loaded.file_exists,
        "environment_overrides": list(loaded.overrides),
        "store": cfg.store.url,
        "ad_domains": [d.name for d in cfg.ad.domains],
        "entra_tenants": [t.name for t in cfg.entra.tenants],
        "credentials": resolved,
    }
    if as_json:
        print_json(summary)
    else:
        where = loaded.path if loaded.file_exists else f"{loaded.path} (absent: embedded defaults)"
        console.print(f"Configuration: {escape(str(where))}", highlight=False)
        if loaded.overrides:
            console.print(f"Environment overrides: {', '.join(loaded.overrides)}", highlight=False)
        console.print(f"Store: {escape(cfg.store.url)}", highlight=False)
        console.print(
            f"AD domains: {len(cfg.ad.domains)}; Entra tenants: {len(cfg.entra.tenants)}",
            highlight=False,
        )
        for item in resolved:
            mark = "[green]ok[/]" if item["ok"] else f"[red]{escape(item['problem'])}[/]"
            console.print(f"  {item['key']} ({escape(item['reference'])}): {mark}")
        console.print("[green]valid[/]" if not bad else "[red]credential problems[/]")
    if bad:
        raise typer.Exit(ExitCode.CONFIG_INVALID)


@config_app.command("show")
def show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Print the effective configuration (file + environment + defaults)."""
    loaded = load_cli_config(ctx, require_file=state(ctx).config_path is not None)
    data = loaded.config.model_dump(mode="json")
    if as_json:
        print_json(data)
    else:
        console.print_json(data=data)


def _store(ctx: typer.Context) -> SecretStore:
    cfg = load_cli_config(ctx).config
    return SecretStore(cfg.secrets.key_file, cfg.secrets.store_file)


@secret_app.command("set")
def secret_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Secret name, referenced as secret:NAME.")],
) -> None:
    """Store a secret read from standard input (prompted without echo on a terminal)."""
    value = (
        typer.prompt(f"Value for {name}", hide_input=True)
        if sys.stdin.isatty()
        else sys.stdin.read().rstrip("\r\n")
    )
    try:
        _store(ctx).set(name, value)
    except SecretStoreError as exc:
        err_console.print(str(exc), highlight=False)
        raise typer.Exit(ExitCode.FAILURE) from None
    err_console.print(f"Stored secret {name!r}; reference it as secret:{name}", highlight=False)


@secret_app.command("list")
def secret_list(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the names of stored secrets (never their values)."""
    try:
        names = _store(ctx).names()
    except SecretStoreError as exc:
        err_console.print(str(exc), highlight=False)
        raise typer.Exit(ExitCode.FAILURE) from None
    if as_json:
        print_json(names)
    else:
        for name in names:
            console.print(name, highlight=False)


@secret_app.command("delete")
def secret_delete(ctx: typer.Context, name: str) -> None:
    """Remove a secret from the store."""
    try:
        removed = _store(ctx).delete(name)
    except SecretStoreError as exc:
        err_console.print(str(exc), highlight=False)
        raise typer.Exit(ExitCode.FAILURE) from None
    if not removed:
        err_console.print(f"no secret named {name!r}", highlight=False)
        raise typer.Exit(ExitCode.FAILURE)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(config_app, name="config")
    app.add_typer(secret_app, name="secret")
