"""Groups with hidden membership (``visibility: HiddenMembership``).

Microsoft's group resource (https://learn.microsoft.com/en-us/graph/api/resources/group,
property ``visibility``): the values are ``Private``, ``Public`` and ``HiddenMembership``;
HiddenMembership can be set only for Microsoft 365 groups (``groupTypes`` holds ``Unified``),
only when the group is created, and can't be updated later. "List group members"
(https://learn.microsoft.com/en-us/graph/api/group-list-members): "To list the members of a
hidden membership group, the Member.Read.Hidden permission is also required" — without it the
sandbox answers 403 as for any missing permission.
"""

from __future__ import annotations

from dirguard_sandbox.directory_state import Json
from dirguard_sandbox.errors import bad_request, insufficient_privileges

HIDDEN = "HiddenMembership"
VALUES = ("Private", "Public", HIDDEN)
NEEDS = "Member.Read.Hidden"


def check_visibility_on_create(record: Json) -> None:
    """400 for a visibility Graph does not know, or HiddenMembership on a non-M365 group."""
    visibility = record.get("visibility")
    if visibility is None:
        return
    if visibility not in VALUES:
        raise bad_request(
            f"Invalid value '{visibility}' for property 'visibility': use one of "
            + ", ".join(VALUES)
            + "."
        )
    if visibility == HIDDEN and "Unified" not in (record.get("groupTypes") or []):
        raise bad_request("HiddenMembership visibility can be set only for Microsoft 365 groups.")


def check_visibility_on_update(before: Json, wanted: Json) -> None:
    """400 when a PATCH would make a group hidden-membership or stop it being one."""
    if "visibility" not in wanted or wanted["visibility"] == before.get("visibility"):
        return
    if HIDDEN in (wanted["visibility"], before.get("visibility")):
        raise bad_request("HiddenMembership visibility can be set only when the group is created.")
    if wanted["visibility"] not in VALUES:
        raise bad_request(
            f"Invalid value '{wanted['visibility']}' for property 'visibility': use one of "
            + ", ".join(VALUES)
            + "."
        )


def check_may_list_members(group: Json, claims: Json) -> None:
    """403 when the group hides its membership and the token lacks Member.Read.Hidden."""
    if group.get("visibility") != HIDDEN:
        return
    granted = str(claims["scp"]).split() if "scp" in claims else claims.get("roles") or []
    if NEEDS not in granted:
        raise insufficient_privileges()
