"""Performing Entra plan steps through Microsoft Graph, reading each back, within the write quota.

One :class:`EntraStepWriter` per apply, on the tenant's Graph client. Each step is one Graph
write (its payload says where: the object's collection and what follows the id; the target's id
is the one the object has then, a re-created object's new id included):

- ``patch``: PATCH one property; first the live value is read: already the intended value →
  ``unchanged``; neither the value the selection left (``expected``) nor the intended one → a
  conflict, ``skipped`` unless ``force``;
- ``add-link`` / ``remove-link``: ``POST .../{members|owners}/$ref`` with the member's
  ``@odata.id`` / ``DELETE .../{members|owners}/{id}/$ref``
  (https://learn.microsoft.com/graph/api/group-post-members,
  https://learn.microsoft.com/graph/api/group-delete-members); already so → ``unchanged``;
- ``remove-password``: ``POST applications/{id}/removePassword`` with the ``keyId``;
- ``restore``: ``POST directory/deletedItems/{id}/restore``
  (https://learn.microsoft.com/graph/api/directory-deleteditems-restore); an object no longer in
  deleted items (purged, or past 30 days) fails, saying so;
- ``create``: POST the recorded body to the collection (fields the row generates made up: a
  re-created user gets a random password it must change at next sign-in, never shown or kept);
  the new id is what the step produces;
- ``write-apart``: a field written by a call of its own (a user's licences: ``assignLicense``
  with the SKUs and disabled plans history holds, built by the row's rule from the live value),
  once the object is back; already so → ``unchanged``; Graph's refusal (no free seat) fails this
  step alone, with Graph's words;
- ``delete``: DELETE the object; already gone → ``unchanged``.

:meth:`EntraStepWriter.verify` reads the object back (a GET) and says how it differs from what
the step meant. Writes are paced (:class:`WritePacer`) to stay within Graph's identity and
access write quota, 3,000 writes per 150 seconds per application and tenant ("Microsoft Graph
service-specific throttling limits", https://learn.microsoft.com/graph/throttling-limits), so a
bulk restore is not answered 429 halfway; a 429 that comes anyway is retried by the client after
its ``Retry-After``.
"""

from __future__ import annotations

import json
import secrets
import string
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dirguard.core.plan import Step
from dirguard.providers.base import SourceError, StepResult
from dirguard.providers.entra.graph_client import GraphAuthError, GraphClient, GraphError
from dirguard.providers.entra.rights import EntraRights, rights_for
from dirguard.providers.entra.rollback_bodies import graph_value, restored_apart
from dirguard.providers.entra.write_bodies import GRAPH_BASE, separate_requests
from dirguard.providers.registry import RESOURCE_TYPES

WRITE_QUOTA = 3000
WRITE_WINDOW = 150.0


