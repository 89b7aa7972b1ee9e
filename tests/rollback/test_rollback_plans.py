"""Restore plans made from the recorded history and applied to the session's real Samba AD DC:
one attribute change (text and binary), a membership add, an object back to a point in time
after several modifies and a move, and everything one account did in a window."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import ldap
import pytest
from sqlalchemy import func, select

from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad import KIND as AD
from dirguard.providers.ad.apply import AdStepWriter
from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.plan.restore_plan import StepKind
from dirguard.providers.ad.plan.steps import generic_plan
from dirguard.providers.ad.values import guid_text
from dirguard.providers.base import store_source
from dirguard.services.capture.capture import capture_domain, fill_domain_actors
from dirguard.services.capture.snapshot import snapshot_domain
from dirguard.services.rollback.plan_store import save_plan
from dirguard.services.rollback.plans import plan_for_actor, plan_for_event, plan_for_object
from dirguard.services.rollback.steps import apply_plan
from dirguard.services.rollback.undelete import undelete
from dirguard.store.column_types import utcnow
from dirguard.store.models import RestorePlan, RestoreStep
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config
from tests.rollback.helpers import (
    Sessions,
    add_group,
    add_ou,
    add_user,
    events_of,
    guid_of,
    read,
    remove_tree,
)

pytestmark = pytest.mark.samba


@pytest.fixture
def ou(ldap_admin: Any, samba_dc: SambaDC, unique: Callable[[str], str]) -> Iterator[str]:
    dn = f"OU={unique('rb')},{samba_dc.base_dn}"
    add_ou(ldap_admin, dn)
    yield dn
    remove_tree(ldap_admin, dn)


def _apply(sessions: Sessions, conn: AdConnection, domain: str, draft: Any) -> dict[str, str]:
    """Store ``draft`` as a plan, apply it, and return each step's description and status."""
    with sessions.begin() as session:
        plan = save_plan(
            session,
            source=store_source(AD, domain),
            requested_by="bob",
            selection={"test": True},
            force=False,
            draft=generic_plan(draft),
        )
        plan_id = plan.id
    writer = AdStepWriter(conn, source=domain, bind_upn=None)
    report = apply_plan(sessions, writer, plan_id, requested_by="bob")
    assert report.status == "applied", report.steps
    return {s.description: s.status for s in report.steps}


def test_one_attribute_change_is_undone_text_and_binary(
    store_sessions: Sessions,
    ad_conn: AdConnection,
    ad_domain: AdDomainConfig,
    ldap_admin: Any,
    ou: str,
) -> None:
    snapshot_domain(store_sessions, ad_conn, ad_domain)
    dn, first_photo, second_photo = f"CN=pat,{ou}", bytes(range(256)) * 2, b"\x00\xff" * 300
    add_user(
        ldap_admin,
        dn,
        f"pat{uuid.uuid4().hex[:6]}",
        {"description": [b"first"], "thumbnailPhoto": [first_photo]},
    )
    capture_domain(store_sessions, ad_conn, ad_domain)
    ldap_admin.modify_s(
        dn,
        [
            (ldap.MOD_REPLACE, "description", [b"second"]),
            (ldap.MOD_REPLACE, "thumbnailPhoto", [second_photo]),
        ],
    )
    capture_domain(store_sessions, ad_conn, ad_domain)
    guid = guid_of(ldap_admin, dn)
    [description] = events_of(store_sessions, guid, "modify", "description")
    [photo] = events_of(store_sessions, guid, "modify", "thumbnailPhoto")

    with store_sessions() as session:
        draft = plan_for_event(
            session, store_source(AD, ad_domain.name), description.sequence, force=False
        )
    [step] = draft.steps
    assert step.description == f"Set description of {dn} from 'second' back to 'first'"
    assert read(ldap_admin, dn, "description")["description"] == [b"second"], "planning wrote"
    assert _apply(store_sessions, ad_conn, ad_domain.name, draft) == {step.description: "succeeded"}
    now = read(ldap_admin, dn, "description", "thumbnailPhoto")
    assert now == {"description": [b"first"], "thumbnailPhoto": [second_photo]}
    # dirguard's own write is recorded as dirguard's, on behalf of bob: never offered back as
    # the bind account's change.
    capture_domain(store_sessions, ad_conn, ad_domain)
    fill_domain_actors(store_sessions, ad_conn, ad_domain)
    back = events_of(store_sessions, guid, "modify", "description")[-1]
    assert (back.old_value, back.new_value) == (["second"], ["first"])
    assert (back.actor, back.actor_source) == ("dirguard (for bob)", "dirguard")

    with store_sessions() as session:
        draft = plan_for_event(
            session, store_source(AD, ad_domain.name), photo.sequence, force=False
        )
    assert [s.description for s in draft.steps] == [
        f"Set thumbnailPhoto of {dn} from <600 bytes> back to <512 bytes>"
    ]
    _apply(store_sessions, ad_conn, ad_domain.name, draft)
    assert read(ldap_admin, dn, "thumbnailPhoto")["thumbnailPhoto"] == [first_photo]


