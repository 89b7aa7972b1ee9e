"""A ``$filter`` parser for the clauses Graph accepts on directory objects.

Supported: ``eq``, ``ne``, ``gt``, ``ge``, ``lt``, ``le``, ``startswith(p,'x')``,
``endswith(p,'x')``, ``p in ('a','b')``, ``and``, ``or``, ``not``, parentheses and lambdas on
collections (``assignedLicenses/any(x:x/skuId eq 6fd2c87f-...)``,
``proxyAddresses/any(p:startswith(p,'smtp:'))``, ``identities/any(i:i/issuer eq 'x')``). String
comparisons are case-insensitive, as in Entra. ``ne``, ``not`` and ``endswith`` are *advanced
queries*: Graph answers them only with ``$count=true`` and ``ConsistencyLevel: eventual``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dirguard_sandbox.errors import bad_request

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<punct>[(),:])"
    r"|(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_./@]*)|(?P<number>-?\d[\d.:TZ+-]*))"
)
_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_ADVANCED = {"ne", "not", "endswith"}


@dataclass(frozen=True, kw_only=True)
class ParsedFilter:
    predicate: Predicate
    advanced: bool
    properties: frozenset[str]


def _tokens(text: str) -> list[tuple[str, str]]:
    result: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise bad_request(f"Invalid filter clause: syntax error at position {position}.")
        kind = match.lastgroup or ""
        result.append((kind, match.group(kind)))
        position = match.end()
    return result


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(operator: str, left: Any, right: Any) -> bool:
    left, right = _fold(left), _fold(right)
    if operator == "eq":
        return bool(left == right)
    if operator == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        if operator == "gt":
            return bool(left > right)
        if operator == "ge":
            return bool(left >= right)
        if operator == "lt":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        return False


def _value_of(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class _Parser:
    def __init__(self, text: str, known: frozenset[str], type_name: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.known = known
        self.type_name = type_name
        self.advanced = False
        self.properties: set[str] = set()
        self.variable: str | None = None

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise bad_request("Invalid filter clause: the expression ends too early.")
        self.position += 1
        return token

    def expect(self, text: str) -> None:
        _kind, value = self.take()
        if value.lower() != text:
            raise bad_request(f"Invalid filter clause: expected '{text}' but found '{value}'.")

    def parse(self) -> Predicate:
        predicate = self.or_expression()
        leftover = self.peek()
        if leftover is not None:
            raise bad_request(f"Invalid filter clause: unexpected '{leftover[1]}'.")
        return predicate

    def or_expression(self) -> Predicate:
        parts = [self.and_expression()]
        while (token := self.peek()) is not None and token[1].lower() == "or":
            self.take()
            parts.append(self.and_expression())
        return parts[0] if len(parts) == 1 else (lambda r: any(p(r) for p in parts))

    def and_expression(self) -> Predicate:
        parts = [self.unary()]
        while (token := self.peek()) is not None and token[1].lower() == "and":
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda r: all(p(r) for p in parts))

    def unary(self) -> Predicate:
        token = self.peek()
        if token is not None and token[1].lower() == "not":
            self.take()
            self.advanced = True
            inner = self.unary()
            return lambda r: not inner(r)
        if token is not None and token[1] == "(":
            self.take()
            inner = self.or_expression()
            self.expect(")")
            return inner
        return self.comparison()

    def property_name(self) -> str:
        kind, name = self.take()
        if kind != "word":
            raise bad_request(f"Invalid filter clause: expected a property name, found '{name}'.")
        if self.variable is not None and name.split("/", 1)[0] == self.variable:
            return name
        if name.split("/", 1)[0] not in self.known:
            raise bad_request(
                f"Could not find a property named '{name}' on type "
                f"'microsoft.graph.{self.type_name}'."
            )
        self.properties.add(name.split("/", 1)[0])
        return name

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return text[1:-1].replace("''", "'")
        if kind == "guid":
            return text
        if kind == "number":
            return float(text) if re.fullmatch(r"-?\d+(\.\d+)?", text) else text
        if kind == "word" and text.lower() in {"true", "false", "null"}:
            return {"true": True, "false": False, "null": None}[text.lower()]
        raise bad_request(f"Invalid filter clause: '{text}' is not a literal value.")

    def comparison(self) -> Predicate:
        kind, word = self.peek() or ("", "")
        function = word.lower()
        if kind == "word" and function in {"startswith", "endswith"}:
            self.take()
            self.advanced = self.advanced or function in _ADVANCED
            self.expect("(")
            name = self.property_name()
            self.expect(",")
            prefix = self.literal()
            self.expect(")")
            if not isinstance(prefix, str):
                raise bad_request(f"Invalid filter clause: {function} needs a string.")
            needle = prefix.lower()

            def matches(record: dict[str, Any]) -> bool:
                value = _value_of(record, name)
                if not isinstance(value, str):
                    return False
                text = value.lower()
                return (
                    text.startswith(needle) if function == "startswith" else text.endswith(needle)
                )

            return matches
        name = self.property_name()
        if name.lower().endswith(("/any", "/all")):
            return self.lambda_expression(name)
        operator = self.take()[1].lower()
        if operator == "in":
            self.expect("(")
            values = [self.literal()]
            while (token := self.peek()) is not None and token[1] == ",":
                self.take()
                values.append(self.literal())
            self.expect(")")
            folded = [_fold(value) for value in values]
            return lambda r: _fold(_value_of(r, name)) in folded
        if operator not in _COMPARISONS:
            raise bad_request(f"Invalid filter clause: unknown operator '{operator}'.")
        if operator in _ADVANCED:
            self.advanced = True
        value = self.literal()
        return lambda r: _compare(operator, _value_of(r, name), value)

    def lambda_expression(self, name: str) -> Predicate:
        """``collection/any(x: <clause on x>)`` (or ``all``) over a collection property."""
        collection, _, which = name.rpartition("/")
        if self.variable is not None:
            raise bad_request("Invalid filter clause: lambdas cannot be nested.")
        self.expect("(")
        kind, variable = self.take()
        if kind != "word" or "/" in variable:
            raise bad_request(
                f"Invalid filter clause: expected a lambda variable, found '{variable}'."
            )
        self.expect(":")
        self.variable = variable
        inner = self.or_expression()
        self.variable = None
        self.expect(")")
        combine = any if which.lower() == "any" else all

        def matches(record: dict[str, Any]) -> bool:
            items = _value_of(record, collection)
            if not isinstance(items, list):
                return False
            return combine(inner({variable: item}) for item in items)

        return matches


def parse_filter(text: str, *, known: frozenset[str], type_name: str) -> ParsedFilter:
    """Parse ``text``; raise a 400 GraphError naming what is wrong."""
    parser = _Parser(text, known, type_name)
    predicate = parser.parse()
    return ParsedFilter(
        predicate=predicate, advanced=parser.advanced, properties=frozenset(parser.properties)
    )
