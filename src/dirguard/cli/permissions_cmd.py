"""``dirguard permissions``: what each service needs and why; ``permissions check``: consent check.

Exit codes of ``permissions check``: 0 everything required is granted; 2 something is missing
(partial consent is a critical error); 1 the granted file cannot be read or parsed. An unknown
``--feature`` is a usage error (exit 2, naming the valid features).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from dirguard.catalog.manifest import MANIFEST, PRINCIPAL_TITLES, display_section
from dirguard.catalog.permission_model import Lifecycle, Mode, Permission, Principal, Service
from dirguard.cli.context import console, err_console, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.core.consent_check import ConsentReport
from dirguard.services.errors import ServiceError

permissions_app = typer.Typer(
    help="What dirguard needs to be granted, and why; check a granted set against it.",
    context_settings={"help_option_names": ["-h", "--help"]},
)

ServiceOption = Annotated[
    Service | None, typer.Option("--service", "-s", help="Only this service.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def permission_json(permission: Permission, mode: Mode | None) -> dict[str, Any]:
    """One manifest row as JSON, with the features that need it (in ``mode``)."""
    return {
        "key": permission.key,
        "name": permission.name,
        "display_name": permission.display_name,
        "service": permission.service.value,
        "principal": permission.principal.value,
        "principal_title": PRINCIPAL_TITLES[permission.principal],
        "kind": permission.kind.value,
        "modes": sorted(m.value for m in permission.modes),
        "lifecycle": permission.lifecycle.value,
        "description": permission.description,
        "usage": permission.usage,
        "sections": [s.section for s in permission.seeds],
        "seed_documents": sorted({s.document for s in permission.seeds}),
        "added_by_project": permission.added_by_project,
        "features": [f.key for f in MANIFEST.features_for(permission.key, mode)],
    }


def _grant_cell(permission: Permission) -> str:
    modes = ", ".join(m.value for m in Mode if m in permission.modes)
    text = f"{permission.kind.value}\n{modes}"
    if permission.lifecycle is not Lifecycle.REQUIRED:
        text += f"\n{permission.lifecycle.value}"
    if permission.added_by_project:
        text += "\n[italic]added by dirguard[/italic]"
    return text


def _render(rows: tuple[Permission, ...], mode: Mode | None) -> None:
    """One table per identity and seed section, in the seeds' order."""
    for service in Service:
        for principal in MANIFEST.principals(service):
            mine = [p for p in rows if p.service is service and p.principal is principal]
            sections: dict[str, list[Permission]] = {}
            for permission in mine:
                sections.setdefault(display_section(permission, mode), []).append(permission)
            for section, permissions in sections.items():
                table = Table(
                    title=f"{service.value} · {PRINCIPAL_TITLES[principal]}\n{section}",
                    title_justify="left",
                    title_style="bold",
                )
                table.add_column("Permission", no_wrap=True, style="bold")
                table.add_column("Grant", overflow="fold")
                table.add_column("Usage", ratio=3)
                table.add_column("Needed by", overflow="fold", ratio=2)
                for permission in permissions:
                    features = [f.key for f in MANIFEST.features_for(permission.key, mode)]
                    table.add_row(
                        permission.name,
                        _grant_cell(permission),
                        permission.usage,
                        "\n".join(features),
                    )
                console.print(table)


@permissions_app.callback(invoke_without_command=True)
def show(
    ctx: typer.Context,
    service: ServiceOption = None,
    mode: Annotated[
        Mode | None,
        typer.Option("--mode", "-m", help="Only what this mode needs.", show_default=False),
    ] = None,
    feature: Annotated[
        str | None,
        typer.Option("--feature", "-f", help="Only what this feature needs.", show_default=False),
    ] = None,
    json_out: JsonOption = False,
) -> None:
    """Show the permissions each service needs, grouped by identity and seed section."""
    if ctx.invoked_subcommand is not None:
        return
    if feature is not None and feature not in MANIFEST.feature_keys():
        valid = ", ".join(MANIFEST.feature_keys(service))
        raise typer.BadParameter(
            f"unknown feature {feature!r}; valid features: {valid}", param_hint="--feature"
        )
    rows = MANIFEST.select(service=service, mode=mode, feature=feature)
    if json_out:
        print_json(
            {
                "service": service.value if service else None,
                "mode": mode.value if mode else None,
                "feature": feature,
                "permissions": [permission_json(p, mode) for p in rows],
            }
        )
        return
    if not rows:
        console.print("No permissions match these filters.")
        return
    _render(rows, mode)


