"""The approval use cases the console, the REST API and the CLI share.

- :func:`submit`: an action no policy covers runs at once; one a policy covers is previewed (the
  requester's delegation is checked now, so a request nobody could run is refused), stored,
  audited (``approval.request``) and e-mailed to its approvers with approve / reject links.
- :func:`decide`: an eligible approver (never the requester) approves or rejects, once. A
  rejection ends the request; the ``required``-th approval runs the action as the requester
  through :func:`~dirguard.services.admin.actions.run_action` (the delegation checked again on
  the live object), claimed by one conditional update so it never runs twice. A request past
  its expiry is marked expired and never runs, whoever decides.
- :func:`sweep`: expires what is overdue and escalates what waited too long (adds the policy's
  ``escalate_to`` and e-mails them); ``dirguard approvals sweep`` and the scheduler call it.

Every step is an audit record naming the requester, the approver and the request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update

from dirguard.core.delegation import ConsoleUser, Trustee
from dirguard.services.admin.actions import (
    ActionRequest,
    ActionResult,
    preview_action,
    run_action,
)
from dirguard.services.approvals.approvers import eligible, group_addresses, suggested
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime
from dirguard.store.audit import SELF, AuditOutcome, record_audit
from dirguard.store.models import PlanApproval
from dirguard.store.models_approvals import ApprovalRequest


@dataclass(frozen=True, kw_only=True)
class Submitted:
    """What became of a submitted action: it ran (``result``) or waits (``request``)."""

    result: ActionResult | None = None
    request: dict[str, Any] | None = None


def _fold(names: Sequence[str]) -> set[str]:
    return {n.casefold() for n in names}


def _groups(user: ConsoleUser) -> list[str]:
    return sorted(g.ident for g in user.groups if g.kind == "entra-group")


def _view(row: ApprovalRequest, decisions: Sequence[PlanApproval]) -> dict[str, Any]:
    return {
        "id": row.id,
        "policy": row.policy,
        "action": row.action,
        "source": row.source,
        "target": row.target,
        "preview": row.preview,
        "reason": row.reason,
        "requester": row.requester,
        "approvers": list(row.approvers),
        "approver_groups": list(row.approver_groups),
        "required": row.required,
        "status": row.status,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "escalated_at": row.escalated_at.isoformat() if row.escalated_at else None,
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        "result": row.result,
        "decisions": [
            {"by": d.approved_by, "decision": d.decision, "at": d.approved_at.isoformat()}
            for d in decisions
        ],
    }


def _decisions(session: Any, request_id: int) -> list[PlanApproval]:
    return list(
        session.scalars(
            select(PlanApproval)
            .where(PlanApproval.request_id == request_id)
            .order_by(PlanApproval.id)
        )
    )


def _mail(runtime: Runtime, template: str, context: dict[str, Any], to: Sequence[str]) -> str:
    """Send one notification; what happened, for the request's record (mail is best effort:
    the console lists the request whether or not the e-mail went out)."""
    from dirguard.services.notifications.outbox import notify

    if not to:
        return "nobody to e-mail"
    try:
        done = notify(runtime, template, context, list(to))
    except ServiceError as error:
        return f"not e-mailed: {error.message}"
    return f"notification {done.id} {done.status}"


def _links(runtime: Runtime, request_id: int) -> dict[str, str]:
    base = (runtime.config.approvals.console_url or "").rstrip("/")
    page = f"{base}/approvals/{request_id}"
    return {"approve_url": f"{page}?decision=approve", "reject_url": f"{page}?decision=reject"}


def _ask(runtime: Runtime, row: dict[str, Any], to: Sequence[str]) -> str:
    context = {
        "requester": row["requester"],
        "action": row["action"],
        "target": row["target"],
        "reason": row["reason"] or "",
        "needed": row["required"],
        "expires": row["expires_at"],
        **_links(runtime, row["id"]),
    }
    return _mail(runtime, "approval_request", context, to)


def submit(
    runtime: Runtime, user: ConsoleUser, request: ActionRequest, reason: str | None = None
) -> Submitted:
    """Run ``request`` now, or file it for approval when a policy covers its action."""
    policy = runtime.config.approvals.policy_for(request.action)
    if policy is None:
        return Submitted(result=run_action(runtime, user, request))
    preview = preview_action(runtime, user, request)
    directory = request.action.partition(".")[0]
    approvers = eligible(runtime, policy, directory, request.source, request.target)
    others = [a for a in approvers if a.casefold() != user.name.casefold()]
    if not others and not policy.groups:
        raise ServiceError(
            f"policy {policy.name!r}: nobody but the requester could approve this",
            Problem.CONFLICT,
        )
    now = runtime.clock()
    escalate = policy.escalate_after_hours
    suggestions, suggested_from = suggested(
        runtime, user.name, others, [g.casefold() for g in policy.groups]
    )
    with runtime.sessions.begin() as session:
        row = ApprovalRequest(
            policy=policy.name,
            action=request.action,
            directory=directory,
            source=request.source,
            target=preview.target,
            params=dict(request.params),
            preview={
                **preview.as_dict(),
                "suggested_approvers": suggestions,
                "suggested_from": suggested_from,
            },
            reason=reason,
            requester=user.name,
            requester_groups=_groups(user),
            approvers=approvers,
            approver_groups=[g.casefold() for g in policy.groups],
            required=policy.required,
            status="pending",
            created_at=now,
            expires_at=now + timedelta(hours=policy.expires_hours),
            escalate_at=None if escalate is None else now + timedelta(hours=escalate),
        )
        session.add(row)
        session.flush()
        record_audit(
            session,
            user.name,
            "approval.request",
            f"{request.source}/{preview.target}",
            {
                "request": row.id,
                "policy": policy.name,
                "action": request.action,
                "approvers": approvers,
                "approver_groups": list(policy.groups),
                "required": policy.required,
                "expires_at": row.expires_at.isoformat(),
                "edits": list(preview.edits),
            },
            AuditOutcome.SUCCEEDED,
        )
        view = _view(row, [])
    to = others + group_addresses(runtime, list(policy.groups))
    view["mail"] = _ask(runtime, view, [a for a in to if a.casefold() != user.name.casefold()])
    return Submitted(request=view)


def _may_decide(row: ApprovalRequest, user: ConsoleUser) -> str | None:
    """Why ``user`` may not decide on ``row`` (``None``: they may)."""
    if user.name.casefold() == row.requester.casefold():
        return "the requester cannot approve their own request"
    if user.name.casefold() in _fold(row.approvers):
        return None
    if set(_groups(user)) & _fold(row.approver_groups):
        return None
    return f"{user.name} is not an approver of request {row.id}"


def _close(session: Any, row: ApprovalRequest, status: str, now: datetime, **result: Any) -> None:
    row.status, row.closed_at, row.result = status, now, dict(result)


def _expire(runtime: Runtime, request_id: int, now: datetime) -> bool:
    """Mark one overdue pending request expired (audited); whether this call did it."""
    with runtime.sessions.begin() as session:
        claimed_rows = session.execute(
            update(ApprovalRequest)
            .where(
                ApprovalRequest.id == request_id,
                ApprovalRequest.status == "pending",
                ApprovalRequest.expires_at <= now,
            )
            .values(status="expired", closed_at=now, result={"expired": now.isoformat()})
        )
        claimed = claimed_rows.rowcount if isinstance(claimed_rows, CursorResult) else 0
        if not claimed:
            return False
        row = session.get(ApprovalRequest, request_id)
        assert row is not None
        record_audit(
            session,
            SELF,
            "approval.expired",
            f"{row.source}/{row.target}",
            {"request": row.id, "requester": row.requester, "action": row.action},
            AuditOutcome.SUCCEEDED,
        )
        requester, action, target = row.requester, row.action, row.target
    _mail(
        runtime,
        "approval_outcome",
        {
            "request_id": request_id,
            "action": action,
            "target": target,
            "outcome": "expired",
            "decided_by": "",
            "detail": "Nobody approved it in time; it will not run.",
        },
        [requester],
    )
    return True


def decide(
    runtime: Runtime, user: ConsoleUser, request_id: int, approve: bool, note: str | None = None
) -> dict[str, Any]:
    """Record ``user``'s decision; run the action once enough approvals are in."""
    now = runtime.clock()
    with runtime.sessions() as session:
        row = session.get(ApprovalRequest, request_id)
        if row is None:
            raise ServiceError(f"no approval request {request_id}", Problem.NOT_FOUND)
        overdue = row.status == "pending" and row.expires_at <= now
    if overdue:
        _expire(runtime, request_id, now)
    verb = "approve" if approve else "reject"
    with runtime.sessions() as session:
        row = session.get(ApprovalRequest, request_id)
        assert row is not None
        if row.status != "pending":
            raise ServiceError(
                f"approval request {request_id} is {row.status}; it can no longer be decided",
                Problem.CONFLICT,
            )
        refusal = _may_decide(row, user)
        decided = _decisions(session, row.id)
    if refusal is not None:
        with runtime.sessions.begin() as session:
            record_audit(
                session,
                user.name,
                f"approval.{verb}",
                f"{row.source}/{row.target}",
                {"request": row.id, "requester": row.requester, "error": refusal},
                AuditOutcome.DENIED,
            )
        raise ServiceError(refusal, Problem.PERMISSION)
    if any(d.approved_by.casefold() == user.name.casefold() for d in decided):
        raise ServiceError(f"{user.name} already decided on request {request_id}", Problem.CONFLICT)
    with runtime.sessions.begin() as session:
        row = session.get(ApprovalRequest, request_id)
        assert row is not None
        if row.status != "pending":  # decided, run or expired meanwhile
            raise ServiceError(f"approval request {request_id} is {row.status}", Problem.CONFLICT)
        session.add(
            PlanApproval(
                request_id=row.id, approved_by=user.name, approved_at=now, decision=verb, note=note
            )
        )
        record_audit(
            session,
            user.name,
            f"approval.{verb}",
            f"{row.source}/{row.target}",
            {"request": row.id, "requester": row.requester, "action": row.action, "note": note},
            AuditOutcome.SUCCEEDED,
        )
        if not approve:
            _close(session, row, "rejected", now, rejected_by=user.name)
        session.flush()
        approvals = [d.approved_by for d in _decisions(session, row.id) if d.decision == "approve"]
        ready = approve and len(approvals) >= row.required
    if not approve:
        _tell_requester(runtime, request_id, "rejected", user.name, note or "")
    elif ready:
        _execute(runtime, request_id, approvals)
    return show(runtime, request_id)