class WritePacer:
    """At most ``quota`` writes in any ``window`` seconds: a write that would exceed it waits
    until the oldest one in the window has aged out."""

    def __init__(
        self,
        quota: int = WRITE_QUOTA,
        window: float = WRITE_WINDOW,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._quota, self._window = quota, window
        self._clock, self._sleep = clock, sleep
        self._sent: deque[float] = deque()

    def wait(self) -> None:
        now = self._clock()
        while self._sent and self._sent[0] <= now - self._window:
            self._sent.popleft()
        if len(self._sent) >= self._quota:
            self._sleep(self._sent[0] + self._window - now)
            self._sent.popleft()
        self._sent.append(self._clock())


def _item(collection: str, external_id: str) -> str:
    if "/" in external_id:
        return external_id  # stored by its path (a singleton policy, a delegated grant)
    if collection.rsplit("/", 1)[-1] == external_id:
        return collection  # a singleton (policies/authorizationPolicy)
    return f"{collection}/{external_id}"


def _target_id(step: Step) -> str:
    return str(step.target.external_id)


def _path(step: Step, produced_id: str | None = None) -> str:
    payload = step.payload
    return _item(str(payload["collection"]), produced_id or _target_id(step)) + str(
        payload.get("suffix", "")
    )


def _comparable(step: Step, attribute: str, value: Any) -> Any:
    row = RESOURCE_TYPES.get(str(step.payload.get("type") or step.target.resource_type))
    if row is not None:
        value = graph_value(row, attribute, value)
    elif isinstance(value, list) and len(value) == 1:  # a step naming no type: plain values
        value = value[0]
    if isinstance(value, list):
        return sorted(json.dumps(v, sort_keys=True, default=str) for v in value)
    return value


def _patched(step: Step) -> tuple[str, Any]:
    """The property a patch step writes back and its value (its body may carry the
    ``@odata.type`` Graph wants besides)."""
    body = dict(step.payload["body"])
    attribute = step.attribute or next(k for k in body if not k.startswith("@odata."))
    return attribute, body[attribute]


def new_password(length: int = 24) -> str:
    """A random password meeting Entra's complexity rule (three of lower, upper, digit,
    symbol: all four here), for a user created anew; nobody sees it, an administrator resets
    it (or issues a Temporary Access Pass) to hand the account over."""
    alphabet = string.ascii_letters + string.digits + "!#%*+-=?@_"
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        classes = (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
        if all(any(test(c) for c in password) for test in classes):
            return password


def _generated(request: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The create request with the fields the row generates filled in."""
    body = dict(request.get("body") or {})
    if "passwordProfile" in fields:
        body["passwordProfile"] = {
            "password": new_password(),
            "forceChangePasswordNextSignIn": True,
        }
    return {**request, "body": body}


class EntraStepWriter:
    """The write side of one tenant's Graph client (a context manager; the client is closed on
    leaving)."""

    def __init__(
        self,
        graph: GraphClient,
        *,
        tenant: str,
        graph_url: str,
        pacer: WritePacer | None = None,
    ) -> None:
        """``graph_url``: the tenant's Graph root (a member's ``@odata.id`` names it)."""
        self._graph = graph
        self._tenant = tenant
        self._graph_url = graph_url.rstrip("/")
        self._pacer = pacer or WritePacer()
        self._created: str | None = None

    def __enter__(self) -> EntraStepWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._graph.close()

    # ---- Graph ---------------------------------------------------------------------------

    def _write(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        self._pacer.wait()
        answer = self._graph.request(method, path, json=body)
        if answer.status_code == 204 or not answer.content:
            return {}
        found: dict[str, Any] = answer.json()
        return found

    def _read(self, path: str, **params: str) -> dict[str, Any] | None:
        try:
            return self._graph.get(path, **params)
        except GraphError as error:
            if error.status == 404:
                return None
            raise

    def _member_ids(self, path: str) -> set[str]:
        return {
            str(item.get("id")).lower() for item in self._graph.pages(path, **{"$select": "id"})
        }

    # ---- StepWriter ----------------------------------------------------------------------

    def apply(self, step: Step, produced: Mapping[str, str], *, force: bool) -> StepResult:
        try:
            return self._apply(step, force)
        except GraphError as error:
            return StepResult(status="failed", outcome=str(error))

    def _apply(self, step: Step, force: bool) -> StepResult:
        op, payload = step.op, step.payload
        if op == "patch":
            return self._patch(step, force)
        if op in ("add-link", "remove-link"):
            links = _path(step)
            member = str(payload["member"])
            present = member.lower() in self._member_ids(links)
            if present == (op == "add-link"):
                return StepResult(status="unchanged", outcome="already so")
            if op == "add-link":
                reference = f"{self._graph_url}/v1.0/directoryObjects/{member}"
                self._write("POST", f"{links}/$ref", {"@odata.id": reference})
            else:
                self._write("DELETE", f"{links}/{member}/$ref")
            return StepResult(status="succeeded", outcome=step.description)
        if op == "remove-password":
            self._write("POST", _path(step), dict(payload["body"]))
            return StepResult(status="succeeded", outcome=step.description)
        if op == "restore":
            return self._restore(step)
        if op == "write-apart":
            return self._write_apart(step)
        if op == "create":
            return self._create(step, dict(payload["create"]))
        if op == "delete":
            if self._read(_path(step), **{"$select": "id"}) is None:
                return StepResult(status="unchanged", outcome="already gone")
            self._write("DELETE", _path(step))
            return StepResult(status="succeeded", outcome=step.description)
        raise SourceError(f"an Entra step cannot {op!r}")

    def _resolved(self, step: Step, request: Mapping[str, Any], new_id: str = "") -> Any:
        """A recorded request with the tenant's Graph root, the new ids of objects the plan
        re-created (``renames``, resolved by the step loop) and this object's new id."""
        text = json.dumps(dict(request))
        text = text.replace(GRAPH_BASE, f"{self._graph_url}/v1.0")
        for old, new in dict(step.payload.get("renames") or {}).items():
            text = text.replace(str(old), str(new))
        return json.loads(text.replace("{id}", new_id) if new_id else text)

    def _send(self, request: Mapping[str, Any]) -> dict[str, Any]:
        return self._write(str(request["method"]), str(request["path"]), request.get("body"))

    def _create(self, step: Step, creation: Mapping[str, Any], why: str = "") -> StepResult:
        generated = [str(f) for f in creation.get("generated") or ()]
        made = self._send(_generated(self._resolved(step, creation["request"]), generated))
        new_id = made.get(str(creation.get("made_id") or "id"))
        if not new_id:
            return StepResult(status="failed", outcome="Graph answered without the new id")
        self._created = str(new_id)
        for after in creation.get("after") or ():
            self._send(self._resolved(step, after, str(new_id)))
        password = (
            "; it has a new random password, to be reset before its user signs in"
            if "passwordProfile" in generated
            else ""
        )
        return StepResult(
            status="succeeded",
            outcome=f"{why}created with id {new_id}{password}",
            produced_id=str(new_id),
        )

    def _apart(self, step: Step) -> tuple[str, Any, Any]:
        """The field a write-apart step writes, its live value and the recorded one."""
        field = str(step.attribute)
        live = self._read(_path(step), **{"$select": field})
        if live is None:
            raise GraphError(404, "Request_ResourceNotFound", "it does not exist", _path(step))
        return field, live.get(field), step.payload["value"]

    def _write_apart(self, step: Step) -> StepResult:
        row = RESOURCE_TYPES[str(step.payload["type"])]  # its target may be a new id
        field, now, wanted = self._apart(step)
        rule = restored_apart(row)[field]
        held = set(step.payload.get("held_elsewhere") or ())
        if held and isinstance(now, list) and isinstance(wanted, list):  # a group's: left be
            wanted = wanted + [v for v in now if isinstance(v, Mapping) and v.get("skuId") in held]
        requests, _cannot = separate_requests(rule, _path(step), now, wanted)
        if not requests:
            return StepResult(status="unchanged", outcome="already so")
        for request in requests:
            self._write(request.method, request.path, request.body)
        return StepResult(status="succeeded", outcome=step.description)

    def _restore(self, step: Step) -> StepResult:
        self._created = None
        same = _target_id(step)
        if self._read(_path(step), **{"$select": "id"}) is not None:
            return StepResult(status="unchanged", outcome="it is not deleted", produced_id=same)
        try:
            self._write("POST", f"directory/deletedItems/{same}/restore")
        except GraphError as error:
            if error.status != 404:
                raise
            gone = f"{step.target.label} is no longer in deleted items (purged, or hard-deleted)"
            body = step.payload.get("recreate")
            if not isinstance(body, Mapping):
                return StepResult(status="failed", outcome=f"{gone}; it cannot be created anew")
            return self._create(step, dict(body), why=f"{gone}: ")
        return StepResult(status="succeeded", outcome=step.description, produced_id=same)

    def _patch(self, step: Step, force: bool) -> StepResult:
        attribute, intended = _patched(step)
        live = self._read(_path(step), **{"$select": attribute})
        if live is None:
            return StepResult(status="failed", outcome=f"{step.target.label} does not exist")
        now = _comparable(step, attribute, live.get(attribute))
        if now == _comparable(step, attribute, intended):
            return StepResult(status="unchanged", outcome="already so")
        if (
            step.expected is not None
            and now != _comparable(step, attribute, step.expected)
            and not force
        ):
            return StepResult(
                status="skipped",
                outcome=f"skipped: {attribute} was changed again since (now "
                f"{live.get(attribute)!r}); --force writes it anyway",
            )
        self._write("PATCH", _path(step), dict(step.payload["body"]))
        return StepResult(status="succeeded", outcome=step.description)

    def verify(self, step: Step, produced: Mapping[str, str]) -> str | None:
        try:
            return self._verify(step)
        except GraphError as error:
            return f"read back failed: {error}"

    def _verify(self, step: Step) -> str | None:
        op, payload = step.op, step.payload
        if op == "patch":
            attribute, intended = _patched(step)
            live = self._read(_path(step), **{"$select": attribute}) or {}
            if _comparable(step, attribute, live.get(attribute)) != _comparable(
                step, attribute, intended
            ):
                return f"read back: {attribute} is {live.get(attribute)!r}, not {intended!r}"
            return None
        if op in ("add-link", "remove-link"):
            present = str(payload["member"]).lower() in self._member_ids(_path(step))
            if present != (op == "add-link"):
                return f"read back: {payload['member']} is {'not ' if present is False else ''}" \
                    f"in {step.attribute}"  # fmt: skip
            return None
        if op in ("restore", "create"):
            made = self._created  # a restore that had to create anew: the new id
            if self._read(_path(step, made), **{"$select": "id"}) is None:
                return f"read back: {step.target.label} is not there"
            return None
        if op == "write-apart":
            field, now, wanted = self._apart(step)
            if _comparable(step, field, now) != _comparable(step, field, wanted):
                return f"read back: {field} is {now!r}, not {wanted!r}"
            return None
        if op == "delete" and self._read(_path(step), **{"$select": "id"}) is not None:
            return f"read back: {step.target.label} still exists"
        return None

    def rights(self, steps: Sequence[Step]) -> EntraRights:
        """The application permissions the steps need against those the token holds."""
        try:
            return rights_for(steps, self._graph.token(), self._tenant)
        except (GraphAuthError, ValueError) as error:
            raise SourceError(
                f"{self._tenant}: cannot tell the application's rights: {error}"
            ) from None
