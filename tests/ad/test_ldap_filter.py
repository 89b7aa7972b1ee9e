"""A row's LDAP filter is its selection predicate: the filter evaluated on a normalized object
as a DC evaluates it (pure, no DC needed)."""

from __future__ import annotations

import pytest

from dirguard.providers.ad.ldap_filter import FilterError, selector

SCHEMA = "CN=Schema,CN=Configuration,DC=corp,DC=example,DC=com"
USER = {
    "objectClass": ["top", "person", "organizationalPerson", "user"],
    "objectCategory": [f"CN=Person,{SCHEMA}"],
    "sAMAccountName": ["ann"],
}
COMPUTER = {
    "objectClass": ["top", "person", "organizationalPerson", "user", "computer"],
    "objectCategory": [f"CN=Computer,{SCHEMA}"],
}
OU = {
    "objectClass": ["top", "organizationalUnit"],
    "objectCategory": [f"CN=Organizational-Unit,{SCHEMA}"],
}


def test_a_category_is_named_by_its_class_as_in_ad() -> None:
    users = selector("(&(objectCategory=person)(objectClass=user))")
    assert users(USER)
    assert not users(COMPUTER), "a computer is a user object of category computer"
    assert selector("(objectCategory=organizationalUnit)")(OU)
    assert selector(f"(objectCategory=CN=Person,{SCHEMA})")(USER)


def test_values_and_names_compare_case_insensitively() -> None:
    assert selector("(OBJECTCLASS=User)")(USER)
    assert selector("(samaccountname=ANN)")(USER)


def test_or_not_and_presence() -> None:
    assert selector("(|(objectClass=group)(objectClass=computer))")(COMPUTER)
    assert not selector("(|(objectClass=group)(objectClass=contact))")(USER)
    assert selector("(&(objectClass=user)(!(objectClass=computer)))")(USER)
    assert not selector("(&(objectClass=user)(!(objectClass=computer)))")(COMPUTER)
    assert selector("(sAMAccountName=*)")(USER)
    assert not selector("(sAMAccountName=*)")(OU)
    assert selector("(objectClass=*)")(OU)


@pytest.mark.parametrize(
    "text",
    [
        "objectClass=user",
        "(objectClass=us*)",
        "(uSNChanged>=5)",
        "(&)",
        "(!(a=b)(c=d))",
        "(a=b))",
        "(objectClass=user",
    ],
)
def test_filters_outside_the_subset_are_refused(text: str) -> None:
    with pytest.raises(FilterError):
        selector(text)
