"""The red banner every console page shows while something is critically wrong (a connection
with partial consent or a missing AD right), naming what is missing and how to fix it.

:func:`banner_messages` is called for every page render; the base layout shows what it returns.
It must be quick (it runs on every page: one query for the newest consent check of each
connection, :func:`dirguard.services.connection_health.banner_states`) and must not raise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from starlette.requests import Request

log = logging.getLogger(__name__)


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
    """The messages of the red banner for this request: one per missing grant of every
    connection whose newest consent check found something missing."""
    from dirguard.services.connection_health import banner_states
    from dirguard.web.context import web_context

    try:
        states = banner_states(web_context(request).runtime)
    except Exception:  # the banner never breaks a page
        log.exception("the consent state could not be read for the banner")
        return []
    messages = []
    for state in states:
        what = "partial consent" if state.kind == "entra" else "missing group or right"
        for missing in state.missing:
            features = ", ".join(missing.features) or "dirguard's checks"
            messages.append(
                BannerMessage(
                    title=f"{state.name}: {what}",
                    detail=f"{missing.name} ({missing.kind}) is missing; it breaks: {features}",
                    fix=missing.fix,
                    link="/permissions",
                )
            )
    return messages
