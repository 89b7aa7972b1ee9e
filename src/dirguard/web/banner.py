"""The red banner every console page shows while something is critically wrong (a connection
with partial consent or a missing AD right), naming what is missing and how to fix it.

:func:`banner_messages` is called for every page render; the base layout shows what it returns.
It must be quick (it runs on every page) and must not raise.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request


@dataclass(frozen=True, kw_only=True)
class BannerMessage:
    title: str
    """What is wrong, e.g. ``corp.example.com: partial consent``."""
    detail: str = ""
    """What exactly is missing."""
    fix: str = ""
    """How to fix it (a command or a page)."""
    link: str | None = None
    """A console page with more (``/permissions`` …)."""


def banner_messages(request: Request) -> list[BannerMessage]:
    """The messages of the red banner for this request; none for now."""
    return []
