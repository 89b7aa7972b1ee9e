"""What a web action will do to one object, in the same shape for every directory: the
preview people confirm, the plan the provider then writes, the audit record's before → after.
Pure data; the providers (``providers/<kind>/admin_actions.py``) make and perform plans."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

HIDDEN = "(hidden)"
"""What previews and the audit log show for a secret (a password, a Temporary Access Pass)."""


@dataclass(frozen=True, kw_only=True)
class Edit:
    """One field as the action changes it (``None``: absent)."""

    field: str
    before: tuple[str, ...] | None
    after: tuple[str, ...] | None
    secret: bool = False

    def shown(self) -> dict[str, Any]:
        """The edit as previews and the audit log show it (a secret's values hidden)."""
        if self.secret:
            return {"field": self.field, "before": None, "after": HIDDEN}
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True, kw_only=True)
class ActionPlan:
    """What an action will do to one object."""

    action: str
    path: str
    """The object (AD: its DN; Entra: its id); for a create, where it is created."""
    edits: tuple[Edit, ...] = ()
    new_path: str | None = None
    """Create: the new object's DN (AD); move: where it goes."""
    delete: bool = False
    notes: tuple[str, ...] = ()
    hidden: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    """Secret values to write (a password); never shown, stored or logged."""
    calls: tuple[Any, ...] = field(default=(), compare=False)
    """The provider's own description of the writes (Graph requests), in order."""
    checks: tuple[Any, ...] = field(default=(), compare=False)
    """Further places the delegation must hold besides the object (a move's destination, the
    administrative unit a new user goes into), as the provider's targets."""

    @property
    def changes_nothing(self) -> bool:
        return not self.edits and not self.delete and not self.calls


@dataclass(frozen=True, kw_only=True)
class Performed:
    """How a plan ended: where the object is now, and a secret the action made that is shown
    to the operator once (a Temporary Access Pass, a LAPS password) — never stored or logged."""

    path: str
    revealed: str | None = field(default=None, repr=False)
