"""Who made a change: matching change events to the source's audit records, never guessing (pure).

A change event (what dirguard saw in the directory) is matched to audit records (what the DC
says it did and for whom):

1. by transaction/correlation id, when both sides carry one;
2. otherwise by target — objectGUID when both know it (or a record's id that is one of the
   other names the object's type declares for it), else any DN the object had (its old DN
   too, for renames, moves and deletes) — plus a compatible operation, the same attribute, the
   same value where the record gives values, within a time window around the change.

When the candidates name exactly one actor, the change gets that actor (and the address, when
the candidates agree on it). No candidate, or candidates naming different actors, leaves the
actor unknown; either way the :class:`Attribution` says why.

Pure: the inputs are plain values (:class:`ChangeFacts`) and records shaped like
:class:`dirguard.core.audit_record.AuditRecord` (structurally, see
:class:`RecordLike`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

DEFAULT_BEFORE = timedelta(minutes=5)
"""How long before the change's time a record may lie (DirSync may see a change late)."""
DEFAULT_AFTER = timedelta(seconds=60)
"""How long after it (clock skew between DC and collector)."""
LATE_WINDOW = timedelta(days=1)
"""How far before ``when`` a record may lie when nothing was captured for a while (the
monitor stopped): then the record must name the object and give the very value, and lie after
the object's previous change of that attribute (``not_before``)."""
_ONCE_PER_OBJECT = frozenset({"create", "delete", "undelete"})


class AttributeActionLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def values(self) -> tuple[str, ...]: ...
    @property
    def values_complete(self) -> bool: ...


class RecordLike(Protocol):
    @property
    def timestamp(self) -> datetime: ...
    @property
    def operation(self) -> str: ...
    @property
    def target_dn(self) -> str: ...
    @property
    def new_dn(self) -> str | None: ...
    @property
    def target_guid(self) -> str | None: ...
    @property
    def attributes(self) -> Sequence[AttributeActionLike]: ...
    @property
    def actor(self) -> str | None: ...
    @property
    def remote_address(self) -> str | None: ...
    @property
    def transaction_id(self) -> str | None: ...
    @property
    def source_id(self) -> str: ...


@dataclass(frozen=True, kw_only=True)
class ChangeFacts:
    """What dirguard knows about one change event, as correlation needs it."""

    key: Any
    """The caller's handle for the event (its row id)."""
    op: str
    """``create``, ``modify``, ``add-value``, ``remove-value``, ``move``, ``rename``, ``delete``,
    ``undelete`` (the store's ChangeOp values)."""
    attribute: str | None
    dns: tuple[str, ...]
    """Every DN the object is known to have had (current first)."""
    object_guid: str | None = None
    value: Any = None
    """The value added (add-value, modify) or removed (remove-value), when known."""
    when: datetime
    """When the change happened, else when it was observed (aware)."""
    correlation_id: str | None = None
    not_before: datetime | None = None
    """The change happened after this (when dirguard recorded the object's previous change of
    the same attribute, or first saw the object): a record older than that made another
    change. ``None``: unknown, so only the time window around ``when`` decides."""


@dataclass(frozen=True, kw_only=True)
class Attribution:
    key: Any
    actor: str | None
    """``None``: actor unknown."""
    address: str | None
    reason: str
    """How it matched (``transaction-id``, ``target+attribute+time``) or why it did not."""
    record_ids: tuple[str, ...] = ()


# Which audit operations can have produced which change ops.
_COMPATIBLE = {
    "create": {"add"},
    "modify": {"modify", "password-reset", "password-change"},
    "add-value": {"modify", "member-add"},
    "remove-value": {"modify", "member-remove"},
    "move": {"move"},
    "rename": {"move"},
    "delete": {"delete"},
    "undelete": {"undelete"},
}
_VALUE_ACTIONS = {"add-value": {"add", "replace"}, "remove-value": {"delete", "replace"}}


def _norm_dn(dn: str) -> str:
    return ",".join(part.strip() for part in dn.lower().split(","))


def _linked_dn(value: str) -> str:
    """``<GUID=…>;<SID=…>;CN=x,…`` (extended DN) → ``CN=x,…``."""
    while value.startswith("<") and ">;" in value:
        value = value.split(">;", 1)[1]
    return value


def _as_texts(value: Any) -> set[str]:
    items = value if isinstance(value, list | tuple | set | frozenset) else [value]
    texts = set()
    for item in items:
        if isinstance(item, bytes):
            try:
                item = item.decode("utf-8")
            except UnicodeDecodeError:
                continue
        texts.add(_norm_dn(_linked_dn(str(item))))
    return texts


