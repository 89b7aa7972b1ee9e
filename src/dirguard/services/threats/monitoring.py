"""What ``dirguard monitor`` adds for detection: a hook run right after each pass (the rules
over the domain's new events, then auto-undo and notifications), and the periodic exposure
checks. The rules are read once, when the monitor starts (a bad rule file stops it there)."""

from __future__ import annotations

from collections.abc import Callable

from dirguard.providers.ad import KIND as AD_KIND
from dirguard.providers.base import store_source
from dirguard.services.runtime import Runtime
from dirguard.services.threats.definitions import rules_in_force
from dirguard.services.threats.detect import DetectReport, detect_source
from dirguard.services.threats.scan import ScanRequest, scan


def detection_hook(
    runtime: Runtime, on_alerts: Callable[[DetectReport], None] | None = None
) -> Callable[[str], DetectReport]:
    rules = rules_in_force(runtime.config.threats)
    start = runtime.clock()

    def after_pass(domain: str) -> DetectReport:
        """``domain``: an AD domain's name, or a watched source's store key (``entra:x``)."""
        key = domain if ":" in domain else store_source(AD_KIND, domain)
        report = detect_source(runtime, key, rules, start=start)
        if report.alerts and on_alerts is not None:
            on_alerts(report)
        return report

    return after_pass


def exposure_chore(runtime: Runtime) -> Callable[[], object]:
    rules = rules_in_force(runtime.config.threats)

    def check() -> object:
        return scan(runtime, rules, ScanRequest(changes=False, exposure=True, notify=True))

    return check
