"""DirSync deltas to change events, and the DirSync control's encoding (no server needed)."""

from __future__ import annotations

from pyasn1.codec.ber import encoder  # type: ignore[import-untyped]
from pyasn1.type import namedtype, univ  # type: ignore[import-untyped]

from dirguard.providers.ad.dirsync_control import (
    LDAP_DIRSYNC_INCREMENTAL_VALUES,
    decode_response_value,
    encode_request_value,
)
from dirguard.providers.ad.object_diff import apply_delta, diff_contents, parse_dirsync_entry
from dirguard.providers.ad.values import AttributeSyntax, Schema, normalize_entry

SCHEMA = Schema(
    [
        AttributeSyntax(name="member", syntax="2.5.5.1", link_id=2),
        AttributeSyntax(name="memberOf", syntax="2.5.5.1", link_id=3),
        AttributeSyntax(name="description", syntax="2.5.5.12"),
        AttributeSyntax(name="userAccountControl", syntax="2.5.5.9", single_valued=True),
        AttributeSyntax(name="thumbnailPhoto", syntax="2.5.5.10", single_valued=True),
        AttributeSyntax(name="objectGUID", syntax="2.5.5.10", single_valued=True),
        AttributeSyntax(name="whenChanged", syntax="2.5.5.11", single_valued=True),
        AttributeSyntax(name="isDeleted", syntax="2.5.5.8", single_valued=True),
        AttributeSyntax(name="objectCategory", syntax="2.5.5.1", single_valued=True),
    ]
)
GROUP = "CN=g,CN=Users,DC=x,DC=test"


def test_request_value_sends_incremental_flag_as_signed_32_bit() -> None:
    encoded = encode_request_value(b"abc", LDAP_DIRSYNC_INCREMENTAL_VALUES, 1000)
    # SEQUENCE { INTEGER -2147483648 (4 bytes 80 00 00 00), INTEGER 1000, OCTET STRING "abc" }
    assert encoded == bytes.fromhex("300f020480000000020203e80403616263")


def test_response_value_decodes() -> None:
    class Value(univ.Sequence):  # type: ignore[misc]
        componentType = namedtype.NamedTypes(
            namedtype.NamedType("a", univ.Integer()),
            namedtype.NamedType("b", univ.Integer()),
            namedtype.NamedType("c", univ.OctetString()),
        )

    value = Value()
    value.setComponentByName("a", 1)
    value.setComponentByName("b", 0)
    value.setComponentByName("c", b"\x00cookie\xff")
    assert decode_response_value(encoder.encode(value)) == (True, b"\x00cookie\xff")


def test_binary_by_schema_and_extended_dn_stripped() -> None:
    photo = "héllo".encode()  # valid UTF-8, still kept as bytes because the syntax says binary
    content = normalize_entry(
        SCHEMA,
        GROUP,
        {
            "thumbnailPhoto": [photo],
            "objectCategory": [b"<GUID=1234>;CN=Group,CN=Schema,DC=x"],
            "memberOf": [b"CN=a"],
        },
    )
    assert content["thumbnailPhoto"] == [photo]
    assert content["objectCategory"] == ["CN=Group,CN=Schema,DC=x"]
    assert "memberOf" not in content


def test_incremental_member_values_become_single_value_events() -> None:
    old = {"distinguishedName": [GROUP], "member": ["CN=a", "CN=b"]}
    delta = parse_dirsync_entry(
        SCHEMA, GROUP, {"member;range=1-1": [b"CN=c"], "member;range=0-0": [b"CN=a"]}
    )
    result = apply_delta(SCHEMA, old, delta)
    assert result is not None
    assert [(c.op, c.old, c.new) for c in result.changes] == [
        ("add-value", None, "CN=c"),
        ("remove-value", "CN=a", None),
    ]
    assert sorted(str(v) for v in result.content["member"]) == ["CN=b", "CN=c"]
    replay = apply_delta(SCHEMA, result.content, delta)
    assert replay is not None and replay.changes == ()


def test_modify_move_delete_undelete() -> None:
    dn = "CN=u,CN=Users,DC=x,DC=test"
    old = {"distinguishedName": [dn], "userAccountControl": ["512"], "description": ["d"]}
    moved = apply_delta(
        SCHEMA,
        old,
        parse_dirsync_entry(
            SCHEMA,
            "CN=u,OU=Sales,DC=x,DC=test",
            {"userAccountControl": [b"514"], "whenChanged": [b"1"]},
        ),
        volatile=frozenset({"whenChanged"}),
    )
    assert moved is not None
    assert [(c.op, c.attribute, c.old, c.new) for c in moved.changes] == [
        ("move", "distinguishedName", dn, "CN=u,OU=Sales,DC=x,DC=test"),
        ("modify", "userAccountControl", "512", "514"),
    ]
    tomb = "CN=u\\0ADEL:abc,CN=Deleted Objects,DC=x,DC=test"
    deleted = apply_delta(
        SCHEMA,
        moved.content,
        parse_dirsync_entry(SCHEMA, tomb, {"isDeleted": [b"TRUE"], "description": []}),
    )
    assert deleted is not None
    assert [c.op for c in deleted.changes] == ["delete"]
    assert "description" not in deleted.content
    back = apply_delta(
        SCHEMA,
        deleted.content,
        parse_dirsync_entry(SCHEMA, dn, {"isDeleted": [], "description": [b"d2"]}),
    )
    assert back is not None
    assert [(c.op, c.new) for c in back.changes] == [("undelete", dn), ("modify", ["d2"])]


def test_unknown_tombstone_is_ignored_and_full_diff_lists_links() -> None:
    tomb = parse_dirsync_entry(SCHEMA, "CN=z\\0ADEL:1,CN=Deleted Objects", {"isDeleted": [b"TRUE"]})
    assert apply_delta(SCHEMA, None, tomb) is None
    changes = diff_contents(
        SCHEMA,
        {"distinguishedName": [GROUP], "member": ["CN=a"]},
        {"distinguishedName": [GROUP], "member": ["CN=b"]},
    )
    assert [(c.op, c.old, c.new) for c in changes] == [
        ("add-value", None, "CN=b"),
        ("remove-value", "CN=a", None),
    ]
