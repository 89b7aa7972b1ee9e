"""A direct write step on an Entra tenant, for the just-in-time elevation tests: PATCH one
property of a user through Microsoft Graph as dirguard's application.

Not a mock: it writes to the sandbox tenant over HTTPS with the product's Graph client, and
reports the rights it needs with the product's ``write_rights`` (catalog + token claims). It
stands in for the Entra step writer of the rollback (another part of the Entra guardian) so
that elevation can be tested on its own; the steps it writes are ``entra.patch`` steps whose
payload is ``{"property": ..., "value": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dirguard.config.schema import EntraTenantConfig
from dirguard.core.plan import PlanDraft, Step, Target
from dirguard.providers.base import SourceError, StepResult
from dirguard.providers.entra.graph_client import GraphClient, GraphError
from dirguard.providers.entra.write_rights import EntraRights, entra_rights, token_claims
from dirguard.services.rollback.plan_store import save_plan
from dirguard.services.runtime import Runtime

OP = "entra.patch"


class PatchWriter:
    """Writes ``entra.patch`` steps with a Graph client of its own (opened per writer, so a
    writer opened after an elevation asks for a fresh token)."""

    def __init__(self, graph: GraphClient, client_id: str) -> None:
        self.graph = graph
        self.client_id = client_id
        self.claims: list[dict[str, Any]] = []
        """The claims of the token each rights check read (what Graph saw)."""

    def __enter__(self) -> PatchWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.graph.close()

    def apply(self, step: Step, produced: Mapping[str, str], *, force: bool) -> StepResult:
        prop, value = step.payload["property"], step.payload["value"]
        try:
            self.graph.request("PATCH", f"/users/{step.target.external_id}", json={prop: value})
        except GraphError as error:
            return StepResult(status="failed", outcome=str(error))
        return StepResult(status="succeeded", outcome=f"{prop} set to {value!r}")

    def verify(self, step: Step, produced: Mapping[str, str]) -> str | None:
        prop, value = step.payload["property"], step.payload["value"]
        user = self.graph.get(f"/users/{step.target.external_id}", **{"$select": prop})
        return None if user.get(prop) == value else f"{prop} is {user.get(prop)!r}"

    def rights(self, steps: Sequence[Step]) -> EntraRights:
        try:
            self.claims.append(token_claims(self.graph.token()))
        except Exception as error:  # a token refused is the caller's SourceError
            raise SourceError(str(error)) from None
        return entra_rights(self.graph, self.client_id, steps)


def patch_step(user_id: str, label: str, prop: str, value: Any) -> Step:
    return Step(
        op=OP,
        target=Target(provider="entra", external_id=user_id, label=label),
        description=f"set {prop} of {label}",
        attribute=prop,
        payload={"property": prop, "value": value},
        expected=value,
    )


def store_patch_plan(runtime: Runtime, tenant: EntraTenantConfig, step: Step) -> int:
    with runtime.sessions.begin() as session:
        plan = save_plan(
            session,
            source=f"entra:{tenant.name}",
            requested_by=runtime.principal,
            selection={"test": "elevation"},
            force=False,
            draft=PlanDraft(steps=(step,)),
        )
        return plan.id


def writer_for(runtime: Runtime, tenant: EntraTenantConfig) -> PatchWriter:
    return PatchWriter(runtime.open_entra(tenant), str(tenant.client_id))
