"""Which tenant ``dirguard connect entra`` sets up, and what it prints for the configuration.

The target is a configured tenant (by name) or a new one named by tenant id or domain, with the
command line's URLs, services and subscriptions over the configured ones. After the run, the
``[[entra.tenants]]`` entry for the configuration file is printed from the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from dirguard.catalog.permission_model import Mode, Service
from dirguard.config.schema import Config
from dirguard.providers.entra.setup.report import SetupReport


class TargetError(ValueError):
    """The options do not name a tenant to set up; the message names the option."""


def split_services(text: str) -> list[Service]:
    """``administrator,guardian`` as services, in order, without repeats."""
    services: list[Service] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        try:
            services.append(Service(part))
        except ValueError:
            valid = ", ".join(s.value for s in Service)
            raise TargetError(f"--services: unknown service {part!r}; valid: {valid}") from None
    if not services:
        raise TargetError("--services: name at least one service")
    return list(dict.fromkeys(services))


@dataclass(frozen=True, kw_only=True)
class EntraTarget:
    """The tenant and the connection's settings for one run."""

    name: str
    tenant_id: str
    authority: str
    graph_url: str
    ca_file: Path | None
    client_id: str | None
    services: list[Service]
    arm_url: str
    subscriptions: list[str]


def resolve_target(
    config: Config,
    tenant: str,
    services: str | None,
    overrides: dict[str, Any],
) -> EntraTarget:
    known = next((t for t in config.entra.tenants if t.name == tenant), None)
    if known is not None:
        return EntraTarget(
            name=known.name,
            tenant_id=str(known.tenant_id),
            authority=overrides["authority"] or known.authority,
            graph_url=overrides["graph_url"] or known.graph_url,
            ca_file=overrides["ca_file"] or known.ca_file,
            client_id=overrides["client_id"] or str(known.client_id),
            services=split_services(services) if services else list(known.services),
            arm_url=overrides["arm_url"] or known.arm_url,
            subscriptions=subscription_ids(overrides["subscriptions"])
            or [str(s) for s in known.subscriptions],
        )
    for option in ("authority", "graph_url", "arm_url"):
        value = overrides[option]
        if value is not None and not value.startswith("https://"):
            flag = "--" + option.replace("_", "-")
            raise TargetError(f"{flag} must be an https:// URL")
    if "." not in tenant and not _is_uuid(tenant):
        names = ", ".join(t.name for t in config.entra.tenants) or "none configured"
        raise TargetError(
            f"--tenant {tenant!r} is neither a configured tenant ({names}) nor a tenant id or"
            " domain name",
        )
    return EntraTarget(
        name=tenant if "." not in tenant else tenant.split(".", 1)[0],
        tenant_id=tenant,
        authority=(overrides["authority"] or "https://login.microsoftonline.com").rstrip("/"),
        graph_url=(overrides["graph_url"] or "https://graph.microsoft.com").rstrip("/"),
        ca_file=overrides["ca_file"],
        client_id=overrides["client_id"],
        services=split_services(services or "guardian"),
        arm_url=(overrides["arm_url"] or "https://management.azure.com").rstrip("/"),
        subscriptions=subscription_ids(overrides["subscriptions"]),
    )


def subscription_ids(given: list[str]) -> list[str]:
    for value in given:
        if not _is_uuid(value):
            raise TargetError(
                f"--subscription {value!r} is not a subscription id (a GUID)",
            )
    return [str(UUID(v)) for v in given]


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def config_snippet(target: EntraTarget, report: SetupReport, mode: Mode) -> str:
    lines = [
        "[[entra.tenants]]",
        f'name = "{target.name}"',
        f'tenant_id = "{report.tenant_id}"',
        f'client_id = "{report.app_id}"',
        f'certificate = "secret:{report.certificate_secret}"',
        f'authority = "{target.authority}"',
        f'graph_url = "{target.graph_url}"',
    ]
    if target.ca_file is not None:
        lines.append(f'ca_file = "{target.ca_file}"')
    if target.subscriptions:
        lines.append(f'arm_url = "{target.arm_url}"')
        lines.append(f"subscriptions = [{', '.join(repr(s) for s in target.subscriptions)}]")
    lines.append(f'mode = "{mode.value}"')
    lines.append(f"services = [{', '.join(repr(s.value) for s in target.services)}]")
    return "\n".join(lines).replace("'", '"')


def setup_json(target: EntraTarget, report: SetupReport, mode: Mode) -> dict[str, Any]:
    return {
        "tenant": target.name,
        "tenant_id": report.tenant_id,
        "mode": mode.value,
        "services": [s.value for s in target.services],
        "client_id": report.app_id,
        "application_id": report.application_id,
        "service_principal_id": report.service_principal_id,
        "certificate": f"secret:{report.certificate_secret}",
        "changed": report.changed,
        "actions": [
            {"step": a.step, "change": a.change, "detail": a.detail} for a in report.actions
        ],
        "config": config_snippet(target, report, mode),
    }
