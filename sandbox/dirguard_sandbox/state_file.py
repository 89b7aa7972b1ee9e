"""Saving a tenant to a JSON file and loading it back (``serve --state FILE``)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from dirguard_sandbox.directory_state import Application, DirectoryState, MemberChange, Removal

FORMAT = "dirguard-sandbox-state/1"
_SKIPPED = {"clock", "delta_sessions"}


def state_to_json(state: DirectoryState) -> dict[str, Any]:
    data: dict[str, Any] = {"format": FORMAT}
    for item in dataclasses.fields(state):
        if item.name in _SKIPPED:
            continue
        value = getattr(state, item.name)
        if item.name == "applications":
            value = {key: dataclasses.asdict(app) for key, app in value.items()}
        elif item.name in {"member_changes", "removals"}:
            value = [dataclasses.asdict(entry) for entry in value]
        data[item.name] = value
    return data


def state_from_json(data: dict[str, Any]) -> DirectoryState:
    if data.get("format") != FORMAT:
        raise ValueError(
            f"not a sandbox state file (format {data.get('format')!r}, expected {FORMAT!r})"
        )
    values = {key: value for key, value in data.items() if key != "format"}
    values["applications"] = {
        key: Application(**app) for key, app in values.get("applications", {}).items()
    }
    values["member_changes"] = [MemberChange(**entry) for entry in values.get("member_changes", [])]
    values["removals"] = [Removal(**entry) for entry in values.get("removals", [])]
    return DirectoryState(**values)


def save_state(state: DirectoryState, path: Path) -> None:
    """Write atomically: a crash mid-write leaves the previous file intact."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(state_to_json(state), ensure_ascii=False), encoding="utf-8")
    temporary.replace(path)


def load_state(path: Path) -> DirectoryState:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON: {error.msg} at line {error.lineno}") from error
    return state_from_json(data)