def _tell_requester(
    runtime: Runtime, request_id: int, outcome: str, decided_by: str, detail: str
) -> None:
    with runtime.sessions() as session:
        row = session.get(ApprovalRequest, request_id)
        assert row is not None
        context = {
            "request_id": row.id,
            "action": row.action,
            "target": row.target,
            "outcome": outcome,
            "decided_by": decided_by,
            "detail": detail,
        }
        requester = row.requester
    _mail(runtime, "approval_outcome", context, [requester])


def _execute(runtime: Runtime, request_id: int, approvals: list[str]) -> None:
    """Claim the approved request (one caller wins) and run it as its requester."""
    now = runtime.clock()
    with runtime.sessions.begin() as session:
        claimed_rows = session.execute(
            update(ApprovalRequest)
            .where(ApprovalRequest.id == request_id, ApprovalRequest.status == "pending")
            .values(status="executed", closed_at=now)
        )
        claimed = claimed_rows.rowcount if isinstance(claimed_rows, CursorResult) else 0
        row = session.get(ApprovalRequest, request_id)
        assert row is not None
        asked = ActionRequest(
            action=row.action,
            source=row.source,
            target=row.target,
            params=dict(row.params),
            approval={"request": row.id, "approved_by": approvals, "requester": row.requester},
        )
        requester = ConsoleUser(
            name=row.requester,
            groups=frozenset(Trustee(kind="entra-group", ident=g) for g in row.requester_groups),
        )
    if not claimed:
        return
    outcome: dict[str, Any]
    try:
        done = run_action(runtime.acting_as(requester.name), requester, asked)
        outcome = {"audit_id": done.audit_id, "object": done.object}
        status, detail = "executed", f"Done: {done.object}"
    except ServiceError as error:
        outcome = {"error": error.message}
        status, detail = "failed", f"It could not run: {error.message}"
    with runtime.sessions.begin() as session:
        row = session.get(ApprovalRequest, request_id)
        assert row is not None
        row.status, row.result = status, outcome
        record_audit(
            session,
            requester.name,
            "approval.execute",
            f"{row.source}/{row.target}",
            {"request": row.id, "approved_by": approvals, "action": row.action, **outcome},
            AuditOutcome.SUCCEEDED if status == "executed" else AuditOutcome.FAILED,
        )
    _tell_requester(runtime, request_id, status, ", ".join(approvals), detail)


