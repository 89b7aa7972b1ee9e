"""The ``[approvals]`` section: which web actions wait for approval, and by whom.

::

    [approvals]
    console_url = "https://dirguard.corp.example.com:8443"   # for the links in the e-mails

    [[approvals.policies]]
    name = "leavers"
    actions = ["entra.user.suspend", "ad.user.delete"]        # keys, or a prefix ending in *
    approvers = ["secops.lead@corp.example.com"]              # console sign-in names
    groups = ["0b1c…"]                                        # Entra group ids: any member
    manager = true                                            # the target's manager
    required = 2                                              # N of the M eligible
    expires_hours = 48
    escalate_after_hours = 24
    escalate_to = ["ciso@corp.example.com"]

A request is approved once ``required`` different eligible people approved it; one rejection
ends it. The requester never counts as an approver of their own request.
"""

from __future__ import annotations

import fnmatch

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApprovalPolicy(_Strict):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    actions: list[str] = Field(min_length=1)
    """Web action keys (``catalog/admin_actions.py``), or a prefix ending in ``*``."""
    approvers: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    manager: bool = False
    required: int = Field(default=1, ge=1, le=20)
    expires_hours: float = Field(default=72.0, gt=0, le=24 * 90)
    escalate_after_hours: float | None = Field(default=None, gt=0)
    escalate_to: list[str] = Field(default_factory=list)

    def covers(self, action: str) -> bool:
        return any(fnmatch.fnmatchcase(action, pattern) for pattern in self.actions)

    @model_validator(mode="after")
    def _consistent(self) -> ApprovalPolicy:
        from dirguard.catalog.admin_actions import ADMIN_ACTIONS, InputKind

        if not (self.approvers or self.groups or self.manager):
            raise ValueError(
                f"approval policy {self.name!r}: name approvers, groups or manager = true"
            )
        for pattern in self.actions:
            matched = [a for a in ADMIN_ACTIONS if fnmatch.fnmatchcase(a.key, pattern)]
            if not matched:
                raise ValueError(f"approval policy {self.name!r}: no web action {pattern!r}")
            for action in matched:
                if any(i.kind is InputKind.PASSWORD for i in action.inputs):
                    raise ValueError(
                        f"approval policy {self.name!r}: {action.key} takes a password, which "
                        "dirguard never stores, so it cannot wait for approval"
                    )
        if not self.groups and not self.manager and self.required > len(set(self.approvers)):
            raise ValueError(
                f"approval policy {self.name!r}: required = {self.required} but only "
                f"{len(set(self.approvers))} approver(s) are named"
            )
        if (self.escalate_after_hours is None) != (not self.escalate_to):
            raise ValueError(
                f"approval policy {self.name!r}: escalate_after_hours and escalate_to go together"
            )
        if self.escalate_after_hours is not None and self.escalate_after_hours >= (
            self.expires_hours
        ):
            raise ValueError(
                f"approval policy {self.name!r}: escalate_after_hours must be below expires_hours"
            )
        return self


class ApprovalsConfig(_Strict):
    console_url: str | None = Field(default=None, pattern=r"^https?://")
    """The console's address as approvers reach it (the e-mails' approve/reject links)."""
    policies: list[ApprovalPolicy] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ApprovalsConfig:
        names = [p.name for p in self.policies]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"approvals.policies: {name!r} is configured twice")
        return self

    def policy_for(self, action: str) -> ApprovalPolicy | None:
        """The first policy covering ``action``, or ``None`` (no approval needed)."""
        return next((p for p in self.policies if p.covers(action)), None)
