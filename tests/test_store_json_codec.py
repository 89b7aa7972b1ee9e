"""Stored JSON keeps bytes and marker-shaped dictionaries exactly (pure, no database)."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest

from dirguard.store import json_codec

EVERY_BYTE = bytes(range(256))


@pytest.mark.parametrize(
    "value",
    [
        EVERY_BYTE,
        {"objectGUID": EVERY_BYTE[:16], "member": [b"\x00", b"", "text"]},
        {"$bytes": "not base64 at all"},
        {"$dict": {"$bytes": "x"}},
        {"nested": [{"$bytes": 1}, {"a": None, "b": [1.5, -2, True]}]},
        "Zoë Ångström — 日本語 🚀",
    ],
)
def test_encode_then_decode_gives_back_the_same_value(value: object) -> None:
    encoded = json_codec.encode(value)
    # What a database hands back is what JSON text parses to.
    assert json_codec.decode(json.loads(json.dumps(encoded))) == value


def test_hash_does_not_depend_on_key_order() -> None:
    first = json_codec.content_hash({"a": 1, "b": b"\x01"})
    assert first == json_codec.content_hash({"b": b"\x01", "a": 1})
    assert first != json_codec.content_hash({"a": 1, "b": b"\x02"})


def test_values_json_cannot_hold_are_rejected_with_their_path() -> None:
    with pytest.raises(json_codec.ContentEncodingError, match=r"\$\.attrs\.when: a datetime"):
        json_codec.encode({"attrs": {"when": datetime.now(UTC)}})
    with pytest.raises(json_codec.ContentEncodingError, match=r"\$\[1\]: nan is not a finite"):
        json_codec.encode([1.0, math.nan])
    with pytest.raises(json_codec.ContentEncodingError, match="key 1 is a int"):
        json_codec.encode({1: "x"})


def test_a_corrupt_bytes_marker_is_reported() -> None:
    with pytest.raises(json_codec.ContentEncodingError, match=r"\$\.sid: \$bytes is not valid"):
        json_codec.decode({"sid": {"$bytes": "***"}})
