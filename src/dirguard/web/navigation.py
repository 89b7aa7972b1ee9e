"""Entries of the console's navigation, each shown only to the roles that may open it."""

from __future__ import annotations

from dataclasses import dataclass

from dirguard.services.console.roles import Principal, Role


@dataclass(frozen=True, kw_only=True)
class NavItem:
    label: str
    path: str
    role: Role = Role.VIEWER
    """The least role that sees the entry (the page itself checks again on the server)."""


def visible(items: tuple[NavItem, ...], principal: Principal | None) -> list[NavItem]:
    if principal is None:
        return []
    return [item for item in items if principal.may(item.role)]
