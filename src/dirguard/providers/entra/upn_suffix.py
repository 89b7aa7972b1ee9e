"""Remote mailbox UPN suffix validation against the tenant's verified domains (seed 000).

An AD web action creating a Remote Mailbox may only use a UPN suffix that is a verified domain
of the Entra tenant; anything else is refused with the seed's own message,
``The domain '@<domain>' is not valid.`` This is expected behaviour, not a permission problem.
The tenant's domains are read with ``GET /domains`` (Domain.Read.All, Directory.Read.All).
"""

from __future__ import annotations

from collections.abc import Iterable

from dirguard.providers.entra.graph_client import GraphClient


class InvalidUpnSuffix(ValueError):
    """The suffix is not one of the tenant's verified domains; the message is the seed's."""

    def __init__(self, domain: str) -> None:
        super().__init__(f"The domain '@{domain}' is not valid.")
        self.domain = domain


def verified_domains(graph: GraphClient) -> frozenset[str]:
    """The tenant's verified domain names, lower-cased."""
    return frozenset(
        str(domain["id"]).lower() for domain in graph.pages("/domains") if domain.get("isVerified")
    )


def upn_suffix(value: str) -> str:
    """The domain part of a UPN (``jdoe@corp.example.com``) or a suffix (``@corp.example.com``,
    ``corp.example.com``), as typed (stripped of surrounding blanks)."""
    return value.strip().rpartition("@")[2].strip()


def check_remote_mailbox_suffix(value: str, domains: Iterable[str]) -> str:
    """The suffix of ``value`` when the tenant has it as a verified domain (compared without
    regard to case, as Entra compares domain names); else ``InvalidUpnSuffix``."""
    suffix = upn_suffix(value)
    if not suffix or suffix.lower() not in {d.lower() for d in domains}:
        raise InvalidUpnSuffix(suffix)
    return suffix
