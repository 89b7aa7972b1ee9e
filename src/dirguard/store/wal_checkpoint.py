"""SQLite's WAL checkpoints on a thread of their own instead of in the writer's commit.

In WAL mode a commit appends the transaction's pages to the ``-wal`` file; a *checkpoint* copies
them back into the database file and syncs it. By default SQLite runs one inside the commit that
takes the log past 1,000 pages (about 4 MiB): the writer waits for the copy and the sync. A
capture page of ten thousand member adds writes about 6 MiB of pages, so nearly every such
commit paid for a checkpoint too (0.03-0.26 s measured, more than the rest of the commit).

Here each store file has a thread that runs ``PRAGMA wal_checkpoint(PASSIVE)`` on a connection
of its own when a commit has left the log at 4 MiB or more (:func:`committed`, called after each
session commit). A passive checkpoint copies what no reader still needs and never blocks a
writer or a reader; SQLite makes it crash-safe (an interrupted one is redone from the log when
the database is next opened). Durability is what it was: with ``synchronous = NORMAL`` a
committed transaction survives a crash of dirguard at once, and a power loss once the log or the
database is synced. The connections keep an automatic checkpoint as a backstop, at
:data:`BACKSTOP_PAGES`, for writes made while the thread lags or outside a session.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)

BACKSTOP_PAGES = 16_000
"""``wal_autocheckpoint`` of the store's connections: a checkpoint in the commit only when the
log has grown to this many pages (64 MiB at 4 KiB) without the thread catching up."""

WAKE_BYTES = 4 * 1024 * 1024
"""The log size from which a commit wakes the thread (SQLite's own default threshold)."""

_checkpointers: dict[Path, _Checkpointer] = {}
_registry_lock = threading.Lock()


class _Checkpointer:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.wal = Path(f"{path}-wal")
        self.wake = threading.Event()
        self.thread = threading.Thread(
            target=self._run, name=f"wal-checkpoint {path.name}", daemon=True
        )
        self.thread.start()

    def _run(self) -> None:
        # read-write, never created: a store file removed meanwhile is not made again, empty
        uri = f"file:{quote(str(self.path))}?mode=rw"
        while True:
            self.wake.wait()
            self.wake.clear()
            try:
                db = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None)
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                finally:
                    db.close()
            except sqlite3.Error as error:  # the file gone, or locked by a full checkpoint
                log.debug("checkpoint of %s not run: %s", self.path, error)


def committed(path: Path) -> None:
    """After a commit to the SQLite store at ``path``: wake its checkpoint thread (started the
    first time) when the log holds :data:`WAKE_BYTES` or more. Cheap: one ``stat``."""
    try:
        size = Path(f"{path}-wal").stat().st_size
    except OSError:
        return
    if size < WAKE_BYTES:
        return
    with _registry_lock:
        checkpointer = _checkpointers.get(path)
        if checkpointer is None:
            checkpointer = _checkpointers[path] = _Checkpointer(path)
    checkpointer.wake.set()
