"""The CLI starts without the heavy and optional dependencies, and says what to install.

Commands are imported when they run (``cli/lazy_commands.py``); the group help lists them from
a table, so the table must read exactly as the commands do. Start-up time itself is measured in
``bench/startup.py``, not here.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.main import get_command, get_group

from dirguard.cli.app import DirguardCommands, app
from dirguard.cli.help_text import prepare
from dirguard.cli.lazy_commands import LazyCommands
from tests.fixtures.no_ldap import assert_ldap_absent, blocking_ldap

DIRGUARD = Path(sys.executable).with_name("dirguard")

HEAVY = ("sqlalchemy", "alembic", "ldap", "_ldap", "azure", "msal", "httpx", "cryptography")
"""Third-party packages ``--help`` and ``permissions`` must not import."""


def _helps(capsys: pytest.CaptureFixture[str], *, load_first: bool) -> dict[str, str]:
    """The help of every lazy group, rendered before (as ``dirguard --help`` does) or after its
    commands were imported; fresh groups each time."""
    helps: dict[str, str] = {}

    def visit(group: LazyCommands, ctx: typer.Context) -> None:
        names = group.list_commands(ctx)
        if load_first:
            for name in names:
                group.get_command(ctx, name)
        group.get_help(ctx)
        helps[ctx.command_path] = capsys.readouterr().out
        for row in group.table:
            command = group.get_command(ctx, row.name)
            assert command is not None
            assert command.callback is not None or isinstance(command, TyperGroup), (
                f"{row.module}.register adds no command {row.name!r}"
            )
            reads = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
            assert prepare(row.help) == reads.strip(), (
                f"the LazyCommand row of {row.name!r} ({type(group).__name__}.table) must read as"
                f" the first paragraph of the command's help, now {reads.strip()!r}"
            )
        for name in names:
            command = group.get_command(ctx, name)
            if isinstance(command, LazyCommands):
                visit(command, typer.Context(command, info_name=name, parent=ctx))

    root = get_command(app)
    assert isinstance(root, LazyCommands)
    visit(root, typer.Context(root, info_name="dirguard"))
    return helps


def test_every_command_a_module_registers_has_its_row() -> None:
    """A command added to a module's ``register`` without a row in the table would never run."""
    for group in (DirguardCommands, _connect_commands()):
        for module in {row.module for row in group.table}:
            holder = typer.Typer()
            importlib.import_module(f"{group.package}.{module}").register(holder)
            registered = set(get_group(holder).commands)
            rows = {row.name for row in group.table if row.module == module}
            assert registered == rows, f"{group.__name__}.table rows of {module}: {sorted(rows)}"


def _connect_commands() -> type[LazyCommands]:
    connect = get_group(app).get_command(typer.Context(get_group(app)), "connect")
    assert isinstance(connect, LazyCommands)
    return type(connect)


def test_group_help_lists_the_commands_as_they_read_once_imported(
    capsys: pytest.CaptureFixture[str],
) -> None:
    listed = _helps(capsys, load_first=False)
    assert set(listed) == {"dirguard", "dirguard connect"}
    assert "monitor" in listed["dirguard"] and "validate" in listed["dirguard connect"]
    assert listed == _helps(capsys, load_first=True)


def _modules_after(args: list[str], tmp_path: Path, env: dict[str, str]) -> list[str]:
    """The third-party top-level packages loaded by ``dirguard ARGS`` in a fresh interpreter."""
    out = tmp_path / "modules.json"
    script = (
        "import json, sys\n"
        f"sys.argv = ['dirguard', *{args!r}]\n"
        "from dirguard.cli.app import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "names = sorted({m.partition('.')[0] for m in sys.modules})\n"
        f"open({str(out)!r}, 'w').write(json.dumps(names))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(out.read_text(encoding="utf-8"))
    return loaded


@pytest.mark.parametrize("args", [["--help"], ["permissions"], ["permissions", "--json"]])
def test_help_and_permissions_import_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    env = {**os.environ, "DIRGUARD_CONFIG": str(tmp_path / "absent.toml")}
    loaded = _modules_after(args, tmp_path, env)
    assert "typer" in loaded
    assert [name for name in HEAVY if name in loaded] == []


@pytest.fixture
def without_ldap(tmp_path: Path) -> dict[str, str]:
    """An environment in which python-ldap cannot be imported (:func:`blocking_ldap`) and a
    domain is configured."""
    config = tmp_path / "dirguard.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n\n'
        "[[ad.domains]]\n"
        'name = "corp.example.com"\n'
        'servers = ["dc1.corp.example.com"]\n'
        'bind_upn = "svc-dirguard@corp.example.com"\n'
        'password = "env:DG_TEST_AD_PW"\n',
        encoding="utf-8",
    )
    env = {
        **os.environ,
        **blocking_ldap(tmp_path),
        "DIRGUARD_CONFIG": str(config),
        "DG_TEST_AD_PW": "not-used-1234",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    assert_ldap_absent(env)
    return env


def _dirguard(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DIRGUARD), *args], capture_output=True, text=True, env=env, check=False
    )


def test_an_ad_command_without_python_ldap_says_what_to_install(
    without_ldap: dict[str, str],
) -> None:
    done = _dirguard(["snapshot", "ad"], without_ldap)
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    assert "`dirguard snapshot ad` needs python-ldap" in done.stderr
    assert "pip install 'dirguard[ad]'" in done.stderr
    assert "libldap2-dev libsasl2-dev" in done.stderr
    connect = _dirguard(["connect", "ad", "--check"], without_ldap)
    assert connect.returncode == 4, connect.stderr
    assert "`dirguard connect ad` needs python-ldap" in connect.stderr


def test_a_command_reaching_ldap_only_when_it_runs_says_the_same(
    without_ldap: dict[str, str],
) -> None:
    """``connect validate`` loads without python-ldap (an Entra-only site validates its
    tenants) and imports it only to bind to a configured domain."""
    done = _dirguard(["connect", "validate", "--skip-entra"], without_ldap)
    assert done.returncode == 4, done.stderr
    assert "Traceback" not in done.stderr
    assert "`dirguard connect validate` needs python-ldap" in done.stderr
    assert "pip install 'dirguard[ad]'" in done.stderr
    # the monitor imports without it (an Entra-only site watches its tenants) and needs it
    # only for the configured domain's pass
    monitor = _dirguard(["monitor", "--once"], without_ldap)
    assert monitor.returncode == 4, monitor.stderr
    assert "Traceback" not in monitor.stderr
    assert "`dirguard monitor` needs python-ldap" in monitor.stderr


@pytest.mark.parametrize(
    "args",
    [["--help"], ["permissions"], ["config", "check"], ["connect", "--help"], ["db", "status"]],
)
def test_commands_that_need_no_ldap_work_without_it(
    args: list[str], without_ldap: dict[str, str]
) -> None:
    done = _dirguard(args, without_ldap)
    assert done.returncode == 0, done.stderr
    assert done.stdout
