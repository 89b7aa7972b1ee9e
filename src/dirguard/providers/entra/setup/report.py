"""What one ``connect entra`` run did, step by step (added, removed, created, kept, missing)."""

from __future__ import annotations

from dataclasses import dataclass, field

CHANGES = frozenset({"added", "removed", "created"})
"""Changes that wrote to the tenant."""


class SetupError(Exception):
    """Setup cannot go on; the message says what is missing in the tenant."""


@dataclass(frozen=True, kw_only=True)
class SetupAction:
    step: str
    """``application``, ``permission``, ``consent``, ``certificate``, ``directory role``, ..."""
    change: str
    """``added``, ``removed``, ``created``, ``kept``."""
    detail: str


@dataclass(kw_only=True)
class SetupReport:
    tenant_id: str
    app_id: str = ""
    application_id: str = ""
    service_principal_id: str = ""
    certificate_secret: str = ""
    actions: list[SetupAction] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(a.change in CHANGES for a in self.actions)

    @property
    def missing(self) -> tuple[SetupAction, ...]:
        """What was checked but not granted (Azure roles in read-only mode)."""
        return tuple(a for a in self.actions if a.change == "missing")

    def did(self, step: str, change: str, detail: str) -> None:
        self.actions.append(SetupAction(step=step, change=change, detail=detail))
