"""The Active Directory rows of the resource-type registry, with the behaviour they carry.

Each row's LDAP filter is also its selection predicate (:func:`ldap_filter.selector`): the
filter the docs print decides which objects are of the type. Within a partition the rows are
tried in declaration order; the one without a selector takes the rest. Objects are identified by
``objectGUID`` (:func:`object_guid`, on a paged-search entry, a DirSync entry or a normalized
object alike). Field names are LDAP display names.
"""

from __future__ import annotations

from dirguard.catalog.resource_type import (
    Collection,
    Content,
    FieldWrite,
    LdapSource,
    Partition,
    ResourceType,
    RestoreRules,
)
from dirguard.providers.ad.ldap_filter import selector
from dirguard.providers.ad.values import DELETION_MARKERS, guid_text

AD_READ_ONLY = frozenset(
    {
        "objectGUID",
        "objectSid",
        "whenCreated",
        "objectCategory",
        "instanceType",
        "isCriticalSystemObject",
        "memberOf",
        "directReports",
        "isDeleted",
        "lastKnownParent",
        "distinguishedName",
    }
)
"""Set by the directory (or back links computed from forward links); never written on restore.

``distinguishedName`` changes only by rename/move, which restore does as its own step."""

AD_VOLATILE = frozenset(
    {
        "whenChanged",
        "uSNChanged",
        "uSNCreated",
        "dSCorePropagationData",
        "replPropertyMetaData",
        "msDS-ReplAttributeMetaData",
        "msDS-ReplValueMetaData",
        "lastLogon",
        "lastLogonTimestamp",
        "lastLogoff",
        "logonCount",
        "badPwdCount",
        "badPasswordTime",
        "modifiedCount",
    }
)
"""Counters and replication bookkeeping that change on their own. ``pwdLastSet`` is *not* here:
a password change is a change worth recording."""

AD_NEVER_WRITTEN = (
    frozenset(
        {"objectClass", "name", "cn", "ou", "pwdLastSet", "sAMAccountType", "nTSecurityDescriptor"}
    )
    | DELETION_MARKERS
)
"""Besides the read-only and volatile fields: the RDN attributes (changed by a rename step),
objectClass (fixed at creation), pwdLastSet (only 0 or -1 can be written) and the security
descriptor (never set as a whole: a ``set-security`` step from
:mod:`dirguard.providers.ad.sd.sd_restore` writes only the parts that changed, with the SD-flags
control)."""

AD_READ = ("guardian.ad.collect-changes", "guardian.ad.collect-events")
DOMAIN_WRITE = "guardian.ad.rollback.domain"
RECOVER_DELETED = "guardian.ad.recover-deleted"

ACCOUNT_DISABLE = 0x2
"""userAccountControl ACCOUNTDISABLE."""
NORMAL_ACCOUNT = 0x200
REANIMATION_ADDS = frozenset({"adminCount", "operatorCount"})
"""Samba sets these to 0 on a security principal it brings back from a tombstone."""
NOT_ON_ADD = frozenset({"primaryGroupID", "adminCount", "operatorCount", "systemFlags"})
"""Left to the directory's defaults when re-creating an object: the primary group (Domain Users,
set at add), the counters Samba keeps itself, and flags only the system sets."""


def object_guid(content: Content) -> str | None:
    """``objectGUID`` in text form, or ``None`` when the entry does not hold it readably."""
    values = content.get("objectGUID")
    if not values:
        return None
    return guid_text(bytes(values[0]))


def disable_account(content: Content) -> FieldWrite:
    """Set ACCOUNTDISABLE in ``userAccountControl`` (a normal account's flags when unset)."""
    current = tuple(content.get("userAccountControl") or ())
    flags = int(str(current[0])) if current else NORMAL_ACCOUNT
    return FieldWrite(
        field="userAccountControl",
        values=(str(flags | ACCOUNT_DISABLE),),
        expected=current or None,
    )


def restore_rules(
    write: tuple[str, ...], *, account: bool = False, principal: bool = False
) -> RestoreRules:
    """Tombstones are reanimated (with ``recover-deleted`` besides the partition's rollback
    feature), objects without one re-created (the directory's own fields left to it); an account
    can be disabled instead of deleted."""
    return RestoreRules(
        needs=write,
        reanimate_needs=(RECOVER_DELETED,),
        disable_instead=disable_account if account else None,
        reanimation_resets=REANIMATION_ADDS if principal else frozenset(),
        recreate_omits=NOT_ON_ADD,
    )


