"""The DirSync LDAP control (1.2.840.113556.1.4.841), encoded and decoded with pyasn1.

Request value (MS-ADTS 3.1.1.3.4.1.3)::

    DirSyncRequestValue ::= SEQUENCE { Flags INTEGER, MaxBytes INTEGER, Cookie OCTET STRING }

Response value::

    DirSyncResponseValue ::= SEQUENCE { MoreResults INTEGER, unused INTEGER,
                                        CookieServer OCTET STRING }

``Flags`` is a 32-bit field sent as a signed INTEGER: 0x80000000 (incremental values) goes on the
wire as -2147483648, as Windows and Samba expect.
"""

from __future__ import annotations

from typing import Any

from ldap.controls import RequestControl, ResponseControl
from pyasn1.codec.ber import decoder, encoder  # type: ignore[import-untyped]
from pyasn1.type import namedtype, univ  # type: ignore[import-untyped]

DIRSYNC_OID = "1.2.840.113556.1.4.841"

LDAP_DIRSYNC_OBJECT_SECURITY = 0x00000001
"""Return only what the caller may read (no Replicate Directory Changes right needed)."""
LDAP_DIRSYNC_ANCESTORS_FIRST_ORDER = 0x00000800
"""Parents before children."""
LDAP_DIRSYNC_PUBLIC_DATA_ONLY = 0x00002000
LDAP_DIRSYNC_INCREMENTAL_VALUES = 0x80000000
"""Linked multi-valued attributes: only the values added or removed, not the whole list."""


class _RequestValue(univ.Sequence):  # type: ignore[misc]
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("flags", univ.Any()),
        namedtype.NamedType("maxBytes", univ.Integer()),
        namedtype.NamedType("cookie", univ.OctetString()),
    )


class _ResponseValue(univ.Sequence):  # type: ignore[misc]
    componentType = namedtype.NamedTypes(
        namedtype.NamedType("moreResults", univ.Integer()),
        namedtype.NamedType("unused", univ.Integer()),
        namedtype.NamedType("cookie", univ.OctetString()),
    )


def _flags_tlv(flags: int) -> bytes:
    """The flags as a minimal BER INTEGER of their signed 32-bit value (X.690 8.3.2).

    pyasn1 0.6 encodes -2147483648 with a redundant leading 0xFF octet; strict decoders (a
    32-bit field on Windows) may refuse that, so this one value is encoded here."""
    if not 0 <= flags <= 0xFFFFFFFF:
        raise ValueError(f"DirSync flags {flags:#x} do not fit in 32 bits")
    body = (flags - 0x1_0000_0000 if flags & 0x80000000 else flags).to_bytes(4, "big", signed=True)
    while len(body) > 1 and (
        (body[0] == 0x00 and body[1] < 0x80) or (body[0] == 0xFF and body[1] >= 0x80)
    ):
        body = body[1:]
    return bytes([0x02, len(body)]) + body


class DirSyncRequestControl(RequestControl):  # type: ignore[misc]
    """Ask for the changes since ``cookie`` (empty: everything), at most ``max_bytes`` a page."""

    controlType = DIRSYNC_OID

    def __init__(
        self,
        *,
        cookie: bytes = b"",
        flags: int = LDAP_DIRSYNC_INCREMENTAL_VALUES,
        max_bytes: int = 1_048_576,
        criticality: bool = True,
    ) -> None:
        self.criticality = criticality
        self.cookie = cookie
        self.flags = flags
        self.max_bytes = max_bytes

    def encodeControlValue(self) -> bytes:
        value = _RequestValue()
        value.setComponentByName("flags", univ.Any(_flags_tlv(self.flags)))
        value.setComponentByName("maxBytes", univ.Integer(self.max_bytes))
        value.setComponentByName("cookie", univ.OctetString(self.cookie))
        encoded: bytes = encoder.encode(value)
        return encoded


class DirSyncResponseControl(ResponseControl):  # type: ignore[misc]
    """The server's answer: a new cookie and whether more changes are waiting."""

    controlType = DIRSYNC_OID

    def __init__(self, controlType: Any = None, criticality: bool = False) -> None:
        super().__init__(controlType or DIRSYNC_OID, criticality)
        self.more_results = False
        self.cookie = b""

    def decodeControlValue(self, encodedControlValue: bytes) -> None:
        value, _rest = decoder.decode(encodedControlValue, asn1Spec=_ResponseValue())
        self.more_results = int(value.getComponentByName("moreResults")) != 0
        self.cookie = bytes(value.getComponentByName("cookie"))


RESPONSE_CONTROLS = {DIRSYNC_OID: DirSyncResponseControl}
"""For python-ldap's ``resp_ctrl_classes`` argument of ``result3``."""


def encode_request_value(cookie: bytes, flags: int, max_bytes: int) -> bytes:
    """The BER value of a request (for tests against known encodings)."""
    control = DirSyncRequestControl(cookie=cookie, flags=flags, max_bytes=max_bytes)
    return control.encodeControlValue()


def decode_response_value(encoded: bytes) -> tuple[bool, bytes]:
    """``(more_results, cookie)`` of a response value."""
    control = DirSyncResponseControl()
    control.decodeControlValue(encoded)
    return control.more_results, control.cookie
