"""Who and where on the real DC: Samba's audit files name the acting account (admin or a
delegated non-admin writing over LDAPS) and its address; correlation attributes change events
or leaves them unknown; a record read late fills the actor in afterwards, in the store."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import ldap
import pytest
from sqlalchemy import event, select

from dirguard.core.actor_correlation import ChangeFacts, attribute_change
from dirguard.core.audit_record import AuditOperation, AuditRecord
from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.audit.samba_audit import LdapSidResolver, SambaAuditSource
from dirguard.services.capture.actor_fill import fill_actors
from dirguard.store.column_types import utcnow
from dirguard.store.cursors import get_cursor
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.events import NewChangeEvent, append_events, verify_chain
from dirguard.store.models import ChangeEvent, DirectoryObject
from dirguard.throwaway.samba_dc import SambaDC
from tests.who.conftest import Delegation
from tests.who.helpers import samba_tool


def _source(dc: SambaDC, admin: Any) -> SambaAuditSource:
    logs = dc.audit_logs
    return SambaAuditSource(
        directory_changes=logs.directory_changes,
        group_changes=logs.group_changes,
        password_changes=logs.password_changes,
        dc="dc1",
        resolve_sid=LdapSidResolver(admin, domain=dc.domain),
    )


def _records_for(source: SambaAuditSource, dn: str) -> list[AuditRecord]:
    return [
        p.record
        for p in source.read_after(None).records
        if p.record.target_dn.lower() == dn.lower()
    ]


def test_delegated_and_admin_writes_name_account_and_address(
    samba_dc: SambaDC, ldap_admin: Any, delegation: Delegation, delegate_conn: Any
) -> None:
    contact = f"CN=c-{uuid.uuid4().hex[:6]},{delegation.ou_dn}"
    delegate_conn.add_s(contact, [("objectClass", [b"contact"]), ("description", [b"one"])])
    delegate_conn.modify_s(contact, [(ldap.MOD_REPLACE, "description", [b"two"])])
    group = f"g-{uuid.uuid4().hex[:6]}"
    samba_tool(
        samba_dc, "group", "add", group, f"--groupou=OU={delegation.ou_dn.split(',')[0][3:]}"
    )
    samba_tool(samba_dc, "group", "addmembers", group, delegation.user)
    source = _source(samba_dc, ldap_admin)

    add, modify = _records_for(source, contact)
    delegate = f"{samba_dc.domain}\\{delegation.user}"
    assert (add.operation, add.actor, add.actor_sid) == (
        AuditOperation.ADD,
        delegate,
        delegation.user_sid,
    )
    assert add.touches("description")[0].values == ("one",)
    assert modify.operation is AuditOperation.MODIFY
    assert modify.touches("description")[0].values == ("two",)
    assert {add.remote_address, modify.remote_address} == {"127.0.0.1"}
    assert add.remote_port and add.session_id and add.transaction_id

    group_dn = f"CN={group},{delegation.ou_dn}"
    membership = [r for r in _records_for(source, group_dn) if r.touches("member")]
    assert {r.operation for r in membership} == {AuditOperation.MODIFY, AuditOperation.MEMBER_ADD}
    assert {r.actor for r in membership} == {f"{samba_dc.domain}\\{samba_dc.admin_user}"}


def test_correlation_matches_unique_actor_and_never_guesses(
    samba_dc: SambaDC, ldap_admin: Any, delegation: Delegation, delegate_conn: Any
) -> None:
    name = f"c-{uuid.uuid4().hex[:6]}"
    contact = f"CN={name},{delegation.ou_dn}"
    delegate_conn.add_s(contact, [("objectClass", [b"contact"])])
    delegate_conn.modify_s(contact, [(ldap.MOD_REPLACE, "description", [b"seen"])])
    delegate_conn.rename_s(contact, f"CN={name}-r")
    records = [p.record for p in _source(samba_dc, ldap_admin).read_after(None).records]
    now = utcnow()
    change = ChangeFacts(
        key=1, op="modify", attribute="description", dns=(contact,), value=["seen"], when=now
    )
    result = attribute_change(change, records)
    assert result.actor == f"{samba_dc.domain}\\{delegation.user}"
    assert result.address == "127.0.0.1"
    assert result.reason.startswith("target+attribute+time")

    other_value = replace(change, value=["never written"])
    assert attribute_change(other_value, records).actor is None
    renamed = ChangeFacts(
        key=2,
        op="rename",
        attribute=None,
        dns=(f"CN={name}-r,{delegation.ou_dn}", contact),
        when=now,
    )
    unknown = attribute_change(renamed, records)
    assert (unknown.actor, unknown.reason) == (None, "no matching audit record")

    [mine] = [r for r in records if r.target_dn == contact and r.touches("description")]
    impostor = replace(mine, actor_name="DIRGUARD\\someone-else", source_id="x:1")
    ambiguous = attribute_change(change, [*records, impostor])
    assert ambiguous.actor is None and ambiguous.reason.startswith("ambiguous: 2 records")
    long_ago = replace(change, when=now + timedelta(hours=2))
    assert attribute_change(long_ago, records).actor is None


def test_late_record_fills_the_actor_in_afterwards(
    samba_dc: SambaDC, ldap_admin: Any, delegation: Delegation, delegate_conn: Any, tmp_path: Path
) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    contact = f"CN=c-{uuid.uuid4().hex[:6]},{delegation.ou_dn}"
    delegate_conn.add_s(contact, [("objectClass", [b"contact"]), ("description", [b"a"])])
    source = _source(samba_dc, ldap_admin)
    with sessions() as session:
        obj = DirectoryObject(
            source=samba_dc.realm, resource_type="ad.contact", external_id=str(uuid.uuid4()),
            path=contact,
        )  # fmt: skip
        session.add(obj)
        session.flush()
        append_events(
            session,
            [
                NewChangeEvent(object_id=obj.id, op=ChangeOp.CREATE),
                NewChangeEvent(
                    object_id=obj.id, op=ChangeOp.RENAME, old_value="CN=x", new_value=contact
                ),
            ],
        )  # fmt: skip
        # retain=0: the next read starts at the newest record, so the cursor moves on now.
        first = fill_actors(session, source=samba_dc.realm, audit=source, retain=timedelta(0))
        session.commit()
        assert (first.filled, first.unknown) == (1, 1)
        assert get_cursor(session, samba_dc.realm, "samba-audit") is not None
        # A change captured now whose audit record the first read did not have yet.
        append_events(
            session,
            [
                NewChangeEvent(
                    object_id=obj.id, op=ChangeOp.MODIFY, attribute="description", new_value=["b"]
                )
            ],
        )  # fmt: skip
        session.commit()
        delegate_conn.modify_s(contact, [(ldap.MOD_REPLACE, "description", [b"b"])])
        second = fill_actors(session, source=samba_dc.realm, audit=source, retain=timedelta(0))
        session.commit()
        assert second.filled == 1
        rows = session.scalars(select(ChangeEvent).order_by(ChangeEvent.sequence)).all()
        delegate = f"{samba_dc.domain}\\{delegation.user}"
        assert [(e.op, e.actor, e.actor_source, e.actor_address) for e in rows] == [
            ("create", delegate, "samba-audit", "127.0.0.1"),
            ("rename", None, None, None),
            ("modify", delegate, "samba-audit", "127.0.0.1"),
        ]
        assert verify_chain(session, samba_dc.realm) == []
    engine.dispose()


@pytest.mark.parametrize("cut", [0, 7])
def test_partial_last_line_and_truncation(tmp_path: Path, samba_dc: SambaDC, cut: int) -> None:
    lines = samba_dc.audit_logs.directory_changes.read_bytes().splitlines(keepends=True)[:3]
    path = tmp_path / "audit.json"
    path.write_bytes(lines[0] + lines[1][: len(lines[1]) - 1 - cut])
    source = SambaAuditSource(directory_changes=path)
    first = source.read_after(None)
    assert len(first.records) <= 1
    path.write_bytes(lines[0] + lines[1] + lines[2])
    second = source.read_after(first.position)
    assert len(first.records) + len(second.records) == len(
        [p for p in SambaAuditSource(directory_changes=path).read_after(None).records]
    )
    path.write_bytes(lines[2])  # replaced by a shorter file: read from its start
    third = source.read_after(second.position)
    assert [p.record.transaction_id for p in third.records] == [
        p.record.transaction_id
        for p in SambaAuditSource(directory_changes=path).read_after(None).records
    ]


def test_a_pass_reexamines_only_what_the_records_read_may_have_made_in_a_few_queries(
    samba_dc: SambaDC, ldap_admin: Any, delegation: Delegation, delegate_conn: Any, tmp_path: Path
) -> None:
    """Changes older than every record read (by more than the correlation window) are not
    loaded again on each pass, yet still count as unknown; the statements a pass issues do not
    grow with the number of unattributed changes."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    contact = f"CN=c-{uuid.uuid4().hex[:6]},{delegation.ou_dn}"
    delegate_conn.add_s(contact, [("objectClass", [b"contact"]), ("description", [b"a"])])
    source = _source(samba_dc, ldap_admin)
    long_ago = utcnow() - timedelta(hours=20)  # before the session's DC wrote any record
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    with sessions() as session:
        objects = [
            DirectoryObject(
                source=samba_dc.realm, resource_type="ad.contact",
                external_id=str(uuid.uuid4()), path=f"CN=old-{i},{delegation.ou_dn}",
            )
            for i in range(40)
        ]  # fmt: skip
        recent = DirectoryObject(
            source=samba_dc.realm, resource_type="ad.contact", external_id=str(uuid.uuid4()),
            path=contact,
        )  # fmt: skip
        session.add_all([*objects, recent])
        session.flush()
        append_events(
            session,
            [
                *(
                    NewChangeEvent(
                        object_id=o.id, op=ChangeOp.MODIFY, attribute="description",
                        new_value=["x"], occurred_at=long_ago,
                        observed_at=utcnow() - timedelta(hours=1),
                    )
                    for o in objects
                ),
                NewChangeEvent(object_id=recent.id, op=ChangeOp.CREATE),
            ],
        )  # fmt: skip
        session.commit()
        event.listen(engine, "before_cursor_execute", count)
        try:
            report = fill_actors(session, source=samba_dc.realm, audit=source)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        session.commit()
    assert (report.filled, report.unknown) == (1, 40)
    assert len(report.attributions) == 1  # the 40 old changes were not correlated again
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # A handful, not one per change: the audit records are read in batches (each batch reads
    # its cursor), so on the session's busy DC a pass may take a batch more.
    assert len(selects) < 10, selects
    engine.dispose()
