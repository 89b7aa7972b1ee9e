"""An action's inputs from a console form or a REST body, checked against its declaration.

The form sends text (a checkbox: present or not; a list: one item per line; attributes:
``name = value`` lines); the REST body sends JSON. Both end as the same ``params`` mapping, and
both get the same errors: an unknown input, a missing required one, a value of the wrong kind,
each naming the input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dirguard.catalog.admin_actions import AdminAction, InputKind
from dirguard.services.errors import Problem, ServiceError


def _bad(declared: AdminAction, message: str) -> ServiceError:
    return ServiceError(f"{declared.key}: {message}", Problem.CONFLICT)


def params_from_form(declared: AdminAction, form: Mapping[str, str]) -> dict[str, Any]:
    """The params a submitted form gives (checked by :func:`checked_params`)."""
    params: dict[str, Any] = {}
    for item in declared.inputs:
        raw = form.get(item.name)
        if item.kind is InputKind.FLAG:
            params[item.name] = raw is not None and raw not in ("", "0", "false", "off")
            continue
        if raw is None or raw.strip() == "":
            continue
        if item.kind is InputKind.OBJECTS:
            params[item.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif item.kind is InputKind.FIELDS:
            fields: dict[str, str] = {}
            for number, line in enumerate(raw.splitlines(), start=1):
                if not line.strip():
                    continue
                name, sep, value = line.partition("=")
                if not sep or not name.strip():
                    raise _bad(declared, f"{item.label}, line {number}: write 'attribute = value'")
                fields[name.strip()] = value.strip()
            params[item.name] = fields
        elif item.kind is InputKind.PASSWORD:
            params[item.name] = raw  # kept exactly: spaces may be part of it
        else:
            params[item.name] = raw.strip()
    return checked_params(declared, params)


def checked_params(declared: AdminAction, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` if they fit the declaration; else an error naming the first bad input."""
    known = {item.name: item for item in declared.inputs}
    unknown = sorted(set(params) - set(known))
    if unknown:
        expected = ", ".join(known) or "none"
        raise _bad(declared, f"unknown input(s) {', '.join(unknown)} (expected: {expected})")
    result: dict[str, Any] = {}
    for name, item in known.items():
        value = params.get(name, item.default)
        if value is None or value == "" or value == [] or value == {}:
            if item.required:
                raise _bad(declared, f"{item.label} ({name}) is required")
            continue
        if item.kind is InputKind.FLAG and not isinstance(value, bool):
            raise _bad(declared, f"{name} must be true or false")
        if item.kind is InputKind.OBJECTS and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            raise _bad(declared, f"{name} must be a list of object names")
        if item.kind is InputKind.FIELDS and not (
            isinstance(value, Mapping) and all(isinstance(k, str) for k in value)
        ):
            raise _bad(declared, f"{name} must map attribute names to values")
        if item.kind in (InputKind.TEXT, InputKind.PASSWORD, InputKind.OBJECT) and not isinstance(
            value, str
        ):
            raise _bad(declared, f"{name} must be text")
        result[name] = value
    return result
