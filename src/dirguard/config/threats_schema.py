"""The ``[threats]`` section: where site rule files are, per-rule settings (on/off, exclusions,
auto-undo), and the channels alerts go to (signed webhook, syslog to a SIEM, e-mail through
Graph ``sendMail``). Secrets are credential references only."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from dirguard.config.credential_ref import CredentialRef

SeverityName = Literal["info", "low", "medium", "high", "critical"]


def _check_ref(value: str) -> str:
    CredentialRef.parse(value)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleSettings(_Strict):
    """Site settings of one rule (built-in or site-defined), by its id."""

    enabled: bool | None = None
    severity: SeverityName | None = None
    exclude_actors: list[str] = Field(default_factory=list)
    """Added to the rule's own exclusions (break-glass accounts, a pipeline)."""
    exclude_objects: list[str] = Field(default_factory=list)
    auto_undo: bool | None = None
    """Put matching changes back automatically (change rules on AD)."""
    allow_actors: list[str] = Field(default_factory=list)
    """Actors whose changes are alerted on but never undone."""
    threshold_count: int | None = Field(default=None, ge=1, le=100000)
    """Matches of one group (an actor, by default) that make the alert (bulk rules)."""
    threshold_window: float | None = Field(default=None, gt=0, le=7 * 86400)
    """Seconds within which ``threshold_count`` matches make the alert."""


class WebhookChannel(_Strict):
    url: str = Field(pattern=r"^https?://")
    signing_secret: Annotated[str, AfterValidator(_check_ref)] | None = None
    """HMAC-SHA256 key reference (``env:``, ``file:``, ``secret:``): the body is signed."""
    min_severity: SeverityName = "medium"
    ca_file: Path | None = None
    timeout: float = Field(default=10.0, gt=0, le=120)


class SyslogChannel(_Strict):
    host: str
    port: int = Field(default=514, ge=1, le=65535)
    transport: Literal["udp", "tcp"] = "udp"
    format: Literal["json", "cef"] = "json"
    min_severity: SeverityName = "medium"
    app_name: str = "dirguard"


class EmailChannel(_Strict):
    tenant: str
    """The configured Entra tenant whose Graph sends the mail (needs Mail.Send)."""
    sender: str
    """The mailbox (user id or UPN) the mail is sent as."""
    to: list[str] = Field(min_length=1)
    min_severity: SeverityName = "high"


class ThreatsConfig(_Strict):
    rules_dir: Path | None = None
    """A folder of site rule files (``*.toml``), read besides the built-ins."""
    rules: dict[str, RuleSettings] = Field(default_factory=dict)
    actor_grace: float = Field(default=300.0, ge=0, le=86400)
    """Seconds an unattributed change waits for its actor before the rules see it anyway."""
    exposure_interval: float = Field(default=3600.0, ge=0)
    """Seconds between the monitor's exposure checks (0: only ``dirguard threats scan``)."""
    webhooks: list[WebhookChannel] = Field(default_factory=list)
    syslog: list[SyslogChannel] = Field(default_factory=list)
    email: list[EmailChannel] = Field(default_factory=list)
