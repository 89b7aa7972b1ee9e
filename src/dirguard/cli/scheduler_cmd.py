"""``dirguard scheduler worker``: run queued rules and reports from the PostgreSQL job queue
(``[scheduler] backend = "procrastinate"``); any number of workers may share one store."""

from __future__ import annotations

from typing import Annotated

import typer

from dirguard.cli.common import cli_runtime

scheduler_app = typer.Typer(
    help="Scheduled rules and reports: workers for the PostgreSQL job queue.",
    no_args_is_help=True,
)
Concurrency = Annotated[
    int, typer.Option("--concurrency", "-c", min=1, max=32, help="Jobs this worker runs at once.")
]
UntilEmpty = Annotated[
    bool, typer.Option("--until-empty", help="Stop once the queue is empty (else wait for jobs).")
]


@scheduler_app.command("worker")
def worker_cmd(
    ctx: typer.Context, concurrency: Concurrency = 1, until_empty: UntilEmpty = False
) -> None:
    """Run the jobs `dirguard serve` / `monitor` queue when [scheduler] backend =
    "procrastinate" (the store must be PostgreSQL), each under its lock so no job runs twice
    at once on any worker; every run is in the rules' and reports' history. Stops cleanly on
    SIGTERM or Ctrl-C (the job running finishes; exit 0)."""
    from dirguard.services.scheduler.queue import conninfo, run_worker

    with cli_runtime(ctx) as runtime:
        conninfo(runtime)  # a store that is not PostgreSQL: exit 3, naming it
        run_worker(runtime, concurrency=concurrency, wait=not until_empty)


def register(app: typer.Typer) -> None:
    app.add_typer(scheduler_app, name="scheduler")
