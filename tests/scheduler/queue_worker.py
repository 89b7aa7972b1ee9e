"""A scheduler worker process for the queue test: ``python -m tests.scheduler.queue_worker URL``
registers the test's job kind (always due; a run takes a second and names its process) and
runs :func:`dirguard.services.scheduler.queue.run_worker` on the store at URL until SIGTERM."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dirguard.config.schema import Config, StoreConfig
from dirguard.services.runtime import Runtime
from dirguard.services.scheduler import jobs
from dirguard.services.scheduler.queue import run_worker
from dirguard.store.database import create_engine_for, session_factory

KIND = "test-serial"


def _due(runtime: Runtime, now: datetime) -> list[str]:
    return ["nightly", "other", "dup"]


def _run(runtime: Runtime, key: str) -> Mapping[str, Any]:
    time.sleep(1.0)
    return {"pid": os.getpid(), "key": key}


def main(url: str) -> None:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    jobs.register_job_kind(KIND, due=_due, run=_run)
    engine = create_engine_for(url)
    runtime = Runtime(
        config=Config(store=StoreConfig(url=url)),
        sessions=session_factory(engine),
        principal="dirguard",
    )
    try:
        run_worker(runtime)
    finally:
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1])
