"""Microsoft's clouds and their endpoints, to tell a tenant's configuration that mixes two.

A tenant lives in one cloud: the global one, US Government (GCC High and DoD) or China (operated
by 21Vianet). Its authority (sign-in), Graph URL and Resource Manager URL must all be that
cloud's; tokens from one cloud are refused by another's Graph. Hosts not listed here (the
sandbox tenant on loopback, a TLS-inspecting proxy) are not judged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Cloud:
    name: str
    authorities: frozenset[str]
    graph_hosts: frozenset[str]
    arm_hosts: frozenset[str]


CLOUDS = (
    Cloud(
        "the global cloud",
        frozenset({"login.microsoftonline.com"}),
        frozenset({"graph.microsoft.com"}),
        frozenset({"management.azure.com"}),
    ),
    Cloud(
        "US Government",
        frozenset({"login.microsoftonline.us"}),
        frozenset({"graph.microsoft.us", "dod-graph.microsoft.us"}),
        frozenset({"management.usgovcloudapi.net"}),
    ),
    Cloud(
        "China (21Vianet)",
        frozenset({"login.chinacloudapi.cn", "login.partner.microsoftonline.cn"}),
        frozenset({"microsoftgraph.chinacloudapi.cn"}),
        frozenset({"management.chinacloudapi.cn"}),
    ),
)
GRAPH_HOSTS = frozenset().union(*(cloud.graph_hosts for cloud in CLOUDS))
"""Graph's service roots: global, US Government L4 and L5 (DoD), China."""


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def cloud_mismatch(authority: str, graph_url: str, arm_url: str | None = None) -> str | None:
    """Why these endpoints cannot belong to one tenant, or None (one cloud, or not judged)."""
    judged: list[tuple[str, str, Callable[[Cloud], frozenset[str]]]] = [
        ("authority", _host(authority), lambda cloud: cloud.authorities),
        ("graph_url", _host(graph_url), lambda cloud: cloud.graph_hosts),
    ]
    if arm_url is not None:
        judged.append(("arm_url", _host(arm_url), lambda cloud: cloud.arm_hosts))
    found = {
        key: cloud for key, host, hosts_of in judged for cloud in CLOUDS if host in hosts_of(cloud)
    }
    if len({cloud.name for cloud in found.values()}) <= 1:
        return None
    parts = ", ".join(f"{key} is {cloud.name}'s" for key, cloud in found.items())
    return f"{parts}: a tenant's authority, graph_url and arm_url must be one cloud's"
