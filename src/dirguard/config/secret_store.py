"""dirguard's encrypted secret store: named secrets encrypted with a key file of mode 0600.

The store file holds only Fernet tokens (AES-128-CBC + HMAC-SHA256); the key never leaves its
file. Nothing here logs, prints or puts a secret value in an exception message.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


class SecretStoreError(Exception):
    """A problem with the store; messages name files and secret names, never values."""


def check_private_file(path: Path, what: str) -> None:
    """Refuse a file that its group or others can read or write."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretStoreError(
            f"{what} {path} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"run: chmod 600 {path}"
        )


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)


class SecretStore:
    def __init__(self, key_file: Path, store_file: Path) -> None:
        self.key_file = key_file
        self.store_file = store_file

    def _fernet(self, *, create: bool) -> Fernet:
        if not self.key_file.exists():
            if not create:
                raise SecretStoreError(
                    f"no secret store key at {self.key_file}; store a secret first with "
                    "`dirguard secret set NAME`"
                )
            _write_private(self.key_file, Fernet.generate_key())
        check_private_file(self.key_file, "secret store key")
        try:
            return Fernet(self.key_file.read_bytes().strip())
        except ValueError:
            raise SecretStoreError(f"{self.key_file} is not a dirguard secret store key") from None

    def _tokens(self) -> dict[str, str]:
        if not self.store_file.exists():
            return {}
        try:
            data = json.loads(self.store_file.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SecretStoreError(f"{self.store_file} is not a dirguard secret store") from None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise SecretStoreError(f"{self.store_file} is not a dirguard secret store")
        return data

    def names(self) -> list[str]:
        return sorted(self._tokens())

    def set(self, name: str, value: str) -> None:
        if not value:
            raise SecretStoreError(f"refusing to store an empty value for secret {name!r}")
        fernet = self._fernet(create=True)
        tokens = self._tokens()
        tokens[name] = fernet.encrypt(value.encode("utf-8")).decode("ascii")
        _write_private(self.store_file, json.dumps(tokens, indent=1, sort_keys=True).encode())

    def get(self, name: str) -> str:
        tokens = self._tokens()
        if name not in tokens:
            raise SecretStoreError(
                f"secret {name!r} is not in the store {self.store_file}; "
                f"add it with `dirguard secret set {name}`"
            )
        try:
            return self._fernet(create=False).decrypt(tokens[name]).decode("utf-8")
        except InvalidToken:
            raise SecretStoreError(
                f"secret {name!r} cannot be decrypted with {self.key_file} (wrong key file?)"
            ) from None

    def delete(self, name: str) -> bool:
        tokens = self._tokens()
        if tokens.pop(name, None) is None:
            return False
        _write_private(self.store_file, json.dumps(tokens, indent=1, sort_keys=True).encode())
        return True

    def seal(self, value: str) -> str:
        """``value`` encrypted with the store's key (created if need be), for keeping elsewhere
        (the console's TOTP seeds in the database); :meth:`unseal` reverses it."""
        return self._fernet(create=True).encrypt(value.encode("utf-8")).decode("ascii")

    def unseal(self, token: str) -> str:
        try:
            return self._fernet(create=False).decrypt(token).decode("utf-8")
        except InvalidToken:
            raise SecretStoreError(
                f"a sealed value cannot be decrypted with {self.key_file} (wrong key file?)"
            ) from None