DOMAIN_RESTORE = restore_rules((DOMAIN_WRITE,))
SCHEMA_RESTORE = RestoreRules(
    needs=("guardian.ad.rollback.schema",),
    reanimate=False,
    recreate=False,
    delete=False,
    refusal="is in the schema partition: AD never deletes, re-creates or reanimates schema "
    "objects (an unwanted class or attribute can only be made defunct, by hand: "
    "isDefunct = TRUE)",
)
"""AD never deletes, re-creates or reanimates schema objects; an unwanted class or attribute is
made defunct instead. Changing a schema object's attributes is legal."""


def _ad(
    key: str,
    title: str,
    ldap_filter: str,
    natural_key: str,
    *,
    partition: Partition = Partition.DOMAIN,
    rest: bool = False,
    write: tuple[str, ...] = (DOMAIN_WRITE, RECOVER_DELETED),
    restore: RestoreRules = DOMAIN_RESTORE,
    read_only: frozenset[str] = frozenset(),
    volatile: frozenset[str] = frozenset(),
    unordered: frozenset[str] = frozenset(),
    linked: frozenset[str] = frozenset(),
) -> ResourceType:
    return ResourceType(
        key=key,
        provider="ad",
        title=title,
        source=LdapSource(partition=partition, ldap_filter=ldap_filter),
        selects=None if rest else selector(ldap_filter),
        identity="objectGUID",
        identify=object_guid,
        natural_key=natural_key,
        collection=Collection.DIRSYNC,
        read_features=AD_READ,
        write_features=write,
        restore=restore,
        read_only_fields=AD_READ_ONLY | read_only,
        never_written=AD_NEVER_WRITTEN,
        volatile_fields=AD_VOLATILE | volatile,
        unordered_fields=frozenset({"objectClass"}) | unordered,
        linked_fields=linked,
    )


AD_TYPES: tuple[ResourceType, ...] = (
    _ad(
        "ad.user",
        "AD user",
        "(&(objectCategory=person)(objectClass=user))",
        "sAMAccountName",
        restore=restore_rules((DOMAIN_WRITE,), account=True, principal=True),
        read_only=frozenset({"sAMAccountType", "tokenGroups"}),
        unordered=frozenset({"servicePrincipalName", "proxyAddresses", "otherMailbox"}),
        linked=frozenset({"manager"}),
    ),
    _ad(
        "ad.group",
        "AD group",
        "(objectClass=group)",
        "sAMAccountName",
        restore=restore_rules((DOMAIN_WRITE,), principal=True),
        read_only=frozenset({"sAMAccountType"}),
        unordered=frozenset({"member", "proxyAddresses"}),
        linked=frozenset({"member", "managedBy"}),
    ),
    _ad(
        "ad.computer",
        "AD computer",
        "(objectClass=computer)",
        "sAMAccountName",
        restore=restore_rules((DOMAIN_WRITE,), account=True, principal=True),
        read_only=frozenset({"sAMAccountType"}),
        unordered=frozenset({"servicePrincipalName", "dNSHostName"}),
        linked=frozenset({"managedBy"}),
    ),
    _ad(
        "ad.organizational_unit",
        "AD organizational unit",
        "(objectClass=organizationalUnit)",
        "ou",
        linked=frozenset({"managedBy"}),
    ),
    _ad(
        "ad.contact",
        "AD contact",
        "(objectClass=contact)",
        "cn",
        unordered=frozenset({"proxyAddresses"}),
        linked=frozenset({"manager"}),
    ),
    _ad(
        "ad.gpo",
        "AD group policy container",
        "(objectClass=groupPolicyContainer)",
        "displayName",
    ),
    _ad(
        "ad.domain_object",
        "AD domain partition object (any other class: containers, domain head, ...)",
        "(objectClass=*)",
        "distinguishedName",
        rest=True,
    ),
    _ad(
        "ad.configuration_object",
        "AD configuration partition object",
        "(objectClass=*)",
        "distinguishedName",
        partition=Partition.CONFIGURATION,
        rest=True,
        write=("guardian.ad.rollback.configuration", RECOVER_DELETED),
        restore=restore_rules(("guardian.ad.rollback.configuration",)),
    ),
    _ad(
        "ad.schema_object",
        "AD schema definition",
        "(|(objectClass=attributeSchema)(objectClass=classSchema))",
        "lDAPDisplayName",
        partition=Partition.SCHEMA,
        write=("guardian.ad.rollback.schema",),
        restore=SCHEMA_RESTORE,
        read_only=frozenset({"attributeID", "governsID", "schemaIDGUID", "attributeSyntax"}),
    ),
)
"""Per partition in the order they are tried: a computer is also a ``user`` object, but its
``objectCategory`` is ``computer``, so the user filter does not select it."""
