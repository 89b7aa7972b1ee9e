"""Undoing a security descriptor change: the ``set-security`` step (pure: no I/O).

A change event of ``nTSecurityDescriptor`` holds SDDL text for people; the bytes to restore come
from dirguard's stored versions (the service fills :attr:`HistoryEvent.old_bytes` and
``new_bytes``). The step writes a self-relative descriptor holding only what is restored: the
DACL of the earlier descriptor, copied byte for byte, and its owner or group only when the
selection changed them. The SACL is never written. The SD-flags control sent with the write
(:func:`sd_flags_of`: OWNER 1, GROUP 2, DACL 4) says which parts the server replaces, so the rest
stays as it is.

Comparisons (conflicts when planning and applying, the read-back after writing) look at the
explicit DACL ACEs only, as a multiset: the server rebuilds inherited ACEs from the parent and
may put them, and the explicit ones, in its own canonical order.
"""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from dirguard.providers.ad.plan.restore_plan import (
    HistoryEvent,
    ObjectFacts,
    PlannedStep,
    StepKind,
    with_conflict,
)
from dirguard.providers.ad.sd import sddl_names as names
from dirguard.providers.ad.sd.dacl_edit import (
    DACL_SECURITY_INFORMATION,
    GROUP_SECURITY_INFORMATION,
    OWNER_SECURITY_INFORMATION,
)
from dirguard.providers.ad.sd.security_descriptor import (
    SecurityDescriptor,
    SecurityDescriptorError,
    diff_security_descriptors,
    parse_security_descriptor,
    sid_from_bytes,
)
from dirguard.providers.ad.values import Content

ATTRIBUTE = "nTSecurityDescriptor"
INHERITED_ACE = 0x10
_DACL_FLAG_BITS = sum(bit for _name, bit in names.DACL_FLAGS)
PARTS = (
    (OWNER_SECURITY_INFORMATION, "owner"),
    (GROUP_SECURITY_INFORMATION, "group"),
    (DACL_SECURITY_INFORMATION, "DACL"),
)


def _sid_raw(sd: bytes, offset: int) -> bytes:
    return sd[offset : sid_from_bytes(sd, offset)[1]]


def restoring_descriptor(old: bytes, new: bytes) -> bytes:
    """A self-relative descriptor to write: ``old``'s DACL, and ``old``'s owner and group where
    they differ from ``new``'s. Raises :class:`SecurityDescriptorError` on malformed bytes."""
    before, after = parse_security_descriptor(old), parse_security_descriptor(new)
    _rev, _sbz, control, owner_at, group_at, _sacl_at, dacl_at = struct.unpack_from(
        "<BBHIIII", old, 0
    )
    parts: list[bytes] = []
    offsets = [0, 0, 0]
    position = 20
    for index, (changed, at) in enumerate(
        ((before.owner != after.owner, owner_at), (before.group != after.group, group_at))
    ):
        if changed and at:
            raw = _sid_raw(old, at)
            offsets[index], position = position, position + len(raw)
            parts.append(raw)
    if not (before.dacl_present and dacl_at):
        raise SecurityDescriptorError(
            "the earlier descriptor has no DACL (or a NULL DACL, which grants everyone full "
            "access); dirguard does not write that back"
        )
    flags = names.SE_SELF_RELATIVE | names.SE_DACL_PRESENT | (control & _DACL_FLAG_BITS)
    (size,) = struct.unpack_from("<H", old, dacl_at + 2)
    offsets[2] = position
    parts.append(old[dacl_at : dacl_at + size])
    header = struct.pack("<BBHIIII", 1, 0, flags, offsets[0], offsets[1], 0, offsets[2])
    return header + b"".join(parts)


def sd_flags_of(descriptor: bytes) -> int:
    """The SD-flags value naming the parts ``descriptor`` (from :func:`restoring_descriptor`)
    carries: the DACL always, owner and group when present."""
    parsed = parse_security_descriptor(descriptor)
    flags = DACL_SECURITY_INFORMATION
    if parsed.owner is not None:
        flags |= OWNER_SECURITY_INFORMATION
    if parsed.group is not None:
        flags |= GROUP_SECURITY_INFORMATION
    return flags


def parts_text(flags: int) -> str:
    return ", ".join(name for bit, name in PARTS if flags & bit)


def explicit_aces(sd: SecurityDescriptor) -> Counter[str]:
    """The DACL's explicit (not inherited) ACEs in SDDL, as a multiset."""
    aces = () if sd.dacl is None else sd.dacl.aces
    return Counter(ace.sddl() for ace in aces if not ace.flags & INHERITED_ACE)


def mismatch(wanted: bytes, live: bytes, flags: int) -> str | None:
    """How ``live`` differs from ``wanted`` in the parts ``flags`` names (explicit DACL ACEs;
    owner and group when named), or ``None`` when it does not."""
    try:
        want, have = parse_security_descriptor(wanted), parse_security_descriptor(live)
    except SecurityDescriptorError as error:
        return f"the security descriptor cannot be read: {error}"
    problems = []
    if flags & OWNER_SECURITY_INFORMATION and want.owner != have.owner:
        problems.append(f"owner is {have.owner}, not {want.owner}")
    if flags & GROUP_SECURITY_INFORMATION and want.group != have.group:
        problems.append(f"group is {have.group}, not {want.group}")
    wanted_aces, live_aces = explicit_aces(want), explicit_aces(have)
    extra = sorted((live_aces - wanted_aces).elements())
    missing = sorted((wanted_aces - live_aces).elements())
    if extra:
        problems.append("explicit ACEs not expected: " + "".join(extra))
    if missing:
        problems.append("explicit ACEs missing: " + "".join(missing))
    return "; ".join(problems) or None


