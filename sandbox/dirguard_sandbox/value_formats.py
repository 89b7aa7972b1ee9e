"""Property values checked against their CSDL types and documented formats, refused with a 400
naming the property, as Graph refuses them.

- ``Edm.Duration``: ISO 8601 duration, as OData's ``dayTimeDuration`` (``P1D``, ``PT8H``,
  ``PT1H30M``, ``PT0.5S``). The "expirationPattern resource type" page
  (https://learn.microsoft.com/graph/api/resources/expirationpattern) says ``duration`` is "in ISO
  8601 format for durations. For example, PT3H refers to three hours". ``"8:00:00"`` (what a
  Python ``timedelta`` prints, and what msgraph-sdk's JSON writer sends for one) is not.
- ``Edm.DateTimeOffset``: ISO 8601 date and time with a zone (``2014-01-01T00:00:00Z``).
- enumerations (``Collection(graph.riskLevel)``, ``graph.conditionalAccessClientApp``,
  ``graph.conditionalAccessGrantControl``, ``graph.countryLookupMethodType``): one of the CSDL's
  members;
- ``countriesAndRegions`` of a countryNamedLocation ("countryNamedLocation resource type",
  https://learn.microsoft.com/graph/api/resources/countrynamedlocation): two-letter codes (ISO
  3166);
- ``cidrAddress`` of ``iPv4CidrRange`` / ``iPv6CidrRange`` ("iPv4CidrRange resource type",
  https://learn.microsoft.com/graph/api/resources/ipv4cidrrange: "IPv4 address in CIDR notation";
  likewise IPv6): an address, ``/`` and a prefix length, of the family the ``@odata.type`` names.
"""

from __future__ import annotations

import datetime
import ipaddress
import re

from dirguard_sandbox.directory_state import Json
from dirguard_sandbox.errors import bad_request

_DURATION = re.compile(
    r"-?P(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)
_DATE_TIME = re.compile(
    r"\d{4,}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d"
    r"(\.\d{1,12})?(Z|[+-]\d\d:\d\d)"
)
RISK_LEVELS = ("low", "medium", "high", "hidden", "none", "unknownFutureValue")
CLIENT_APPS = (
    "all",
    "browser",
    "mobileAppsAndDesktopClients",
    "exchangeActiveSync",
    "easSupported",
    "other",
    "unknownFutureValue",
)
GRANT_CONTROLS = (
    "block",
    "mfa",
    "compliantDevice",
    "domainJoinedDevice",
    "approvedApplication",
    "compliantApplication",
    "passwordChange",
    "unknownFutureValue",
    "riskRemediation",
)
COUNTRY_LOOKUP_METHODS = ("clientIpAddress", "authenticatorAppGps", "unknownFutureValue")
_COUNTRY = re.compile(r"[A-Z]{2}")
CIDR_TYPES = {4: "#microsoft.graph.iPv4CidrRange", 6: "#microsoft.graph.iPv6CidrRange"}


def _invalid(name: str, value: object, expected: str) -> Exception:
    return bad_request(
        f"Invalid value '{value}' for property '{name}': expected {expected}.",
        code="BadRequest",
    )


def iso_duration(value: object, name: str) -> datetime.timedelta:
    """An ``Edm.Duration`` value as a timedelta; a 400 naming ``name`` otherwise."""
    expected = "an ISO 8601 duration such as PT8H or P1D"
    match = _DURATION.fullmatch(value) if isinstance(value, str) else None
    parts_given = match is not None and any(match.groupdict().values())
    if match is None or not parts_given or str(value).endswith("T"):
        raise _invalid(name, value, expected)
    parts = {key: float(part) for key, part in match.groupdict().items() if part}
    span = datetime.timedelta(**parts)
    return -span if isinstance(value, str) and value.startswith("-") else span


def date_time_offset(value: object, name: str) -> datetime.datetime:
    """An ``Edm.DateTimeOffset`` value; a 400 naming ``name`` otherwise."""
    if not isinstance(value, str) or _DATE_TIME.fullmatch(value) is None:
        raise _invalid(name, value, "an ISO 8601 date and time such as 2014-01-01T00:00:00Z")
    # Graph keeps up to 7 fractional digits; Python reads 6.
    return datetime.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", value))


def cidr_range(item: object, where: str) -> Json:
    """One ``ipRange`` of an ipNamedLocation, with its ``@odata.type`` filled in from the
    address family when the client left it out."""
    if not isinstance(item, dict) or not isinstance(item.get("cidrAddress"), str):
        raise bad_request(f"Each of '{where}' needs a 'cidrAddress' such as 10.0.0.0/8.")
    address = item["cidrAddress"]
    expected = "an IPv4 or IPv6 address in CIDR notation such as 203.0.113.0/24"
    if "/" not in address:
        raise _invalid(f"{where}.cidrAddress", address, expected)
    try:
        network = ipaddress.ip_network(address, strict=False)
    except ValueError:
        raise _invalid(f"{where}.cidrAddress", address, expected) from None
    kind = CIDR_TYPES[network.version]
    stated = item.get("@odata.type")
    if stated is not None and stated != kind:
        raise bad_request(
            f"'{address}' is an IPv{network.version} range; its '@odata.type' must be {kind}, "
            f"not {stated}.",
            code="BadRequest",
        )
    return {"@odata.type": kind, "cidrAddress": address}


def enum_values(value: object, allowed: tuple[str, ...], name: str, type_name: str) -> list[str]:
    """A collection of an enumeration's members; a 400 naming the first that is not one."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request(f"'{name}' must be an array of strings.")
    for item in value:
        if item not in allowed:
            raise _invalid(name, item, f"one of {', '.join(allowed)} (microsoft.graph.{type_name})")
    return list(value)


def enum_value(value: object, allowed: tuple[str, ...], name: str, type_name: str) -> str:
    return enum_values([value] if isinstance(value, str) else value, allowed, name, type_name)[0]


def country_codes(value: object, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request(f"'{name}' must be an array of strings.")
    for item in value:
        if _COUNTRY.fullmatch(item) is None:
            raise _invalid(name, item, "a two-letter country or region code such as DE")
    return list(value)
