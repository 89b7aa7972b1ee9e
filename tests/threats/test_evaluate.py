"""The evaluator and the incident decisions, on events as the store holds them (pure logic: the
values below are the shapes the real Samba capture stores, see tests/threats/test_ad_threats.py
for the same rules on the real DC)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from dirguard.core.threats.evaluate import match_event
from dirguard.core.threats.identity import content_sid
from dirguard.core.threats.incidents import Action, OpenAlert, decide
from dirguard.core.threats.model import EventFacts, Rule
from dirguard.services.threats.definitions import builtin_rules

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
RULES = {r.id: r for r in builtin_rules()}


class Ctx:
    """The store's view of an object, given: its content, its first recorded names, the groups
    of a member."""

    def __init__(
        self,
        groups: Sequence[str] = (),
        content: dict[str, Any] | None = None,
        first: Sequence[str] = (),
        deleted: Sequence[str] = (),
    ) -> None:
        self.groups, self._content, self.first = list(groups), content or {}, list(first)
        self.deleted = set(deleted)

    def content(self, object_id: int) -> dict[str, Any]:
        return self._content

    def sid(self, object_id: int) -> str | None:
        return content_sid(self._content)

    def first_names(self, object_id: int) -> Sequence[str]:
        return self.first

    def groups_of(self, source: str, member: str) -> Sequence[str]:
        return self.groups

    def is_deleted(self, source: str, external_id: str) -> bool:
        return external_id in self.deleted


def _event(**values: Any) -> EventFacts:
    base: dict[str, Any] = {
        "event_id": 1,
        "source": "ad:corp.test",
        "sequence": 1,
        "resource_type": "ad.group",
        "object_id": 1,
        "object_path": "CN=Domain Admins,CN=Users,DC=corp,DC=test",
        "object_name": "Domain Admins",
        "op": "add-value",
        "attribute": "member",
        "old_value": None,
        "new_value": "CN=eve,CN=Users,DC=corp,DC=test",
        "actor": "CORP\\rogue",
        "actor_source": "samba-audit",
        "actor_address": "10.0.0.9",
        "occurred_at": None,
        "observed_at": NOW,
    }
    return EventFacts(**(base | values))


def _hits(rule_id: str, event: EventFacts, ctx: Ctx | None = None) -> bool:
    return match_event(RULES[rule_id], event, ctx or Ctx(), NOW) is not None


def _sd(*aces: str) -> dict[str, Any]:
    return {
        "sddl": "O:DA",
        "difference": {"aces_added": [{"acl": "DACL", "ace": a, "position": 0} for a in aces]},
    }


def test_privileged_group_addition_and_its_exclusions() -> None:
    event = _event()
    assert _hits("AD-PRIV-GROUP-ADD", event)
    assert not _hits(
        "AD-PRIV-GROUP-ADD",
        replace(event, object_name="Helpdesk", object_path="CN=Helpdesk,DC=corp,DC=test"),
    )
    assert not _hits("AD-PRIV-GROUP-ADD", replace(event, op="remove-value"))
    rule = RULES["AD-PRIV-GROUP-ADD"]
    breakglass = replace(rule, exclude=replace(rule.exclude, actors=("CORP\\breakglass*",)))
    assert match_event(breakglass, replace(event, actor="corp\\BreakGlass01"), Ctx(), NOW) is None
    assert match_event(breakglass, event, Ctx(), NOW) is not None


def test_dcsync_grant_to_a_user_but_not_to_domain_controllers() -> None:
    head = {
        "resource_type": "ad.domain_object",
        "object_path": "DC=corp,DC=test",
        "object_name": "DC=corp,DC=test",
        "op": "modify",
        "attribute": "nTSecurityDescriptor",
    }
    grant = _event(
        **head, new_value=_sd("(OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;S-1-5-21-1-2-3-1103)")
    )
    assert _hits("AD-DCSYNC-GRANT", grant)
    assert not _hits("AD-DOMAIN-HEAD-DELEGATION", grant)  # one alert for one change
    to_dcs = _event(**head, new_value=_sd("(OA;;CR;1131f6aa-9c07-11d1-f79f-00c04fc2dcd2;;ED)"))
    assert not _hits("AD-DCSYNC-GRANT", to_dcs)
    other = _event(**head, new_value=_sd("(A;;RPWP;;;S-1-5-21-1-2-3-1103)"))
    assert _hits("AD-DOMAIN-HEAD-DELEGATION", other) and not _hits("AD-DCSYNC-GRANT", other)


def test_broad_principal_write_grant() -> None:
    ou = {
        "resource_type": "ad.organizational_unit",
        "object_path": "OU=Sales,DC=corp,DC=test",
        "op": "modify",
        "attribute": "nTSecurityDescriptor",
    }
    assert _hits("AD-BROAD-PRINCIPAL-GRANT", _event(**ou, new_value=_sd("(A;CI;RPWP;;;AU)")))
    assert not _hits("AD-BROAD-PRINCIPAL-GRANT", _event(**ou, new_value=_sd("(A;CI;RP;;;AU)")))
    assert not _hits(
        "AD-BROAD-PRINCIPAL-GRANT", _event(**ou, new_value=_sd("(A;CI;RPWP;;;S-1-5-21-1-2-3-1200)"))
    )


def test_user_account_control_bits_gained() -> None:
    computer = {
        "resource_type": "ad.computer",
        "object_path": "CN=PC1,CN=Computers,DC=corp,DC=test",
        "op": "modify",
        "attribute": "userAccountControl",
    }
    assert _hits(
        "AD-UNCONSTRAINED-DELEGATION", _event(**computer, old_value="4096", new_value="528384")
    )
    assert not _hits(
        "AD-UNCONSTRAINED-DELEGATION", _event(**computer, old_value="528384", new_value="528386")
    )
    dc = _event(**computer, old_value="8192", new_value=str(8192 | 524288))
    assert not _hits("AD-UNCONSTRAINED-DELEGATION", dc)  # a DC is trusted for delegation
    user = {**computer, "resource_type": "ad.user"}
    assert _hits(
        "AD-ASREP-ROASTABLE", _event(**user, old_value="512", new_value=str(512 | 4194304))
    )


def test_spn_only_on_a_privileged_account() -> None:
    spn = _event(
        resource_type="ad.user",
        object_path="CN=eve,CN=Users,DC=corp,DC=test",
        op="modify",
        attribute="servicePrincipalName",
        new_value=["http/x"],
    )
    assert _hits(
        "AD-SPN-PRIVILEGED",
        spn,
        Ctx(groups=["CN=Domain Admins,CN=Users,DC=corp,DC=test", "Domain Admins"]),
    )
    assert not _hits("AD-SPN-PRIVILEGED", spn, Ctx(groups=["Helpdesk"]))


def test_entra_rules_on_the_generic_shape() -> None:
    ca = {
        "source": "entra:contoso",
        "resource_type": "entra.conditional_access_policy",
        "object_path": None,
        "object_name": "Require MFA",
        "op": "modify",
        "attribute": "state",
        "actor": "mallory@contoso.example",
    }
    assert _hits("ENTRA-CA-DISABLED", _event(**ca, old_value="enabled", new_value="disabled"))
    assert _hits(
        "ENTRA-CA-REPORT-ONLY",
        _event(**ca, old_value="enabled", new_value="enabledForReportingButNotEnforced"),
    )
    assert not _hits("ENTRA-CA-DISABLED", _event(**ca, old_value="disabled", new_value="enabled"))
    assert not _hits(
        "ENTRA-CA-DISABLED", _event(**(ca | {"source": "ad:corp.test"}), new_value="disabled")
    )
    role = {
        "source": "entra:contoso",
        "resource_type": "entra.directory_role_assignment",
        "object_name": "u1",
        "op": "create",
        "attribute": None,
    }
    ga = _event(
        **role,
        new_value={"roleDefinitionId": "62e90394-69f5-4237-9190-012177145e10", "principalId": "u1"},
    )
    assert _hits("ENTRA-GLOBAL-ADMIN-ASSIGNED", ga) and not _hits("ENTRA-PRIV-ROLE-ASSIGNED", ga)
    reader = _event(**role, new_value={"roleDefinitionId": "f2ef992c-3afb-46b9-b7cf-a126ee74c451"})
    assert not _hits("ENTRA-GLOBAL-ADMIN-ASSIGNED", reader) and not _hits(
        "ENTRA-PRIV-ROLE-ASSIGNED", reader
    )


def _rule(count: int = 1, window: int = 600, dedup: int = 3600, throttle: int = 300) -> Rule:
    rule = RULES["AD-PRIV-GROUP-ADD"]
    return replace(
        rule,
        threshold=replace(rule.threshold, count=count, window=timedelta(seconds=window)),
        grouping=replace(
            rule.grouping,
            dedup_window=timedelta(seconds=dedup),
            throttle=timedelta(seconds=throttle),
        ),
    )


def test_threshold_fires_at_n_and_not_at_n_minus_one() -> None:
    rule = _rule(count=3, window=600)
    times = [NOW - timedelta(seconds=s) for s in (120, 60)]
    assert decide(rule, NOW, times[:1], None, NOW).action is Action.PENDING
    assert decide(rule, NOW, times, None, NOW).action is Action.NEW
    old = [NOW - timedelta(seconds=s) for s in (900, 60)]  # one outside the window
    assert decide(rule, NOW, old, None, NOW).action is Action.PENDING


def test_dedup_joins_the_open_alert_and_throttles_its_notifications() -> None:
    rule = _rule(dedup=3600, throttle=300)
    recent = OpenAlert(
        id=7, last_seen=NOW - timedelta(minutes=10), last_notified=NOW - timedelta(minutes=1)
    )
    joined = decide(rule, NOW, [], recent, NOW)
    assert (joined.action, joined.alert_id, joined.notify) == (Action.JOIN, 7, False)
    later = replace(recent, last_notified=NOW - timedelta(minutes=6))
    assert decide(rule, NOW, [], later, NOW).notify
    stale = replace(recent, last_seen=NOW - timedelta(hours=2))
    assert decide(rule, NOW, [], stale, NOW).action is Action.NEW


def _binary_sid(text: str) -> bytes:
    _s, _one, authority, *subs = text.split("-")
    return (
        bytes([1, len(subs)])
        + int(authority).to_bytes(6, "big")
        + b"".join(int(s).to_bytes(4, "little") for s in subs)
    )


def test_privileged_groups_are_known_by_sid_and_first_name_under_any_name() -> None:
    renamed = _event(object_name="Tier0 Ops", object_path="CN=Tier0 Ops,CN=Users,DC=corp,DC=test")
    assert not _hits("AD-PRIV-GROUP-ADD", renamed)
    da = Ctx(content={"objectSid": [_binary_sid("S-1-5-21-1-2-3-512")]})
    assert _hits("AD-PRIV-GROUP-ADD", renamed, da)
    hit = match_event(RULES["AD-PRIV-GROUP-ADD"], renamed, da, NOW)
    assert hit is not None and not hit.protected  # auto-undo is off by default
    on = replace(
        RULES["AD-PRIV-GROUP-ADD"],
        auto_undo=replace(RULES["AD-PRIV-GROUP-ADD"].auto_undo, enabled=True),
    )
    assert (hit := match_event(on, renamed, da, NOW)) is not None and hit.protected
    # RID 1512 is no Domain Admins; Administrators are S-1-5-32-544 in every domain.
    assert not _hits("AD-PRIV-GROUP-ADD", renamed, Ctx(content={"objectSid": [_binary_sid(
        "S-1-5-21-1-2-3-1512")]}))  # fmt: skip
    assert _hits("AD-PRIV-GROUP-ADD", renamed, Ctx(content={"objectSid": [_binary_sid(
        "S-1-5-32-544")]}))  # fmt: skip
    dns = replace(renamed, object_name="Name Ops", object_path="CN=Name Ops,CN=Users,DC=c")
    assert not _hits("AD-OPERATOR-GROUP-ADD", dns)
    assert _hits("AD-OPERATOR-GROUP-ADD", dns, Ctx(first=["DnsAdmins", "CN=DnsAdmins,CN=Users"]))
    spn = _event(
        resource_type="ad.user",
        object_path="CN=eve,CN=Users,DC=corp,DC=test",
        object_name="eve",
        op="add-value",
        attribute="servicePrincipalName",
        new_value="http/x",
    )
    assert _hits("AD-SPN-PRIVILEGED", spn, Ctx(groups=["S-1-5-21-1-2-3-512", "CN=Tier0 Ops"]))
    assert not _hits("AD-SPN-PRIVILEGED", spn, Ctx(groups=["S-1-5-21-1-2-3-513"]))


def test_an_ou_deletion_is_matched_and_shown_by_its_dn_before_deletion() -> None:
    gone = _event(
        resource_type="ad.organizational_unit",
        object_path="OU=Finance\\0ADEL:1,CN=Deleted Objects,DC=corp,DC=test",
        object_name=None,
        op="delete",
        attribute="distinguishedName",
        old_value="OU=Finance,DC=corp,DC=test",
        new_value="OU=Finance\\0ADEL:1,CN=Deleted Objects,DC=corp,DC=test",
    )
    hit = match_event(RULES["AD-OU-DELETED"], gone, Ctx(), NOW)
    assert hit is not None and gone.shown_path == "OU=Finance,DC=corp,DC=test"
    rule = RULES["AD-OU-DELETED"]
    spared = replace(rule, exclude=replace(rule.exclude, objects=("OU=Finance,DC=corp,DC=test",)))
    assert match_event(spared, gone, Ctx(), NOW) is None


def test_full_control_on_an_ou_to_one_account_but_not_to_admins_or_narrow_rights() -> None:
    ou = {
        "resource_type": "ad.organizational_unit",
        "object_path": "OU=Engineering,DC=corp,DC=test",
        "object_name": "Engineering",
        "op": "modify",
        "attribute": "nTSecurityDescriptor",
    }
    full = "(A;;CCDCLCSWRPWPDTLOCRSDRCWDWO;;;S-1-5-21-1-2-3-1105)"
    assert _hits("AD-OU-CONTROL-GRANT", _event(**ou, new_value=_sd(full)))
    assert _hits("AD-OU-CONTROL-GRANT", _event(**ou, new_value=_sd("(A;CI;GA;;;S-1-5-21-1-2-3-9)")))
    narrow = "(OA;CI;CR;00299570-246d-11d0-a768-00aa006e0529;;S-1-5-21-1-2-3-1105)"
    assert not _hits("AD-OU-CONTROL-GRANT", _event(**ou, new_value=_sd(narrow)))
    assert not _hits("AD-OU-CONTROL-GRANT", _event(**ou, new_value=_sd("(A;;SWDT;;;S-1-5-9-1)")))
    assert not _hits("AD-OU-CONTROL-GRANT", _event(**ou, new_value=_sd("(A;CI;GA;;;DA)")))
