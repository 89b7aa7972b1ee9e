"""Console roles and the principal a request acts for.

Roles are ordered: each one may do what the ones below it may (viewer < operator < approver <
administrator). Every page and API call names the least role it needs, checked on the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from dirguard.services.errors import Problem, ServiceError


class Role(IntEnum):
    VIEWER = 1
    """Reads history, changes, objects, plans and the audit log."""
    OPERATOR = 2
    """Also plans rollbacks."""
    APPROVER = 3
    """Also applies (and approves) plans."""
    ADMINISTRATOR = 4
    """Also manages connections, console accounts, tokens of others and settings."""

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named ``text`` (case-insensitive); a clear error for anything else."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            known = ", ".join(role.label for role in cls)
            raise ServiceError(
                f"unknown console role {text!r}: use one of {known}", Problem.CONFIG
            ) from None


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who a request acts for and how they proved it."""

    name: str
    """Sign-in name; what the audit log records as the actor."""
    role: Role
    method: str
    """``password``, ``entra`` or ``token``."""
    display_name: str | None = None
    token_id: int | None = None
    """The API token used (``method == "token"``)."""
    groups: tuple[str, ...] = ()
    """Object ids of the Entra groups the ID token named (``groups`` claim): delegated
    administration assigned to one of them applies to this person."""

    def may(self, needed: Role) -> bool:
        return self.role >= needed

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name
