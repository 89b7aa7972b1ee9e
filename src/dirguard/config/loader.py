"""Load the configuration: TOML file, then ``DIRGUARD_*`` environment overrides, then validation.

Environment overrides name a key path with ``__`` between parts and list indexes as numbers:
``DIRGUARD_STORE__URL``, ``DIRGUARD_LOG__LEVEL``, ``DIRGUARD_AD__DOMAINS__0__MODE``. A value is
read as a TOML value when it parses as one (``true``, ``636``, ``["domain", "schema"]``) and as a
plain string otherwise; an empty variable is ignored. ``DIRGUARD_CONFIG`` (the file's path)
is not an override.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from dirguard.config.paths import default_config_path
from dirguard.config.schema import SECRET_FIELDS, Config

ENV_PREFIX = "DIRGUARD_"
NOT_OVERRIDES = frozenset({"DIRGUARD_CONFIG", "DIRGUARD_TESTS_REQUIRE"})


@dataclass(frozen=True)
class ConfigProblem:
    key: str
    """Dotted key path, e.g. ``ad.domains[0].mode``; ``(file)`` for problems with the file."""
    problem: str
    fix: str

    def __str__(self) -> str:
        return f"{self.key}: {self.problem} — fix: {self.fix}"


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists every one found."""

    def __init__(self, source: str, problems: list[ConfigProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration ({source}):\n{lines}")


@dataclass(frozen=True)
class LoadedConfig:
    config: Config
    path: Path
    file_exists: bool
    overrides: tuple[str, ...]
    """Dotted keys set from the environment."""


def resolve_path(explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    from_env = os.environ.get("DIRGUARD_CONFIG")
    return Path(from_env) if from_env else default_config_path()


def load_config(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    require_file: bool = False,
) -> LoadedConfig:
    """Read, override and validate. A missing file means embedded defaults unless required."""
    env = os.environ if environ is None else environ
    config_path = resolve_path(path)
    raw: dict[str, Any] = {}
    exists = config_path.is_file()
    if exists:
        try:
            raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(
                str(config_path),
                [ConfigProblem("(file)", f"not valid TOML: {exc}", "correct the TOML syntax")],
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                str(config_path),
                [ConfigProblem("(file)", f"cannot be read: {exc}", "check path and permissions")],
            ) from None
    elif require_file or (path is not None and config_path.exists()):
        raise ConfigError(
            str(config_path),
            [
                ConfigProblem(
                    "(file)",
                    "does not exist or is not a file",
                    "run `dirguard init` to write an example, or pass --config PATH",
                )
            ],
        )
    overrides = _apply_env(raw, env)
    source = f"{config_path}{' + environment' if overrides else ''}"
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(source, [_problem(err) for err in exc.errors()]) from None
    return LoadedConfig(config, config_path, exists, tuple(overrides))


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> list[str]:
    applied: list[str] = []
    for name in sorted(env):
        if not name.startswith(ENV_PREFIX) or name in NOT_OVERRIDES or not env[name]:
            continue  # an empty variable counts as unset
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        if not all(parts):
            raise ConfigError(
                "environment",
                [ConfigProblem(name, "empty key part", "separate keys with exactly two '_'")],
            )
        _set_path(raw, parts, _env_value(env[name]), name)
        applied.append(".".join(parts))
    return applied


def _env_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _set_path(node: dict[str, Any] | list[Any], parts: list[str], value: Any, env: str) -> None:
    head, rest = parts[0], parts[1:]
    if isinstance(node, list):
        if not head.isdigit() or int(head) >= len(node):
            raise ConfigError(
                "environment",
                [
                    ConfigProblem(
                        env,
                        f"list index {head!r} does not exist (the file has {len(node)} entries)",
                        "override an existing entry, or add the entry to the file",
                    )
                ],
            )
        if not rest:
            node[int(head)] = value
            return
        _set_path(node[int(head)], rest, value, env)
        return
    if not rest:
        node[head] = value
        return
    child = node.get(head)
    if not isinstance(child, dict | list):
        child = {}
        node[head] = child
    _set_path(child, rest, value, env)


def _dotted(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _problem(err: Mapping[str, Any]) -> ConfigProblem:
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    key = _dotted(loc)
    kind = err["type"]
    message = str(err["msg"]).removeprefix("Value error, ")
    secret = bool(loc) and str(loc[-1]) in SECRET_FIELDS
    shown = "" if secret or kind in {"missing", "extra_forbidden"} else f" (got {err['input']!r})"
    if kind == "missing":
        return ConfigProblem(key, "is required", f"add `{loc[-1]} = ...` to this section")
    if kind == "extra_forbidden":
        return ConfigProblem(key, "is not a known setting", _suggest(loc))
    if kind == "literal_error" or kind == "enum":
        expected = err.get("ctx", {}).get("expected", "")
        return ConfigProblem(key, f"invalid value{shown}", f"use one of {expected}")
    if secret:
        return ConfigProblem(key, message, "write a reference such as env:DIRGUARD_AD_PASSWORD")
    return ConfigProblem(key, f"{message}{shown}", _fix_for(kind, err))


def _fix_for(kind: str, err: Mapping[str, Any]) -> str:
    hints = {
        "uuid_parsing": "use the GUID shown in the Entra admin center, e.g. 0000…-…",
        "uuid_type": "use the GUID shown in the Entra admin center",
        "bool_parsing": "use true or false",
        "bool_type": "use true or false",
        "int_parsing": "use a whole number",
        "int_type": "use a whole number",
        "less_than_equal": "use a smaller number",
        "greater_than_equal": "use a larger number",
        "too_short": "add at least one entry",
        "list_type": 'use a list, e.g. ["a", "b"]',
        "string_type": 'use a quoted string, e.g. "value"',
        "model_type": "use a table ([section]) here",
    }
    return hints.get(kind, "see the comments in `dirguard init`'s example configuration")


def _suggest(loc: tuple[int | str, ...]) -> str:
    model: type[BaseModel] = Config
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None) if field else None
        args = getattr(annotation, "__args__", ())
        candidates = [annotation, *args]
        found = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        if found is None:
            break
        model = found
    known = sorted(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"{hint}remove it, or use one of: {', '.join(known)}"
