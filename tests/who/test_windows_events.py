"""Windows Security events, on recorded-format event XML (no Windows DC can run here)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dirguard.core.audit_record import AuditOperation, ValueAction
from dirguard.providers.ad.audit.windows_events import (
    EventParseError,
    WinRmEventReader,
    record_from_event,
    records_from_events,
)

DATA = Path(__file__).parent / "data"
LOG_ORDER = [
    "5137-created.xml",
    "5136-description-deleted.xml",
    "5136-description-added.xml",
    "5136-othertelephone-added.xml",
    "5139-moved.xml",
    "4728-member-added.xml",
    "4729-member-removed.xml",
    "4725-disabled.xml",
    "5141-deleted.xml",
]


def _xml(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def test_value_deleted_and_added_pair_into_one_modify_with_old_and_new() -> None:
    records = records_from_events([_xml(n) for n in LOG_ORDER])
    modify = [
        r for r in records if r.operation is AuditOperation.MODIFY and r.touches("description")
    ]
    assert len(modify) == 1
    [record] = modify
    assert [(a.action, a.values) for a in record.attributes] == [
        (ValueAction.DELETE, ("Sales trainee",)),
        (ValueAction.ADD, ("Senior Developer",)),
    ]
    assert record.actor == "CONTOSO\\helpdesk1"
    assert record.actor_sid == "S-1-5-21-3457937927-2839227994-823803824-2107"
    assert record.transaction_id == "02647639-8626-43ce-afe6-7aa1ad657739"
    assert record.target_guid == "4fe80a66-5f93-4f73-b215-68678058e613"
    assert record.timestamp == datetime(2015, 8, 28, 17, 36, 4, 129472, tzinfo=UTC)
    assert record.dc == "DC01.contoso.local"
    assert len(records) == len(LOG_ORDER) - 1


def test_create_move_delete_membership_and_disable() -> None:
    by_file = {n: record_from_event(_xml(n)) for n in LOG_ORDER}
    created, moved, deleted = (
        by_file["5137-created.xml"],
        by_file["5139-moved.xml"],
        by_file["5141-deleted.xml"],
    )
    assert created is not None and created.operation is AuditOperation.ADD
    assert moved is not None and moved.operation is AuditOperation.MOVE
    assert moved.target_dn == "CN=Jeff Smith,OU=Sales,DC=contoso,DC=local"
    assert moved.new_dn == "CN=Jeff Smith,OU=Marketing,DC=contoso,DC=local"
    assert deleted is not None and deleted.operation is AuditOperation.DELETE
    added, removed = by_file["4728-member-added.xml"], by_file["4729-member-removed.xml"]
    assert added is not None and added.operation is AuditOperation.MEMBER_ADD
    assert added.target_dn == "CONTOSO\\Domain Admins"
    assert added.touches("member")[0].values == ("CN=Jeff Smith,OU=Marketing,DC=contoso,DC=local",)
    assert removed is not None and removed.operation is AuditOperation.MEMBER_REMOVE
    assert removed.actor == "CONTOSO\\helpdesk1"
    disabled = by_file["4725-disabled.xml"]
    assert disabled is not None and disabled.touches("userAccountControl")


def test_bad_xml_is_named() -> None:
    with pytest.raises(EventParseError, match="not well-formed"):
        record_from_event("<Event>")
    with pytest.raises(EventParseError, match="no <System>"):
        record_from_event("<Event/>")


def test_winrm_reader_resumes_after_the_last_record_id() -> None:
    """The transport is a stand-in returning recorded XML: no Windows DC can run here."""
    scripts: list[str] = []

    def run(script: str) -> str:
        scripts.append(script)
        if len(scripts) == 1:
            return "\n".join(_xml(n).split("-->", 1)[1].replace("\n", "") for n in LOG_ORDER)
        return ""

    reader = WinRmEventReader(dc="DC01.contoso.local", run=run)
    batch = reader.read_after(None)
    assert len(batch.records) == len(LOG_ORDER) - 1
    assert "EventRecordID > 0" in scripts[0] and "Get-WinEvent -FilterXml" in scripts[0]
    again = reader.read_after(batch.position)
    assert again.records == ()
    assert "EventRecordID > 410400" in scripts[1]
