"""``dirguard account``: the first administrator on a fresh install, passwords from standard
input only; and ``[web]`` settings from the environment as every other section."""

from __future__ import annotations

import json
from pathlib import Path

import pyotp
import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.config.loader import load_config

PASSWORD = "a long enough password"


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = tmp_path / "dirguard.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
        f'[secrets]\nkey_file = "{tmp_path / "secret.key"}"\n'
        f'store_file = "{tmp_path / "secrets.json"}"\n',
        encoding="utf-8",
    )
    runner = CliRunner()

    def invoke(*args: str, code: int = 0, stdin: str | None = None) -> str:
        result = runner.invoke(app, ["--config", str(config), *args], input=stdin)
        assert result.exit_code == code, result.output
        assert PASSWORD not in result.output
        return result.output

    return invoke


def test_the_first_administrator_and_what_can_be_done_to_an_account(run) -> None:  # type: ignore[no-untyped-def]
    run("account", "add", "admin", "--role", "administrator", stdin=PASSWORD + "\n")
    run("account", "add", "viewer1", stdin=PASSWORD + "\n")
    listed = json.loads(run("account", "list", "--json"))
    assert [(a["name"], a["role"], a["disabled"]) for a in listed] == [
        ("admin", "administrator", False),
        ("viewer1", "viewer", False),
    ]
    run("account", "set-role", "viewer1", "approver")
    run("account", "disable", "viewer1")
    uri = run("account", "enroll-totp", "admin").strip()
    assert pyotp.parse_uri(uri).secret
    after = {a["name"]: a for a in json.loads(run("account", "list", "--json"))}
    assert after["viewer1"]["role"] == "approver" and after["viewer1"]["disabled"]
    assert after["admin"]["totp"]
    run("account", "reset-totp", "admin")
    assert not json.loads(run("account", "list", "--json"))[0]["totp"]


def test_bad_input_is_named(run) -> None:  # type: ignore[no-untyped-def]
    assert "too short" in run("account", "add", "x", code=1, stdin="short\n")
    assert "unknown console role 'boss'" in run("account", "add", "y", "--role", "boss", code=2)
    assert "no local console account 'ghost'" in run(
        "account", "set-role", "ghost", "viewer", code=1
    )
    run("account", "add", "z", stdin=PASSWORD + "\n")
    assert "exists" in run("account", "add", "z", code=1, stdin=PASSWORD + "\n")


def test_there_is_no_password_option(run) -> None:  # type: ignore[no-untyped-def]
    assert "No such option" in run("account", "add", "w", "--password", "x" * 12, code=2)


def test_web_settings_come_from_the_environment_too(tmp_path: Path) -> None:
    loaded = load_config(
        tmp_path / "absent.toml",
        environ={"DIRGUARD_WEB__PORT": "9443", "DIRGUARD_WEB__HOST": "0.0.0.0"},  # noqa: S104
    )
    assert (loaded.config.web.port, loaded.config.web.host) == (9443, "0.0.0.0")  # noqa: S104
