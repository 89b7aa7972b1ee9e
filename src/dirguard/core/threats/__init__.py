"""Threat definitions: declarative rules over change events and current state (pure logic).

:mod:`.model` holds the rule and event shapes, :mod:`.rule_files` parses and validates rule
files (TOML), :mod:`.checks` evaluates value conditions, :mod:`.evaluate` matches events and
objects, :mod:`.incidents` decides when matches become an alert (thresholds, dedup, throttling),
:mod:`.rules_doc` renders the rules page. Built-in rule files live in ``builtin/``.
"""
