"""Windows Security events of a domain controller as audit records, read over WinRM.

Events handled: 5136 (attribute value added/deleted), 5137 (created), 5139 (moved or renamed),
5141 (deleted), 5138 (undeleted), 4720/4722/4725/4726/4738 (user created, enabled, disabled,
deleted, changed) and 4728/4729/4732/4733/4756/4757 (member added to/removed from a global,
domain-local or universal security group). A 5136 "value deleted" and "value added" pair with the
same ``OpCorrelationID`` on the same object and attribute becomes one modify record carrying the
old value (delete action) and the new value (add action).

No Windows DC can run on the machines that build dirguard, so this module is tested on recorded
event XML only (``tests/who/data``); :class:`WinRmEventReader` runs the query through an injected
transport, which in production is pypsrp (``pip install 'dirguard[windows]'``).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
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

SOURCE_NAME = "windows-security"
EVENT_IDS = (5136, 5137, 5138, 5139, 5141, 4720, 4722, 4725, 4726, 4738)
GROUP_EVENT_IDS = (4728, 4729, 4732, 4733, 4756, 4757)
_NS = "{http://schemas.microsoft.com/win/2004/08/events/event}"
_VALUE_ADDED, _VALUE_DELETED = "%%14674", "%%14675"
_SIMPLE = {
    5137: AuditOperation.ADD,
    5138: AuditOperation.UNDELETE,
    5141: AuditOperation.DELETE,
    4720: AuditOperation.ADD,
    4726: AuditOperation.DELETE,
}
_UAC_EVENTS = {4722: "account enabled", 4725: "account disabled", 4738: "account changed"}
_MEMBER_ADDED = {4728, 4732, 4756}


class EventParseError(AuditSourceError):
    """An event's XML is not a Windows event this module understands."""


def _parse_time(text: str) -> datetime:
    # "2015-08-28T17:36:04.129472600Z": seven to nine fraction digits; Python takes six.
    main, _, rest = text.rstrip("Z").partition(".")
    fraction = (rest + "000000")[:6]
    return datetime.fromisoformat(f"{main}.{fraction}").replace(tzinfo=UTC)


def _field(data: dict[str, str], name: str) -> str | None:
    value = data.get(name)
    return None if value in (None, "", "-") else value


def _guid(text: str | None) -> str | None:
    return text.strip("{}").lower() if text else None


def parse_event(xml: str | bytes) -> tuple[int, dict[str, str], dict[str, str]]:
    """``(event id, system fields, event data by name)`` of one ``<Event>`` element."""
    try:
        root = ET.fromstring(xml)  # noqa: S314 - trusted source, no entity expansion in stdlib ET
    except ET.ParseError as error:
        raise EventParseError(f"event XML is not well-formed: {error}") from error
    system = root.find(f"{_NS}System")
    if system is None:
        raise EventParseError("event XML has no <System> element (namespace of Windows events)")
    event_id = system.findtext(f"{_NS}EventID")
    time = system.find(f"{_NS}TimeCreated")
    if event_id is None or not event_id.strip().isdigit() or time is None:
        raise EventParseError("event XML lacks <EventID> or <TimeCreated> in <System>")
    fields = {
        "TimeCreated": time.get("SystemTime", ""),
        "Computer": system.findtext(f"{_NS}Computer") or "",
        "EventRecordID": system.findtext(f"{_NS}EventRecordID") or "",
    }
    data = {
        item.get("Name", ""): (item.text or "")
        for item in root.iterfind(f"{_NS}EventData/{_NS}Data")
    }
    return int(event_id), fields, data


def record_from_event(xml: str | bytes) -> AuditRecord | None:
    """One event as an unpaired record; ``None`` for event ids this module does not handle."""
    event_id, system, data = parse_event(xml)
    sid = _field(data, "SubjectUserSid")
    user, domain = _field(data, "SubjectUserName"), _field(data, "SubjectDomainName")
    common: dict[str, Any] = {
        "timestamp": _parse_time(system["TimeCreated"]),
        "dc": system["Computer"] or None,
        "actor_sid": sid,
        "actor_name": f"{domain}\\{user}" if user and domain else user,
        "session_id": _field(data, "SubjectLogonId"),
        "transaction_id": _guid(_field(data, "OpCorrelationID")),
        "source": SOURCE_NAME,
        "source_id": f"{system['Computer']}:{system['EventRecordID']}",
        "target_guid": _guid(_field(data, "ObjectGUID")),
    }
    if event_id == 5136:
        operation_type = data.get("OperationType")
        if operation_type not in (_VALUE_ADDED, _VALUE_DELETED):
            raise EventParseError(f"event 5136 has OperationType {operation_type!r}")
        action = ValueAction.ADD if operation_type == _VALUE_ADDED else ValueAction.DELETE
        attribute = AttributeAction(
            name=data.get("AttributeLDAPDisplayName", ""),
            action=action,
            values=(data.get("AttributeValue", ""),),
        )
        return AuditRecord(
            operation=AuditOperation.MODIFY,
            target_dn=data.get("ObjectDN", ""),
            attributes=(attribute,),
            **common,
        )
    if event_id == 5139:
        return AuditRecord(
            operation=AuditOperation.MOVE,
            target_dn=data.get("OldObjectDN", ""),
            new_dn=_field(data, "NewObjectDN"),
            **common,
        )
    if event_id in (5137, 5138, 5141):
        return AuditRecord(
            operation=_SIMPLE[event_id], target_dn=data.get("ObjectDN", ""), **common
        )
    target = _target(data)
    if event_id in (4720, 4726):
        return AuditRecord(operation=_SIMPLE[event_id], target_dn=target, **common)
    if event_id in _UAC_EVENTS:
        uac = AttributeAction(
            name="userAccountControl", action=ValueAction.REPLACE, values_complete=False
        )
        return AuditRecord(
            operation=AuditOperation.MODIFY, target_dn=target, attributes=(uac,), **common
        )
    if event_id in GROUP_EVENT_IDS:
        added = event_id in _MEMBER_ADDED
        member = AttributeAction(
            name="member",
            action=ValueAction.ADD if added else ValueAction.DELETE,
            values=(data.get("MemberName", ""),),
        )
        return AuditRecord(
            operation=AuditOperation.MEMBER_ADD if added else AuditOperation.MEMBER_REMOVE,
            target_dn=target,
            attributes=(member,),
            **common,
        )
    return None


