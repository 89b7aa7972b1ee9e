"""Six AD rules whose change the throwaway test DC cannot make, held to the change events
dirguard's AD capture stores: the shapes (resource type from the row's classification,
operation, attribute, old/new value as the DirSync diff records them: DN strings for links,
integers for flag words, bytes for binary SIDs) the capture produces for attributes Samba does
have. The events are built, not captured from a Windows DC (none can run here); why each change
cannot be made on the test DC:

- sIDHistory: Windows writes it only through DsAddSidHistory during a migration (or an attacker
  through DCShadow / a DC's own database); a plain LDAP write is refused.
- BadSuccessor: msDS-ManagedAccountPrecededByLink and msDS-DelegatedMSAState are Windows Server
  2025 schema attributes.
- ESC1/ESC2 certificate templates: templates exist only where AD CS is installed.
- A new DC (SERVER_TRUST_ACCOUNT) and an nTDSDSA under Sites: a real second DC's join.
- A trust: the other domain must be reachable to create one.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from dirguard.core.threats.evaluate import match_event
from tests.threats.test_evaluate import NOW, RULES, Ctx, _binary_sid, _event

BASE = "DC=corp,DC=test"
CONFIG = f"CN=Configuration,{BASE}"


def _hits(rule: str, **values: Any) -> bool:
    return match_event(RULES[rule], _event(**values), Ctx(), NOW) is not None


def test_sid_history_written_but_not_cleared() -> None:
    user = {"resource_type": "ad.user", "object_path": f"CN=eve,CN=Users,{BASE}"}
    da_sid = _binary_sid("S-1-5-21-1-2-3-512")
    assert _hits(
        "AD-SIDHISTORY-WRITTEN", **user, op="add-value", attribute="sIDHistory", new_value=da_sid
    )
    assert not _hits(
        "AD-SIDHISTORY-WRITTEN",
        **user,
        op="remove-value",
        attribute="sIDHistory",
        old_value=da_sid,
        new_value=None,
    )


def test_dmsa_linked_to_a_predecessor() -> None:
    dmsa = {"resource_type": "ad.computer", "object_path": f"CN=dmsa1,OU=Apps,{BASE}"}
    assert _hits(
        "AD-DMSA-SUCCESSOR",
        **dmsa,
        op="add-value",
        attribute="msDS-ManagedAccountPrecededByLink",
        new_value=f"CN=Administrator,CN=Users,{BASE}",
    )
    assert _hits(
        "AD-DMSA-SUCCESSOR",
        **dmsa,
        op="modify",
        attribute="msDS-DelegatedMSAState",
        old_value=0,
        new_value=2,
    )
    assert not _hits("AD-DMSA-SUCCESSOR", **dmsa, op="modify", attribute="description")


def test_certificate_template_made_esc1_or_esc2() -> None:
    template = {
        "resource_type": "ad.configuration_object",
        "object_path": "CN=WebServer,CN=Certificate Templates,CN=Public Key Services,"
        f"CN=Services,{CONFIG}",
    }
    assert _hits(
        "AD-CERT-TEMPLATE-ESC",
        **template,
        op="modify",
        attribute="msPKI-Certificate-Name-Flag",
        old_value=0x8000000,
        new_value=0x1,  # CT_FLAG_ENROLLEE_SUPPLIES_SUBJECT
    )
    assert _hits(
        "AD-CERT-TEMPLATE-ESC",
        **template,
        op="add-value",
        attribute="pKIExtendedKeyUsage",
        new_value="2.5.29.37.0",  # any purpose
    )
    elsewhere = replace(_event(**template), object_path=f"CN=WebServer,CN=Services,{CONFIG}")
    assert match_event(RULES["AD-CERT-TEMPLATE-ESC"], elsewhere, Ctx(), NOW) is None


def test_a_computer_turned_dc_and_an_ntdsdsa_registered() -> None:
    pc = {"resource_type": "ad.computer", "object_path": f"CN=pc7,CN=Computers,{BASE}"}
    assert _hits(
        "AD-NEW-DC",
        **pc,
        op="modify",
        attribute="userAccountControl",
        old_value=0x1000,
        new_value=0x2000,
    )
    assert not _hits(
        "AD-NEW-DC", **pc, op="modify", attribute="userAccountControl", old_value=0x2000,
        new_value=0x82000,
    )  # fmt: skip
    ntds = f"CN=NTDS Settings,CN=PC7,CN=Servers,CN=Default-First-Site-Name,CN=Sites,{CONFIG}"
    assert _hits(
        "AD-NTDSDSA-CREATED",
        resource_type="ad.configuration_object",
        object_path=ntds,
        object_name="NTDS Settings",
        op="create",
        attribute=None,
        new_value=None,
    )


def test_a_trust_created_or_its_sid_filtering_loosened() -> None:
    trust = {
        "resource_type": "ad.domain_object",
        "object_path": f"CN=partner.example,CN=System,{BASE}",
        "object_name": "partner.example",
    }
    assert _hits(
        "AD-TRUST-CHANGED",
        **trust,
        op="modify",
        attribute="trustAttributes",
        old_value=0x4,  # QUARANTINED_DOMAIN (SID filtering)
        new_value=0x0,
    )
    assert not _hits(
        "AD-TRUST-CHANGED",
        **{**trust, "object_path": f"CN=partner.example,CN=Users,{BASE}"},
        op="modify",
        attribute="trustAttributes",
        new_value=0,
    )
