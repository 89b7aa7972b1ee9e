"""Tenant facts on the Administrator's overview, against the sandbox tenant over HTTPS: the
subscribed SKUs with their seats and the domains, as the Administrator app reads them; only for
console administrators and people who hold a delegated role; a malformed Graph answer is named."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dirguard.core.delegation import ConsoleUser
from dirguard.services.admin.delegation import assign, save_role, save_scope
from dirguard.services.admin.tenant_facts import sku_facts, tenant_facts
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime
from dirguard_sandbox.directory_state import DirectoryState
from tests.admin.conftest import admin_runtime, admin_tenant
from tests.fixtures.graph_sandbox import RunningSandbox

HELPER = ConsoleUser(name="helpdesk@contoso.com")
STRANGER = ConsoleUser(name="someone@contoso.com")


def _assigned(state: DirectoryState, sku_id: str) -> int:
    """Seats of ``sku_id`` in use, counted from the users' assignedLicenses."""
    users = state.users.values()
    return sum(
        1 for u in users for held in u.get("assignedLicenses") or [] if held["skuId"] == sku_id
    )


@pytest.fixture
def runtime(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    info = graph_sandbox.info
    monkeypatch.setenv("DG_SANDBOX_SECRET", info.full_client_secret)
    with admin_runtime(tmp_path, tenants=[admin_tenant(info, "DG_SANDBOX_SECRET")]) as runtime:
        save_role(runtime, {"name": "Licensing", "actions": ["entra.user.assign-licenses"]})
        save_scope(
            runtime, {"name": "Tenant", "kind": "virtual", "query": {"directories": ["entra"]}}
        )
        assign(runtime, "Licensing", "Tenant", "user", HELPER.name)
        yield runtime


def test_seats_and_domains_match_the_tenant(
    runtime: Runtime, graph_sandbox: RunningSandbox
) -> None:
    facts = tenant_facts(runtime, HELPER, "sandbox")
    state = graph_sandbox.state
    expected = {
        sku["skuPartNumber"]: (
            sku["prepaidUnits"]["enabled"],
            _assigned(state, sku["skuId"]),
        )
        for sku in state.subscribed_skus.values()
    }
    assert expected, "the sandbox tenant should hold subscriptions"
    shown = {s.part_number: (s.enabled, s.consumed) for s in facts.skus}
    assert shown == expected
    for sku in facts.skus:
        assert sku.free == max(sku.enabled - sku.consumed, 0)
    verified = {d["id"] for d in state.domains.values() if d.get("isVerified")}
    assert {d.name for d in facts.domains if d.verified} == verified
    default = [d for d in facts.domains if d.default]
    assert len(default) == 1 and facts.domains[0] == default[0]


def test_assigning_a_license_takes_a_seat(runtime: Runtime, graph_sandbox: RunningSandbox) -> None:
    before = {s.part_number: s for s in tenant_facts(runtime, HELPER, "sandbox").skus}
    chosen = next(s for s in before.values() if s.free > 0)
    user = next(
        u
        for u in graph_sandbox.state.users.values()
        if not u.get("assignedLicenses") and u.get("usageLocation")
    )
    with graph_sandbox.client() as admin:
        answer = admin.post(
            f"/users/{user['id']}/assignLicense",
            json={
                "addLicenses": [{"skuId": chosen.sku_id, "disabledPlans": []}],
                "removeLicenses": [],
            },
        )
        assert answer.is_success, answer.text
    after = {s.part_number: s for s in tenant_facts(runtime, HELPER, "sandbox").skus}
    assert after[chosen.part_number].consumed == chosen.consumed + 1
    assert after[chosen.part_number].free == chosen.free - 1


def test_only_administrators_and_delegated_operators_read_them(runtime: Runtime) -> None:
    with pytest.raises(ServiceError) as refused:
        tenant_facts(runtime, STRANGER, "sandbox")
    assert refused.value.problem is Problem.PERMISSION
    assert "holds no delegated role" in refused.value.message
    assert tenant_facts(runtime, STRANGER, "sandbox", console_admin=True).skus


@pytest.mark.parametrize(
    ("record", "named"),
    [
        ({"skuPartNumber": "E5", "consumedUnits": "12"}, "consumedUnits = '12'"),
        ({"skuPartNumber": "E5", "prepaidUnits": {"enabled": -1}}, "enabled = -1"),
        ({"consumedUnits": 1}, "without skuPartNumber"),
        (["not", "an", "object"], "not an object"),
    ],
)
def test_a_malformed_graph_answer_is_named(record: object, named: str) -> None:
    with pytest.raises(ServiceError) as failed:
        sku_facts(record)
    assert named in failed.value.message
