"""LDAP change notification (``LDAP_SERVER_NOTIFICATION_OID``): a DC says "something changed".

A :class:`ChangeNotifier` keeps a connection of its own to one domain's DC and, on it, one
asynchronous search per watched partition with the notification control (1.2.840.113556.1.4.528,
critical, no value): filter ``(objectClass=*)``, subtree scope on the partition's naming-context
head, attribute ``objectGUID``. That is what [MS-ADTS] (LDAP_SERVER_NOTIFICATION_OID) allows
(filter ``(objectclass=*)`` only; subtree only at an NC head; at most five notification searches
per connection) and what Samba's ``dsdb_notification`` module accepts (it re-runs the search
as ``uSNChanged >=`` the last USN it saw, at once after a write through its LDAP server,
otherwise every 5 s). The search never completes while it is active: each changed object comes
back as one entry, and a reader thread waiting on ``result3(all=0)`` calls ``on_change``.
The entry only says "look now": what is stored is decided by the caller's DirSync cookie, never
by a notification.

When the search is refused (a DC or firewall that does not allow it) or its connection drops,
the notifier logs one warning, reports itself inactive (``on_status``) and retries with the
caller's backoff; the caller's own poll covers the gap. :meth:`ChangeNotifier.close` abandons
the searches, unbinds and joins the thread with a timeout (the thread is a daemon: it never
keeps the process alive).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from dirguard.catalog.resource_type import Partition
from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad.errors import ldap_error_text

if TYPE_CHECKING:  # python-ldap is imported where the notifier uses it: the monitor of an
    # Entra-only install (no ``ad`` extra) imports this module without it
    from dirguard.providers.ad.connection import AdConnection

log = logging.getLogger(__name__)

NOTIFICATION_OID = "1.2.840.113556.1.4.528"
READ_SLICE_S = 0.5
"""How long one ``result3`` waits before the reader checks whether it should stop."""
STOP_SLICE_S = 0.5
"""The longest a waiting loop goes without checking whether it should stop."""
SETTLE_S = 1.0
"""How long a fresh search may take to be refused before it counts as active."""
JOIN_TIMEOUT_S = 5.0

Opener = Callable[[], "AdConnection"]
"""Opens a bound connection to the domain's DC (the same configuration as the DirSync one)."""
Delay = Callable[[int], float]
"""Seconds to wait after the given number of consecutive failures."""


THREAD_PREFIX = "change-notification-"


class _QuietConnects(logging.Filter):
    """Demotes what ``connection`` logs from a notifier's thread to DEBUG: the notifier's own
    warning says once that notification is unavailable, its retries stay out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.threadName and record.threadName.startswith(THREAD_PREFIX):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


logging.getLogger("dirguard.providers.ad.connection").addFilter(_QuietConnects())


class NotificationEnded(Exception):
    """The DC completed a notification search (it should stay open while it is active)."""


class ChangeNotifier:
    """The notification searches of one domain, read by a daemon thread until :meth:`close`."""

    def __init__(
        self,
        *,
        name: str,
        open_connection: Opener,
        partitions: Sequence[Partition],
        on_change: Callable[[], None],
        on_status: Callable[[], None],
        delay: Delay,
    ) -> None:
        self.name = name
        self.open_connection = open_connection
        self.partitions = list(partitions) or [Partition.DOMAIN]
        self.on_change = on_change
        self.on_status = on_status
        self.delay = delay
        self.active = False
        self.notifications = 0
        self.failures = 0
        self.last_error: str | None = None
        self._halt = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"{THREAD_PREFIX}{name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._halt.set()
        if self._thread.is_alive():
            self._thread.join(JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                # still connecting to an unresponsive DC: a daemon thread, it ends with the process
                log.debug("domain %s: change notification reader still busy", self.name)

    def _set_active(self, active: bool) -> None:
        if active != self.active:
            self.active = active
            self.on_status()

    def _run(self) -> None:
        while not self._halt.is_set():
            conn: AdConnection | None = None
            msgids: list[int] = []
            try:
                conn = self.open_connection()
                msgids = self._subscribe(conn)
                self._read(conn, msgids)
            except Exception as error:  # any failure: back to polling, retry later
                self._set_active(False)
                self.failures += 1
                self.last_error = ldap_error_text(error)
                delay = self.delay(self.failures)
                if self.failures == 1:
                    log.warning(
                        "domain %s: change notification unavailable (%s); polling only, "
                        "next attempt in %.1f s",
                        self.name,
                        self.last_error,
                        delay,
                    )
                else:
                    log.debug("domain %s: change notification retry in %.1f s", self.name, delay)
                self._halt.wait(delay)
            finally:
                if conn is not None:
                    import ldap

                    for msgid in msgids:
                        with contextlib.suppress(ldap.LDAPError):
                            conn.ldap.abandon(msgid)
                    with contextlib.suppress(Exception):
                        conn.close()

    def _subscribe(self, conn: AdConnection) -> list[int]:
        import ldap
        from ldap.controls import LDAPControl

        control = LDAPControl(NOTIFICATION_OID, True, None)
        msgids = [
            conn.ldap.search_ext(
                conn.contexts.base(partition),
                ldap.SCOPE_SUBTREE,
                "(objectClass=*)",
                ["objectGUID"],
                serverctrls=[control],
            )
            for partition in self.partitions
        ]
        # A refusal (unsupported control, too many notifications, filter or scope refused)
        # comes back at once; a search still open after SETTLE_S is active.
        for msgid in msgids:
            self._take(conn, msgid, SETTLE_S / len(msgids))
        if self.failures:
            log.warning(
                "domain %s: change notification active again on %s after %d failed attempt(s)",
                self.name,
                conn.server,
                self.failures,
            )
        else:
            log.info("domain %s: change notification active on %s", self.name, conn.server)
        self.failures = 0
        self.last_error = None
        self._set_active(True)
        return msgids

    def _take(self, conn: AdConnection, msgid: int, timeout: float) -> None:
        """Read what has arrived for ``msgid`` within ``timeout``; raise when the search ended."""
        import ldap

        try:
            kind, data, _msgid, _ctrls = conn.ldap.result3(msgid, all=0, timeout=timeout)
        except ldap.TIMEOUT:
            return
        if kind is None:  # nothing within the timeout (some python-ldap versions)
            return
        if kind == ldap.RES_SEARCH_RESULT:
            raise NotificationEnded(f"the DC ended the notification search on {conn.server}")
        if kind == ldap.RES_SEARCH_ENTRY and data:
            self.notifications += len(data)
            self.on_change()

    def _read(self, conn: AdConnection, msgids: list[int]) -> None:
        slice_s = READ_SLICE_S / len(msgids)
        while not self._halt.is_set():
            for msgid in msgids:
                self._take(conn, msgid, slice_s)


class Notifier(Protocol):
    """What the loop needs of a domain's change notification (:class:`ChangeNotifier`)."""

    active: bool
    notifications: int

    def start(self) -> None: ...

    def close(self) -> None: ...