def _target(data: dict[str, str]) -> str:
    """User and group events name the target by account (``DOMAIN\\name``) and SID, not DN."""
    name, domain = data.get("TargetUserName", ""), data.get("TargetDomainName", "")
    return f"{domain}\\{name}" if domain else name


def pair_value_changes(records: Iterable[AuditRecord]) -> list[AuditRecord]:
    """Merge 5136 "value deleted" + "value added" of one OpCorrelationID, object and attribute
    into one modify record (old value as the delete action, new as the add action)."""
    merged: list[AuditRecord] = []
    open_deletes: dict[tuple[str, str, str], int] = {}
    for record in records:
        single = record.operation is AuditOperation.MODIFY and len(record.attributes) == 1
        if not single or record.transaction_id is None or record.source != SOURCE_NAME:
            merged.append(record)
            continue
        action = record.attributes[0]
        key = (record.transaction_id, record.target_dn.lower(), action.name.lower())
        if action.action is ValueAction.DELETE:
            open_deletes[key] = len(merged)
            merged.append(record)
        elif key in open_deletes:
            index = open_deletes.pop(key)
            earlier = merged[index]
            merged[index] = replace(earlier, attributes=(*earlier.attributes, action))
        else:
            merged.append(record)
    return merged


def records_from_events(events: Iterable[str | bytes]) -> list[AuditRecord]:
    """Records of events in log order, 5136 pairs merged."""
    records = [record for xml in events if (record := record_from_event(xml)) is not None]
    return pair_value_changes(records)


PowerShellRunner = Callable[[str], str]
"""Runs one PowerShell script on the DC and returns its standard output."""


def event_query_script(after_record_id: int, max_events: int = 1000) -> str:
    """PowerShell that prints the handled Security events after ``after_record_id`` as XML, one
    event a line, oldest first."""
    ids = " or ".join(f"EventID={i}" for i in (*EVENT_IDS, *GROUP_EVENT_IDS))
    xpath = f"*[System[({ids}) and EventRecordID > {int(after_record_id)}]]"
    return (
        "$ErrorActionPreference = 'Stop'; "
        f"$q = \"<QueryList><Query Id='0' Path='Security'><Select Path='Security'>{xpath}"
        '</Select></Query></QueryList>"; '
        f"Get-WinEvent -FilterXml $q -Oldest -MaxEvents {int(max_events)} "
        "-ErrorAction SilentlyContinue | ForEach-Object { $_.ToXml() -replace \"`r?`n\", '' }"
    )


class WinRmEventReader:
    """Audit source over WinRM: ``Get-WinEvent -FilterXml`` on one DC, resuming after the last
    EventRecordID seen (the position is ``{"dc": ..., "record": N}``).

    The account needs Event Log Readers and Remote Management Users. ``run`` executes a script on
    the DC: :func:`pypsrp_runner` in production; tests inject recorded output because no Windows
    DC can run here.
    """

    def __init__(self, *, dc: str, run: PowerShellRunner, max_events: int = 1000) -> None:
        self._dc = dc
        self._run = run
        self._max = max_events

    @property
    def name(self) -> str:
        return SOURCE_NAME

    def read_after(self, position: str | None) -> AuditBatch:
        last = 0
        if position:
            try:
                stored = json.loads(position)
                last = int(stored["record"])
            except (ValueError, KeyError, TypeError) as error:
                raise AuditSourceError(
                    f"position {position[:80]!r} is not a Windows event position"
                ) from error
        output = self._run(event_query_script(last, self._max))
        lines = [line for line in output.splitlines() if line.strip()]
        positioned = []
        for record in records_from_events(lines):
            number = int(record.source_id.rsplit(":", 1)[1] or 0)
            last = max(last, number)
            positioned.append(
                PositionedRecord(
                    record=record, position=json.dumps({"dc": self._dc, "record": last})
                )
            )
        return AuditBatch(
            records=tuple(positioned), position=json.dumps({"dc": self._dc, "record": last})
        )


def pypsrp_runner(host: str, *, username: str, password: str, ssl: bool = True) -> PowerShellRunner:
    """A runner using pypsrp's WinRM client (optional extra ``windows``)."""
    try:
        from pypsrp.client import Client  # type: ignore[import-not-found, unused-ignore]
    except ImportError as error:
        raise AuditSourceError("pypsrp is needed: pip install 'dirguard[windows]'") from error
    client = Client(host, username=username, password=password, ssl=ssl)

    def run(script: str) -> str:
        output, streams, had_errors = client.execute_ps(script)
        if had_errors:
            errors = "; ".join(str(item) for item in streams.error)[:500]
            raise AuditSourceError(f"Get-WinEvent on {host} failed: {errors}")
        return str(output)

    return run
