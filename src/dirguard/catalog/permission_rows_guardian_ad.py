"""Permission rows of the Guardian service's AD side (seed ``001_c634a233c6d74026.txt``): the
groups, extended rights and container access of dirguard's AD account (the gMSA), and the groups
the operator who runs the AD connection setup must be in. Texts as ``permission_rows_guardian``
describes.

Decisions the seed leaves open (rows whose modes go beyond what the seed says carry
``added_by_project`` with the reason):

- **Read-only gMSA** holds Event Log Readers, Remote Management Users and ADSyncOperators (the
  seed lists them for both gMSAs) and also Replicate Directory Changes and Replicate Directory
  Changes All, which the seed lists only for the administrative gMSA: monitoring collects changes
  through DirSync, which needs them.
- **Deleted Objects** (List Contents and Read Property on the domain's ``CN=Deleted Objects``):
  read-only mode only, added by the project. Samba 4.17 returns deleted objects through DirSync
  only to an account that may read that container (Domain Admins may, through Administrators,
  so full mode is covered); without it a read-only account sees a deletion only at the next
  snapshot. It is the grant Microsoft documents for letting non-administrators see deleted
  objects (``dsacls /takeownership``, then ``/G account:LCRP``).
- **Rollback rights** (Domain Admins, Enterprise Admins, Schema Admins, Reanimate Tombstones)
  are full mode only.
- **Setup groups** (Domain Admin, Schema Admin, Enterprise Admin per partition) are held by the
  person running the AD connection setup, not by dirguard: setup-only, both modes.
"""

from __future__ import annotations

from dirguard.catalog.permission_model import (
    Kind,
    Lifecycle,
    Mode,
    Permission,
    Principal,
    SeedRef,
    Service,
)

DOCUMENT = "001_c634a233c6d74026.txt"

GMSA_SETUP = "Permissions required for initial gMSA configuration"
GMSA_ADMIN = "gMSA with administrative permissions (Change monitoring and Rollback)"
GMSA_READ_ONLY = "gMSA with read-only permissions (monitoring only)"

READ_ONLY = frozenset({Mode.READ_ONLY})
FULL = frozenset({Mode.FULL})
BOTH = frozenset({Mode.READ_ONLY, Mode.FULL})

DIRSYNC_REASON = (
    "read-only mode: the seed lists this right only for the administrative gMSA, but monitoring"
    " collects changes through DirSync, which needs it in read-only mode too"
)
DELETED_OBJECTS_REASON = (
    "read-only mode: the seed does not name it; Samba returns deleted objects through DirSync"
    " only to an account that may list and read CN=Deleted Objects, so without it a read-only"
    " account sees a deletion only at the next snapshot (full mode holds it through Domain Admins)"
)

_MEMBER_DOMAIN = (
    "Member of the {group} group in the managed domain. For forest-wide partitions, membership is"
    " required in each forest domain."
)


def row_key(principal: Principal, kind: Kind, name: str) -> str:
    """A Guardian row's ``Permission.key``."""
    return f"{principal.value}:{kind.value}:{name}"


def _ad(
    sections: tuple[str, ...],
    usage: str,
    name: str,
    description: str,
    *,
    kind: Kind,
    modes: frozenset[Mode],
    added_by_project: str | None = None,
) -> Permission:
    principal = Principal.GUARDIAN_AD_ACCOUNT
    return Permission(
        key=row_key(principal, kind, name),
        name=name,
        service=Service.GUARDIAN,
        principal=principal,
        kind=kind,
        description=description,
        usage=usage,
        modes=modes,
        lifecycle=Lifecycle.REQUIRED,
        seeds=tuple(SeedRef(document=DOCUMENT, section=s) for s in sections),
        added_by_project=added_by_project,
    )


