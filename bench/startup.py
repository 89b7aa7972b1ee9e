"""CLI start-up: ``dirguard --help`` and ``dirguard permissions`` against interpreter peers.

    .venv/bin/python bench/startup.py [--rounds 20]

Each round runs every command below once as a fresh process, in the same order, output to a
pipe that is read and discarded, with ``COLUMNS=100`` and no configuration file
(``DIRGUARD_CONFIG`` points at a missing one), so the machine's load falls on all of them
alike. Per command: the median and best wall time over the rounds, the median CPU time (user +
system of the child) and the median time to its first byte of output (``PYTHONUNBUFFERED=1``:
when the command has started and printed its first table), then the ratio of dirguard's median
wall time to each peer's.

Peers, measured in the same run:

- ``python -c pass``: the interpreter alone.
- ``python -m json.tool --help``: a standard-library command-line tool.
- a Typer app with dirguard's root options and one command, ``--help``: the floor of the CLI
  framework itself (Typer, Click, Rich and, since Typer 0.2x, pydantic for parameter coercion).
- every ``dirguard.cli`` command module imported, then ``--help``: start-up as it was before the
  commands were loaded lazily (SQLAlchemy, Alembic, the LDAP stack, azure-identity, httpx).

Goal: ``dirguard --help`` and ``dirguard permissions`` in at most 0.3 s (issue 14). Progress goes
to standard error, figures to standard output.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 0.3
PYTHON = sys.executable
DIRGUARD = str(Path(PYTHON).with_name("dirguard"))

TYPER_PEER = '''\
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(add_completion=False, context_settings={"help_option_names": ["-h", "--help"]})


@app.callback()
def root(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Config file.")] = None,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="Logs.")] = 0,
) -> None:
    """A peer: the CLI framework alone."""


@app.command()
def hello() -> None:
    """Say hello."""


app()
'''

EAGER = """\
import importlib, pkgutil, sys
import dirguard.cli
for module in pkgutil.iter_modules(dirguard.cli.__path__):
    importlib.import_module(f"dirguard.cli.{module.name}")
from dirguard.cli.app import main
sys.argv = ["dirguard", "--help"]
main()
"""


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def commands(peer_file: Path) -> dict[str, list[str]]:
    return {
        "dirguard --help": [DIRGUARD, "--help"],
        "dirguard permissions": [DIRGUARD, "permissions"],
        "dirguard permissions --json": [DIRGUARD, "permissions", "--json"],
        "dirguard --version": [DIRGUARD, "--version"],
        "peer: python -c pass": [PYTHON, "-c", "pass"],
        "peer: python -m json.tool --help": [PYTHON, "-m", "json.tool", "--help"],
        "peer: minimal Typer app --help": [PYTHON, str(peer_file), "--help"],
        "before: every command module imported, --help": [PYTHON, "-c", EAGER],
    }


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """(seconds to the first byte of output, wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        assert child.stdout is not None and child.stderr is not None
        child.stdout.read(1)
        first = time.perf_counter() - started
        child.stdout.read()
        errors = child.stderr.read()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if child.returncode != 0:
        raise SystemExit(f"{argv} failed ({child.returncode}): {errors.decode()[-500:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return first, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        peer_file = Path(scratch) / "typer_peer.py"
        peer_file.write_text(TYPER_PEER, encoding="utf-8")
        env = {
            **os.environ,
            "COLUMNS": "100",
            "PYTHONUNBUFFERED": "1",  # the first output is written when printed, not at 8 KiB
            "DIRGUARD_CONFIG": str(Path(scratch) / "absent.toml"),
        }
        table = commands(peer_file)
        for argv in table.values():  # warm the page cache and the bytecode caches
            run_once(argv, env)
        firsts: dict[str, list[float]] = {name: [] for name in table}
        walls: dict[str, list[float]] = {name: [] for name in table}
        cpus: dict[str, list[float]] = {name: [] for name in table}
        for round_no in range(1, args.rounds + 1):
            say(f"round {round_no}/{args.rounds}")
            for name, argv in table.items():
                first, wall, cpu = run_once(argv, env)
                firsts[name].append(first)
                walls[name].append(wall)
                cpus[name].append(cpu)
    load = os.getloadavg()
    print(f"{args.rounds} rounds, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'command':<48} {'median':>8} {'best':>8} {'CPU':>8} {'output':>8}")
    for name in table:
        print(
            f"{name:<48} {statistics.median(walls[name]):>7.3f}s {min(walls[name]):>7.3f}s"
            f" {statistics.median(cpus[name]):>7.3f}s {statistics.median(firsts[name]):>7.3f}s"
        )
    peers = [name for name in table if name.startswith(("peer:", "before:"))]
    for measured in ("dirguard --help", "dirguard permissions"):
        median = statistics.median(walls[measured])
        cpu = statistics.median(cpus[measured])
        verdict = "met" if median <= GOAL_SECONDS else "NOT met"
        print(
            f"{measured}: median {median:.3f}s wall ({cpu:.3f}s CPU), goal {GOAL_SECONDS}s"
            f" {verdict} in wall time, {'met' if cpu <= GOAL_SECONDS else 'NOT met'} in CPU time"
        )
        for peer in peers:
            ratio = median / statistics.median(walls[peer])
            print(f"  ratio {measured} / {peer.partition(': ')[2]}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
