"""A change captured long after it was made (the monitor was stopped for more than the 5-minute
correlation window) still gets its actor from Samba's audit record, matched by what the record
says — the object, the attribute, the very value — and only with a record newer than the
object's previous change of that attribute, so an older record is never taken for a later
change (the session's real Samba AD DC and its JSON audit)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import ldap
from sqlalchemy import select

from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.values import guid_text
from dirguard.services.capture.actor_fill import fill_actors
from dirguard.store.column_types import utcnow
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import ChangeEvent, DirectoryObject
from dirguard.throwaway.samba_dc import SambaDC
from tests.who.conftest import Delegation
from tests.who.test_samba_actors import _source

OUTAGE = timedelta(minutes=6)


def test_a_change_captured_after_an_outage_gets_its_actor(
    samba_dc: SambaDC, ldap_admin: Any, delegation: Delegation, delegate_conn: Any, tmp_path: Path
) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    tag = delegation.user[-6:]
    contact = f"CN=late-{tag},{delegation.ou_dn}"
    ldap_admin.add_s(contact, [("objectClass", [b"contact"]), ("description", [b"a"])])
    [(_, attrs)] = ldap_admin.search_s(contact, ldap.SCOPE_BASE, attrlist=["objectGUID"])
    guid = guid_text(attrs["objectGUID"][0])
    seen = utcnow()
    delegate_conn.modify_s(contact, [(ldap.MOD_REPLACE, "description", [b"late"])])
    with sessions.begin() as session:
        obj = DirectoryObject(
            source=samba_dc.realm, resource_type="ad.contact", external_id=guid, path=contact,
            first_seen=seen - timedelta(minutes=1),
        )  # fmt: skip
        session.add(obj)
        session.flush()
        # The monitor was stopped: the change is observed six minutes after it was made.
        [late] = append_events(
            session,
            [
                NewChangeEvent(
                    object_id=obj.id, op=ChangeOp.MODIFY, attribute="description",
                    old_value=["a"], new_value=["late"], observed_at=seen + OUTAGE,
                )
            ],
        )  # fmt: skip
        report = fill_actors(
            session, source=samba_dc.realm, audit=_source(samba_dc, ldap_admin),
            now=seen + OUTAGE,
        )  # fmt: skip
        assert report.filled == 1, report.attributions
        assert late.actor == f"{samba_dc.domain}\\{delegation.user}"
        assert "late" in report.attributions[0].reason

    # The same value written again later, by someone whose record is missing: the older record
    # lies before the previous change of the attribute, so it is not taken for this one.
    with sessions.begin() as session:
        obj_id = session.scalars(select(DirectoryObject.id)).one()
        [again] = append_events(
            session,
            [
                NewChangeEvent(
                    object_id=obj_id, op=ChangeOp.MODIFY, attribute="description",
                    old_value=["b"], new_value=["late"], observed_at=seen + 2 * OUTAGE,
                )
            ],
        )  # fmt: skip
        fill_actors(
            session, source=samba_dc.realm, audit=_source(samba_dc, ldap_admin),
            now=seen + 2 * OUTAGE,
        )  # fmt: skip
        assert again.actor is None, "never guessed from an older record"
        assert (
            session.scalars(select(ChangeEvent.actor).order_by(ChangeEvent.sequence)).all()[0]
            == f"{samba_dc.domain}\\{delegation.user}"
        )
    ldap_admin.delete_s(contact)
    engine.dispose()