def _targets_match(change: ChangeFacts, record: RecordLike) -> bool:
    known = {_norm_dn(dn) for dn in change.dns}
    if change.object_guid and record.target_guid:
        # the record names the object by its id, or by another name its type declares for it
        # (an Entra method configuration's ``policies/<id>``: among ``dns``)
        wanted = record.target_guid.lower()
        return change.object_guid.lower() == wanted or _norm_dn(wanted) in known
    record_dns = {_norm_dn(record.target_dn)}
    if record.new_dn:
        record_dns.add(_norm_dn(record.new_dn))
    return bool(known & record_dns)


def _attribute_matches(change: ChangeFacts, record: RecordLike) -> bool:
    if change.op in ("create", "move", "rename", "delete", "undelete") or not change.attribute:
        return True
    wanted = change.attribute.lower()
    actions = [a for a in record.attributes if a.name.lower() == wanted]
    if not actions:
        return False
    allowed = _VALUE_ACTIONS.get(change.op)
    if allowed is not None:
        actions = [a for a in actions if str(a.action) in allowed]
        if not actions:
            return False
    if change.value is None:
        return True
    comparable = [a for a in actions if a.values_complete and a.values]
    if not comparable:
        return True  # the record gives no values to compare: target, attribute and time decide
    wanted_values = _as_texts(change.value)
    if change.op == "remove-value":
        # One modify is one audited change: a ``replace`` removes every value it does not
        # name (a single-valued link such as ``manager`` replaced: the old value goes), a
        # ``delete`` the values it names.
        for action in comparable:
            named = _as_texts(list(action.values))
            if (str(action.action) == "replace") != bool(wanted_values & named):
                return True
        return False
    given = set().union(*(_as_texts(list(a.values)) for a in comparable))
    return bool(wanted_values & given)


def candidates(
    change: ChangeFacts,
    records: Iterable[RecordLike],
    *,
    before: timedelta = DEFAULT_BEFORE,
    after: timedelta = DEFAULT_AFTER,
) -> tuple[list[RecordLike], str]:
    """The records that may have made ``change``, and on what grounds."""
    pool = list(records)
    if change.correlation_id:
        by_id = [r for r in pool if r.transaction_id and r.transaction_id == change.correlation_id]
        if by_id:
            return by_id, "transaction-id"
    compatible = _COMPATIBLE.get(change.op, set())
    low, high = change.when - before, change.when + after
    found = [
        r
        for r in pool
        if str(r.operation) in compatible
        and low <= r.timestamp <= high
        and _targets_match(change, r)
        and _attribute_matches(change, r)
    ]
    if found or change.not_before is None:
        return found, "target+attribute+time"
    late = [
        r
        for r in pool
        if str(r.operation) in compatible
        and max(change.when - LATE_WINDOW, change.not_before - after) <= r.timestamp <= high
        and _targets_match(change, r)
        and _attribute_matches(change, r)
        and (change.op in _ONCE_PER_OBJECT or _names_the_value(change, r))
    ]
    return late, "target+attribute+value (captured late)"


def _names_the_value(change: ChangeFacts, record: RecordLike) -> bool:
    """The record gives the change's very value (not only a matching attribute)."""
    if change.value is None or not change.attribute:
        return False
    wanted = change.attribute.lower()
    named = [
        a for a in record.attributes if a.name.lower() == wanted and a.values_complete and a.values
    ]
    values = _as_texts(change.value)
    return any(values & _as_texts(list(a.values)) for a in named)


def attribute_change(
    change: ChangeFacts,
    records: Iterable[RecordLike],
    *,
    before: timedelta = DEFAULT_BEFORE,
    after: timedelta = DEFAULT_AFTER,
) -> Attribution:
    """The actor of ``change`` according to ``records``, or unknown with the reason."""
    found, how = candidates(change, records, before=before, after=after)
    if not found:
        return Attribution(
            key=change.key, actor=None, address=None, reason="no matching audit record"
        )
    ids = tuple(r.source_id for r in found)
    actors = sorted({r.actor or "?" for r in found})
    if len(actors) > 1 or actors == ["?"]:
        why = (
            f"ambiguous: {len(found)} records name different actors ({', '.join(actors)})"
            if len(actors) > 1
            else "matching audit record names no actor"
        )
        return Attribution(key=change.key, actor=None, address=None, reason=why, record_ids=ids)
    addresses = {r.remote_address for r in found}
    address = addresses.pop() if len(addresses) == 1 else None
    return Attribution(
        key=change.key,
        actor=actors[0],
        address=address,
        reason=f"{how} ({len(found)} record{'s' if len(found) > 1 else ''})",
        record_ids=ids,
    )