NotifierFactory = Callable[
    [
        AdDomainConfig,
        Callable[[AdDomainConfig], "AdConnection"],
        Callable[[], None],
        Callable[[], None],
        Callable[[int], float],
    ],
    Notifier,
]
"""Builds a domain's notifier: (domain, connector, on_change, on_status, delay)."""


def change_notifier(
    domain: AdDomainConfig,
    connector: Callable[[AdDomainConfig], AdConnection],
    on_change: Callable[[], None],
    on_status: Callable[[], None],
    delay: Callable[[int], float],
) -> Notifier:
    return ChangeNotifier(
        name=domain.name,
        open_connection=lambda: connector(domain),
        partitions=domain.partitions,
        on_change=on_change,
        on_status=on_status,
        delay=delay,
    )


class DomainNotifications:
    """The notifiers of the monitored domains, and ``wake``: the event a waiting loop ends on.

    A notifier's change marks its domain (:meth:`take` returns and clears the marks) and sets
    ``wake``; so does a notifier becoming active or inactive (the loop saves its counters)."""

    def __init__(self, factory: NotifierFactory | None) -> None:
        self.factory = factory
        self.wake = threading.Event()
        self.notifiers: dict[str, Notifier] = {}
        self._marked: set[str] = set()
        self._lock = threading.Lock()  # _marked: added to by the readers, taken by the loop

    def start(
        self,
        domains: Sequence[AdDomainConfig],
        connector: Callable[[AdDomainConfig], AdConnection],
        delay: Delay,
    ) -> None:
        if self.factory is None:
            return
        for domain in domains:

            def changed(name: str = domain.name) -> None:
                with self._lock:
                    self._marked.add(name)
                self.wake.set()

            self.notifiers[domain.name] = self.factory(
                domain, connector, changed, self.wake.set, delay
            )
            self.notifiers[domain.name].start()

    def take(self) -> set[str]:
        """The domains with a change reported since the last call (``wake`` is cleared first:
        a change reported from now on ends the next wait)."""
        self.wake.clear()
        with self._lock:
            marked, self._marked = self._marked, set()
        return marked

    def wait(self, seconds: float, stop: threading.Event, clock: Callable[[], float]) -> bool:
        """Wait until ``seconds`` pass, ``stop`` is set or ``wake`` is; ``True`` if stopped."""
        until = clock() + seconds
        while not stop.is_set() and (left := until - clock()) > 0:
            if self.wake.wait(min(left, STOP_SLICE_S)):
                break
        return stop.is_set()

    def counters(self, name: str) -> dict[str, Any]:
        notifier = self.notifiers.get(name)
        return {
            "notifications": notifier.notifications if notifier else 0,
            "notification_active": bool(notifier and notifier.active),
        }

    def close(self) -> None:
        for notifier in self.notifiers.values():
            notifier.close()
