"""A partition read over several connections at once, split by ``uSNCreated``.

A full snapshot is paced by the round trip of its paged search: the DC builds a page while the
client waits, then the client turns the page into Python objects while the DC waits for the
next request. Reading disjoint parts of the partition over several bound connections at once
keeps both busy: while one connection's page is being built, another's is being converted and
stored.

The parts are ranges of ``uSNCreated`` (the update sequence number the DC gave the object when
it was created, indexed, and never changed afterwards): ``(uSNCreated<=b1)``,
``(&(uSNCreated>=b1+1)(uSNCreated<=b2))``, …, ``(uSNCreated>=bN+1)`` (open-ended: it also
holds whatever is created while the snapshot runs), plus ``(!(uSNCreated=*))`` for an entry
whose ``uSNCreated`` the bind account may not read (a filter on an attribute it cannot read
does not match, so the ranges would leave the entry out while a plain search lists it). Every
object is in exactly one part however it is placed — directly under the naming context, in
nested OUs, or moved from one OU to another while the snapshot runs (a split by subtree would
see a moved object twice or not at all, and cannot split a flat OU of 20,000 users). The
ranges divide ``[0, highestCommittedUSN]`` evenly, a few more parts than connections, and each
connection takes the next part when it finishes one, so uneven parts even out.

Each connection is read on a thread of its own (python-ldap releases the GIL while it waits for
and decrypts an answer); pages are handed to the caller as they complete, whichever connection
they come from.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import ldap

from dirguard.providers.ad.ldap_read import Entry, paged_search

USN_ATTRIBUTE = "uSNCreated"
PARTS_PER_CONNECTION = 3
"""Parts per connection: enough for the connections to even out uneven parts."""
NO_USN_FILTER = f"(!({USN_ATTRIBUTE}=*))"


def highest_committed_usn(conn: Any) -> int:
    """The DC's ``highestCommittedUSN`` (rootDSE): no object was created with a higher one."""
    found = conn.search_s("", ldap.SCOPE_BASE, "(objectClass=*)", ["highestCommittedUSN"])
    values = found[0][1].get("highestCommittedUSN") if found else None
    if not values:
        raise ValueError("the rootDSE has no highestCommittedUSN")
    return int(bytes(values[0]))


def usn_parts(highest: int, count: int) -> list[str]:
    """Filters that split every object into exactly one of ``count`` ``uSNCreated`` ranges
    over ``[0, highest]`` (the last one open-ended) or the part whose ``uSNCreated`` cannot be
    read; one filter matching everything when ``count`` is 1."""
    if count <= 1 or highest < count:
        return ["(objectClass=*)"]
    step = highest // count
    bounds = [step * i for i in range(1, count)]
    parts = [f"({USN_ATTRIBUTE}<={bounds[0]})"]
    parts += [
        f"(&({USN_ATTRIBUTE}>={low + 1})({USN_ATTRIBUTE}<={high}))"
        for low, high in itertools.pairwise(bounds)
    ]
    parts.append(f"({USN_ATTRIBUTE}>={bounds[-1] + 1})")
    parts.append(NO_USN_FILTER)
    return parts


def parallel_pages(
    connections: Sequence[Any], base: str, parts: Sequence[str], *, depth: int = 4
) -> Iterator[list[Entry]]:
    """The pages of a paged search of ``base`` for each filter of ``parts``, read over
    ``connections`` at once (one thread each, each taking the next part when it finishes one),
    in the order they complete; at most ``depth`` pages wait for the caller.

    A reader's exception is raised here, where the pages are consumed. Leaving the iteration
    early stops every reader after the answer it is waiting for (its paged search then abandons
    its outstanding request)."""
    tasks: queue.SimpleQueue[str] = queue.SimpleQueue()
    for part in parts:
        tasks.put(part)
    pages: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> None:
        while not stop.is_set():
            try:
                pages.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def work(conn: Any) -> None:
        try:
            while not stop.is_set():
                try:
                    part = tasks.get_nowait()
                except queue.Empty:
                    break
                search = paged_search(conn, base, ldap_filter=part)
                try:
                    for page in search:
                        if stop.is_set():
                            return
                        put(("page", page))
                finally:
                    close = getattr(search, "close", None)
                    if close is not None:
                        close()
        except BaseException as error:  # handed to the consumer, raised there
            put(("error", error))
        else:
            put(("done", None))

    readers = [
        threading.Thread(target=work, args=(conn,), name=f"ldap-read-{n}", daemon=True)
        for n, conn in enumerate(connections)
    ]
    for reader in readers:
        reader.start()
    try:
        running = len(readers)
        while running:
            kind, value = pages.get()
            if kind == "page":
                yield value
            elif kind == "error":
                raise value
            else:
                running -= 1
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=60)  # each ends after the answer it waits for


@contextlib.contextmanager
def closing_all(connections: Sequence[Any]) -> Iterator[None]:
    """Close every one of ``connections`` (objects with ``close()``) when the block ends."""
    try:
        yield
    finally:
        for conn in connections:
            with contextlib.suppress(Exception):
                conn.close()
