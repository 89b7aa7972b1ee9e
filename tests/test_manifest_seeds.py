"""The permission manifest against the two seed documents, read and parsed here.

Every permission, role and group the seeds name must be in the manifest with the seed's usage
and description (after the one product-name rewrite), for the principal and kind its section
implies; nothing may be in the manifest that the seeds do not name, or in a mode the seed does
not give it, unless the row says why in ``added_by_project``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import (
    Kind,
    Mode,
    Permission,
    Principal,
    Service,
    rewrite_product_names,
)
from dirguard.catalog.permission_rows_guardian_reads import graph_permission_writes
from tests.fixtures.requirements import unavailable

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"
BOTH = frozenset(Mode)


@dataclass(frozen=True)
class SeedRow:
    document: str
    section: str
    cells: tuple[str, ...]


def _seed_file(prefix: str) -> Path:
    found = sorted(SEEDS.glob(f"{prefix}_*.txt")) if SEEDS.is_dir() else []
    if not found:
        unavailable("seeds", f"seed document {prefix}_*.txt not found under {SEEDS} (../shared)")
    return found[0]


def _is_heading(line: str) -> bool:
    text = line.strip()
    return bool(text) and not text.startswith("|") and not text.endswith((".", ":", "|"))


def parse_seed(path: Path) -> list[SeedRow]:
    """Table rows of a seed, both styles: markdown ``| a | b |`` rows (header and separator rows
    dropped) and rows broken over lines (``| usage |`` / ``Name |`` / ``text |``). A row starts
    at a line beginning with ``|`` and some text; continuation lines end with ``|``. The section
    is the nearest heading above the table (a line that is not a sentence)."""
    rows: list[SeedRow] = []
    section = ""
    current: list[str] | None = None

    def flush() -> None:
        nonlocal current
        if current is not None:
            cells = tuple(c.strip() for c in "\n".join(current).strip().strip("|").split("|"))
            if not all(set(c) <= {"-"} for c in cells):
                rows.append(SeedRow(path.name, section, cells))
        current = None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("|") and len(line) > 1:
            flush()
            current = [line]
        elif current is not None and line.endswith("|"):
            current.append(line)
        else:
            flush()
            if _is_heading(line):
                section = rewrite_product_names(line)
    flush()
    return rows


@dataclass(frozen=True)
class Expected:
    """What the seed says about one named permission."""

    document: str
    section: str
    name: str
    usage: str
    description: str
    principal: Principal
    kinds: frozenset[Kind]
    modes: frozenset[Mode] | None
    """Modes the seed gives; ``None`` where it gives none."""


def administrator_expected() -> list[Expected]:
    out: list[Expected] = []
    for row in parse_seed(_seed_file("000")):
        if row.cells[0] == "Permission":
            continue  # header row
        name, description, usage = row.cells[0], row.cells[-2], row.cells[-1]
        setup = "application – Admin consent" in row.section
        out.append(
            Expected(
                document=row.document,
                section=row.section,
                name=name,
                usage=rewrite_product_names(usage),
                description=rewrite_product_names(description),
                principal=(
                    Principal.ADMINISTRATOR_SETUP_APP if setup else Principal.ADMINISTRATOR_API_APP
                ),
                kinds=(
                    frozenset({Kind.GRAPH_APPLICATION})
                    if setup
                    else frozenset({Kind.GRAPH_APPLICATION, Kind.GRAPH_DELEGATED})
                ),
                modes=None,
            )
        )
    return out


GUARDIAN_APP_SECTIONS: dict[str, tuple[Kind, frozenset[Mode] | None]] = {
    "Entra directory roles": (Kind.DIRECTORY_ROLE, None),  # mode from the usage cell
    "Monitoring only (read-only)": (Kind.AZURE_RBAC_ROLE, frozenset({Mode.READ_ONLY})),
    "Additional roles used for rollback or Azure resource operations": (
        Kind.AZURE_RBAC_ROLE,
        frozenset({Mode.FULL}),
    ),
    "Microsoft Graph permissions": (Kind.GRAPH_APPLICATION, None),
    "Exchange Online permissions": (Kind.EXCHANGE_APPLICATION, None),
    "Office 365 Management API permissions": (Kind.O365_MANAGEMENT_APPLICATION, None),
    "Microsoft Graph delegated permissions": (Kind.GRAPH_DELEGATED, None),
    "Exchange Online delegated permissions": (Kind.EXCHANGE_DELEGATED, None),
    "Office 365 Management API delegated permissions": (Kind.O365_MANAGEMENT_DELEGATED, None),
    "Azure Service Management delegated permissions": (
        Kind.AZURE_SERVICE_MANAGEMENT_DELEGATED,
        None,
    ),
}


def _mode_in_words(text: str) -> frozenset[Mode] | None:
    if "both modes" in text:
        return BOTH
    if "(full)" in text or "(Change monitoring and Rollback)" in text:
        return frozenset({Mode.FULL})
    if "(read-only)" in text or "(monitoring only)" in text:
        return frozenset({Mode.READ_ONLY})
    return None


def guardian_expected() -> list[Expected]:
    out: list[Expected] = []
    for row in parse_seed(_seed_file("001")):
        section = row.section
        if section.startswith("Permissions required for initial gMSA"):
            (usage, name) = row.cells
            out.append(
                Expected(
                    row.document,
                    section,
                    name,
                    usage,
                    usage,
                    Principal.AD_OPERATOR,
                    frozenset({Kind.AD_SETUP_GROUP}),
                    None,
                )
            )
        elif section.startswith("gMSA with"):
            usage, name, description = row.cells
            kind = Kind.AD_GROUP if description.startswith("Member of") else Kind.AD_EXTENDED_RIGHT
            out.append(
                Expected(
                    row.document,
                    section,
                    name,
                    rewrite_product_names(usage),
                    rewrite_product_names(description),
                    Principal.GUARDIAN_AD_ACCOUNT,
                    frozenset({kind}),
                    _mode_in_words(section),
                )
            )
        else:
            assert section in GUARDIAN_APP_SECTIONS, f"seed section {section!r} is not mapped"
            kind, modes = GUARDIAN_APP_SECTIONS[section]
            if len(row.cells) == 3:  # usage | name | description (directory roles)
                usage, name, description = row.cells
                modes = _mode_in_words(usage)
            else:
                name, description = row.cells
                usage = description
                modes = _mode_in_words(description) or modes
            out.append(
                Expected(
                    row.document,
                    section,
                    name,
                    rewrite_product_names(usage),
                    rewrite_product_names(description),
                    Principal.GUARDIAN_APP,
                    frozenset({kind}),
                    modes,
                )
            )
    return out


def _find(expected: Expected) -> Permission:
    found = [
        p
        for p in MANIFEST.permissions
        if p.name == expected.name
        and p.principal is expected.principal
        and p.kind in expected.kinds
    ]
    assert len(found) == 1, (
        f"{expected.document} / {expected.section}: {expected.name!r} for "
        f"{expected.principal.value} ({', '.join(sorted(expected.kinds))}) found {len(found)}x"
    )
    return found[0]


def test_parser_reads_every_table_of_both_seeds() -> None:
    """The parser itself: counts of rows a reader can count in the documents."""
    administrator, guardian = administrator_expected(), guardian_expected()
    assert len(administrator) == 2 + 1 + 7 + 5 + 4 + 7 + 5 + 1 + 1
    assert len(guardian) == 3 + 9 + 3 + 2 + 1 + 3 + 30 + 1 + 1 + 26 + 1 + 1 + 1
    assert {e.name for e in guardian if e.principal is Principal.GUARDIAN_AD_ACCOUNT} >= {
        "Replicate Directory Changes All",
        "Reanimate Tombstones",
        "ADSyncOperators",
    }


def test_every_seed_row_is_in_the_manifest_with_the_seed_text() -> None:
    for expected in administrator_expected() + guardian_expected():
        row = _find(expected)
        where = f"{row.key} ({expected.document} / {expected.section})"
        assert row.usage == expected.usage, f"usage of {where} differs from the seed"
        assert row.description == expected.description, f"description of {where} differs"
        assert any(
            s.document == expected.document and s.section == expected.section for s in row.seeds
        ), f"{where}: the row does not cite the seed section it appears under"
        service = Service.ADMINISTRATOR if expected.document.startswith("000") else Service.GUARDIAN
        assert row.service is service, where


def test_nothing_in_the_manifest_beyond_the_seeds_without_a_reason() -> None:
    expected = administrator_expected() + guardian_expected()
    named = {(e.document, e.section, e.name) for e in expected}
    seed_modes: dict[str, set[Mode]] = {}
    for e in expected:
        if e.modes is not None:
            seed_modes.setdefault(_find(e).key, set()).update(e.modes)
    for row in MANIFEST.permissions:
        cited = [(s.document, s.section, row.name) in named for s in row.seeds]
        if not row.seeds or not all(cited):
            assert row.added_by_project, f"{row.key}: not named by the seeds and no reason given"
        stated = seed_modes.get(row.key)
        if stated is not None and not row.modes <= stated:
            assert row.added_by_project, (
                f"{row.key}: held in {sorted(row.modes - stated)} although the seed gives only "
                f"{sorted(stated)}, and no added_by_project reason"
            )


def test_product_names_are_rewritten_and_nothing_else() -> None:
    assert rewrite_product_names("Select Cayosoft Administrator API Access or Cayosoft.") == (
        "Select dirguard Administrator API Access or dirguard."
    )
    assert rewrite_product_names("Cayosoft Guardian uses Cayosoft Administrator") == (
        "dirguard Guardian uses dirguard Administrator"
    )
    for row in MANIFEST.permissions:
        assert "Cayosoft" not in row.usage + row.description, row.key


def test_required_mode_decisions() -> None:
    """The project's reading of the seeds for Guardian's read-only mode."""
    read_only = {p.name for p in MANIFEST.select(Service.GUARDIAN, Mode.READ_ONLY)}
    for name in (
        "Global Reader",
        "Reader",
        "Event Log Readers",
        "Remote Management Users",
        "ADSyncOperators",
        "Replicate Directory Changes",
        "Replicate Directory Changes All",
        "Contributor",
        "Storage Blob Data Contributor",
    ):
        assert name in read_only, name
    for name in (
        "Global Administrator",
        "Domain Admins",
        "Enterprise Admins",
        "Schema Admins",
        "Reanimate Tombstones",
        "User Access Administrator",
    ):
        assert name not in read_only, name
    full = {p.name for p in MANIFEST.select(Service.GUARDIAN, Mode.FULL)}
    assert {"Contributor", "Storage Blob Data Contributor", "Global Administrator"} <= full
    administrator = MANIFEST.by_service(Service.ADMINISTRATOR)
    assert all(p.modes == BOTH for p in administrator)


def test_read_only_mode_holds_read_counterparts_not_the_seeds_write_permissions() -> None:
    """A deliberate deviation from the seed (which requests its ``*.ReadWrite*`` permissions in
    both modes): read-only mode holds their read counterparts, each row saying why; full mode
    holds what the seed requests."""
    rows = [
        p
        for p in MANIFEST.by_service(Service.GUARDIAN)
        if p.principal is Principal.GUARDIAN_APP and p.kind is Kind.GRAPH_APPLICATION
    ]
    read_only = {p.name for p in rows if Mode.READ_ONLY in p.modes}
    full = {p.name for p in rows if Mode.FULL in p.modes}
    assert not {n for n in read_only if graph_permission_writes(n)}
    assert {"Directory.Read.All", "Application.Read.All", "Group.Read.All"} <= read_only
    assert {"Policy.Read.All", "RoleManagement.Read.Directory", "AuditLog.Read.All"} <= read_only
    assert {"Directory.ReadWrite.All", "RoleManagement.ReadWrite.Directory"} <= full
    seed = {e.name for e in guardian_expected() if e.section == "Microsoft Graph permissions"}
    assert seed <= full, "full mode requests every Graph permission of the seed"
    for row in rows:
        if row.name in read_only - seed:
            assert not row.seeds and row.added_by_project, row.key
            assert "read-only mode" in row.added_by_project, row.key
