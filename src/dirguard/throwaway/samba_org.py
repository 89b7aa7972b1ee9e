"""A small, realistic organisation in a throwaway DC, for ``dirguard demo``: department OUs
with their users (enabled, with passwords), department groups nested in an all-staff group,
service accounts with SPNs, and a second administrator — the "rogue admin" whose bad half hour
the demo plays and undoes.

Everything is made over LDAPS as the DC's administrator, under one root OU so that a DC shared
with other work (the test suite's) keeps it apart.
"""

from __future__ import annotations

import secrets
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

from dirguard.providers.ad.passwords import unicode_pwd
from dirguard.throwaway.samba_dc import SambaDC

DEPARTMENTS = ("Sales", "Engineering", "Finance", "Support")
ROGUE = "rogue.admin"
NORMAL_ACCOUNT = 512
"""userAccountControl of an enabled user."""


@dataclass(frozen=True, kw_only=True)
class Department:
    name: str
    ou: str
    group: str
    users: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Organisation:
    root: str
    departments: dict[str, Department]
    all_staff: str
    service_accounts: tuple[str, ...]
    rogue_dn: str
    rogue_sam: str
    rogue_upn: str
    rogue_password: str = field(repr=False)

    @property
    def users(self) -> int:
        return sum(len(d.users) for d in self.departments.values())


def _password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "Dg1!" + "".join(secrets.choice(alphabet) for _ in range(20))


def _add(conn: Any, dn: str, attrs: dict[str, list[bytes]]) -> None:
    import ldap.modlist

    conn.add_s(dn, ldap.modlist.addModlist(attrs))


def _user(conn: Any, dn: str, sam: str, extra: dict[str, list[bytes]]) -> None:
    attrs = {
        "objectClass": [b"top", b"person", b"organizationalPerson", b"user"],
        "sAMAccountName": [sam.encode()],
        "unicodePwd": [unicode_pwd(_password())],
        "userAccountControl": [str(NORMAL_ACCOUNT).encode()],
        **extra,
    }
    _add(conn, dn, attrs)


def seed_organisation(dc: SambaDC, conn: Any, users_per_department: int = 40) -> Organisation:
    """Make the organisation over ``conn`` (bound as the DC's administrator)."""
    import ldap

    tag = uuid.uuid4().hex[:6]
    realm = dc.realm.lower()
    root = f"OU=Contoso {tag},{dc.base_dn}"
    _add(conn, root, {"objectClass": [b"organizationalUnit"], "description": [b"dirguard demo"]})
    groups_ou = f"OU=Groups,{root}"
    _add(conn, groups_ou, {"objectClass": [b"organizationalUnit"]})
    all_staff = f"CN=All Staff {tag},{groups_ou}"
    departments: dict[str, Department] = {}
    for name in DEPARTMENTS:
        ou = f"OU={name},{root}"
        _add(conn, ou, {"objectClass": [b"organizationalUnit"]})
        users = []
        for n in range(users_per_department):
            sam = f"{name[:3].lower()}{n:03d}{tag}"
            dn = f"CN={name} User {n:03d},{ou}"
            _user(
                conn,
                dn,
                sam,
                {
                    "givenName": [name.encode()],
                    "sn": [f"User {n:03d}".encode()],
                    "displayName": [f"{name} User {n:03d}".encode()],
                    "department": [name.encode()],
                    "title": [b"Manager" if n == 0 else b"Associate"],
                    "userPrincipalName": [f"{sam}@{realm}".encode()],
                    "mail": [f"{sam}@{realm}".encode()],
                },
            )
            users.append(dn)
        group = f"CN={name} {tag},{groups_ou}"
        _add(
            conn,
            group,
            {
                "objectClass": [b"top", b"group"],
                "sAMAccountName": [f"{name.lower()}-{tag}".encode()],
                "member": [u.encode() for u in users],
            },
        )
        departments[name] = Department(name=name, ou=ou, group=group, users=tuple(users))
    _add(
        conn,
        all_staff,
        {
            "objectClass": [b"top", b"group"],
            "sAMAccountName": [f"all-staff-{tag}".encode()],
            "member": [d.group.encode() for d in departments.values()],
        },
    )
    services_ou = f"OU=Service Accounts,{root}"
    _add(conn, services_ou, {"objectClass": [b"organizationalUnit"]})
    service_accounts = []
    for app in ("sql", "web", "backup"):
        sam = f"svc-{app}-{tag}"
        dn = f"CN={sam},{services_ou}"
        spn = f"{app.upper()}/{app}-{tag}.{realm}"  # SPNs are unique in a forest
        _user(conn, dn, sam, {"servicePrincipalName": [spn.encode()]})
        service_accounts.append(dn)
    admins_ou = f"OU=Admins,{root}"
    _add(conn, admins_ou, {"objectClass": [b"organizationalUnit"]})
    rogue_sam = f"{ROGUE}.{tag}"[:20]
    rogue_dn = f"CN={rogue_sam},{admins_ou}"
    rogue_password = _password()
    _add(
        conn,
        rogue_dn,
        {
            "objectClass": [b"top", b"person", b"organizationalPerson", b"user"],
            "sAMAccountName": [rogue_sam.encode()],
            "userPrincipalName": [f"{rogue_sam}@{realm}".encode()],
            "unicodePwd": [unicode_pwd(rogue_password)],
            "userAccountControl": [str(NORMAL_ACCOUNT).encode()],
        },
    )
    domain_admins = f"CN=Domain Admins,CN=Users,{dc.base_dn}"
    conn.modify_s(domain_admins, [(ldap.MOD_ADD, "member", [rogue_dn.encode()])])
    return Organisation(
        root=root,
        departments=departments,
        all_staff=all_staff,
        service_accounts=tuple(service_accounts),
        rogue_dn=rogue_dn,
        rogue_sam=rogue_sam,
        rogue_upn=f"{rogue_sam}@{realm}",
        rogue_password=rogue_password,
    )
