"""The options of ``rollback plan``, ``restore`` and ``undelete``, and turning the selection
options into a :mod:`~dirguard.services.rollback.plan_cases` selection (a usage error, exit 2,
when they do not go together)."""

from __future__ import annotations

from typing import Annotated

import typer

from dirguard.cli.common import time_option
from dirguard.services.rollback.plan_cases import ByActor, ByEvent, ObjectAt, Selection, UnderOu

TIME_HELP = "ISO 8601 time, e.g. 2024-05-01T12:00:00+02:00; without a zone it is UTC."

AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        "--requested-by",
        help="The person dirguard acts for (audit log). Default: your login.",
    ),
]
RefreshOption = Annotated[
    bool,
    typer.Option(
        "--refresh/--no-refresh", help="Capture the directory's latest changes before planning."
    ),
]
EventOption = Annotated[
    int | None, typer.Option("--event", help="Change number, as `dirguard changes` shows it.")
]
ObjectOption = Annotated[
    str | None, typer.Option("--object", help="DN, objectGUID or sAMAccountName.")
]
ToOption = Annotated[str | None, typer.Option("--to", help="With --object: " + TIME_HELP)]
ActorOption = Annotated[
    str | None,
    typer.Option("--actor", help="Undo what this account did (DOMAIN\\account, account or UPN)."),
]
UnderOption = Annotated[
    str | None,
    typer.Option(
        "--under",
        help="Undo every change to this OU and what was under it in the window (also "
        "objects moved out or deleted since), whoever made it.",
    ),
]
SinceOption = Annotated[
    str | None, typer.Option("--since", help="With --actor or --under: " + TIME_HELP)
]
UntilOption = Annotated[
    str | None, typer.Option("--until", help="With --actor or --under: " + TIME_HELP)
]
IncludeUnattributedOption = Annotated[
    bool,
    typer.Option(
        "--include-unattributed",
        help="With --actor: add the window's changes whose actor is unknown (moves and "
        "renames on Samba); each such step is flagged.",
    ),
]
DisableInsteadOption = Annotated[
    bool,
    typer.Option(
        "--disable-instead",
        help="Disable the accounts the selection created instead of deleting them.",
    ),
]
ForceOption = Annotated[
    bool, typer.Option("--force", help="Undo also values that were changed again since.")
]


def selection_of(
    event: int | None,
    object_: str | None,
    actor: str | None,
    under: str | None,
    to: str | None,
    since: str | None,
    until: str | None,
    include_unattributed: bool,
) -> Selection:
    """The one selection the options name (exactly one of --event, --object with --to,
    --actor with --since, --under with --since)."""
    given = (("--event", event), ("--object", object_), ("--actor", actor), ("--under", under))
    chosen = [name for name, value in given if value is not None]
    if len(chosen) != 1:
        raise typer.BadParameter(
            "give exactly one of --event, --object (with --to), --actor (with --since), "
            "--under (with --since)"
        )
    if object_ is not None and to is None:
        raise typer.BadParameter("--object needs --to TIME (the moment to bring it back to)")
    if (actor is not None or under is not None) and since is None:
        raise typer.BadParameter(f"{chosen[0]} needs --since TIME (the start of the window)")
    if (to is not None and object_ is None) or ((since or until) and not (actor or under)):
        raise typer.BadParameter(
            "--to goes with --object; --since and --until go with --actor or --under"
        )
    if include_unattributed and actor is None:
        raise typer.BadParameter("--include-unattributed goes with --actor")
    at, start, end = time_option(to), time_option(since), time_option(until)
    if event is not None:
        return ByEvent(sequence=event)
    if object_ is not None:
        return ObjectAt(object_text=object_, at=at)
    if under is not None:
        return UnderOu(base_dn=under, since=start, until=end)
    assert actor is not None
    return ByActor(actor=actor, since=start, until=end, include_unattributed=include_unattributed)
