"""When a rule's cron schedule is due, with croniter (pure: the caller gives the clock).

croniter (pallets-eco, on PyPI, releases through 2026) parses the five-field cron syntax people
already write for crontab and Kubernetes CronJobs, including ranges, steps and names; writing our
own parser would only add bugs. Schedules are read in UTC, as the console shows times.
"""

from __future__ import annotations

from datetime import UTC, datetime


def check_cron(expression: str) -> str | None:
    """``None`` when ``expression`` is a valid five-field cron expression, else what is wrong."""
    from croniter import croniter

    if len(expression.split()) != 5:
        return "a schedule has five fields: minute hour day-of-month month day-of-week"
    try:
        croniter(expression, datetime(2026, 1, 1, tzinfo=UTC))
    except (ValueError, KeyError) as error:
        return f"not a cron expression ({error})"
    return None


def next_after(expression: str, moment: datetime) -> datetime:
    """The first time strictly after ``moment`` the schedule fires."""
    from croniter import croniter

    found = croniter(expression, moment.astimezone(UTC)).get_next(datetime)
    assert isinstance(found, datetime)
    return found.astimezone(UTC)


def due(expression: str, last: datetime | None, now: datetime, created: datetime) -> bool:
    """Whether a run is due at ``now``: some firing time after the last run (or, before the
    first run, after the rule was saved) has passed. Missed firings collapse into one run."""
    return next_after(expression, last or created) <= now
