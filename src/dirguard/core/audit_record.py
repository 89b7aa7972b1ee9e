"""What a source's own audit trail says about one write, whatever the source (pure).

Three sources implement :class:`AuditSource`: Samba's JSON audit files
(:mod:`~dirguard.providers.ad.audit.samba_audit`), Windows Security events read over WinRM
(:mod:`~dirguard.providers.ad.audit.windows_events`) and Entra's ``auditLogs/directoryAudits``
(:mod:`~dirguard.providers.entra.directory_audit`). All turn their records into the same frozen
:class:`AuditRecord`, which :mod:`dirguard.core.actor_correlation` matches to change
events. An Entra record has no DN (``target_dn`` is empty): it names its target by id
(``target_guid``).

A source is read incrementally: :meth:`AuditSource.read_after` takes the opaque position string a
previous call returned (``None`` for the beginning) and returns the records after it, each with
the position just after that record, so a caller can store any of them as its cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class AuditOperation(StrEnum):
    """What the audited write did."""

    ADD = "add"
    MODIFY = "modify"
    DELETE = "delete"
    MOVE = "move"
    """Rename or move (new DN, same object)."""
    UNDELETE = "undelete"
    MEMBER_ADD = "member-add"
    MEMBER_REMOVE = "member-remove"
    PASSWORD_RESET = "password-reset"  # noqa: S105 - an operation name, not a secret
    PASSWORD_CHANGE = "password-change"  # noqa: S105 - an operation name, not a secret


class ValueAction(StrEnum):
    ADD = "add"
    DELETE = "delete"
    REPLACE = "replace"


@dataclass(frozen=True, kw_only=True)
class AttributeAction:
    """One action on one attribute, with the values the record gives (may be none)."""

    name: str
    action: ValueAction
    values: tuple[str, ...] = ()
    values_complete: bool = True
    """``False`` when the source left values out or cut them short (secrets, long blobs)."""


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One audited directory write."""

    timestamp: datetime
    """When the DC recorded it, aware UTC."""
    dc: str | None
    operation: AuditOperation
    target_dn: str
    """The object's DN when the write happened (for a move: the old DN)."""
    new_dn: str | None = None
    """For a move: the DN afterwards."""
    target_guid: str | None = None
    """Lower-case objectGUID when the source gives it."""
    attributes: tuple[AttributeAction, ...] = ()
    actor_sid: str | None = None
    actor_name: str | None = None
    """Resolved account name, ``DOMAIN\\sAMAccountName``; ``None`` when not resolvable."""
    remote_address: str | None = None
    remote_port: int | None = None
    session_id: str | None = None
    transaction_id: str | None = None
    """Groups the records of one operation (Samba transactionId, Windows OpCorrelationID, Entra
    correlationId)."""
    source: str
    """``samba-audit``, ``windows-security`` or ``entra-directory-audit``: what fills
    ``change_events.actor_source``."""
    source_id: str
    """Where the record came from in its source (file and offset, EventRecordID…)."""

    @property
    def actor(self) -> str | None:
        """What to show as the actor: the account name, else the SID."""
        return self.actor_name or self.actor_sid

    def touches(self, attribute: str) -> tuple[AttributeAction, ...]:
        """The actions of this record on ``attribute`` (case-insensitive)."""
        wanted = attribute.lower()
        return tuple(action for action in self.attributes if action.name.lower() == wanted)


@dataclass(frozen=True, kw_only=True)
class PositionedRecord:
    record: AuditRecord
    position: str
    """Resume position just after this record."""


@dataclass(frozen=True, kw_only=True)
class AuditBatch:
    records: tuple[PositionedRecord, ...]
    position: str
    """Resume position after everything read (also when no record was new)."""


class AuditSource(Protocol):
    """An incremental reader of one source's audit trail."""

    @property
    def name(self) -> str:
        """The ``actor_source`` label for records of this source (``samba-audit``…)."""
        ...

    def read_after(self, position: str | None) -> AuditBatch:
        """Records written after ``position`` (``None``: from the start), oldest first."""
        ...


class AuditSourceError(RuntimeError):
    """An audit trail could not be read or a position string is not one of this source's."""
