"""How stored JSON holds what JSON cannot: byte strings, byte for byte.

Directory attributes carry binary values (``objectGUID``, ``objectSid``, ``nTSecurityDescriptor``,
``thumbnailPhoto``). Versions, change-event values and audit details are stored as JSON so that
they stay readable and queryable on both SQLite and PostgreSQL; a byte string is stored as the
one-key object ``{"$bytes": "<base64>"}``. A dictionary that already has exactly the shape of a
marker (a single key ``$bytes`` or ``$dict``) is wrapped as ``{"$dict": {...}}``, so every value
decodes to exactly what was encoded, whatever its keys.

``content_hash`` is the SHA-256 of the canonical encoding (sorted keys, no whitespace, UTF-8), so
it does not depend on the database: JSONB reorders keys, SQLite keeps them. The fast path computes
it with orjson, whose sorted compact output is byte for byte the standard library's for data
without floats (the fast path refuses floats: the careful path and ``json`` handle them).

:func:`flat_content_json` serializes a normalized directory object once for both its hash and
its stored column (:class:`JsonText`, which :class:`~dirguard.store.column_types.StoredJson`
stores as it is): a snapshot does that for every object.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

BYTES_MARKER = "$bytes"
DICT_MARKER = "$dict"
_MARKERS = frozenset({BYTES_MARKER, DICT_MARKER})


class ContentEncodingError(ValueError):
    """A value that cannot be stored as JSON (names its path and type)."""


class _Unencodable(Exception):
    """Raised by the fast path; :func:`encode` then finds the path for the message."""


def _fast_encode(value: Any) -> Any:
    """:func:`encode` without tracking the path (most of a snapshot's time went into building
    path strings that only an error message would use)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is list or kind is tuple:
        return [_fast_encode(item) for item in value]
    if kind is dict:
        encoded = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _Unencodable
            encoded[key] = _fast_encode(item)
        if len(encoded) == 1 and next(iter(encoded)) in _MARKERS:
            return {DICT_MARKER: encoded}
        return encoded
    if kind is bytes:
        return {BYTES_MARKER: base64.b64encode(value).decode("ascii")}
    raise _Unencodable  # anything else (floats, other types): the careful path decides


def encode(value: Any, *, path: str = "$") -> Any:
    """Turn ``value`` into plain JSON data; byte strings become base64 markers."""
    try:
        return _fast_encode(value)
    except _Unencodable:
        return _encode(value, path)


