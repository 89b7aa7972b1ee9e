"""Notification templates: TOML files with a ``subject`` and an HTML ``body``, both Jinja2,
rendered in Jinja2's sandbox (no attribute access to internals, no imports) with every value
HTML-escaped in the body and undefined names refused.

The built-in templates are in ``services/notifications/templates/``; a site's
``[notifications] templates_dir`` may override one (same name) or add its own. A template file::

    description = "Sent to approvers when a request waits for them"
    subject = "Approval needed: {{ action }} on {{ target }}"
    body = \"\"\"<p>{{ requester }} asks to {{ action }} …</p>\"\"\"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

BUILTIN_DIR = Path(__file__).parent / "templates"
_KEYS = frozenset({"description", "subject", "body"})


class TemplateProblem(ValueError):
    """A template that is missing, malformed, or fails to render (names the file and why)."""


@dataclass(frozen=True, kw_only=True)
class MailTemplate:
    name: str
    description: str
    subject: str
    body: str
    path: Path


@dataclass(frozen=True, kw_only=True)
class RenderedMail:
    subject: str
    html: str


def _load(path: Path) -> MailTemplate:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise TemplateProblem(f"template {path}: {error}") from None
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise TemplateProblem(f"template {path}: unknown key(s) {', '.join(unknown)}")
    for key in ("subject", "body"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise TemplateProblem(f"template {path}: '{key}' must be a non-empty string")
    return MailTemplate(
        name=path.stem,
        description=str(data.get("description", "")),
        subject=data["subject"],
        body=data["body"],
        path=path,
    )


def available(site_dir: Path | None = None) -> dict[str, MailTemplate]:
    """Every template by name: the built-ins, overridden or added to by ``site_dir``."""
    found = {t.name: t for t in map(_load, sorted(BUILTIN_DIR.glob("*.toml")))}
    if site_dir is not None:
        if not site_dir.is_dir():
            raise TemplateProblem(f"[notifications] templates_dir {site_dir} is not a folder")
        found.update({t.name: t for t in map(_load, sorted(site_dir.glob("*.toml")))})
    return found


def find_template(name: str, site_dir: Path | None = None) -> MailTemplate:
    templates = available(site_dir)
    if name not in templates:
        known = ", ".join(sorted(templates))
        raise TemplateProblem(f"no notification template {name!r} (known: {known})")
    return templates[name]


_BODY = SandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
_SUBJECT = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)


def render(template: MailTemplate, context: dict[str, Any]) -> RenderedMail:
    """The subject (one line of plain text) and the HTML body for ``context``."""
    try:
        subject = _SUBJECT.from_string(template.subject).render(context)
        html = _BODY.from_string(template.body).render(context)
    except TemplateError as error:
        raise TemplateProblem(f"template {template.path}: {error}") from None
    subject = " ".join(subject.split())[:255]
    return RenderedMail(subject=subject, html=html)
