"""The rules in force: the built-ins shipped in the package, the site's rule files
(``threats.rules_dir``), and the site's per-rule settings (``[threats.rules.ID]``) applied."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from importlib import resources
from pathlib import Path

from dirguard.config.threats_schema import RuleSettings, ThreatsConfig
from dirguard.core.threats.model import AutoUndo, Exclusions, Rule, Severity, Threshold
from dirguard.core.threats.rule_files import RuleFileError, parse_rules
from dirguard.services.errors import Problem, ServiceError

BUILTIN_PACKAGE = "dirguard.core.threats"
BUILTIN_FILES = ("ad_changes.toml", "entra_changes.toml", "exposure.toml")


def builtin_rules() -> list[Rule]:
    rules: list[Rule] = []
    folder = resources.files(BUILTIN_PACKAGE).joinpath("builtin")
    for name in BUILTIN_FILES:
        text = folder.joinpath(name).read_text(encoding="utf-8")
        rules.extend(parse_rules(text, f"builtin:{name}"))
    return rules


def read_rule_file(path: Path) -> list[Rule]:
    """The rules of one file; a :class:`ServiceError` (config) names every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ServiceError(f"{path}: cannot read ({error.strerror})", Problem.CONFIG) from None
    try:
        return parse_rules(text, str(path))
    except RuleFileError as error:
        raise ServiceError(str(error), Problem.CONFIG) from None


def site_rules(folder: Path | None) -> list[Rule]:
    if folder is None:
        return []
    if not folder.is_dir():
        raise ServiceError(f"threats.rules_dir {folder}: not a folder", Problem.CONFIG)
    problems: list[str] = []
    rules: list[Rule] = []
    for path in sorted(folder.glob("*.toml")):
        try:
            rules.extend(read_rule_file(path))
        except ServiceError as error:
            problems.append(str(error))
    if problems:
        raise ServiceError("\n".join(problems), Problem.CONFIG)
    return rules


def apply_settings(rule: Rule, settings: RuleSettings) -> Rule:
    """``rule`` with the site's settings for it."""
    exclude = Exclusions(
        actors=(*rule.exclude.actors, *settings.exclude_actors),
        objects=(*rule.exclude.objects, *settings.exclude_objects),
        values=rule.exclude.values,
    )
    undo = rule.auto_undo
    if settings.auto_undo is not None or settings.allow_actors:
        undo = AutoUndo(
            enabled=undo.enabled if settings.auto_undo is None else settings.auto_undo,
            allow_actors=(*undo.allow_actors, *settings.allow_actors),
            objects=undo.objects,
            loop_limit=undo.loop_limit,
            loop_window=undo.loop_window,
        )
    threshold = Threshold(
        count=rule.threshold.count
        if settings.threshold_count is None
        else settings.threshold_count,
        window=rule.threshold.window
        if settings.threshold_window is None
        else timedelta(seconds=settings.threshold_window),
    )
    return dataclasses.replace(
        rule,
        threshold=threshold,
        enabled=rule.enabled if settings.enabled is None else settings.enabled,
        severity=rule.severity if settings.severity is None else Severity(settings.severity),
        exclude=exclude,
        auto_undo=undo,
    )


def combine(builtins: Sequence[Rule], site: Sequence[Rule], config: ThreatsConfig) -> list[Rule]:
    """Built-ins, then site rules (a site rule with a built-in's id replaces it), with the
    site's settings applied; a setting naming no rule is a configuration error."""
    by_id = {r.id: r for r in builtins}
    for rule in site:
        by_id[rule.id] = rule
    if unknown := sorted(set(config.rules) - by_id.keys()):
        raise ServiceError(
            f"threats.rules: no rule {', '.join(unknown)}; `dirguard threats list` shows the ids",
            Problem.CONFIG,
        )
    for rule in by_id.values():
        if missing := sorted(set(rule.superseded_by) - by_id.keys()):
            raise ServiceError(
                f"rule {rule.id} ({rule.origin}): superseded_by names no rule {', '.join(missing)}",
                Problem.CONFIG,
            )
    for rule_id, settings in config.rules.items():
        by_id[rule_id] = apply_settings(by_id[rule_id], settings)
        if by_id[rule_id].auto_undo.enabled and by_id[rule_id].kind.value != "change":
            raise ServiceError(
                f"threats.rules.{rule_id}.auto_undo: only a change rule can undo",
                Problem.CONFIG,
            )
    return list(by_id.values())


def rules_in_force(config: ThreatsConfig) -> list[Rule]:
    return combine(builtin_rules(), site_rules(config.rules_dir), config)


def find_rule(rules: Sequence[Rule], rule_id: str) -> Rule:
    for rule in rules:
        if rule.id.casefold() == rule_id.casefold():
            return rule
    raise ServiceError(
        f"no threat rule {rule_id}; `dirguard threats list` shows the ids", Problem.NOT_FOUND
    )