def report_json(report: ConsentReport, service: Service | None, mode: Mode) -> dict[str, Any]:
    return {
        "service": service.value if service else None,
        "mode": mode.value,
        "complete": report.complete,
        "missing": [
            {
                "key": m.key,
                "name": m.name,
                "kind": m.kind,
                "principal": m.principal,
                "features": list(m.features),
            }
            for m in report.missing
        ],
        "satisfied": list(report.satisfied),
        "extra": [e.label() for e in report.extra],
        "unknown": [e.label() for e in report.unknown],
    }


def _render_report(report: ConsentReport, service: Service | None, mode: Mode) -> None:
    scope = f"{service.value if service else 'all services'}, {mode.value} mode"
    if report.complete:
        console.print(f"All {len(report.satisfied)} required permissions are granted ({scope}).")
    else:
        console.print(f"[bold]Missing permissions ({scope}):[/bold]")
        for missing in report.missing:
            console.print(
                f"  [bold red]✗ {missing.name}[/bold red] ({missing.kind},"
                f" {PRINCIPAL_TITLES[Principal(missing.principal)]})",
                soft_wrap=True,
            )
            console.print(f"      breaks: {', '.join(missing.features)}", soft_wrap=True)
        err_console.print(
            f"[bold red]Partial consent: {len(report.missing)} required permission(s) missing."
            " This is a critical error; the features listed will not work.[/bold red]"
        )
    if report.extra:
        names = ", ".join(e.label() for e in report.extra)
        console.print(f"Granted but not needed in {scope}: {names}")
    if report.unknown:
        names = ", ".join(f"{e.label()} ({e.where})" for e in report.unknown)
        console.print(f"Granted but unknown to dirguard: {names}")


GrantedOption = Annotated[
    Path,
    typer.Option(
        "--granted",
        "-g",
        help="File with the granted permissions: JSON (list of names or objects, or"
        " principal -> names) or one name a line ('kind:name' to qualify).",
        show_default=False,
    ),
]
CheckModeOption = Annotated[
    Mode | None,
    typer.Option(
        "--mode", "-m", help="The mode the connection runs in [default: full].", show_default=False
    ),
]
IncludeSetupOption = Annotated[
    bool,
    typer.Option(
        "--include-setup", help="Also require setup-only grants (setup app, AD operator's groups)."
    ),
]


@permissions_app.command("check")
def check(
    ctx: typer.Context,
    granted: GrantedOption,
    service: ServiceOption = None,
    mode: CheckModeOption = None,
    include_setup: IncludeSetupOption = False,
    json_out: JsonOption = False,
) -> None:
    """Compare a granted set with the manifest; exit 2 when anything is missing, 1 on a bad file."""
    from dirguard.services.permission_check import check_granted, read_granted

    # `dirguard permissions --service X check ...` means the same as `... check --service X`.
    parent = ctx.parent.params if ctx.parent is not None else {}
    service = service or parent.get("service")
    mode = mode or parent.get("mode") or Mode.FULL
    try:
        entries = read_granted(granted)
    except ServiceError as exc:
        err_console.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(ExitCode.FAILURE) from None
    report = check_granted(entries, service=service, mode=mode, include_setup=include_setup)
    if json_out:
        print_json(report_json(report, service, mode))
    else:
        _render_report(report, service, mode)
    if not report.complete:
        raise typer.Exit(ExitCode.CRITICAL)


def register(app: typer.Typer) -> None:
    app.add_typer(permissions_app, name="permissions")
