"""Builders of the writes a PATCH body cannot carry (pure): licenses through ``assignLicense``,
client secrets added since removed through ``removePassword``.

Sources: Microsoft's ``user: assignLicense`` / ``group: assignLicense`` (``addLicenses``: each
``{skuId, disabledPlans}``; ``removeLicenses``: skuIds; both required, possibly empty),
``application: removePassword`` (``{keyId}``). Certificates are not written: ``removeKey`` needs
a proof signed with one of the application's keys, which dirguard does not hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from dirguard.catalog.graph_rules import SeparateOutcome, SeparateRequest


def _by(values: Any, key: str) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for value in values or ():
        if isinstance(value, Mapping) and value.get(key) is not None:
            found[str(value[key])] = value
    return found


def assign_licenses(current: Any, target: Any) -> SeparateOutcome:
    """One ``assignLicense`` call turning ``current`` assignedLicenses into ``target``: licenses
    added or whose disabled plans differ go in ``addLicenses``, licenses gone in
    ``removeLicenses``; nothing when they are the same."""
    now, wanted = _by(current, "skuId"), _by(target, "skuId")
    add = [
        {"skuId": sku, "disabledPlans": list(value.get("disabledPlans") or [])}
        for sku, value in wanted.items()
        if sku not in now
        or sorted(now[sku].get("disabledPlans") or []) != sorted(value.get("disabledPlans") or [])
    ]
    remove = sorted(sku for sku in now if sku not in wanted)
    if not add and not remove:
        return (), ()
    body = {"addLicenses": add, "removeLicenses": remove}
    return (SeparateRequest(method="POST", path="assignLicense", body=body),), ()


def inherited_licences(content: Mapping[str, Any]) -> frozenset[str]:
    """The SKUs a stored user holds only through groups: each of its ``licenseAssignmentStates``
    for them names a group (``assignedByGroup``; null for a direct assignment, Microsoft's
    "licenseAssignmentState resource type"). A version without them (read before dirguard kept
    them) holds none so."""
    states = [s for s in content.get("licenseAssignmentStates") or () if isinstance(s, Mapping)]
    direct = {str(s.get("skuId")) for s in states if not s.get("assignedByGroup")}
    return frozenset(str(s.get("skuId")) for s in states if s.get("assignedByGroup")) - direct


def _describe(credential: Mapping[str, Any]) -> str:
    name = credential.get("displayName") or "unnamed"
    return f"{name!r} ({credential.get('keyId')})"


def _added(now: Mapping[str, Any], wanted: Mapping[str, Any], what: str) -> Iterable[str]:
    for key_id, credential in wanted.items():
        if key_id not in now:
            yield (
                f"{what} {_describe(credential)} cannot be given back: its value is shown once, "
                "when it is added, and is not kept"
            )


def remove_passwords(current: Any, target: Any) -> SeparateOutcome:
    """Client secrets added since ``target`` are removed (``removePassword`` each); those
    removed since cannot be given back."""
    now, wanted = _by(current, "keyId"), _by(target, "keyId")
    requests = tuple(
        SeparateRequest(method="POST", path="removePassword", body={"keyId": key_id})
        for key_id in sorted(now)
        if key_id not in wanted
    )
    return requests, tuple(_added(now, wanted, "client secret"))
