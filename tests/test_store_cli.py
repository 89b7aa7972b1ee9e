"""``dirguard db upgrade`` and ``dirguard db status`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.store.database import head_revision
from dirguard.store.models import TABLES


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_upgrade_then_status_as_json(store_url: str) -> None:
    code, out, _ = _run("db", "status", "--url", store_url, "--json")
    assert code == 0
    before = json.loads(out)
    assert before["current_revision"] is None and before["up_to_date"] is False

    code, out, _ = _run("db", "upgrade", "--url", store_url, "--json")
    assert code == 0
    upgraded = json.loads(out)
    assert (upgraded["from_revision"], upgraded["to_revision"]) == (None, head_revision())
    password = make_url(store_url).password
    if password:  # the PostgreSQL server's generated password is never printed
        assert str(password) not in out and ":***@" in upgraded["url"]

    code, out, _ = _run("db", "status", "--url", store_url, "--json")
    assert code == 0
    status = json.loads(out)
    assert status["current_revision"] == status["head_revision"] == head_revision()
    assert status["up_to_date"] is True
    assert status["tables"] == dict.fromkeys(TABLES, 0)


def test_human_output_says_what_happened(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dirguard.db'}"
    code, out, _ = _run("db", "upgrade", "--url", url)
    assert code == 0 and f"to {head_revision()}" in out
    code, out, _ = _run("db", "upgrade", "--url", url)
    assert code == 0 and "already at revision" in out
    code, out, _ = _run("db", "status", "--url", url)
    assert code == 0 and "up to date" in out and "change_events" in out


def test_status_of_a_missing_sqlite_store_does_not_create_it(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "dirguard.db"
    code, out, _ = _run("db", "status", "--url", f"sqlite:///{path}")
    assert code == 0 and "dirguard db upgrade" in out
    assert not path.parent.exists()


def test_url_from_environment_then_xdg_default(tmp_path: Path) -> None:
    from_env = tmp_path / "env.db"
    code, _, _ = _run("db", "upgrade", env={"DIRGUARD_STORE__URL": f"sqlite:///{from_env}"})
    assert code == 0 and from_env.is_file()

    env = {"DIRGUARD_STORE__URL": "", "XDG_DATA_HOME": str(tmp_path / "xdg")}
    code, out, _ = _run("db", "upgrade", "--json", env=env)
    assert code == 0, out
    assert (tmp_path / "xdg" / "dirguard" / "dirguard.db").is_file()


@pytest.mark.parametrize(
    ("url", "exit_code", "message"),
    [
        ("mysql://u:S3cret@h/db", 3, "unsupported store URL scheme 'mysql'"),
        ("postgresql://u:S3cret@127.0.0.1:1/db", 4, "cannot use the store at"),
    ],
)
def test_bad_or_unreachable_store_exits_with_its_code(
    url: str, exit_code: int, message: str
) -> None:
    code, out, err = _run("db", "status", "--url", url, "--json")
    assert code == exit_code
    assert message in " ".join(err.split())
    assert "S3cret" not in out + err


def test_installed_command_prints_parseable_json(tmp_path: Path) -> None:
    dirguard = Path(sys.executable).parent / "dirguard"
    url = f"sqlite:///{tmp_path / 'dirguard.db'}"
    env = {**os.environ, "DIRGUARD_STORE__URL": url}
    subprocess.run([str(dirguard), "db", "upgrade"], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [str(dirguard), "db", "status", "--json"], env=env, check=True, capture_output=True
    )
    assert json.loads(done.stdout)["up_to_date"] is True
