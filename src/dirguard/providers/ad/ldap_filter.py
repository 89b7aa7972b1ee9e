"""LDAP search filters evaluated on a normalized AD object (pure: no I/O).

A resource-type row names the LDAP filter that reads its objects; :func:`selector` turns that
same filter into the row's selection predicate, so the filter the docs print is the one that
decides which stored objects are of the type. The subset AD rows use is supported: ``&``, ``|``,
``!``, equality and presence (``attr=*``), values compared case-insensitively as the directory's
string syntaxes are. ``objectCategory`` holds the DN of a class's default category
(``CN=Person,CN=Schema,…``); as in AD, an equality on it may name the class instead
(``objectCategory=person``), matched against the DN's first RDN value without hyphens (the
schema spells ``Organizational-Unit`` for ``organizationalUnit``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dirguard.catalog.resource_type import Content

CATEGORY = "objectcategory"


class FilterError(ValueError):
    """A filter outside the supported subset, or malformed."""


@dataclass(frozen=True)
class _Node:
    op: str
    """``&``, ``|``, ``!``, ``=`` (equality) or ``*`` (presence)."""
    attribute: str = ""
    """Lower-cased (the comparison is case-insensitive)."""
    spelled: str = ""
    """As the filter spells it: AD's own spelling, which normalized objects use as their key,
    so a test is one lookup (the case-insensitive scan only when that key is absent)."""
    value: str = ""
    children: tuple[_Node, ...] = ()


def _parse(text: str, at: int) -> tuple[_Node, int]:
    if at >= len(text) or text[at] != "(":
        raise FilterError(f"{text!r}: expected '(' at {at}")
    at += 1
    if at < len(text) and text[at] in "&|!":
        op, at = text[at], at + 1
        children: list[_Node] = []
        while at < len(text) and text[at] == "(":
            child, at = _parse(text, at)
            children.append(child)
        if at >= len(text) or text[at] != ")" or not children or (op == "!" and len(children) > 1):
            raise FilterError(f"{text!r}: malformed {op!r} at {at}")
        return _Node(op, children=tuple(children)), at + 1
    end = text.find(")", at)
    if end < 0:
        raise FilterError(f"{text!r}: unclosed item at {at}")
    attribute, equals, value = text[at:end].partition("=")
    if not equals or not attribute or attribute[-1] in "~<>:" or "\\" in value:
        raise FilterError(f"{text!r}: only equality and presence items are supported")
    if value == "*":
        return _Node("*", attribute=attribute.lower(), spelled=attribute), end + 1
    if "*" in value:
        raise FilterError(f"{text!r}: substring items are not supported")
    node = _Node("=", attribute=attribute.lower(), spelled=attribute, value=value.lower())
    return node, end + 1


def parse(text: str) -> _Node:
    node, end = _parse(text, 0)
    if end != len(text):
        raise FilterError(f"{text!r}: text after the filter at {end}")
    return node


def _values(content: Content, node: _Node) -> list[str]:
    values = content.get(node.spelled)
    if values is None:
        attribute = node.attribute
        for name, found in content.items():
            if name.lower() == attribute:
                values = found
                break
        else:
            return []
    return [v.lower() for v in values if isinstance(v, str)]


def _category_names(dn: str) -> tuple[str, str]:
    first = dn.split(",", 1)[0]
    return dn, first.partition("=")[2].replace("-", "")


def _matches(node: _Node, content: Content) -> bool:
    if node.op == "&":
        return all(_matches(c, content) for c in node.children)
    if node.op == "|":
        return any(_matches(c, content) for c in node.children)
    if node.op == "!":
        return not _matches(node.children[0], content)
    values = _values(content, node)
    if node.op == "*":
        return bool(values)
    if node.attribute == CATEGORY:
        return any(node.value in _category_names(v) for v in values)
    return node.value in values


def selector(ldap_filter: str) -> Callable[[Content], bool]:
    """The predicate ``ldap_filter`` is on a normalized object (parsed once, here)."""
    node = parse(ldap_filter)

    def selects(content: Content) -> bool:
        return _matches(node, content)

    return selects
