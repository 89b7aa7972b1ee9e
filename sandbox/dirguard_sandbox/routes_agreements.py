"""Terms of use agreements: ``/identityGovernance/termsOfUse/agreements`` (list, get, create,
delete), the objects a conditional access policy's ``grantControls.termsOfUse`` names.

As Microsoft's pages describe them ("agreement resource type",
https://learn.microsoft.com/graph/api/resources/agreement; "Create agreement",
https://learn.microsoft.com/graph/api/termsofusecontainer-post-agreements): a create names
``displayName``, ``isViewingBeforeAcceptanceRequired`` and ``files`` (each with ``fileName``,
``language``, ``isDefault`` and base64 ``fileData.data``) and answers 201 with the agreement;
the file itself is a navigation property, not in the answer. Only a signed-in user may call
them ("Application: Not supported", ``permissions_governance``). Every create and delete is
audited (category ``Policy``). The tenant starts with one agreement.
"""

from __future__ import annotations

import base64
import binascii

from starlette.responses import Response

from dirguard_sandbox.audit import whole_value_change
from dirguard_sandbox.directory_state import DirectoryState, Json, new_id
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_properties import GRAPH_PROPERTIES
from dirguard_sandbox.graph_routing import Call, handles, no_content
from dirguard_sandbox.identity_answers import collection_answer, entity_answer
from dirguard_sandbox.policy_deleted_items import policy_audit
from dirguard_sandbox.policy_records import policies_of

AGREEMENTS = "agreements"
"""The policies-table key holding the tenant's agreements (id -> record)."""
_PATH = "/identityGovernance/termsOfUse/agreements"
_SET = "identityGovernance/termsOfUse/agreements"
_KNOWN = GRAPH_PROPERTIES["agreement"]
SEEDED_AGREEMENT_ID = "0ec9f6a6-159d-4dd8-a563-1f4b5e4b1a9a"


def new_agreement(*, agreement_id: str, display_name: str, viewing_required: bool) -> Json:
    """An agreement with every property Graph answers, defaults filled in."""
    return {
        "id": agreement_id,
        "displayName": display_name,
        "isViewingBeforeAcceptanceRequired": viewing_required,
        "isPerDeviceAcceptanceRequired": False,
        "userReacceptRequiredFrequency": None,
        "termsExpiration": None,
    }


def agreements_of(state: DirectoryState) -> dict[str, Json]:
    """The tenant's agreements, the seeded one added on first use."""
    table: dict[str, Json] = policies_of(state).setdefault(
        AGREEMENTS,
        {
            SEEDED_AGREEMENT_ID: new_agreement(
                agreement_id=SEEDED_AGREEMENT_ID,
                display_name="Contoso terms of use",
                viewing_required=True,
            )
        },
    )
    return table


def _files(body: Json) -> None:
    files = body.get("files")
    if not isinstance(files, list) or not files:
        raise bad_request("The agreement needs 'files': at least one terms of use file.")
    for file in files:
        if not isinstance(file, dict) or not file.get("fileName") or not file.get("language"):
            raise bad_request("Each agreement file needs 'fileName' and 'language'.")
        data = (file.get("fileData") or {}).get("data")
        try:
            base64.b64decode(str(data or ""), validate=True)
        except binascii.Error as error:
            raise bad_request("An agreement file's 'fileData.data' must be base64.") from error
        if not data:
            raise bad_request("An agreement file needs 'fileData.data' (the PDF, base64).")


@handles("GET", _PATH)
async def list_agreements(call: Call) -> Response:
    records = list(agreements_of(call.state).values())
    return collection_answer(call, records, _SET, "agreement")


@handles("POST", _PATH)
async def create_agreement(call: Call) -> Response:
    body = await call.body()
    unknown = sorted(set(body) - _KNOWN - {"files"})
    if unknown:
        raise bad_request(f"Property '{unknown[0]}' does not exist on type 'agreement'.")
    if not isinstance(body.get("displayName"), str) or not body["displayName"]:
        raise bad_request("The agreement needs a 'displayName'.")
    if not isinstance(body.get("isViewingBeforeAcceptanceRequired"), bool):
        raise bad_request("The agreement needs 'isViewingBeforeAcceptanceRequired' (true/false).")
    _files(body)
    record = new_agreement(
        agreement_id=new_id(),
        display_name=body["displayName"],
        viewing_required=body["isViewingBeforeAcceptanceRequired"],
    )
    for name in ("isPerDeviceAcceptanceRequired", "userReacceptRequiredFrequency"):
        if name in body:
            record[name] = body[name]
    if "termsExpiration" in body:
        record["termsExpiration"] = body["termsExpiration"]
    agreements_of(call.state)[record["id"]] = record
    changes = whole_value_change("Agreement", None, record)
    policy_audit(call, "Add agreement", record, changes, conditional=True)
    return entity_answer(call, record, _SET, 201, known=_KNOWN, type_name="agreement")


def _agreement(call: Call) -> Json:
    agreement_id = call.param("agreement_id")
    record = agreements_of(call.state).get(agreement_id)
    if record is None:
        raise not_found(agreement_id)
    return record


@handles("GET", f"{_PATH}/{{agreement-id}}")
async def get_agreement(call: Call) -> Response:
    return entity_answer(call, _agreement(call), _SET, known=_KNOWN, type_name="agreement")


@handles("DELETE", f"{_PATH}/{{agreement-id}}")
async def delete_agreement(call: Call) -> Response:
    record = _agreement(call)
    del agreements_of(call.state)[record["id"]]
    changes = whole_value_change("Agreement", record, None)
    policy_audit(call, "Delete agreement", record, changes, conditional=True)
    return no_content()
