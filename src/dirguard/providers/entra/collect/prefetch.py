"""Several collections read at once, each a few pages ahead of the one consuming it.

A snapshot stores one scope after the other; reading them one after the other too would leave
the tenant's concurrency budget unused while one long collection pages through its nextLinks
(a nextLink is known only with the page before it: one collection cannot be read in parallel
with itself). :class:`Prefetch` starts up to ``workers`` producers, each filling a queue of at
most ``lookahead`` pages, so memory holds a few pages per collection whatever the tenant's size;
the consumer takes the collections in any order. A producer's error is raised to the consumer
of that collection; :meth:`close` stops the producers (they wait on a full queue at most a
moment).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

_PUT_WAIT = 0.2


@dataclass(frozen=True)
class _Done:
    error: BaseException | None = None


class Prefetch(Generic[T]):
    """Producers by name, run ``workers`` at a time in declaration order."""

    def __init__(
        self, producers: Mapping[str, Callable[[], Iterator[T]]], *, workers: int, lookahead: int
    ) -> None:
        self._queues: dict[str, queue.Queue[T | _Done]] = {
            name: queue.Queue(maxsize=max(1, lookahead)) for name in producers
        }
        self._stop = threading.Event()
        self._order = list(producers)
        self._producers = dict(producers)
        self._claimed: set[str] = set()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._work, name=f"graph-read-{n}", daemon=True)
            for n in range(max(1, min(workers, len(producers))))
        ]
        for thread in self._threads:
            thread.start()

    def _claim(self, wanted: str | None = None) -> str | None:
        """The next collection nobody reads yet (``wanted``: that one, if still free)."""
        with self._lock:
            free = [n for n in self._order if n not in self._claimed]
            if wanted is not None:
                free = [n for n in free if n == wanted]
            if not free:
                return None
            self._claimed.add(free[0])
            return free[0]

    def _put(self, name: str, item: T | _Done) -> bool:
        target = self._queues[name]
        while not self._stop.is_set():
            try:
                target.put(item, timeout=_PUT_WAIT)
                return True
            except queue.Full:
                continue
        return False

    def _work(self) -> None:
        while not self._stop.is_set() and (name := self._claim()) is not None:
            try:
                for item in self._producers[name]():
                    if not self._put(name, item):
                        return
            except BaseException as error:  # handed to the consumer of that collection
                self._put(name, _Done(error))
                continue
            self._put(name, _Done())

    def take(self, name: str) -> Iterator[T]:
        """The pages of ``name``, in order; its producer's error is raised here. A collection no
        worker has started is read here, in the caller's thread (taking them out of order cannot
        leave the caller waiting on workers that wait on it)."""
        if self._claim(name) is not None:
            yield from self._producers[name]()
            return
        source = self._queues[name]
        while True:
            item = source.get()
            if isinstance(item, _Done):
                if item.error is not None:
                    raise item.error
                return
            yield item

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
