"""Every example of Microsoft's Graph v1.0 API reference (``docs-examples-v1.0.json``) for a
resource the sandbox serves, replayed against it: same status, and the page's property names in
the answer. Examples left out are counted by the rule that leaves them out, each rule reported
as a skip (``-ra`` prints it); ``scripts/graph-coverage`` prints the per-resource table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.docs_examples import (
    EXAMPLES_FILE,
    KNOWN_GAPS,
    RULE_NO_ROUTE,
    Verdict,
    replay,
    replay_sandbox,
    verdicts,
)
from tests.sandbox.docs_replay_tenant import ReplayTenant

ALL = verdicts() if EXAMPLES_FILE.exists() else []
REPLAYED = [verdict for verdict in ALL if verdict.rule is None]
RULES = Counter(verdict.rule for verdict in ALL if verdict.rule is not None)


@pytest.fixture(scope="module")
def replay_tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReplayTenant]:
    sandbox = replay_sandbox(Path(tmp_path_factory.mktemp("docs-replay")))
    try:
        running = RunningSandbox(info=sandbox.info, state=sandbox.state)
        with running.client() as client:
            yield ReplayTenant(client, running.state)
    finally:
        sandbox.stop()


def _cases() -> list[object]:
    cases: list[object] = []
    for verdict in REPLAYED:
        gap = KNOWN_GAPS.get(verdict.example.key)
        marks = [pytest.mark.xfail(reason=f"known gap: {gap}", strict=True)] if gap else []
        cases.append(pytest.param(verdict, id=verdict.example.key, marks=marks))
    return cases


@pytest.mark.parametrize("verdict", _cases())
def test_documented_example_replays(verdict: Verdict, replay_tenant: ReplayTenant) -> None:
    outcome = replay(verdict, replay_tenant)
    assert outcome.problems == [], f"{verdict.example.method} {verdict.example.path}"


@pytest.mark.parametrize("rule", sorted(RULES))
def test_examples_left_out_by_rule(rule: str) -> None:
    """Not a check: reports how many examples each rule leaves out, so none go unseen."""
    pytest.skip(f"{RULES[rule]} examples not replayed: {rule}")


def test_every_example_is_replayed_or_left_out_by_a_named_rule() -> None:
    if not ALL:
        pytest.skip(f"Microsoft's examples file {EXAMPLES_FILE} is absent (../shared/reference)")
    assert len(REPLAYED) + sum(RULES.values()) == len(ALL) == 2393
    # The sandbox's own resources are covered: users, groups and policies all replay.
    replayed_resources = {verdict.resource for verdict in REPLAYED}
    assert {"users", "groups", "identity/conditionalAccess/policies"} <= replayed_resources
    assert RULES[RULE_NO_ROUTE] < len(ALL)