def show(runtime: Runtime, request_id: int) -> dict[str, Any]:
    with runtime.sessions() as session:
        row = session.get(ApprovalRequest, request_id)
        if row is None:
            raise ServiceError(f"no approval request {request_id}", Problem.NOT_FOUND)
        return _view(row, _decisions(session, row.id))


def visible_to(row: dict[str, Any], user: ConsoleUser, *, administrator: bool) -> bool:
    """Whether ``user`` may see a request: its requester, its approvers, administrators."""
    if administrator or row["requester"].casefold() == user.name.casefold():
        return True
    if user.name.casefold() in _fold(row["approvers"]):
        return True
    return bool(set(_groups(user)) & _fold(row["approver_groups"]))


def list_requests(
    runtime: Runtime, user: ConsoleUser, *, administrator: bool, status: str | None = "pending"
) -> list[dict[str, Any]]:
    """Requests ``user`` asked for or may decide on (every one for an administrator)."""
    query = select(ApprovalRequest).order_by(ApprovalRequest.id.desc()).limit(500)
    if status is not None:
        query = query.where(ApprovalRequest.status == status)
    with runtime.sessions() as session:
        rows = [_view(r, _decisions(session, r.id)) for r in session.scalars(query)]
    return [r for r in rows if visible_to(r, user, administrator=administrator)]


