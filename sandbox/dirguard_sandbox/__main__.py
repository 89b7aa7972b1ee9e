"""``python -m dirguard_sandbox serve [--port] [--users N] [--seed S] [--state FILE]
[--admin-only | --realistic] [--audit-latency realistic|SECONDS]``.

Prints ONE JSON line when ready: tenant id, base URLs, CA file, the two apps' client ids and
secrets, the Global Administrator's sign-in, and the admin key with the URLs it opens (the fault
control and the outbox where sent mail lands). With ``--state``, an existing file is loaded
(``--users``/``--seed`` are then ignored) and the state is saved back on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import signal
import sys
import tempfile
from pathlib import Path

from dirguard_sandbox.audit_latency import REALISTIC, parse_latency
from dirguard_sandbox.certificates import write_tls_files
from dirguard_sandbox.first_party_apps import generate_admin_only_tenant
from dirguard_sandbox.seed_data import SeedOptions, generate_tenant
from dirguard_sandbox.server import bind_loopback, describe, make_server
from dirguard_sandbox.state_file import load_state, save_state


def _latency(text: str) -> float | str:
    try:
        return parse_latency(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dirguard_sandbox", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve a sandbox tenant over HTTPS on 127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="TCP port (default: a free one)")
    serve.add_argument("--users", type=int, default=25, help="users to generate (default 25)")
    serve.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    serve.add_argument("--state", type=Path, help="JSON file to load from and save to")
    serve.add_argument("--tls-dir", type=Path, help="where to write the CA and server certificate")
    serve.add_argument(
        "--admin-only",
        action="store_true",
        help="a tenant holding only its Global Administrator, Microsoft's first-party apps and "
        "one Azure subscription (what `dirguard connect entra` starts from)",
    )
    serve.add_argument(
        "--realistic",
        action="store_true",
        help="add a reporting tree, nested groups of each kind, line-of-business apps, conditional "
        "access, role and PIM assignments and soft-deleted items",
    )
    serve.add_argument(
        "--audit-latency",
        type=_latency,
        default=REALISTIC,
        help="how late directoryAudits appear: 'realistic' (default: Microsoft's 2 min p95, "
        "5 min p99) or a number of seconds (0: at once)",
    )
    return parser


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.state is not None and arguments.state.exists():
        try:
            state = load_state(arguments.state)
        except (OSError, ValueError, TypeError) as error:
            print(f"cannot load --state {arguments.state}: {error}", file=sys.stderr)
            return 3
    else:
        try:
            state = (
                generate_admin_only_tenant(arguments.seed)
                if arguments.admin_only
                else generate_tenant(
                    SeedOptions(
                        users=arguments.users, seed=arguments.seed, realistic=arguments.realistic
                    )
                )
            )
        except ValueError as error:
            print(str(error), file=sys.stderr)
            return 3
    state.audit_latency = arguments.audit_latency
    tls_dir = arguments.tls_dir or Path(tempfile.mkdtemp(prefix="dirguard-sandbox-"))
    tls = write_tls_files(tls_dir)
    try:
        sock = bind_loopback(arguments.port)
    except OSError as error:
        print(f"cannot listen on 127.0.0.1:{arguments.port}: {error.strerror}", file=sys.stderr)
        return 4
    admin_key = secrets.token_urlsafe(24)
    info = describe(state, sock.getsockname()[1], tls.ca_file, admin_key=admin_key)
    server = make_server(state, tls, admin_key=admin_key)
    print(json.dumps(info.as_json()), flush=True)
    # uvicorn re-raises the signal that stopped it once it has shut down; turn SIGTERM into an
    # exception so that the state is still saved below.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        asyncio.run(server.serve(sockets=[sock]))
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if arguments.state is not None:
            save_state(state, arguments.state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
