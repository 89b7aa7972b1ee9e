"""Bringing a deleted AD object back: reanimate its tombstone, then restore from history.

The object keeps its objectGUID and objectSid (the tombstone itself is brought back with the
Show-Deleted control into its last parent or a chosen OU); the attributes the tombstone lost and
the links other objects held to it (group memberships) come from dirguard's recorded history.
The plan is stored like any rollback plan (:func:`plan_undelete`, reads only) and applied step
by step with verification; the guarded use case (rights, elevation) is
:func:`dirguard.services.rollback.apply_cases.undelete`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad import KIND as AD_KIND
from dirguard.providers.base import store_source
from dirguard.services.capture.capture import capture_domain
from dirguard.services.rollback.ad_access import AD
from dirguard.services.rollback.plan_store import StoredPlan, load_plan, save_plan
from dirguard.services.rollback.plans import plan_for_undelete
from dirguard.services.rollback.steps import ApplyReport, apply_plan

if TYPE_CHECKING:
    from dirguard.providers.ad.connection import AdConnection
    from dirguard.providers.ad.values import Schema


@dataclass(frozen=True, kw_only=True)
class UndeleteResult:
    plan: StoredPlan
    report: ApplyReport


def plan_undelete(
    sessions: sessionmaker[Session],
    conn: AdConnection,
    domain: AdDomainConfig,
    object_text: str,
    *,
    requested_by: str,
    to_ou: str | None = None,
    refresh: bool = True,
    schema: Schema | None = None,
) -> int:
    """Store the plan to undelete one object (named by GUID, DN or sAMAccountName); its id.
    Reads only: ``conn`` may be a read-only account.

    With ``refresh`` a capture pass runs first, so the plan sees the deletion and the current
    state of the groups that held the object (``schema``: the domain's, read already)."""
    if refresh:
        capture_domain(sessions, conn, domain, schema=schema)
    with sessions.begin() as session:
        source = store_source(AD_KIND, domain.name)
        draft = plan_for_undelete(session, source, object_text, to_ou)
        plan = save_plan(
            session,
            source=source,
            requested_by=requested_by,
            selection={"undelete": object_text, "to": to_ou},
            force=False,
            draft=AD.plan_steps(draft),
        )
        return plan.id


def undelete(
    sessions: sessionmaker[Session],
    conn: AdConnection,
    domain: AdDomainConfig,
    object_text: str,
    *,
    requested_by: str,
    to_ou: str | None = None,
    refresh: bool = True,
) -> UndeleteResult:
    """Plan and apply the undelete of one object over ``conn``, whose account must hold the
    rights (no rights check, no elevation: the guarded use case adds them)."""
    plan_id = plan_undelete(
        sessions, conn, domain, object_text, requested_by=requested_by, to_ou=to_ou, refresh=refresh
    )
    from dirguard.providers.ad.apply import AdStepWriter

    writer = AdStepWriter(conn, source=domain.name, bind_upn=domain.bind_upn)
    report = apply_plan(sessions, writer, plan_id, requested_by=requested_by)
    with sessions() as session:
        return UndeleteResult(plan=load_plan(session, plan_id), report=report)
