"""Samba's JSON audit files as an :class:`~dirguard.core.audit_record.AuditSource`.

Samba (``log level = 1 dsdb_json_audit:5@FILE dsdb_group_json_audit:5@FILE
dsdb_password_json_audit:5@FILE``) writes one JSON record a line: ``dsdbChange`` for every
add/modify/delete, ``groupChange`` for membership changes, ``passwordChange`` for password sets.
Each names the acting ``userSid``, its ``remoteAddress`` (``ipv4:127.0.0.1:54321``), the LDAP
``sessionId`` and the ``transactionId``.

Files are read incrementally from a byte offset. A last line without its newline is still being
written and is left for the next read. A file that shrank or was replaced (other inode or other
first line) is read again from its start, after the rest of its predecessor when Samba's
rotation left it as ``<file>.old``. Failed operations (``statusCode`` not 0) changed nothing and
are skipped.

Samba 4.17 writes no record for a rename or move (``modrdn``): such changes stay "actor unknown".
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dirguard.core.audit_record import (
    AttributeAction,
    AuditBatch,
    AuditOperation,
    AuditRecord,
    AuditSourceError,
    PositionedRecord,
    ValueAction,
)

SOURCE_NAME = "samba-audit"
SidResolver = Callable[[str], str | None]
"""Maps a SID string to ``DOMAIN\\account`` (or ``None`` when it cannot)."""

WELL_KNOWN_ACCOUNTS = {
    "S-1-5-18": "NT AUTHORITY\\SYSTEM",
    "S-1-5-7": "NT AUTHORITY\\ANONYMOUS LOGON",
    "S-1-5-9": "NT AUTHORITY\\ENTERPRISE DOMAIN CONTROLLERS",
}
_DSDB_OPERATIONS = {
    "Add": AuditOperation.ADD,
    "Modify": AuditOperation.MODIFY,
    "Delete": AuditOperation.DELETE,
}
_GROUP_ACTIONS = {"Added": AuditOperation.MEMBER_ADD, "Removed": AuditOperation.MEMBER_REMOVE}
_PASSWORD_ACTIONS = {
    "Reset": AuditOperation.PASSWORD_RESET,
    "Change": AuditOperation.PASSWORD_CHANGE,
}
_HEAD_BYTES = 256


def parse_remote_address(text: str | None) -> tuple[str | None, int | None]:
    """``ipv4:127.0.0.1:54321`` → ``("127.0.0.1", 54321)``; also ``ipv6:::1:389``."""
    if not text:
        return None, None
    _, sep, rest = text.partition(":")
    if not sep:
        return text, None
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        return rest, None
    return host.strip("[]"), int(port)


def _timestamp(text: str) -> datetime:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
    except ValueError:
        return datetime.fromisoformat(text).astimezone(UTC)


def _attribute_actions(attributes: Mapping[str, Any]) -> tuple[AttributeAction, ...]:
    actions = []
    for name, body in attributes.items():
        for entry in body.get("actions", []):
            values = entry.get("values", [])
            complete = not entry.get("redacted") and all(
                not v.get("truncated") and not v.get("base64") for v in values
            )
            actions.append(
                AttributeAction(
                    name=name,
                    action=ValueAction(entry["action"]),
                    values=tuple(str(v.get("value", "")) for v in values),
                    values_complete=complete,
                )
            )
    return tuple(actions)


def record_from_json(
    data: Mapping[str, Any], *, dc: str | None, source_id: str
) -> AuditRecord | None:
    """One audit line as a record; ``None`` for lines that describe no successful write."""
    kind = data.get("type")
    body = data.get(kind) if isinstance(kind, str) else None
    if not isinstance(body, Mapping) or body.get("statusCode", 0) != 0:
        return None
    address, port = parse_remote_address(body.get("remoteAddress"))
    common: dict[str, Any] = {
        "timestamp": _timestamp(data["timestamp"]),
        "dc": dc,
        "actor_sid": body.get("userSid"),
        "remote_address": address,
        "remote_port": port,
        "session_id": body.get("sessionId"),
        "transaction_id": body.get("transactionId"),
        "source": SOURCE_NAME,
        "source_id": source_id,
    }
    if kind == "dsdbChange":
        operation = _DSDB_OPERATIONS.get(body.get("operation", ""))
        if operation is None:
            return None
        attributes = _attribute_actions(body.get("attributes") or {})
        return AuditRecord(
            operation=operation, target_dn=body["dn"], attributes=attributes, **common
        )
    if kind == "groupChange":
        operation = _GROUP_ACTIONS.get(body.get("action", ""))
        if operation is None:  # "PrimaryGroup": the user's primaryGroupID, logged on creation
            return None
        added = operation is AuditOperation.MEMBER_ADD
        member = AttributeAction(
            name="member",
            action=ValueAction.ADD if added else ValueAction.DELETE,
            values=(body["user"],),
        )
        return AuditRecord(
            operation=operation, target_dn=body["group"], attributes=(member,), **common
        )
    if kind == "passwordChange":
        operation = _PASSWORD_ACTIONS.get(body.get("action", ""))
        if operation is None:
            return None
        secret = AttributeAction(
            name="unicodePwd", action=ValueAction.REPLACE, values_complete=False
        )
        return AuditRecord(
            operation=operation, target_dn=body["dn"], attributes=(secret,), **common
        )
    return None


@dataclass(frozen=True, kw_only=True)
class _FileMark:
    offset: int
    inode: int
    head: str


def _identity(path: Path) -> tuple[int, str] | None:
    try:
        with path.open("rb") as handle:
            inode = os.fstat(handle.fileno()).st_ino
            head = handle.read(_HEAD_BYTES).split(b"\n", 1)[0]
    except FileNotFoundError:
        return None
    return inode, hashlib.sha256(head).hexdigest()[:16]


class SambaAuditSource:
    """Reads the dsdb, group and password audit files of one Samba DC."""

    def __init__(
        self,
        *,
        directory_changes: Path,
        group_changes: Path | None = None,
        password_changes: Path | None = None,
        dc: str | None = None,
        resolve_sid: SidResolver | None = None,
    ) -> None:
        self._files = {"dsdb": directory_changes}
        if group_changes is not None:
            self._files["group"] = group_changes
        if password_changes is not None:
            self._files["password"] = password_changes
        self._dc = dc
        self._resolve = resolve_sid

    @property
    def name(self) -> str:
        return SOURCE_NAME

    def actor_name(self, sid: str | None) -> str | None:
        if sid is None:
            return None
        if known := WELL_KNOWN_ACCOUNTS.get(sid):
            return known
        return self._resolve(sid) if self._resolve is not None else None

    def read_after(self, position: str | None) -> AuditBatch:
        marks = _decode_position(position)
        found: list[tuple[AuditRecord, str, int]] = []
        for key, path in self._files.items():
            mark, records = self._read_file(key, path, marks.get(key))
            marks[key] = mark
            found.extend((record, key, end) for record, end in records)
        found.sort(key=lambda item: item[0].timestamp)
        running = dict(_decode_position(position))
        positioned = []
        for record, key, end in found:
            running[key] = replace(marks[key], offset=end)
            named = replace(record, actor_name=self.actor_name(record.actor_sid))
            positioned.append(PositionedRecord(record=named, position=_encode_position(running)))
        return AuditBatch(records=tuple(positioned), position=_encode_position(marks))

    def _read_file(
        self, key: str, path: Path, mark: _FileMark | None
    ) -> tuple[_FileMark, list[tuple[AuditRecord, int]]]:
        identity = _identity(path)
        if identity is None:
            return mark or _FileMark(offset=0, inode=0, head=""), []
        inode, head = identity
        records: list[tuple[AuditRecord, int]] = []
        start = 0
        if mark is not None and (mark.inode, mark.head) == (inode, head):
            start = mark.offset if path.stat().st_size >= mark.offset else 0
        elif mark is not None and mark.inode:
            rotated = path.with_name(path.name + ".old")
            if _identity(rotated) == (mark.inode, mark.head):
                rest, _ = _read_from(key, rotated, mark.offset, self._dc)
                # Resuming after one of these means resuming at the start of the new file.
                records.extend((record, 0) for record, _ in rest)
        new_records, end = _read_from(key, path, start, self._dc)
        records.extend(new_records)
        return _FileMark(offset=end, inode=inode, head=head), records


def _read_from(
    key: str, path: Path, start: int, dc: str | None
) -> tuple[list[tuple[AuditRecord, int]], int]:
    with path.open("rb") as handle:
        handle.seek(start)
        data = handle.read()
    records: list[tuple[AuditRecord, int]] = []
    offset = start
    for line in data.splitlines(keepends=True):
        if not line.endswith(b"\n"):
            break  # still being written
        line_start, offset = offset, offset + len(line)
        try:
            parsed = json.loads(line)
        except ValueError:
            continue  # a line Samba cut short (disk full, crash): nothing to attribute
        if isinstance(parsed, dict) and isinstance(parsed.get("timestamp"), str):
            record = record_from_json(parsed, dc=dc, source_id=f"{path.name}:{line_start}")
            if record is not None:
                records.append((record, offset))
    return records, offset


def _encode_position(marks: Mapping[str, _FileMark]) -> str:
    return json.dumps(
        {key: [mark.offset, mark.inode, mark.head] for key, mark in sorted(marks.items())},
        separators=(",", ":"),
    )


def _decode_position(position: str | None) -> dict[str, _FileMark]:
    if position is None or position == "":
        return {}
    try:
        raw = json.loads(position)
        return {
            str(key): _FileMark(offset=int(offset), inode=int(inode), head=str(head))
            for key, (offset, inode, head) in raw.items()
        }
    except (ValueError, TypeError, AttributeError) as error:
        raise AuditSourceError(
            f"position {position[:80]!r} is not a Samba audit position (expected the JSON "
            "object a previous read returned)"
        ) from error


class LdapSidResolver:
    """Resolves SIDs to ``DOMAIN\\sAMAccountName`` with a base search on ``<SID=…>``; caches
    answers, including "not found". ``connection`` is a bound python-ldap connection."""

    def __init__(self, connection: Any, *, domain: str) -> None:
        self._conn = connection
        self._domain = domain
        self._cache: dict[str, str | None] = {}
        self.lookups = 0

    def __call__(self, sid: str) -> str | None:
        if sid in self._cache:
            return self._cache[sid]
        import ldap

        self.lookups += 1
        try:
            found = self._conn.search_s(
                f"<SID={sid}>", ldap.SCOPE_BASE, "(objectClass=*)", ["sAMAccountName"]
            )
        except ldap.NO_SUCH_OBJECT:
            found = []
        name = None
        for _dn, attributes in found:
            if isinstance(attributes, dict) and attributes.get("sAMAccountName"):
                name = f"{self._domain}\\{attributes['sAMAccountName'][0].decode('utf-8')}"
        self._cache[sid] = name
        return name
