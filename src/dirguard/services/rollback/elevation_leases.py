"""Whether the dirguard process that granted an elevation is still using it.

While an elevation is in place, the process that granted it holds an exclusive ``flock`` on a
lease file of its own (one per elevation, in dirguard's data directory). The kernel releases the
lock when that process ends, however it ends — so another process (a monitor's periodic check,
the next apply, ``dirguard elevation revoke``) can tell an elevation a killed dirguard left
behind (revoke it) from one a running apply needs (leave it). An elevation without a lease file
(granted on another host, or before leases existed) counts as left behind, as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from dirguard.config.paths import data_dir


def _path(store: str, row_id: int) -> Path:
    key = hashlib.sha256(f"{store}\0{row_id}".encode()).hexdigest()[:24]
    return data_dir() / "elevation-leases" / f"{key}.lock"


@dataclass
class Lease:
    """A held lease; :meth:`release` ends it (and removes its file)."""

    path: Path
    fd: int | None

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self.fd)
        self.fd = None


def take(store: str, row_id: int) -> Lease:
    """Hold the lease of elevation ``row_id`` of the store ``store`` (its URL, password-free)."""
    path = _path(store, row_id)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, str(os.getpid()).encode())
    return Lease(path=path, fd=fd)


def in_use(store: str, row_id: int) -> bool:
    """Whether a live process holds elevation ``row_id``'s lease (``False`` without a file)."""
    path = _path(store, row_id)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock this process took
    with contextlib.suppress(OSError):
        path.unlink()
    return False
