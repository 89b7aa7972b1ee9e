"""A writer opened after an elevation waits for the grants to show in its credential.

Entra replicates a new app role assignment into tokens with a delay; the sandbox tenant grants
at once (its tokens carry a grant from the next request), so it cannot show the wait. This test
uses a stand-in writer whose rights become complete on its third opening — the one place a
double is used, because no real tenant here replicates slowly — and checks that the guarded
apply opens fresh writers until then, and gives up (rights incomplete) after the settle time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dirguard.core.plan import Step
from dirguard.providers.base import StepResult
from dirguard.services.rollback import guarded_apply
from dirguard.services.rollback.guarded_apply import WriteAccess


@dataclass(frozen=True)
class _Rights:
    ok: bool
    missing_groups: tuple[str, ...] = ()

    def needed(self) -> tuple[str, ...]:
        return ("User.ReadWrite.All",)

    def message(self) -> str:
        return "ok" if self.ok else "lacks User.ReadWrite.All"

    def as_dict(self) -> dict[str, object]:
        return {"ok": self.ok}


@dataclass
class _Opened:
    complete_from: int
    opened: list[int] = field(default_factory=list)

    def writer(self) -> _Writer:
        self.opened.append(len(self.opened) + 1)
        return _Writer(len(self.opened) >= self.complete_from)


@dataclass
class _Writer:
    complete: bool

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None

    def apply(self, step: Step, produced: Mapping[str, str], *, force: bool) -> StepResult:
        raise AssertionError("not called")

    def verify(self, step: Step, produced: Mapping[str, str]) -> str | None:
        raise AssertionError("not called")

    def rights(self, steps: Sequence[Step]) -> _Rights:
        return _Rights(ok=self.complete, missing_groups=() if self.complete else ("X",))


def _access(opened: _Opened, settle: float) -> WriteAccess:
    return WriteAccess(
        source="entra:t",
        read_only=True,
        mode="read-only",
        account="app",
        elevator_account="elevator",
        writer=opened.writer,
        grants=None,
        grants_settle=settle,
    )


def test_fresh_writers_until_the_grants_show() -> None:
    opened = _Opened(complete_from=3)
    slept: list[float] = []
    with guarded_apply._writer_holding(_access(opened, 60.0), [], sleep=slept.append) as (
        _writer,
        rights,
    ):
        assert rights.ok
    assert opened.opened == [1, 2, 3]
    assert slept == [guarded_apply.SETTLE_STEP] * 2


def test_without_settle_time_the_first_writer_decides() -> None:
    opened = _Opened(complete_from=3)
    with guarded_apply._writer_holding(_access(opened, 0.0), [], sleep=lambda _s: None) as (
        _writer,
        rights,
    ):
        assert not rights.ok
    assert opened.opened == [1]
