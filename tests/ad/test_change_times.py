"""A change captured long after it was made carries the DC's time, not the capture's (the
session's real Samba AD DC, read by the read-only monitoring account).

The monitor is stopped, another account changes the directory, and the capture runs "six
minutes later" (its clock is injected, nothing sleeps). Each event's ``occurred_at`` is the
originating time in the object's replication metadata (``replPropertyMetaData``), read in the
same pass — checked against the DC's own ``whenChanged`` / ``whenCreated`` of objects changed
once (whole seconds; the event stands at that second's last instant) — while ``observed_at`` is
the capture time. The actor is still found, by the normal correlation window around the real
time. Before, ``occurred_at`` was empty and the event sat six minutes after its audit record.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import ldap
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.providers.ad.connection import connect
from dirguard.providers.ad.repl_metadata import ber_oid, make_attid, parse_property_metadata
from dirguard.services.capture.capture import capture_domain, fill_domain_actors
from dirguard.services.capture.snapshot import snapshot_domain
from dirguard.store.column_types import utcnow
from dirguard.store.events import verify_chain
from dirguard.store.models import ChangeEvent, DirectoryObject
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config
from tests.rollback.accounts import Account, ro_account
from tests.rollback.helpers import guid_of, scratch_ou

__all__ = ["ro_account"]

OUTAGE = timedelta(minutes=6)


def _generalized(value: bytes) -> datetime:
    return datetime.strptime(value.decode()[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def _dc_time(conn: Any, dn: str, attribute: str) -> datetime:
    [(_dn, attrs)] = conn.search_s(dn, ldap.SCOPE_BASE, attrlist=[attribute])
    return _generalized(attrs[attribute][0])


def test_make_attid_follows_ms_drsr() -> None:
    """MS-DRSR 5.16.4's examples: the default prefix table's index 0 is 2.5.4 (55 04), index 9
    1.2.840.113556.1.4 (2A 86 48 86 F7 14 01 04)."""
    prefixes = {bytes.fromhex("5504"): 0, bytes.fromhex("2a864886f7140104"): 9}
    assert ber_oid("1.2.840.113556.1.4.221") == bytes.fromhex("2a864886f7140104815d")
    assert make_attid("2.5.4.13", prefixes) == 0x0000000D  # description
    assert make_attid("1.2.840.113556.1.4.221", prefixes) == 0x000900DD  # sAMAccountName
    assert make_attid("1.2.840.113556.1.4.1782", prefixes) == 0x000906F6  # 1782 >= 128
    assert make_attid("1.2.840.113556.1.4.20000", prefixes) is None  # 3-byte arc: own prefix
    assert make_attid("1.3.6.1.4.1.7165.4.1.1", prefixes) is None


def test_a_metadata_blob_that_is_not_version_1_is_refused() -> None:
    with pytest.raises(ValueError, match="version 2"):
        parse_property_metadata(b"\x02" + b"\x00" * 15)
    with pytest.raises(ValueError, match="bytes"):
        parse_property_metadata(b"\x01\x00")


@pytest.mark.samba
def test_a_late_capture_dates_events_by_the_dc_and_still_finds_the_actor(
    samba_dc: SambaDC,
    ldap_admin: Any,
    ro_account: Account,
    store_sessions: sessionmaker[Session],
    samba_tool: Any,
) -> None:
    logs = samba_dc.audit_logs
    domain = domain_config(
        samba_dc,
        bind_upn=ro_account.upn,
        samba_audit_files=[logs.directory_changes, logs.group_changes, logs.password_changes],
    )
    tag = ro_account.name[-6:]
    with (
        scratch_ou(ldap_admin, f"OU=late-{tag},{samba_dc.base_dn}") as ou_dn,
        connect(domain, ro_account.password) as conn,
    ):
        contact = f"CN=old-{tag},{ou_dn}"
        ldap_admin.add_s(contact, [("objectClass", [b"contact"]), ("description", [b"a"])])
        snapshot_domain(store_sessions, conn, domain)
        # The monitor is stopped; the administrator changes three things.
        ldap_admin.modify_s(contact, [(ldap.MOD_REPLACE, "description", [b"changed"])])
        new_contact = f"CN=new-{tag},{ou_dn}"
        ldap_admin.add_s(new_contact, [("objectClass", [b"contact"])])
        samba_tool("dsacl", "set", f"--objectdn={ou_dn}", f"--sddl=(A;;RP;;;{ro_account.sid})")

        later = utcnow() + OUTAGE
        result = capture_domain(store_sessions, conn, domain, clock=lambda: later)
        assert result.events >= 3
        report = fill_domain_actors(store_sessions, conn, domain)
        assert report is not None

        expected = {
            (guid_of(ldap_admin, contact), "modify", "description"): _dc_time(
                ldap_admin, contact, "whenChanged"
            ),
            (guid_of(ldap_admin, new_contact), "create", None): _dc_time(
                ldap_admin, new_contact, "whenCreated"
            ),
            (guid_of(ldap_admin, ou_dn), "modify", "nTSecurityDescriptor"): _dc_time(
                ldap_admin, ou_dn, "whenChanged"
            ),
        }
        with store_sessions() as session:
            rows = session.execute(
                select(ChangeEvent, DirectoryObject.external_id)
                .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
                .where(ChangeEvent.run_id == result.run_id)
            ).all()
            found = {(guid, e.op, e.attribute): e for e, guid in rows}
            for key, dc_time in expected.items():
                event = found[key]
                # The DC's second, at its last instant (the DC keeps whole seconds).
                assert event.occurred_at == dc_time + timedelta(seconds=1, microseconds=-1), key
                assert event.observed_at == later, key
                assert event.timeline_at == event.occurred_at, key
                assert event.actor is not None and "administrator" in event.actor.lower(), key
            assert verify_chain(session, found[next(iter(expected))].source) == []
