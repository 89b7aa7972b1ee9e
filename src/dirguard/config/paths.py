"""Where dirguard keeps its files by default (XDG base directories)."""

from __future__ import annotations

import os
from pathlib import Path


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    if value and Path(value).is_absolute():
        return Path(value)
    return Path.home() / fallback


def config_dir() -> Path:
    return _xdg("XDG_CONFIG_HOME", ".config") / "dirguard"


def data_dir() -> Path:
    return _xdg("XDG_DATA_HOME", ".local/share") / "dirguard"


def default_config_path() -> Path:
    return config_dir() / "dirguard.toml"


def default_store_url() -> str:
    return f"sqlite:///{data_dir() / 'dirguard.db'}"
