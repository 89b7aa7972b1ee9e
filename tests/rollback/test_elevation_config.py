"""The elevation keys of ``[[ad.domains]]``: both or neither, a user principal name, simple
bind only, and the elevation password a credential reference that is never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from dirguard.config.loader import ConfigError, load_config

BASE = """
[[ad.domains]]
name = "corp.example.com"
servers = ["dc1.corp.example.com"]
bind_upn = "svc-read@corp.example.com"
password = "env:DIRGUARD_AD_PASSWORD"
"""


def _load(tmp_path: Path, extra: str) -> ConfigError | None:
    path = tmp_path / "dirguard.toml"
    path.write_text(BASE + extra, encoding="utf-8")
    try:
        load_config(path, environ={})
    except ConfigError as error:
        return error
    return None


def test_elevation_keys_are_accepted_together(tmp_path: Path) -> None:
    path = tmp_path / "dirguard.toml"
    path.write_text(
        BASE + 'elevation_bind_upn = "svc-elevate@corp.example.com"\n'
        'elevation_password = "secret:elevate"\n',
        encoding="utf-8",
    )
    domain = load_config(path, environ={}).config.ad.domains[0]
    assert domain.elevation_bind_upn == "svc-elevate@corp.example.com"
    assert domain.elevation_password == "secret:elevate"
    assert domain.mode.value == "read-only"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('elevation_bind_upn = "svc-elevate@corp.example.com"\n', "set both elevation_bind_upn"),
        ('elevation_password = "env:X"\n', "set both elevation_bind_upn"),
        (
            'elevation_bind_upn = "svc-elevate"\nelevation_password = "env:X"\n',
            "elevation_bind_upn must be a user principal name",
        ),
    ],
)
def test_incomplete_or_malformed_elevation_keys_are_named(
    tmp_path: Path, extra: str, message: str
) -> None:
    error = _load(tmp_path, extra)
    assert error is not None and message in str(error)


def test_elevation_needs_a_simple_bind(tmp_path: Path) -> None:
    path = tmp_path / "dirguard.toml"
    path.write_text(
        '[[ad.domains]]\nname = "corp.example.com"\nservers = ["dc1"]\nauth = "gssapi"\n'
        'bind_upn = "svc-read@corp.example.com"\n'
        'elevation_bind_upn = "svc-elevate@corp.example.com"\nelevation_password = "env:X"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="elevation needs auth = 'simple'"):
        load_config(path, environ={})


def test_an_inline_elevation_password_is_refused_without_being_echoed(tmp_path: Path) -> None:
    error = _load(
        tmp_path,
        'elevation_bind_upn = "svc-elevate@corp.example.com"\n'
        'elevation_password = "Sup3rSecret-value"\n',
    )
    assert error is not None
    assert "elevation_password" in str(error)
    assert "Sup3rSecret-value" not in str(error)
