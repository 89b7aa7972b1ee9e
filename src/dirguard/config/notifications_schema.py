"""The ``[notifications]`` section: the mailbox dirguard's e-mail goes out from (Graph
``sendMail`` of a configured tenant), where site templates are, and how failed deliveries are
retried. No secret lives here: the tenant's own credential sends the mail."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class NotificationsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str | None = None
    """The configured Entra tenant whose Graph sends the mail (``Mail.Send``); default: the only
    one configured."""
    sender: str | None = None
    """The mailbox mail is sent through (user id or UPN): the service account's mailbox, or a
    shared mailbox (an application's ``Mail.Send`` may send as any mailbox)."""
    send_as: str | None = None
    """Another address to send as from ``sender``'s mailbox (the ``from`` of the message): a shared
    mailbox on which ``sender`` holds Exchange's Send As (or Send on Behalf) right."""
    templates_dir: Path | None = None
    """A folder of site templates (``<name>.toml``) that override or add to the built-in ones."""
    max_attempts: int = Field(default=6, ge=1, le=50)
    """Deliveries tried before a message is marked failed."""
    retry_seconds: float = Field(default=60.0, gt=0, le=86400)
    """The first retry's delay; each next one doubles it (or waits what a 429 asks, if longer)."""
    retry_max_seconds: float = Field(default=3600.0, gt=0, le=7 * 86400)
    """The longest delay between two attempts."""