def test_a_membership_add_is_undone(
    store_sessions: Sessions,
    ad_conn: AdConnection,
    ad_domain: AdDomainConfig,
    ldap_admin: Any,
    ou: str,
) -> None:
    snapshot_domain(store_sessions, ad_conn, ad_domain)
    tag = uuid.uuid4().hex[:6]
    user, group, other = f"CN=kim,{ou}", f"CN=Sales,{ou}", f"CN=lee,{ou}"
    add_user(ldap_admin, user, f"kim{tag}")
    add_user(ldap_admin, other, f"lee{tag}")
    add_group(ldap_admin, group, f"sales{tag}")
    ldap_admin.modify_s(group, [(ldap.MOD_ADD, "member", [other.encode()])])
    capture_domain(store_sessions, ad_conn, ad_domain)
    ldap_admin.modify_s(group, [(ldap.MOD_ADD, "member", [user.encode()])])
    capture_domain(store_sessions, ad_conn, ad_domain)
    [added] = events_of(store_sessions, guid_of(ldap_admin, group), "add-value", "member")

    with store_sessions() as session:
        draft = plan_for_event(
            session, store_source(AD, ad_domain.name), added.sequence, force=False
        )
    assert [(s.kind, s.description) for s in draft.steps] == [
        (StepKind.REMOVE_VALUE, f"Remove CN=kim from group {group}")
    ]
    _apply(store_sessions, ad_conn, ad_domain.name, draft)
    assert read(ldap_admin, group, "member")["member"] == [other.encode()]


def test_an_object_goes_back_to_a_point_in_time_after_modifies_and_a_move(
    store_sessions: Sessions,
    ad_conn: AdConnection,
    ad_domain: AdDomainConfig,
    ldap_admin: Any,
    ou: str,
) -> None:
    snapshot_domain(store_sessions, ad_conn, ad_domain)
    add_ou(ldap_admin, f"OU=elsewhere,{ou}")
    dn = f"CN=max,{ou}"
    original = {
        "title": [b"Engineer"],
        "otherTelephone": [b"+1 555 0100", b"+1 555 0101"],
        "jpegPhoto": [b"\x89PNG\x00\x01" * 10],
    }
    add_user(ldap_admin, dn, f"max{uuid.uuid4().hex[:6]}", dict(original))
    capture_domain(store_sessions, ad_conn, ad_domain)
    moment = utcnow()
    ldap_admin.modify_s(dn, [(ldap.MOD_REPLACE, "title", [b"Manager"])])
    ldap_admin.modify_s(dn, [(ldap.MOD_REPLACE, "title", [b"Director"])])
    ldap_admin.modify_s(dn, [(ldap.MOD_DELETE, "otherTelephone", [b"+1 555 0100"])])
    ldap_admin.modify_s(dn, [(ldap.MOD_ADD, "description", [b"promoted"])])
    ldap_admin.modify_s(dn, [(ldap.MOD_REPLACE, "jpegPhoto", [b"\x00" * 64])])
    moved = f"CN=max,OU=elsewhere,{ou}"
    ldap_admin.rename_s(dn, "CN=max", f"OU=elsewhere,{ou}")
    capture_domain(store_sessions, ad_conn, ad_domain)

    with store_sessions() as session:
        draft = plan_for_object(session, store_source(AD, ad_domain.name), moved, moment)
    kinds = [s.kind for s in draft.steps]
    assert kinds[0] is StepKind.MOVE, "the move comes before the attributes"
    assert draft.steps[0].description == f"Move {moved} back to {ou}"
    assert {s.attribute for s in draft.steps[1:]} == {
        "title",
        "otherTelephone",
        "description",
        "jpegPhoto",
    }
    _apply(store_sessions, ad_conn, ad_domain.name, draft)
    with pytest.raises(ldap.NO_SUCH_OBJECT):
        read(ldap_admin, moved, "cn")
    now = read(ldap_admin, dn, "title", "otherTelephone", "description", "jpegPhoto")
    assert {k: sorted(v) for k, v in now.items()} == {k: sorted(v) for k, v in original.items()}


