"""Devices of the seeded tenant: an Entra device per few users (Entra joined, Windows), each
managed by Intune (a ``managedDevice`` whose ``azureADDeviceId`` is the device's ``deviceId``)
with its local administrator password backed up by Windows LAPS (``deviceLocalCredentials``,
keyed by ``deviceId``, as Microsoft's "deviceLocalCredentialInfo resource type" says)."""

from __future__ import annotations

import base64
import random
import string

from dirguard_sandbox.directory_state import DirectoryState, graph_time
from dirguard_sandbox.seed_records import seeded_uuid


def _password(rng: random.Random) -> str:
    alphabet = string.ascii_letters + string.digits + "!#%+-=?@"
    return "".join(rng.choice(alphabet) for _ in range(20))


def seed_devices(state: DirectoryState, seed: int) -> None:
    rng = random.Random(f"devices-{seed}")  # noqa: S311 - fixtures, not secrets
    now = graph_time(state.now())
    owners = sorted(state.users)[1::3]  # every third user but the administrator has a laptop
    for number, user_id in enumerate(owners, start=1):
        user = state.users[user_id]
        object_id, device_id, managed_id = seeded_uuid(rng), seeded_uuid(rng), seeded_uuid(rng)
        name = f"LAPTOP-{number:04d}"
        state.devices[object_id] = {
            "id": object_id,
            "deviceId": device_id,
            "displayName": name,
            "accountEnabled": True,
            "operatingSystem": "Windows",
            "operatingSystemVersion": "10.0.22631.4460",
            "trustType": "AzureAd",
            "isCompliant": True,
            "isManaged": True,
            "registrationDateTime": now,
            "approximateLastSignInDateTime": now,
            "deletedDateTime": None,
        }
        state.managed_devices[managed_id] = {
            "id": managed_id,
            "deviceName": name,
            "userId": user_id,
            "userPrincipalName": user.get("userPrincipalName"),
            "operatingSystem": "Windows",
            "osVersion": "10.0.22631.4460",
            "azureADDeviceId": device_id,
            "managementState": "managed",
            "complianceState": "compliant",
            "managedDeviceOwnerType": "company",
            "enrolledDateTime": now,
            "lastSyncDateTime": now,
            "serialNumber": f"SN{rng.randrange(10**9):09d}",
        }
        secret = _password(rng)
        state.device_local_credentials[device_id] = {
            "id": device_id,
            "deviceName": name,
            "lastBackupDateTime": now,
            "refreshDateTime": now,
            "credentials": [
                {
                    "accountName": "Administrator",
                    "accountSid": f"S-1-5-21-{rng.randrange(10**9)}-{rng.randrange(10**9)}-500",
                    "backupDateTime": now,
                    "passwordBase64": base64.b64encode(secret.encode()).decode(),
                }
            ],
        }
