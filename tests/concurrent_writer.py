"""One of several processes appending change events to the same chain at once (run by
``tests/test_store_concurrent_writers.py`` as ``python -m tests.concurrent_writer``).

Each round reads first and writes after, as a capture does (its cursor, the chain head, the
objects' stored state), in its own write transaction."""

from __future__ import annotations

import sys

from sqlalchemy import func, select

from dirguard.core.change_op import ChangeOp
from dirguard.store.cursors import get_cursor, save_cursor
from dirguard.store.database import create_engine_for, session_factory
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import ChangeEvent

SOURCE = "ad:corp.example"
STREAM = "dirsync:DC=corp,DC=example"


def main(url: str, object_id: int, worker: int, rounds: int) -> None:
    engine = create_engine_for(url)
    sessions = session_factory(engine)
    try:
        for n in range(rounds):
            with sessions() as session:
                get_cursor(session, SOURCE, STREAM)
            with sessions.begin() as session:
                session.execute(select(func.count()).select_from(ChangeEvent)).scalar_one()
                event = NewChangeEvent(
                    object_id=object_id,
                    op=ChangeOp.ADD_VALUE,
                    attribute="member",
                    new_value=f"CN=w{worker}r{n},DC=corp,DC=example",
                )
                append_events(session, [event])
                save_cursor(session, SOURCE, STREAM, f"{worker}:{n}".encode())
    finally:
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
