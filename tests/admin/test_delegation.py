"""Roles × scopes, decided on objects as the directory shows them now (``core/delegation``)."""

from __future__ import annotations

import pytest

from dirguard.catalog.admin_actions import ACTIONS_BY_KEY, ADMIN_ACTIONS
from dirguard.catalog.manifest import MANIFEST
from dirguard.core.delegation import (
    Assignment,
    Comparison,
    Condition,
    ConsoleUser,
    DelegationError,
    ObjectQuery,
    Role,
    Scope,
    ScopeKind,
    Target,
    Trustee,
    decide,
    dn_within,
    readable,
    visible,
)

AD = "ad:corp.example.com"
TENANT = "entra:contoso"
SALES_OU = "OU=Sales,OU=Staff,DC=corp,DC=example,DC=com"

HELP_DESK = Role(
    name="Help desk",
    actions=frozenset({"ad.user.reset-password", "ad.user.unlock", "ad.user.edit"}),
    read_fields=frozenset({"displayName", "department", "telephoneNumber"}),
    write_fields=frozenset({"telephoneNumber", "unicodePwd", "pwdLastSet", "lockoutTime"}),
)
SALES = Scope(name="Sales OU", kind=ScopeKind.AD_SUBTREE, source=AD, base=SALES_OU)
ALICE = ConsoleUser(name="alice@contoso.com")
HELP_DESK_GROUP = Trustee(kind="entra-group", ident="0f1e2d3c-0000-4000-8000-000000000001")


def user(dn: str, **fields: object) -> Target:
    return Target(source=AD, directory="ad", object_kind="user", path=dn, fields=fields)


def test_an_action_in_scope_is_allowed_and_says_through_which_assignment() -> None:
    grant = Assignment(
        role=HELP_DESK, scope=SALES, trustee=Trustee(kind="user", ident="ALICE@contoso.com")
    )
    bob = user(f"CN=Bob,{SALES_OU}")
    decision = decide([grant], ALICE, "ad.user.reset-password", bob, writes=("unicodePwd",))
    assert decision.allowed, decision.reason
    assert decision.via == (grant,)


def test_an_object_moved_out_of_the_ou_is_out_of_scope_at_once() -> None:
    grant = Assignment(role=HELP_DESK, scope=SALES, trustee=Trustee(kind="user", ident=ALICE.name))
    moved = user("CN=Bob,OU=Finance,OU=Staff,DC=corp,DC=example,DC=com")
    decision = decide([grant], ALICE, "ad.user.reset-password", moved)
    assert not decision.allowed
    assert "outside every scope" in decision.reason
    assert visible([grant], ALICE, [moved, user(f"CN=Carol,{SALES_OU}")]) == [
        user(f"CN=Carol,{SALES_OU}")
    ]


def test_a_role_without_the_action_or_the_field_is_refused_naming_it() -> None:
    grant = Assignment(role=HELP_DESK, scope=SALES, trustee=Trustee(kind="user", ident=ALICE.name))
    bob = user(f"CN=Bob,{SALES_OU}")
    no_action = decide([grant], ALICE, "ad.user.delete", bob)
    assert not no_action.allowed and "'ad.user.delete'" in no_action.reason
    no_field = decide([grant], ALICE, "ad.user.edit", bob, writes=("telephoneNumber", "title"))
    assert not no_field.allowed and "'title'" in no_field.reason


def test_group_assignments_count_and_strangers_hold_nothing() -> None:
    grant = Assignment(role=HELP_DESK, scope=SALES, trustee=HELP_DESK_GROUP)
    bob = user(f"CN=Bob,{SALES_OU}")
    member = ConsoleUser(name="dave@contoso.com", groups=frozenset({HELP_DESK_GROUP}))
    assert decide([grant], member, "ad.user.unlock", bob).allowed
    stranger = decide([grant], ConsoleUser(name="eve@contoso.com"), "ad.user.unlock", bob)
    assert not stranger.allowed and "holds no delegated role" in stranger.reason


def test_readable_fields_are_those_the_role_reads_or_writes() -> None:
    grant = Assignment(role=HELP_DESK, scope=SALES, trustee=Trustee(kind="user", ident=ALICE.name))
    bob = user(f"CN=Bob,{SALES_OU}", displayName="Bob", department="Sales", homePhone="555",
               telephoneNumber="123")  # fmt: skip
    assert readable([grant], ALICE, bob) == {
        "displayName": "Bob",
        "department": "Sales",
        "telephoneNumber": "123",
    }
    outside = user("CN=Bob,CN=Users,DC=corp,DC=example,DC=com", displayName="Bob")
    assert readable([grant], ALICE, outside) == {}