def _setup_group(usage: str, name: str) -> Permission:
    principal, kind = Principal.AD_OPERATOR, Kind.AD_SETUP_GROUP
    return Permission(
        key=row_key(principal, kind, name),
        name=name,
        service=Service.GUARDIAN,
        principal=principal,
        kind=kind,
        description=usage,
        usage=usage,
        modes=BOTH,
        lifecycle=Lifecycle.SETUP_ONLY,
        seeds=(SeedRef(document=DOCUMENT, section=GMSA_SETUP),),
    )


_BOTH_GMSA = (GMSA_ADMIN, GMSA_READ_ONLY)

AD_PERMISSIONS: tuple[Permission, ...] = (
    _setup_group("Configure gMSA for domain partition", "Domain Admin"),
    _setup_group("Configure gMSA for schema partition", "Schema Admin"),
    _setup_group("Configure gMSA for configuration or application partitions", "Enterprise Admin"),
    _ad(
        _BOTH_GMSA,
        "Collect events",
        "Event Log Readers",
        _MEMBER_DOMAIN.format(group="Event Log Readers"),
        kind=Kind.AD_GROUP,
        modes=BOTH,
    ),
    _ad(
        _BOTH_GMSA,
        "Access domain controllers via WinRM",
        "Remote Management Users",
        _MEMBER_DOMAIN.format(group="Remote Management Users"),
        kind=Kind.AD_GROUP,
        modes=BOTH,
    ),
    _ad(
        _BOTH_GMSA,
        "Manage Entra Connect",
        "ADSyncOperators",
        _MEMBER_DOMAIN.format(group="ADSyncOperators"),
        kind=Kind.AD_GROUP,
        modes=BOTH,
    ),
    _ad(
        (GMSA_ADMIN,),
        "Collect changes from DirSync",
        "Replicate Directory Changes",
        "Grant the Replicate Directory Changes permission on the domain object in Active"
        " Directory. This allows the account to read and replicate directory changes for"
        " synchronization purposes.",
        kind=Kind.AD_EXTENDED_RIGHT,
        modes=BOTH,
        added_by_project=DIRSYNC_REASON,
    ),
    _ad(
        (GMSA_ADMIN,),
        "Collect all attribute changes from DirSync",
        "Replicate Directory Changes All",
        "Grant the Replicate Directory Changes All permission on the domain object. This is"
        " required to replicate confidential and filtered attribute data.",
        kind=Kind.AD_EXTENDED_RIGHT,
        modes=BOTH,
        added_by_project=DIRSYNC_REASON,
    ),
    _ad(
        (),
        "Collect deletions from DirSync",
        "List Contents and Read Property on Deleted Objects",
        "Grant List Contents and Read Property on the domain's CN=Deleted Objects container, so"
        " that DirSync returns deleted objects (tombstones) to the account.",
        kind=Kind.AD_CONTAINER_ACCESS,
        modes=READ_ONLY,
        added_by_project=DELETED_OBJECTS_REASON,
    ),
    _ad(
        (GMSA_ADMIN,),
        "Recover deleted objects (tombstone reanimation)",
        "Reanimate Tombstones",
        "Grant the Reanimate Tombstones extended right on the domain object. This allows the"
        " account to restore deleted objects during rollback.",
        kind=Kind.AD_EXTENDED_RIGHT,
        modes=FULL,
    ),
    _ad(
        (GMSA_ADMIN,),
        "Rollback actions in domain partition",
        "Domain Admins",
        "Member of the Domain Admins group in the managed domain.",
        kind=Kind.AD_GROUP,
        modes=FULL,
    ),
    _ad(
        (GMSA_ADMIN,),
        "Rollback actions in configuration or application partitions",
        "Enterprise Admins",
        "Member of the Enterprise Admins group in the managed forest.",
        kind=Kind.AD_GROUP,
        modes=FULL,
    ),
    _ad(
        (GMSA_ADMIN,),
        "Rollback actions in schema partition",
        "Schema Admins",
        "Member of the Schema Admins group in the managed domain.",
        kind=Kind.AD_GROUP,
        modes=FULL,
    ),
)
