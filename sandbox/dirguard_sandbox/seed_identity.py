"""Seeding the identity side of a tenant: application objects for the ready apps (with their
client secrets as passwordCredentials), the Global Administrator's role assignment, and the
always-active directory roles."""

from __future__ import annotations

import random
import uuid

from dirguard_sandbox.application_records import SECRET_LIFETIME, new_application_record
from dirguard_sandbox.directory_state import DirectoryState, graph_time
from dirguard_sandbox.permissions_table import GRAPH_APP_ID, PERMISSIONS_BY_VALUE
from dirguard_sandbox.role_catalog import GLOBAL_ADMINISTRATOR, GLOBAL_READER
from dirguard_sandbox.routes_roles import activate_role, assign_role


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def seed_identity(state: DirectoryState, rng: random.Random, admin_id: str) -> None:
    now = state.now()
    for app in state.applications.values():
        key_id = _uuid(rng)
        record = new_application_record(
            object_id=app.object_id,
            app_id=app.app_id,
            display_name=app.display_name,
            created=graph_time(now),
            requiredResourceAccess=[
                {
                    "resourceAppId": GRAPH_APP_ID,
                    "resourceAccess": [
                        {"id": PERMISSIONS_BY_VALUE[value].id, "type": "Role"}
                        for value in app.granted
                    ],
                }
            ],
        )
        record["passwordCredentials"].append(
            {
                "customKeyIdentifier": None,
                "displayName": "sandbox secret",
                "endDateTime": graph_time(now + SECRET_LIFETIME),
                "hint": app.secrets[0][:3],
                "keyId": key_id,
                "secretText": None,
                "startDateTime": graph_time(now),
            }
        )
        app.secret_key_ids[key_id] = app.secrets[0]
        state.application_objects[app.object_id] = record
        state.bump(app.object_id)
    activate_role(state, GLOBAL_READER)
    assign_role(state, admin_id, GLOBAL_ADMINISTRATOR)
