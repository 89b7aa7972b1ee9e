"""Delegation kept in the store: what an administrator saves is what decisions read, every
change is audited, and a bad definition is refused naming what is wrong (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import Config
from dirguard.core.delegation import ConsoleUser, Target, Trustee, decide
from dirguard.services.admin.delegation import (
    assign,
    current_delegation,
    delete_scope,
    save_role,
    save_scope,
    unassign,
)
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime
from dirguard.store.models import AuditRecord

OU = "OU=Sales,DC=corp,DC=example,DC=com"


@pytest.fixture
def runtime(store_sessions: sessionmaker[Session]) -> Runtime:
    return Runtime(config=Config(), sessions=store_sessions, principal="root@contoso.com")


def _setup(runtime: Runtime) -> None:
    save_role(runtime, {"name": "Help desk", "actions": ["ad.user.reset-password"],
                        "write_fields": ["unicodePwd", "pwdLastSet"]})  # fmt: skip
    save_scope(runtime, {"name": "Sales", "kind": "ad-subtree", "source": "ad:corp.example.com",
                         "base": OU})  # fmt: skip
    assign(runtime, "Help desk", "Sales", "entra-group", "AAAA-group")


def test_saved_delegation_decides_and_every_change_is_audited(runtime: Runtime) -> None:
    _setup(runtime)
    assign(runtime, "Help desk", "Sales", "entra-group", "aaaa-GROUP")  # the same: no second row
    delegation = current_delegation(runtime)
    assert len(delegation.assignments) == 1
    member = ConsoleUser(
        name="dave", groups=frozenset({Trustee(kind="entra-group", ident="aaaa-group")})
    )
    bob = Target(source="ad:corp.example.com", directory="ad", object_kind="user",
                 path=f"CN=Bob,{OU}")  # fmt: skip
    assert decide(delegation.assignments, member, "ad.user.reset-password", bob).allowed
    with runtime.sessions() as session:
        actions = session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)).all()
        actors = set(session.scalars(select(AuditRecord.actor)).all())
    assert actions == ["delegation.role.save", "delegation.scope.save", "delegation.assign"]
    assert actors == {"root@contoso.com"}

    assert unassign(runtime, "Help desk", "Sales", "entra-group", "AAAA-group")
    assert not unassign(runtime, "Help desk", "Sales", "entra-group", "AAAA-group")
    assert not decide(current_delegation(runtime).assignments, member,
                      "ad.user.reset-password", bob).allowed  # fmt: skip


def test_export_document_round_trips_and_deleting_a_scope_drops_its_assignments(
    runtime: Runtime,
) -> None:
    _setup(runtime)
    document = current_delegation(runtime).as_document()
    assert document["assignments"] == [
        {
            "role": "Help desk",
            "scope": "Sales",
            "trustee": {"kind": "entra-group", "id": "aaaa-group"},
        }
    ]
    assert document["roles"][0]["actions"] == ["ad.user.reset-password"]
    delete_scope(runtime, "Sales")
    assert current_delegation(runtime).assignments == ()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"name": "x", "actions": ["ad.user.fly"]}, "unknown action"),
        ({"name": "x", "actions": []}, "grants no action"),
        ({"name": " ", "actions": ["ad.user.unlock"]}, "non-empty 'name'"),
        ({"name": "x", "actions": "ad.user.unlock"}, "'actions' must be a list"),
    ],
)
def test_a_bad_role_is_refused_naming_what_is_wrong(
    runtime: Runtime, document: dict[str, object], message: str
) -> None:
    with pytest.raises(ServiceError, match=message) as caught:
        save_role(runtime, document)
    assert caught.value.problem is Problem.CONFLICT
    assert current_delegation(runtime).roles == ()


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"name": "s", "kind": "planet"}, "kind 'planet' is not one of"),
        ({"name": "s", "kind": "ad-subtree", "source": "ad:x"}, "no OU"),
        ({"name": "s", "kind": "virtual"}, "needs a query"),
        ({"name": "s", "kind": "virtual", "query": {"conditions": [
            {"field": "department", "comparison": "like", "values": ["x"]}]}},
         "comparison 'like'"),
        ({"name": "s", "kind": "virtual", "query": {"directories": ["ldap"]}},
         "unknown directory ldap"),
    ],
)  # fmt: skip
def test_a_bad_scope_is_refused_naming_what_is_wrong(
    runtime: Runtime, document: dict[str, object], message: str
) -> None:
    with pytest.raises(ServiceError, match=message):
        save_scope(runtime, document)


def test_assigning_an_unknown_role_or_trustee_kind_says_so(runtime: Runtime) -> None:
    _setup(runtime)
    with pytest.raises(ServiceError, match="no role named 'Nobody'") as caught:
        assign(runtime, "Nobody", "Sales", "user", "x")
    assert caught.value.problem is Problem.NOT_FOUND
    with pytest.raises(ServiceError, match="trustee kind 'robot'"):
        assign(runtime, "Help desk", "Sales", "robot", "x")
