"""Reading a domain for capture: the AD side of :class:`~dirguard.providers.base.SourceReader`.

An :class:`AdReader` holds one bound connection and the domain's configuration. Its scopes are
the configured partitions (cursor stream ``dirsync:<partition>``). A full read of a partition is
a paged search (all attributes, the security descriptor's owner, group and DACL, forward links)
on a reader thread a few pages ahead (:func:`~dirguard.providers.ad.ldap_read.read_ahead`), each
entry normalized (:mod:`dirguard.providers.ad.values`) and classified to a catalog type; the
cursor for "now" is the cookie of a DirSync with a filter that matches nothing. Change reads are
DirSync pages (:mod:`dirguard.providers.ad.dirsync`). The schema is read once per reader (every
entry is normalized with it), and so are the domain SID and the audit source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property, partial

import ldap
from ldap.filter import escape_filter_chars

from dirguard.catalog.resource_type import LdapSource, Partition, ResourceType
from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad import KIND
from dirguard.providers.ad.audit.samba_audit import LdapSidResolver, SambaAuditSource
from dirguard.providers.ad.connection import AdConnection, connecting_quietly
from dirguard.providers.ad.dirsync import read_changes
from dirguard.providers.ad.errors import RETRYABLE as RETRYABLE
from dirguard.providers.ad.errors import AdConnectionError, ldap_error_text
from dirguard.providers.ad.ldap_read import (
    NO_MATCH_FILTER,
    Entry,
    deleted_objects_readable,
    dirsync_pages,
    paged_search,
    read_ahead,
    read_by_guid,
    read_schema,
)
from dirguard.providers.ad.read_parallel import (
    PARTS_PER_CONNECTION,
    closing_all,
    highest_committed_usn,
    parallel_pages,
    usn_parts,
)
from dirguard.providers.ad.repl_metadata import AttidMap, MetadataError, read_prefix_map
from dirguard.providers.ad.sd.security_descriptor import SecurityDescriptorError, sid_from_bytes
from dirguard.providers.ad.values import (
    DN_ATTRIBUTE,
    Schema,
    classify,
    is_tombstone_dn,
    normalize_entry,
)
from dirguard.providers.base import (
    ChangePage,
    LookedUp,
    ObservedObject,
    ReadScope,
    SnapshotPage,
    store_source,
)
from dirguard.providers.registry import RESOURCE_TYPES

log = logging.getLogger(__name__)

error_text = ldap_error_text
"""What a reading error says, for messages and logs (never a request's values)."""


def dirsync_stream(partition: Partition) -> str:
    """Cursor stream name of a partition's DirSync cookie."""
    return f"dirsync:{partition.value}"


def partition_scope(partition: Partition) -> ReadScope:
    """A partition as a read scope: its cookie's stream and the catalog types read from it."""
    keys = frozenset(
        t.key
        for t in RESOURCE_TYPES.values()
        if isinstance(t.source, LdapSource) and t.source.partition is partition
    )
    return ReadScope(name=partition.value, stream=dirsync_stream(partition), type_keys=keys)


def _base_attribute(conn: AdConnection, dn: str, ldap_filter: str, name: str) -> bytes | None:
    found = conn.ldap.search_s(dn, ldap.SCOPE_BASE, ldap_filter, [name])
    for _dn, attributes in found:
        if isinstance(attributes, dict) and attributes.get(name):
            return bytes(attributes[name][0])
    return None


def read_domain_sid(conn: AdConnection) -> str | None:
    """The domain SID (the domain head's ``objectSid``), or ``None`` when it cannot be read."""
    raw = _base_attribute(conn, conn.contexts.default, "(objectClass=*)", "objectSid")
    if raw is None:
        return None
    try:
        return sid_from_bytes(raw)[0]
    except SecurityDescriptorError:
        return None


def read_netbios_name(conn: AdConnection, domain: AdDomainConfig) -> str:
    """The domain's NetBIOS name (its crossRef's ``nETBIOSName``); actors are shown as
    ``NETBIOS\\account``. Falls back to the DNS name's first label in capitals."""
    partitions = f"CN=Partitions,{conn.contexts.configuration}"
    escaped = escape_filter_chars(conn.contexts.default)
    try:
        found = conn.ldap.search_s(
            partitions,
            ldap.SCOPE_ONELEVEL,
            f"(&(objectClass=crossRef)(nCName={escaped}))",
            ["nETBIOSName"],
        )
    except ldap.LDAPError:
        found = []
    for _dn, attributes in found:
        if isinstance(attributes, dict) and attributes.get("nETBIOSName"):
            return bytes(attributes["nETBIOSName"][0]).decode("utf-8")
    return domain.name.split(".")[0].upper()


def audit_source_for(conn: AdConnection, domain: AdDomainConfig) -> SambaAuditSource | None:
    """The domain's Samba audit files as an audit source (``None`` when none are configured);
    SIDs are resolved to account names over ``conn``."""
    files = domain.samba_audit_files
    if not files:
        return None
    return SambaAuditSource(
        directory_changes=files[0],
        group_changes=files[1] if len(files) > 1 else None,
        password_changes=files[2] if len(files) > 2 else None,
        dc=conn.contexts.dns_host_name,
        resolve_sid=LdapSidResolver(conn.ldap, domain=read_netbios_name(conn, domain)),
    )


class AdReader:
    """One bound connection to a domain, read as a :class:`dirguard.providers.base.SourceReader`.

    With ``open_more`` (a callable binding another connection as the same account), a full
    read of a partition uses up to ``domain.snapshot_connections`` connections at once
    (:mod:`dirguard.providers.ad.read_parallel`); one that reaches another DC than ``conn`` is
    closed and not used (every part must come from the DC whose cursor the snapshot keeps)."""

    def __init__(
        self,
        conn: AdConnection,
        domain: AdDomainConfig,
        *,
        schema: Schema | None = None,
        open_more: Callable[[], AdConnection] | None = None,
    ) -> None:
        self.conn = conn
        self.domain = domain
        self._schema = schema
        self._open_more = open_more
        self._types: list[ResourceType] = list(RESOURCE_TYPES.values())
        self._identify = RESOURCE_TYPES.identify("ad")

    @property
    def name(self) -> str:
        return self.domain.name

    @property
    def source(self) -> str:
        return store_source(KIND, self.domain.name)

    @property
    def schema(self) -> Schema:
        """The domain's attribute syntaxes, read at first use."""
        if self._schema is None:
            self._schema = read_schema(self.conn.ldap, self.conn.contexts.schema)
        return self._schema

    @cached_property
    def domain_sid(self) -> str | None:
        """Gives the domain's groups their aliases in security descriptor changes."""
        return read_domain_sid(self.conn)

    @cached_property
    def attids(self) -> AttidMap | None:
        """Attribute names to the attids of the DC's replication metadata (``None`` when its
        prefix table cannot be read: changes are then not dated by the metadata)."""
        try:
            prefixes = read_prefix_map(self.conn.ldap, self.conn.contexts.schema)
        except (ldap.LDAPError, MetadataError) as error:
            log.warning("the schema's prefixMap cannot be read (%s); change times unknown", error)
            return None
        return AttidMap(self.schema, prefixes) if prefixes else None

    def scopes(self) -> Sequence[ReadScope]:
        return [partition_scope(p) for p in self.domain.partitions]

    def start_cursor(self, scope: ReadScope) -> bytes:
        base = self.conn.contexts.base(Partition(scope.name))
        cookie = b""
        for page in dirsync_pages(self.conn.ldap, base, b"", ldap_filter=NO_MATCH_FILTER):
            cookie = page.cookie
        return cookie

    def read_all(self, scope: ReadScope) -> Iterator[SnapshotPage]:
        partition = Partition(scope.name)
        base = self.conn.contexts.base(partition)
        schema = self.schema
        extra = self._more_connections(self.domain.snapshot_connections - 1)
        with closing_all(extra):
            if extra:
                connections = [self.conn.ldap, *(c.ldap for c in extra)]
                parts = usn_parts(
                    highest_committed_usn(self.conn.ldap),
                    len(connections) * PARTS_PER_CONNECTION,
                )
                pages = parallel_pages(connections, base, parts)
            else:
                pages = read_ahead(partial(paged_search, self.conn.ldap, base))
            for entries in pages:
                yield self.snapshot_page(schema, partition, entries)

    def _more_connections(self, wanted: int) -> list[AdConnection]:
        """Up to ``wanted`` more connections to the DC of ``self.conn``; fewer (none) when
        binding fails or reaches another DC: the read then goes on with what it has."""
        more: list[AdConnection] = []
        if self._open_more is None:
            return more
        for _ in range(max(wanted, 0)):
            try:
                with connecting_quietly():
                    conn = self._open_more()
            except (AdConnectionError, ldap.LDAPError, OSError) as error:
                log.warning("%s: another connection for reading failed (%s)", self.name, error)
                break
            if conn.server != self.conn.server:
                conn.close()
                break
            more.append(conn)
        if more:
            log.info(
                "%s: reading over %d connections to %s", self.name, len(more) + 1, self.conn.uri
            )
        return more

    def snapshot_page(
        self, schema: Schema, partition: Partition, entries: list[Entry]
    ) -> SnapshotPage:
        """One page of entries as a snapshot page: normalized, classified, GUIDs read."""
        page = SnapshotPage()
        for dn, raw in entries:
            guid = self._identify(raw)
            if guid is None:
                page.unreadable += 1
                log.debug("%s: no readable objectGUID for the bind account; skipped", dn)
                continue
            content = normalize_entry(schema, dn, raw)
            resource_type = classify(self._types, partition, content)
            page.read += 1
            if resource_type is None:
                classes = content.get("objectClass") or ["(none)"]
                page.not_in_catalog[str(classes[-1])] += 1
                continue
            page.objects.append(
                ObservedObject(external_id=guid, resource_type=resource_type, content=content)
            )
        return page

    def look_up(self, external_id: str) -> LookedUp | None:
        entry = read_by_guid(self.conn.ldap, external_id)
        if entry is None:
            return None
        dn, raw = entry
        content = normalize_entry(self.schema, dn, raw)
        gone = content.get("isDeleted") == ["TRUE"] or is_tombstone_dn(dn)
        return LookedUp(path=dn, content=content, gone=gone)

    def read_changes(self, scope: ReadScope, cursor: bytes) -> Iterator[ChangePage]:
        return read_changes(
            self.conn,
            Partition(scope.name),
            cursor,
            schema=self.schema,
            types=self._types,
            identify=self._identify,
            domain_sid=self.domain_sid,
            attids=self.attids,
        )

    @property
    def path_field(self) -> str:
        return DN_ATTRIBUTE

    def changes_incomplete(self) -> bool:
        """Whether DirSync may leave deletions out for the bound account (it may not read the
        domain's CN=Deleted Objects; Samba then returns no tombstones to it), said in the log
        with what to do."""
        if deleted_objects_readable(self.conn.ldap, self.conn.contexts.default):
            return False
        log.warning(
            "domain %s: the bound account may not read CN=Deleted Objects,%s; a Samba DC leaves"
            " deletions out of its DirSync answers then, and they are found only by the next"
            " `dirguard snapshot ad`. Grant it with `dirguard connect ad` (checked by `dirguard"
            " connect validate`)",
            self.domain.name,
            self.conn.contexts.default,
        )
        return True

    @cached_property
    def _audit(self) -> SambaAuditSource | None:
        return audit_source_for(self.conn, self.domain)

    def audit(self) -> SambaAuditSource | None:
        """The domain's audit files (built once per reader: the NetBIOS name is read once and
        the SID cache kept)."""
        return self._audit

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> AdReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