def _net_aces(events: Sequence[HistoryEvent]) -> tuple[list[str], list[str], list[str]]:
    """(ACEs to remove, ACEs to add back, ACEs moved) of the DACL, in the SDDL the capture
    showed (well-known names and the domain's aliases)."""
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    moved: list[str] = []
    for event in events:
        difference = _difference(event.new)
        for item in difference.get("aces_added", []):
            if item.get("acl") == "DACL":
                added[item["ace"]] += 1
        for item in difference.get("aces_removed", []):
            if item.get("acl") == "DACL":
                removed[item["ace"]] += 1
        moved.extend(i["ace"] for i in difference.get("aces_moved", []) if i.get("acl") == "DACL")
    return sorted((added - removed).elements()), sorted((removed - added).elements()), moved


def _difference(value: Any) -> Mapping[str, Any]:
    difference = value.get("difference") if isinstance(value, Mapping) else None
    return difference if isinstance(difference, Mapping) else {}


def _shown_pair(events: Sequence[HistoryEvent], label: str) -> str | None:
    pairs = [_difference(e.new).get(label) for e in events]
    found = [p for p in pairs if isinstance(p, Mapping)]
    if not found:
        return None
    return f"{label} back from {found[-1].get('new') or '-'} to {found[0].get('old') or '-'}"


def security_step(
    obj: ObjectFacts, events: Sequence[HistoryEvent], now: Content, force: bool
) -> tuple[PlannedStep | None, str | None]:
    """The step undoing ``events`` (security descriptor changes of ``obj``, in order), or
    ``None`` and a warning saying why there is none."""
    ids = tuple(e.id for e in events)
    first, last = events[0], events[-1]
    if first.old_bytes is None or last.new_bytes is None:
        return None, (
            f"{obj.dn}: dirguard holds no stored descriptor before and after change(s) "
            f"{', '.join(map(str, ids))}; its security descriptor cannot be restored"
        )
    try:
        descriptor = restoring_descriptor(first.old_bytes, last.new_bytes)
        flags = sd_flags_of(descriptor)
    except (SecurityDescriptorError, struct.error) as error:
        return None, f"{obj.dn}: the stored security descriptor cannot be restored: {error}"
    remove, add_back, moved = _net_aces(events)
    what = [f"remove {ace}" for ace in remove] + [f"add back {ace}" for ace in add_back]
    if moved:
        what.append("put " + "".join(moved) + " back in place")
    what.extend(p for p in (_shown_pair(events, "owner"), _shown_pair(events, "group")) if p)
    description = (
        f"Restore the {parts_text(flags)} of {obj.dn} from dirguard's version before the change "
        f"(SD flags {flags}; the SACL is left alone): " + ("; ".join(what) or "as stored")
    )
    step = PlannedStep(
        kind=StepKind.SET_SECURITY,
        object_guid=obj.guid,
        dn=obj.dn,
        attribute=ATTRIBUTE,
        values=(descriptor,),
        expected=(last.new_bytes,),
        description=description,
        event_ids=ids,
    )
    current = next(iter(now.get(ATTRIBUTE, [])), None)
    conflict = None
    if isinstance(current, bytes):
        found = mismatch(last.new_bytes, current, flags)
        if found is not None:
            conflict = f"its DACL changed again since (explicit ACEs compared): {found}"
    return with_conflict(step, conflict, force), None


def _inherited(ace: str) -> bool:
    flags = ace.split(";")[1] if ace.count(";") >= 1 else ""
    return "ID" in {flags[i : i + 2] for i in range(0, len(flags), 2)}


def point_in_time_step(obj: ObjectFacts, target: Content, now: Content) -> PlannedStep | None:
    """The step bringing the object's DACL (owner, group) back to ``target``'s, or ``None`` when
    the explicit ACEs, owner and group already match (or either descriptor is not recorded)."""
    wanted = next(iter(target.get(ATTRIBUTE, [])), None)
    current = next(iter(now.get(ATTRIBUTE, [])), None)
    if not isinstance(wanted, bytes) or not isinstance(current, bytes):
        return None
    try:
        descriptor = restoring_descriptor(wanted, current)
        flags = sd_flags_of(descriptor)
    except (SecurityDescriptorError, struct.error):
        return None
    if mismatch(descriptor, current, flags) is None:
        return None
    diff = diff_security_descriptors(current, wanted)
    what = [
        f"{'remove' if c.kind == 'removed' else 'add back'} {c.ace}"
        for c in diff.aces
        if c.acl == "DACL" and c.kind != "moved" and not _inherited(c.ace)
    ]
    for label, pair in (("owner", diff.owner), ("group", diff.group)):
        if pair is not None:
            what.append(f"{label} back from {pair[0] or '-'} to {pair[1] or '-'}")
    return PlannedStep(
        kind=StepKind.SET_SECURITY,
        object_guid=obj.guid,
        dn=obj.dn,
        attribute=ATTRIBUTE,
        values=(descriptor,),
        expected=(current,),
        description=f"Restore the {parts_text(flags)} of {obj.dn} as recorded then "
        f"(SD flags {flags}; the SACL is left alone): " + ("; ".join(what) or "as recorded"),
    )
