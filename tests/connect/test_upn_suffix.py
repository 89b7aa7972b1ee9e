"""Remote mailbox UPN suffixes are checked against the tenant's verified domains, read from the
sandbox tenant through Graph; a suffix the tenant lacks gets exactly the seed's message."""

from __future__ import annotations

import pytest

from dirguard.providers.entra.graph_client import GraphClient, make_credential
from dirguard.providers.entra.upn_suffix import (
    InvalidUpnSuffix,
    check_remote_mailbox_suffix,
    verified_domains,
)
from tests.fixtures.graph_sandbox import RunningSandbox


def _domains(sandbox: RunningSandbox) -> frozenset[str]:
    info = sandbox.info
    credential = make_credential(
        tenant_id=info.tenant_id,
        client_id=info.read_only_client_id,
        authority=info.login_base,
        ca_file=info.ca_file,
        client_secret=info.read_only_client_secret,
    )
    with GraphClient(
        tenant_id=info.tenant_id,
        credential=credential,
        graph_url=info.login_base,
        ca_file=info.ca_file,
    ) as graph:
        return verified_domains(graph)


def test_verified_domains_are_the_tenants(graph_sandbox: RunningSandbox) -> None:
    domains = _domains(graph_sandbox)
    expected = {name for name, d in graph_sandbox.state.domains.items() if d["isVerified"]}
    assert domains == expected
    assert len(domains) == 2


def test_a_verified_suffix_passes_in_any_spelling(graph_sandbox: RunningSandbox) -> None:
    domains = _domains(graph_sandbox)
    custom = next(d for d in domains if not d.endswith(".onmicrosoft.com"))
    assert check_remote_mailbox_suffix(f"jdoe@{custom}", domains) == custom
    assert check_remote_mailbox_suffix(f"@{custom.upper()}", domains) == custom.upper()
    assert check_remote_mailbox_suffix(f" {custom} ", domains) == custom


def test_an_unverified_suffix_gets_the_seeds_message(graph_sandbox: RunningSandbox) -> None:
    domains = _domains(graph_sandbox)
    graph_sandbox.state.domains["pending.example.org"] = {
        **next(iter(graph_sandbox.state.domains.values())),
        "id": "pending.example.org",
        "isVerified": False,
        "isDefault": False,
    }
    try:
        domains = _domains(graph_sandbox)
    finally:
        del graph_sandbox.state.domains["pending.example.org"]
    for value, domain in (
        ("jdoe@corp.local", "corp.local"),
        ("@pending.example.org", "pending.example.org"),
        ("sub." + next(iter(domains)), "sub." + next(iter(domains))),
    ):
        with pytest.raises(InvalidUpnSuffix) as caught:
            check_remote_mailbox_suffix(value, domains)
        assert str(caught.value) == f"The domain '@{domain}' is not valid."
    with pytest.raises(InvalidUpnSuffix, match=r"^The domain '@' is not valid\.$"):
        check_remote_mailbox_suffix("jdoe@", domains)
