"""What the monitor loop is made of besides the loop: the backoff between retries, periodic
chores, and the signal handling that stops it cleanly."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType

log = logging.getLogger("dirguard.services.capture.monitor")


@dataclass(frozen=True, kw_only=True)
class Backoff:
    """Delay before the n-th consecutive retry: ``initial * factor**(n-1)``, at most ``cap``,
    then reduced by up to ``jitter`` (a fraction) so that several monitors do not retry in step.
    """

    initial: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.factor < 1 or self.cap < self.initial:
            raise ValueError("backoff: need initial > 0, factor >= 1 and cap >= initial")
        if not 0 <= self.jitter < 1:
            raise ValueError("backoff: jitter is a fraction in [0, 1)")

    def delay(self, failures: int, draw: float) -> float:
        """Seconds to wait after ``failures`` consecutive failures; ``draw`` is in [0, 1)."""
        base = min(self.cap, self.initial * self.factor ** max(0, failures - 1))
        return base * (1 - self.jitter * draw)


@dataclass(kw_only=True)
class Chore:
    """Work the monitor does every ``every`` seconds besides capturing (first after one
    interval), e.g. signing checkpoints of the event chains. A failure is logged and the chore
    tried again at its next time: it never stops the capture."""

    name: str
    every: float
    work: Callable[[], object]
    due: float | None = None


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event, *wake: threading.Event) -> Iterator[None]:
    """While inside: the first SIGTERM/SIGINT sets ``stop`` and ``wake``; a second one raises
    ``KeyboardInterrupt`` (abandoning the pass in progress). Handlers are restored after."""

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.warning("received %s: stopping after the current pass", signal.Signals(signum).name)
        for event in (stop, *wake):
            event.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