def test_a_virtual_admin_unit_spans_both_directories() -> None:
    sales_people = Scope(
        name="Sales people",
        kind=ScopeKind.VIRTUAL,
        query=ObjectQuery(
            object_kinds=frozenset({"user"}),
            conditions=(
                Condition(field="department", comparison=Comparison.EQUALS, values=("sales",)),
            ),
        ),
    )
    role = Role(name="Phones", actions=frozenset({"ad.user.edit", "entra.user.edit"}),
                write_fields=frozenset({"telephoneNumber", "businessPhones"}))  # fmt: skip
    grant = Assignment(
        role=role, scope=sales_people, trustee=Trustee(kind="user", ident=ALICE.name)
    )
    on_prem = user("CN=Bob,CN=Users,DC=corp,DC=example,DC=com", department=["Sales"])
    cloud = Target(source=TENANT, directory="entra", object_kind="user", path="9a1b",
                   fields={"department": "Sales"})  # fmt: skip
    finance = Target(source=TENANT, directory="entra", object_kind="user", path="9a1c",
                     fields={"department": "Finance"})  # fmt: skip
    assert decide([grant], ALICE, "ad.user.edit", on_prem, writes=("telephoneNumber",)).allowed
    assert decide([grant], ALICE, "entra.user.edit", cloud, writes=("businessPhones",)).allowed
    assert not decide([grant], ALICE, "entra.user.edit", finance).allowed


def test_an_administrative_unit_scope_follows_membership() -> None:
    unit = Scope(name="Paris", kind=ScopeKind.ENTRA_ADMIN_UNIT, source=TENANT, base="au-paris")
    role = Role(name="Paris desk", actions=frozenset({"entra.user.revoke-sessions"}))
    grant = Assignment(role=role, scope=unit, trustee=Trustee(kind="user", ident=ALICE.name))
    inside = Target(source=TENANT, directory="entra", object_kind="user", path="u1",
                    admin_units=frozenset({"au-paris"}))  # fmt: skip
    left = Target(source=TENANT, directory="entra", object_kind="user", path="u1")
    assert decide([grant], ALICE, "entra.user.revoke-sessions", inside).allowed
    assert not decide([grant], ALICE, "entra.user.revoke-sessions", left).allowed


@pytest.mark.parametrize(
    ("dn", "base", "within"),
    [
        (f"CN=Bob,{SALES_OU}", SALES_OU, True),
        (SALES_OU, SALES_OU, True),
        ("cn=bob, ou=SALES ,ou=staff,dc=CORP,dc=example,dc=com", SALES_OU, True),
        ("CN=Bob,OU=Sales2,OU=Staff,DC=corp,DC=example,DC=com", SALES_OU, False),
        (
            r"CN=Sales\,OU=Sales,OU=Staff,DC=corp,DC=example,DC=com",
            "OU=Staff,DC=corp,DC=example,DC=com",
            True,
        ),
        ("OU=Staff,DC=corp,DC=example,DC=com", SALES_OU, False),
        ("CN=Bob,DC=other,DC=com", "", False),
    ],
)
def test_dn_within_compares_rdns_not_strings(dn: str, base: str, within: bool) -> None:
    assert dn_within(dn, base) is within


def test_bad_scopes_and_conditions_name_what_is_wrong() -> None:
    with pytest.raises(DelegationError, match="needs a query"):
        Scope(name="v", kind=ScopeKind.VIRTUAL)
    with pytest.raises(DelegationError, match="no OU"):
        Scope(name="ou", kind=ScopeKind.AD_SUBTREE, source=AD)
    with pytest.raises(DelegationError, match="equals needs a value"):
        Condition(field="department", comparison=Comparison.EQUALS)
    with pytest.raises(DelegationError, match="takes one value"):
        Condition(field="department", comparison=Comparison.STARTS_WITH, values=("a", "b"))


def test_every_web_action_names_a_feature_of_the_manifest() -> None:
    features = {f.key: f for f in MANIFEST.features}
    for item in ADMIN_ACTIONS:
        assert item.feature in features, item.key
        assert features[item.feature].service.value == "administrator", item.key
        assert item.key.startswith(f"{item.directory}.{item.object_kind}."), item.key
    assert len(ACTIONS_BY_KEY) == len(ADMIN_ACTIONS)