@dataclass(frozen=True, kw_only=True)
class Swept:
    expired: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)


def sweep(runtime: Runtime, now: datetime | None = None) -> Swept:
    """Expire the overdue pending requests; escalate those that waited past ``escalate_at``."""
    moment = now or runtime.clock()
    swept = Swept()
    with runtime.sessions() as session:
        overdue = session.scalars(
            select(ApprovalRequest.id).where(
                ApprovalRequest.status == "pending", ApprovalRequest.expires_at <= moment
            )
        ).all()
        waiting = session.scalars(
            select(ApprovalRequest.id).where(
                ApprovalRequest.status == "pending",
                ApprovalRequest.expires_at > moment,
                ApprovalRequest.escalate_at <= moment,
                ApprovalRequest.escalated_at.is_(None),
            )
        ).all()
    for request_id in overdue:
        if _expire(runtime, request_id, moment):
            swept.expired.append(request_id)
    for request_id in waiting:
        if _escalate(runtime, request_id, moment):
            swept.escalated.append(request_id)
    return swept


def _escalate(runtime: Runtime, request_id: int, now: datetime) -> bool:
    with runtime.sessions.begin() as session:
        row = session.get(ApprovalRequest, request_id)
        if row is None or row.status != "pending" or row.escalated_at is not None:
            return False
        policy = next((p for p in runtime.config.approvals.policies if p.name == row.policy), None)
        added = [] if policy is None else list(policy.escalate_to)
        row.escalated_at = now
        row.approvers = list(dict.fromkeys([*row.approvers, *added]))
        record_audit(
            session,
            SELF,
            "approval.escalated",
            f"{row.source}/{row.target}",
            {"request": row.id, "requester": row.requester, "escalated_to": added},
            AuditOutcome.SUCCEEDED,
        )
        view = _view(row, _decisions(session, row.id))
    if added:
        _ask(runtime, view, added)
    return True
