"""Command help as Typer's Rich help shows it: prose reflowed to the terminal's width, and
square brackets shown as written.

Typer keeps the single line breaks of every paragraph after the first in its Rich mode, so a
docstring wrapped at 100 columns in the source shows hard-wrapped, ragged lines in a wider or
narrower terminal; and it reads help as Rich markup, so ``[rollback] four_eyes`` showed as
`` four_eyes`` (``[rollback]`` taken for a style). :func:`prepare` joins the lines of each
prose paragraph (a paragraph that starts with ``\\b``, Click's "keep as is" mark, and the lines
of a list — ``-``, ``*``, ``1.`` — or of an indented block keep their breaks) and escapes what
Rich would read as a tag, as :func:`rich.markup.escape` does (not imported: start-up stays light).
"""

from __future__ import annotations

import inspect
import re

from typer import _click
from typer.core import TyperGroup

_LIST_ITEM = re.compile(r"^(?:[-*•]|\d+[.)]|\(\d+\))\s")
_RICH_TAG = re.compile(r"(\\*)(\[[a-z#/@][^[]*?])")
_READY = "_dirguard_help_ready"


def _reflow_paragraph(paragraph: str) -> str:
    if paragraph.startswith("\b"):
        return paragraph
    lines: list[str] = []
    for line in paragraph.split("\n"):
        starts_line = bool(_LIST_ITEM.match(line)) or line.startswith(" ")
        if lines and not starts_line:
            lines[-1] = f"{lines[-1]} {line.strip()}"
        else:
            lines.append(line)
    return "\n".join(lines)


def escape_markup(text: str) -> str:
    """``text`` with every ``[tag]`` Rich would take for markup escaped (shown as written)."""
    return _RICH_TAG.sub(lambda m: f"{m[1]}{m[1]}\\{m[2]}", text)


def prepare(help_text: str) -> str:
    """The help with its paragraphs reflowed (lists and ``\\b`` kept) and markup escaped."""
    text = inspect.cleandoc(help_text)
    body, mark, rest = text.partition("\f")
    paragraphs = "\n\n".join(_reflow_paragraph(p) for p in body.split("\n\n"))
    return escape_markup(paragraphs) + mark + rest


def prepare_tree(command: _click.Command) -> None:
    """Prepare the help of ``command``, of its options and of every sub-command it holds (once)."""
    if getattr(command, _READY, False):
        return
    setattr(command, _READY, True)
    if command.help:
        command.help = prepare(command.help)
    for param in command.params:
        help_text = getattr(param, "help", None)
        if help_text:
            param.help = escape_markup(help_text)  # type: ignore[attr-defined]
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            prepare_tree(sub)
