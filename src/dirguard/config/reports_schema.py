"""The ``[reports]`` section: reports e-mailed on a schedule as XLSX.

::

    [[reports.schedules]]
    name = "monthly-licenses"
    report = "license-optimization"
    schedule = "0 7 1 * *"          # cron, UTC: 07:00 on the 1st
    to = ["it-finance@corp.example.com"]
    days = 30                        # the report's parameter (optional)
    tenant = "contoso"               # optional: the only tenant by default

Each schedule is a scheduled job (kind ``report``) of ``dirguard serve`` / ``monitor``; the mail
goes out through ``[notifications]`` with the report attached.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class ReportSchedule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    report: str
    schedule: str
    to: list[str] = Field(min_length=1)
    days: int | None = Field(default=None, ge=0, le=3650)
    tenant: str | None = None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        from dirguard.core.rules_schedule import check_cron

        problem = check_cron(value)
        if problem is not None:
            raise ValueError(f"schedule {value!r}: {problem}")
        return value

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address or " " in address.strip():
                raise ValueError(f"not an e-mail address: {address!r}")
        return value


class ReportsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    schedules: list[ReportSchedule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> ReportsConfig:
        names = [s.name for s in self.schedules]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"reports.schedules: {name!r} is configured twice")
        return self