def test_everything_one_account_did_in_a_window_is_undone_by_one_plan(
    store_sessions: Sessions, ad_conn: AdConnection, samba_dc: SambaDC, ldap_admin: Any, ou: str
) -> None:
    logs = samba_dc.audit_logs
    domain = domain_config(
        samba_dc,
        samba_audit_files=[logs.directory_changes, logs.group_changes, logs.password_changes],
    )
    snapshot_domain(store_sessions, ad_conn, domain)
    tag = uuid.uuid4().hex[:6]
    group, ann, newcomer = (f"CN={n},{ou}" for n in ("team", "ann", "cy"))
    add_group(ldap_admin, group, f"team{tag}")
    add_user(ldap_admin, ann, f"ann{tag}", {"description": [b"keeps the lights on"]})
    capture_domain(store_sessions, ad_conn, domain)
    fill_domain_actors(store_sessions, ad_conn, domain)

    since = utcnow()
    ldap_admin.modify_s(ann, [(ldap.MOD_REPLACE, "description", [b"leaving"])])
    ldap_admin.modify_s(group, [(ldap.MOD_ADD, "member", [ann.encode()])])
    add_user(ldap_admin, newcomer, f"cy{tag}")
    capture_domain(store_sessions, ad_conn, domain)
    fill_domain_actors(store_sessions, ad_conn, domain)

    actor = f"{samba_dc.domain}\\{samba_dc.admin_user}"
    with store_sessions() as session:
        draft = plan_for_actor(
            session, store_source(AD, domain.name), actor, since, None, force=False
        )
    assert [s.description for s in draft.steps] == [
        f"Set description of {ann} from 'leaving' back to 'keeps the lights on'",
        f"Remove CN=ann from group {group}",
        f"Delete {newcomer} (created by the selected change)",
    ]
    statuses = _apply(store_sessions, ad_conn, domain.name, draft)
    assert set(statuses.values()) == {"succeeded"}

    with pytest.raises(ldap.NO_SUCH_OBJECT):
        read(ldap_admin, newcomer, "cn")
    assert read(ldap_admin, ann, "description")["description"] == [b"keeps the lights on"]
    assert "member" not in read(ldap_admin, group, "member")
    with store_sessions() as session:
        plan = session.scalars(select(RestorePlan)).one()
        steps = session.scalar(select(func.count()).select_from(RestoreStep))
    assert (plan.status, plan.requested_by, steps) == ("applied", "bob", 3)


def test_a_delete_is_undone_by_reanimating_the_tombstone_with_its_memberships(
    store_sessions: Sessions,
    ad_conn: AdConnection,
    ad_domain: AdDomainConfig,
    ldap_admin: Any,
    ou: str,
) -> None:
    snapshot_domain(store_sessions, ad_conn, ad_domain)
    tag = uuid.uuid4().hex[:6]
    group, ben = f"CN=crew,{ou}", f"CN=ben,{ou}"
    add_group(ldap_admin, group, f"crew{tag}")
    add_user(ldap_admin, ben, f"ben{tag}", {"description": [b"on call"], "url": [b"a", b"b"]})
    ldap_admin.modify_s(group, [(ldap.MOD_ADD, "member", [ben.encode()])])
    before = read(ldap_admin, ben, "objectGUID", "objectSid", "description", "url")
    capture_domain(store_sessions, ad_conn, ad_domain)
    ldap_admin.delete_s(ben)
    capture_domain(store_sessions, ad_conn, ad_domain)
    guid = guid_text(before["objectGUID"][0])
    [deletion] = events_of(store_sessions, guid, "delete", None)

    with store_sessions() as session:
        draft = plan_for_event(
            session, store_source(AD, ad_domain.name), deletion.sequence, force=False
        )
    assert draft.steps[0].kind is StepKind.REANIMATE
    assert draft.steps[-1].description == f"Add CN=ben back to group {group}"
    _apply(store_sessions, ad_conn, ad_domain.name, draft)
    assert read(ldap_admin, ben, "objectGUID", "objectSid", "description", "url") == before
    assert read(ldap_admin, group, "member")["member"] == [ben.encode()]


def test_undelete_into_a_chosen_ou_keeps_guid_and_sid(
    store_sessions: Sessions,
    ad_conn: AdConnection,
    ad_domain: AdDomainConfig,
    ldap_admin: Any,
    ou: str,
) -> None:
    snapshot_domain(store_sessions, ad_conn, ad_domain)
    restored_ou = f"OU=restored,{ou}"
    add_ou(ldap_admin, restored_ou)
    sam = f"eve{uuid.uuid4().hex[:6]}"
    add_user(ldap_admin, f"CN=eve,{ou}", sam, {"title": [b"Auditor"]})
    before = read(ldap_admin, f"CN=eve,{ou}", "objectGUID", "objectSid", "title")
    capture_domain(store_sessions, ad_conn, ad_domain)
    ldap_admin.delete_s(f"CN=eve,{ou}")

    result = undelete(
        store_sessions, ad_conn, ad_domain, sam, requested_by="carol", to_ou=restored_ou
    )
    assert result.report.status == "applied"
    assert result.plan.steps[0].description.startswith(
        f"Bring CN=eve back from the deleted objects into {restored_ou} "
        "(same objectGUID and objectSid); its password is not restored"
    )
    assert read(ldap_admin, f"CN=eve,{restored_ou}", "objectGUID", "objectSid", "title") == before
