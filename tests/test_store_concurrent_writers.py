"""Several processes writing the store at once (the monitor, an apply, an undelete and a capture
in a normal deployment) all get their transactions in: none fails with "database is locked"
(SQLite) or a duplicate sequence number (PostgreSQL), and the chain stays whole."""

from __future__ import annotations

import subprocess
import sys
import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.store.events import verify_chain
from dirguard.store.models import ChangeEvent, DirectoryObject
from tests.concurrent_writer import SOURCE

WORKERS = 4
ROUNDS = 40


def test_concurrent_writers_all_commit_and_the_chain_stays_whole(
    store_url: str, store_sessions: sessionmaker[Session]
) -> None:
    with store_sessions.begin() as session:
        group = DirectoryObject(
            source=SOURCE, resource_type="ad.group", external_id=str(uuid.uuid4())
        )
        session.add(group)
        session.flush()
        object_id = group.id
    workers = [
        subprocess.Popen(
            [
                *(sys.executable, "-m", "tests.concurrent_writer"),
                *(store_url, str(object_id), str(worker), str(ROUNDS)),
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(WORKERS)
    ]
    failures = []
    for worker in workers:
        _, stderr = worker.communicate(timeout=300)
        if worker.returncode != 0:
            errors = [line for line in stderr.splitlines() if "Error" in line]
            failures.append(errors[-1] if errors else stderr[-300:] or "no output")
    assert failures == []
    with store_sessions() as session:
        sequences = session.scalars(
            select(ChangeEvent.sequence)
            .where(ChangeEvent.source == SOURCE)
            .order_by(ChangeEvent.sequence)
        ).all()
        assert sequences == list(range(1, WORKERS * ROUNDS + 1))
        assert verify_chain(session, SOURCE) == []
        values = session.scalar(
            select(func.count(func.distinct(ChangeEvent.new_value))).where(
                ChangeEvent.source == SOURCE
            )
        )
        assert values == WORKERS * ROUNDS
