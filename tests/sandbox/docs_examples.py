"""Replaying the Graph v1.0 reference examples (``docs-examples-v1.0.json``) against the sandbox.

Each example is classified once (``classify``): either it is replayed, because the sandbox has a
route for its method and path (``permissions_table.ENDPOINTS``), or it is left out by a named
rule. A replay substitutes the sandbox's own ids for the page's (a throwaway object for a delete),
the sandbox's domains for contoso's, and valid values for the page's placeholders; then it checks
the status and that every property name of the documented answer appears in the sandbox's.

``python -m tests.sandbox.docs_examples`` (``scripts/graph-coverage``) prints the coverage table.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from dirguard_sandbox.permissions_table import ENDPOINTS
from dirguard_sandbox.seed_data import SeedOptions, generate_tenant
from dirguard_sandbox.server import BackgroundSandbox
from tests.sandbox.docs_replay_tenant import ReplayTenant
from tests.sandbox.test_fidelity import _schema

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "graph"
EXAMPLES_FILE = REFERENCE / "docs-examples-v1.0.json"
GRAPH_V1 = re.compile(r"^https://graph\.microsoft\.com/v1\.0(?=/)", re.IGNORECASE)
_NOT_AN_ID = re.compile(
    r"^(delta|delta\(\)|microsoft\.graph\..*|\$.*|(?!roleTemplateId=)[^=]+=.*)$"
)
"""Segments that name a function, a cast, a system segment or an alternate key, never an id
(``roleTemplateId=…``, a directory role's alternate key, stands for the role)."""

RESOURCE_DEPTH = {"identity": 3, "policies": 2, "directory": 2, "roleManagement": 3, "auditLogs": 2}


@dataclass(frozen=True, kw_only=True)
class Example:
    key: str
    file: str
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body_text: str
    status: int | None
    answer: Any
    odata_type: str | None


@dataclass(frozen=True, kw_only=True)
class Verdict:
    example: Example
    resource: str
    template: str | None
    rule: str | None
    """Why the example is not replayed (None: it is)."""


def _resource(path: str) -> str:
    segments = [segment.split("(", 1)[0] for segment in path.strip("/").split("/")]
    return "/".join(segments[: RESOURCE_DEPTH.get(segments[0], 1)]) or "/"


def _pattern(template: str) -> re.Pattern[str]:
    parts = []
    for piece in re.split(r"(\{[^}]+\})", template):
        parts.append(f"(?P<p{len(parts)}>[^/()']+)" if piece.startswith("{") else re.escape(piece))
    regex = "".join(parts)
    if template.endswith("/delta()"):
        regex = (
            regex.removesuffix(re.escape("/delta()")) + r"/(?:microsoft\.graph\.)?delta(?:\(\))?"
        )
    regex = regex.replace(re.escape("/graph."), r"/(?:microsoft\.)?graph\.")
    return re.compile(f"^{regex}$")


@cache
def _routes() -> list[tuple[str, str, re.Pattern[str]]]:
    # Literal templates first, as the app routes them.
    ordered = sorted(ENDPOINTS, key=lambda endpoint: endpoint.template.count("{"))
    return [(e.method, e.template, _pattern(e.template)) for e in ordered]


def route_of(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """The sandbox template answering ``method path`` and the path's values by parameter name."""
    for route_method, template, pattern in _routes():
        found = pattern.match(path)
        if route_method != method or found is None:
            continue
        values = list(found.groupdict().values())
        if any(_NOT_AN_ID.match(value) for value in values):
            continue
        names = re.findall(r"\{([^}]+)\}", template)
        return template, dict(zip(names, values, strict=True))
    return None


def _split_raw(raw: str) -> tuple[dict[str, str], str]:
    head, _, body = raw.replace("\r\n", "\n").partition("\n\n")
    headers = {}
    for line in head.splitlines()[1:]:
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers, body.strip()


def load_examples(path: Path = EXAMPLES_FILE) -> list[Example]:
    examples = []
    seen: Counter[str] = Counter()
    for item in json.loads(path.read_text(encoding="utf-8")):
        request = item.get("request") or {}
        url = str(request.get("url") or "")
        name = request.get("name") or "example"
        seen[f"{item['file']}:{name}"] += 1
        key = f"{item['file']}:{name}"
        if seen[key] > 1:
            key = f"{key}#{seen[key]}"
        split = urlsplit(GRAPH_V1.sub("", url) if GRAPH_V1.match(url) else url)
        headers, body_text = _split_raw(str(request.get("raw") or ""))
        examples.append(
            Example(
                key=key,
                file=item["file"],
                method=str(request.get("method") or ""),
                path=unquote(split.path) if not split.scheme else url,
                query=split.query,
                headers=headers,
                body_text=body_text,
                status=item.get("status"),
                answer=item.get("body"),
                odata_type=item.get("odata_type"),
            )
        )
    return examples


# --------------------------------------------------------------------------- rules
RULE_NO_REQUEST = "no HTTP request on the page (prose or a non-HTTP snippet)"
RULE_NOT_V1 = "not a Graph v1.0 request (beta, another host, or a bare template)"
RULE_NO_ROUTE = "the sandbox has no route for this method and path"
RULE_INTUNE = (
    "Intune's generated page: placeholder body ('@odata.type' alone) and answers wrapped in "
    "'value', which Graph itself does not give"
)
RULE_NO_STATUS = "the page states no status code"
RULE_SEARCH = "$search (full-text search on an index Graph keeps) is not emulated"
RULE_B2C = "an Azure AD B2C local-account user (identities without a userPrincipalName)"
RULE_ENDSWITH = "endswith() is an advanced query the sandbox's $filter does not emulate"
RULE_UNKEPT = "names a property the sandbox does not keep (Outlook group settings, license errors)"

RULE_DELEGATED_ONLY = (
    "the page says 'Application: Not supported' and the replay signs in as an application "
    "(terms of use agreements: tests/sandbox/test_agreements.py replays them as a user)"
)
_DELEGATED_ONLY = frozenset(
    (endpoint.method, endpoint.template) for endpoint in ENDPOINTS if endpoint.delegated_only
)

RULE_KEPT_EMPTY = (
    "a collection the sandbox keeps nothing in (devices, group settings, token lifetime "
    "policies, extension properties, scoped role members, custom security attributes): it "
    "answers an empty list"
)
_KEPT_EMPTY = frozenset(
    {
        "/devices",
        "/groupSettings",
        "/policies/tokenLifetimePolicies",
        "/applications/{application-id}/extensionProperties",
        "/directoryRoles/{directoryRole-id}/scopedMembers",
        "/directory/administrativeUnits/{administrativeUnit-id}/scopedRoleMembers",
        "/groups/{group-id}/settings",
        "/directory/customSecurityAttributeDefinitions",
        "/directory/attributeSets",
    }
)
_UNKEPT_PROPERTIES = ("hasMembersWithLicenseErrors", "allowExternalSenders", "unseenCount")
PAGE_SLIPS = {
    "microsoftauthenticatorauthenticationmethodconfiguration-update.md:"
    "update_microsoftauthenticatorauthenticationmethodconfiguration": (
        "the page's own slip: 'String' placeholder for state, and a 200 with a body for an update"
    ),
    "administrativeunit-update.md:update_administrativeunit": (
        "the page's own slip: 'visibility-value' placeholder where Graph takes HiddenMembership"
    ),
}
"""Examples whose page is wrong in a way no substitution repairs, with what is wrong."""

KNOWN_GAPS: dict[str, str] = {}
"""Replayed examples the sandbox still answers wrongly: what it lacks (the test expects them to
fail, strictly, so fixing one shows up)."""


def classify(example: Example) -> Verdict:
    def verdict(rule: str | None, template: str | None = None) -> Verdict:
        resource = _resource(example.path) if example.path.startswith("/") else "(other)"
        return Verdict(example=example, resource=resource, template=template, rule=rule)

    if not example.method or not example.path:
        return verdict(RULE_NO_REQUEST)
    if not example.path.startswith("/"):
        return verdict(RULE_NOT_V1)
    route = route_of(example.method, example.path)
    if route is None:
        return verdict(RULE_NO_ROUTE)
    template = route[0]
    query = unquote(example.query)
    rule: str | None = None
    if example.key in PAGE_SLIPS:
        rule = PAGE_SLIPS[example.key]
    elif example.file.startswith("intune-"):
        rule = RULE_INTUNE
    elif example.status is None:
        rule = RULE_NO_STATUS
    elif "$search" in query:
        rule = RULE_SEARCH
    elif "endswith(" in query:
        rule = RULE_ENDSWITH
    elif any(name in query for name in _UNKEPT_PROPERTIES):
        rule = RULE_UNKEPT
    elif example.method == "POST" and template == "/users" and '"identities"' in example.body_text:
        rule = RULE_B2C
    elif example.method == "GET" and template in _KEPT_EMPTY:
        rule = RULE_KEPT_EMPTY
    elif (example.method, template) in _DELEGATED_ONLY:
        rule = RULE_DELEGATED_ONLY
    return verdict(rule, template)


def verdicts() -> list[Verdict]:
    return [classify(example) for example in load_examples()]


# --------------------------------------------------------------------------- replay
def parse_body(text: str, tenant: ReplayTenant) -> Any:
    """The page's request body as JSON: contoso's domains as the sandbox's, trailing commas
    (a slip on some pages) dropped."""
    if not text:
        return None
    text = tenant.localize(text)
    text = re.sub(r",(\s*[}\]])", r"\1", text)
    return json.loads(text)


def _declared(type_name: str | None) -> dict[str, tuple[str, bool]] | None:
    """The CSDL properties of a type (None when unknown)."""
    if not type_name:
        return None
    inner = type_name.removeprefix("Collection(").removesuffix(")").removeprefix("#")
    return _schema().get(inner)


@cache
def _navigation_properties() -> dict[str, frozenset[str]]:
    """Each entity type's navigation properties (its base types' included), by short name."""
    edm = "{http://docs.oasis-open.org/odata/ns/edm}"
    root = ET.parse(REFERENCE / "v1.0-Prod.csdl").getroot()  # noqa: S314 - Microsoft's file
    own: dict[str, set[str]] = {}
    bases: dict[str, str] = {}
    for element in root.iter(f"{edm}EntityType"):
        name = element.get("Name", "")
        own[name] = {nav.get("Name", "") for nav in element.findall(f"{edm}NavigationProperty")}
        if element.get("BaseType"):
            bases[name] = element.get("BaseType", "").rsplit(".", 1)[-1]
    merged = {}
    for name, navs in own.items():
        chain, found = name, set(navs)
        while chain in bases:
            chain = bases[chain]
            found |= own.get(chain, set())
        merged[name] = frozenset(found)
    return merged


def _is_navigation(type_name: str | None, name: str) -> bool:
    """Graph answers a navigation property only when ``$expand`` asks for it; a page showing
    one expanded does not make it part of the plain answer."""
    if not type_name:
        return False
    short = type_name.removeprefix("Collection(").removesuffix(")").rsplit(".", 1)[-1]
    return name in _navigation_properties().get(short, frozenset())


def _property_type(properties: dict[str, tuple[str, bool]] | None, name: str) -> str | None:
    if properties is None or name not in properties:
        return None
    return properties[name][0].removeprefix("Collection(").removesuffix(")")


def missing_names(documented: Any, ours: Any, type_name: str | None, where: str = "") -> list[str]:
    """Property names of the documented answer absent from ours, in nested objects and the first
    item of collections too. A name the CSDL does not declare on the type is the page's slip
    (``targetResource`` for ``targetResources``), not the sandbox's; an empty nested collection
    is a value, not a missing name."""
    if isinstance(documented, list):
        items = [item for item in documented if isinstance(item, dict)]
        ours_items = [i for i in ours if isinstance(i, dict)] if isinstance(ours, list) else []
        if not items or not ours_items:
            return []
        merged: dict[str, Any] = {}
        for item in ours_items:
            for name, value in item.items():
                if merged.get(name) is None:
                    merged[name] = value
        return missing_names(items[0], merged, type_name, f"{where}[]")
    if not isinstance(documented, dict) or not isinstance(ours, dict):
        return []
    declared_type = documented.get("@odata.type")
    if isinstance(declared_type, str) and _declared(declared_type) is not None:
        type_name = declared_type
    properties = _declared(type_name)
    problems = []
    for name, value in documented.items():
        if name.startswith("@") or "@odata." in name:
            continue
        if properties is not None and (name not in properties or _is_navigation(type_name, name)):
            continue
        here = f"{where}.{name}" if where else name
        if name not in ours:
            problems.append(here)
            continue
        problems += missing_names(value, ours[name], _property_type(properties, name), here)
    return problems


def documented_answer(example: Example, template: str) -> Any:
    """The page's answer, unwrapped where a 2021 page shows one entity inside ``value``."""
    answer = example.answer
    single = template.endswith("}") or not template.rsplit("/", 1)[-1][:1].islower()
    if single and isinstance(answer, dict) and set(answer) - {"@odata.context"} == {"value"}:
        value = answer["value"]
        return value[0] if isinstance(value, list) and value else value
    return answer


@dataclass(frozen=True, kw_only=True)
class Outcome:
    verdict: Verdict
    status: int
    problems: list[str]

    @property
    def passed(self) -> bool:
        return not self.problems


def replay(verdict: Verdict, tenant: ReplayTenant) -> Outcome:
    example, template = verdict.example, verdict.template
    assert template is not None and verdict.rule is None
    route = route_of(example.method, example.path)
    assert route is not None
    prepared = tenant.prepare(
        template, example.method, route[1], hint=f"{example.file} {example.body_text}"
    )
    path = template
    for name, value in prepared.path_values.items():
        path = path.replace("{" + name + "}", value)
    body = parse_body(example.body_text, tenant)
    if prepared.fix_body is not None:
        body = prepared.fix_body(body)
    headers = {
        name: value
        for name, value in example.headers.items()
        if name in {"consistencylevel", "prefer"}
    }
    query = tenant.localize(example.query)
    url = f"{path}?{query}" if query else path
    answer = tenant.client.request(
        example.method,
        url,
        headers=headers,
        content=None if body is None else json.dumps(body).encode(),
    )
    problems = []
    if answer.status_code != example.status:
        problems.append(
            f"status {answer.status_code}, documented {example.status}: {answer.text[:300]}"
        )
    elif example.answer is not None and answer.content:
        documented = documented_answer(example, template)
        ours = answer.json()
        if (
            isinstance(documented, dict)
            and documented.get("value")
            and ours.get("value") == []
            and "$filter" not in unquote(example.query)
        ):
            problems.append("the sandbox answered an empty collection")
        problems += [
            f"missing {name}" for name in missing_names(documented, ours, example.odata_type)
        ]
    return Outcome(verdict=verdict, status=answer.status_code, problems=problems)


# --------------------------------------------------------------------------- table
def coverage_rows(
    all_verdicts: list[Verdict], outcomes: dict[str, Outcome]
) -> Iterator[tuple[str, int, int, int, int]]:
    """(resource, examples, replayed, passing, unsupported) per resource, replayed first."""
    by_resource: dict[str, list[Verdict]] = {}
    for verdict in all_verdicts:
        by_resource.setdefault(verdict.resource, []).append(verdict)

    def row(resource: str) -> tuple[str, int, int, int, int]:
        items = by_resource[resource]
        replayed = [v for v in items if v.rule is None]
        passing = sum(
            1 for v in replayed if outcomes.get(v.example.key) and outcomes[v.example.key].passed
        )
        return resource, len(items), len(replayed), passing, len(items) - len(replayed)

    rows = [row(resource) for resource in by_resource]
    yield from sorted(rows, key=lambda r: (-r[2], -r[1], r[0]))


def _line(label: str, width: int, counts: list[int]) -> str:
    examples, replayed, passing, unsupported = counts
    return f"{label:<{width}}  {examples:>8}  {replayed:>8}  {passing:>7}  {unsupported:>11}"


def print_coverage(
    all_verdicts: list[Verdict], outcomes: dict[str, Outcome], out: Callable[[str], None] = print
) -> None:
    rows = list(coverage_rows(all_verdicts, outcomes))
    width = max(len(r[0]) for r in rows)
    header = f"{'resource':<{width}}  examples  replayed  passing  unsupported"
    out(header)
    out("-" * len(header))
    totals = [0, 0, 0, 0]
    for resource, *counts in rows:
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        if counts[1] or counts[0] >= 5:
            out(_line(resource, width, counts))
    small = [r for r in rows if not r[2] and r[1] < 5]
    if small:
        count = sum(r[1] for r in small)
        label = f"({len(small)} other resources)"
        out(_line(label, width, [count, 0, 0, count]))
    out("-" * len(header))
    out(_line("total", width, totals))
    out("")
    out("not replayed, by rule:")
    for rule, count in Counter(v.rule for v in all_verdicts if v.rule).most_common():
        out(f"  {count:>5}  {rule}")
    failing = [o for o in outcomes.values() if not o.passed]
    if failing:
        out("")
        out("replayed but failing:")
        for outcome in failing:
            key = outcome.verdict.example.key
            known = f" [known gap: {KNOWN_GAPS[key]}]" if key in KNOWN_GAPS else ""
            out(f"  {key}{known}: {'; '.join(outcome.problems)[:300]}")


def replay_sandbox(directory: Path) -> BackgroundSandbox:
    """A realistic tenant (managers, conditional access, consented apps, role holders), so
    that the pages' answers have something to show; throttling off."""
    state = generate_tenant(SeedOptions(users=60, seed=5, realistic=True))
    sandbox = BackgroundSandbox(state, directory, throttling=False)
    sandbox.start()
    return sandbox


def main() -> int:
    """Start a sandbox, replay every supported example, print the coverage table."""
    import tempfile

    from tests.fixtures.graph_sandbox import RunningSandbox

    if not EXAMPLES_FILE.exists():
        print(f"Microsoft's examples file {EXAMPLES_FILE} is absent", file=sys.stderr)
        return 1
    all_verdicts = verdicts()
    with tempfile.TemporaryDirectory() as directory:
        sandbox = replay_sandbox(Path(directory))
        try:
            running = RunningSandbox(info=sandbox.info, state=sandbox.state)
            with running.client() as client:
                tenant = ReplayTenant(client, running.state)
                outcomes = {
                    v.example.key: replay(v, tenant) for v in all_verdicts if v.rule is None
                }
        finally:
            sandbox.stop()
    print_coverage(all_verdicts, outcomes)
    return 0 if all(o.passed or key in KNOWN_GAPS for key, o in outcomes.items()) else 1


if __name__ == "__main__":
    sys.exit(main())