def _encode(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ContentEncodingError(f"{path}: {value!r} is not a finite number; JSON has no NaN")
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return {BYTES_MARKER: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, Mapping):
        encoded: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ContentEncodingError(
                    f"{path}: key {key!r} is a {type(key).__name__}; JSON keys must be strings"
                )
            encoded[key] = _encode(item, f"{path}.{key}")
        if len(encoded) == 1 and next(iter(encoded)) in _MARKERS:
            return {DICT_MARKER: encoded}
        return encoded
    if isinstance(value, Sequence | set | frozenset):
        items = sorted(value, key=repr) if isinstance(value, set | frozenset) else value
        return [_encode(item, f"{path}[{index}]") for index, item in enumerate(items)]
    raise ContentEncodingError(
        f"{path}: a {type(value).__name__} cannot be stored; "
        "use str, int, float, bool, None, bytes, lists or string-keyed dicts"
    )


def decode(value: Any, *, path: str = "$") -> Any:
    """Inverse of :func:`encode`: markers become ``bytes`` and wrapped dictionaries again."""
    if isinstance(value, list):
        return [decode(item, path=f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == BYTES_MARKER:
                if not isinstance(inner, str):
                    raise ContentEncodingError(f"{path}: {BYTES_MARKER} must hold base64 text")
                try:
                    return base64.b64decode(inner.encode("ascii"), validate=True)
                except (binascii.Error, UnicodeEncodeError) as error:
                    raise ContentEncodingError(
                        f"{path}: {BYTES_MARKER} is not valid base64"
                    ) from error
            if key == DICT_MARKER:
                if not isinstance(inner, dict):
                    raise ContentEncodingError(f"{path}: {DICT_MARKER} must hold an object")
                return {k: decode(v, path=f"{path}.{k}") for k, v in inner.items()}
        return {k: decode(v, path=f"{path}.{k}") for k, v in value.items()}
    return value


def canonical_json(encoded: Any) -> bytes:
    """The one byte form of already encoded JSON data that hashes are computed over."""
    return json.dumps(
        encoded, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def json_text(encoded: Any) -> str:
    """Already encoded data as compact JSON text (orjson; the standard library for integers
    beyond 64 bits)."""
    try:
        return orjson.dumps(encoded).decode("utf-8")
    except TypeError:
        return json.dumps(encoded, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(encoded: Any) -> bytes:
    """:func:`canonical_json` of already encoded data, by orjson where that gives the same bytes
    (no floats anywhere, no integer beyond 64 bits), else by the standard library."""
    try:
        _fast_encode(encoded)  # raises for floats and anything else orjson might write apart
        return orjson.dumps(encoded, option=orjson.OPT_SORT_KEYS)
    except (_Unencodable, TypeError):
        return canonical_json(encoded)


def encode_plain(value: Any) -> tuple[Any, bool]:
    """``(encode(value), plain)``: ``plain`` when the encoding holds only text, integers, booleans,
    ``None``, lists and string-keyed objects (no floats), where :func:`canonical_bytes_plain`
    may skip :func:`canonical_bytes`' checking walk."""
    try:
        return _fast_encode(value), True
    except _Unencodable:
        return _encode(value, "$"), False


def canonical_bytes_plain(encoded: Any) -> bytes:
    """:func:`canonical_bytes` of data built only of what :func:`encode_plain` calls plain
    (the caller knows; one orjson call instead of a walk and a call), the standard library for
    an integer beyond 64 bits."""
    try:
        return orjson.dumps(encoded, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return canonical_json(encoded)


def content_hash(value: Any) -> str:
    """SHA-256 (hex) of the canonical encoding of ``value``."""
    return encode_with_hash(value)[1]


def encode_with_hash(value: Any) -> tuple[Any, str]:
    """``(encode(value), content_hash(value))`` from one encoding walk."""
    try:
        encoded = _fast_encode(value)
    except _Unencodable:
        encoded = _encode(value, "$")
        return encoded, hashlib.sha256(canonical_json(encoded)).hexdigest()
    try:
        canonical = orjson.dumps(encoded, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits: the standard library writes it
        canonical = canonical_json(encoded)
    return encoded, hashlib.sha256(canonical).hexdigest()


class JsonText:
    """JSON text already encoded and serialized (by :func:`flat_content_json`): a ``StoredJson``
    column hands it to the store's serializer (:func:`dirguard.store.database.json_text`), which
    writes it as it is. Not a ``str``, so a serializer that does not know it fails loudly
    instead of storing a quoted string."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _bytes_marker(value: Any) -> Any:
    if type(value) is bytes:
        return {BYTES_MARKER: base64.b64encode(value).decode("ascii")}
    raise TypeError(f"a {type(value).__name__} is not text or bytes")


def flat_content_json(content: Mapping[str, Sequence[str | bytes]]) -> tuple[JsonText, str]:
    """A normalized directory object (attribute name to a list of text or bytes values) as the
    canonical JSON text of its encoding and its :func:`content_hash`, serialized by orjson in
    one pass (Python runs only for byte values). The text is the canonical form, so the hash is
    the SHA-256 of exactly what is stored. Anything else than that shape (a dictionary among the
    values, a marker-shaped top level, an integer beyond 64 bits) takes the careful path."""
    if len(content) == 1 and next(iter(content)) in _MARKERS:
        encoded = encode(content)
        canonical = canonical_json(encoded)
    else:
        try:
            canonical = orjson.dumps(content, default=_bytes_marker, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            canonical = canonical_json(encode(content))
    return JsonText(canonical.decode("utf-8")), hashlib.sha256(canonical).hexdigest()
