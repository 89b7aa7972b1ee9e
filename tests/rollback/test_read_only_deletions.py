"""A read-only monitoring account sees deletions as they happen once it may read
CN=Deleted Objects, against the session's real Samba AD DC.

Without that grant Samba 4.17 leaves tombstones out of the DirSync answers it gives an account
that is not an administrator, even one holding both replication rights: the capture says so
(``deletions_hidden``) and records no delete. After the grant (made in the DC's own database,
as ``dirguard connect ad --samba-conf`` does) the next deletion arrives through DirSync, with
the acting account from Samba's audit log."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dirguard.providers.ad.setup.account_grants import CONTAINER_ACCESS
from dirguard.providers.ad.setup.samba_local_acl import grant_locally
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.accounts import Account, cli_runner, ro_account
from tests.rollback.helpers import (
    add_user,
    guid_of,
    scratch_ou,
    write_config,
)

pytestmark = pytest.mark.samba

__all__ = ["ro_account"]

DELETED_OBJECTS = CONTAINER_ACCESS["List Contents and Read Property on Deleted Objects"]


def test_deletions_reach_a_read_only_account_once_it_may_read_deleted_objects(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
) -> None:
    config = write_config(
        tmp_path, samba_dc, mode="read-only", bind_upn=ro_account.upn, secret_env="TEST_RO_PW"
    )
    run = cli_runner(config, {"TEST_RO_PW": ro_account.password})
    with scratch_ou(ldap_admin, f"OU={unique('del')},{samba_dc.base_dn}") as ou_dn:
        first, second = f"CN=dora,{ou_dn}", f"CN=dirk,{ou_dn}"
        add_user(ldap_admin, first, unique("dora"))
        add_user(ldap_admin, second, unique("dirk"))
        run("snapshot", "ad")
        hidden_guid, seen_guid = guid_of(ldap_admin, first), guid_of(ldap_admin, second)

        ldap_admin.delete_s(first)
        result = run("capture", "ad", "--json", as_json=False)
        (capture,) = json.loads(result.stdout)["captures"]
        assert capture["deletions_hidden"] is True
        assert "may not read CN=Deleted Objects" in result.stderr  # the operator's log
        assert "dirguard connect ad" in result.stderr
        assert run("changes", "--object", hidden_guid)["changes"] == []

        grant = grant_locally(
            samba_dc.smb_conf,
            DELETED_OBJECTS.dn(samba_dc.base_dn),
            ro_account.sid,
            DELETED_OBJECTS.mask,
        )
        assert grant.status == "added"
        assert f"(A;;RPLC;;;{ro_account.sid})" in grant.after  # Samba writes LC+RP as RPLC

        ldap_admin.delete_s(second)
        (capture,) = run("capture", "ad")["captures"]
        assert capture["deletions_hidden"] is False
        (deleted,) = run("changes", "--object", seen_guid)["changes"]
        assert deleted["op"] == "delete"
        assert deleted["detected_by"] != "snapshot"
        assert deleted["actor"] == f"{samba_dc.domain}\\{samba_dc.admin_user}"
        # The one deleted while hidden is still found, by the next snapshot.
        run("snapshot", "ad")
        (late,) = run("changes", "--object", hidden_guid)["changes"]
        assert (late["op"], late["detected_by"]) == ("delete", "snapshot")
