"""Where dirguard keeps its files by default (XDG base directories)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit


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


def default_checkpoint_file(store_url: str) -> Path:
    """Where a store's chain checkpoints go unless ``[store] checkpoint_file`` says: one file per
    store, so that two stores (a demo's, a second configuration's) never read each other's
    checkpoints as their own history cut short. The default store keeps the historic name
    ``chain-checkpoints.jsonl`` in the data directory; another SQLite file gets
    ``<file>.chain-checkpoints.jsonl`` beside it; a PostgreSQL database gets
    ``chain-checkpoints-<host>-<port>-<database>.jsonl`` in the data directory."""
    if store_url == default_store_url():
        return data_dir() / "chain-checkpoints.jsonl"
    scheme, _, rest = store_url.partition(":")
    if scheme.startswith("sqlite"):
        file = rest[3:].partition("?")[0] if rest.startswith("///") else ""
        if file and file != ":memory:":
            database = Path(file)
            return database.with_name(database.name + ".chain-checkpoints.jsonl")
        return data_dir() / "chain-checkpoints-memory.jsonl"
    parts = urlsplit(store_url)
    db_name = parts.path.lstrip("/") or "postgres"
    name = f"{parts.hostname or 'localhost'}-{parts.port or 5432}-{db_name}"
    return data_dir() / f"chain-checkpoints-{re.sub(r'[^A-Za-z0-9._-]', '_', name)}.jsonl"
