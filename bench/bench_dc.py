"""Shared by the AD benchmarks: a throwaway Samba DC holding many users, populated once and kept.

The first run for a size provisions a DC in ``<cache>/ad-<N>users.work``, turns off fsync for the
load (``ldb:nosync``), adds the users and groups with ``ldapadd -c`` of generated LDIF files
(several in parallel), stops the DC and archives its whole work directory as
``<cache>/ad-<N>users.tar`` with the admin password beside it (``.password``, mode 0600). Later
runs unpack the archive at the same path (Samba's smb.conf names absolute paths) and start it
with ``throwaway_samba_dc(existing_workdir=..., admin_password=...)``.

The cache is ``$DIRGUARD_BENCH_CACHE`` or ``~/.cache/dirguard-bench``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import AdDomainConfig
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.throwaway.samba_dc import SambaDC, throwaway_samba_dc

OU = "OU=Bench"
USERS_PER_GROUP = 100
LOCK_WAIT_S = 3600.0
"""How long to wait for another user of the machine's throwaway DC (a test session, say)."""


def cache_dir() -> Path:
    root = Path(os.environ.get("DIRGUARD_BENCH_CACHE", Path.home() / ".cache" / "dirguard-bench"))
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o700)
    return root


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def user_dn(dc: SambaDC, index: int) -> str:
    return f"CN=benchuser{index:06d},{OU},{dc.base_dn}"


def group_dn(dc: SambaDC, index: int) -> str:
    return f"CN=benchgroup{index:04d},{OU},{dc.base_dn}"


def _user_ldif(dc: SambaDC, index: int) -> str:
    return (
        f"dn: {user_dn(dc, index)}\nobjectClass: user\nsAMAccountName: benchuser{index:06d}\n"
        f"userPrincipalName: benchuser{index:06d}@{dc.realm.lower()}\n"
        f"givenName: Bench{index}\nsn: User{index}\ndisplayName: Bench User {index}\n"
        f"description: bench user {index}\ndepartment: dept{index % 50}\n\n"
    )


def _group_ldif(dc: SambaDC, index: int, users: int) -> str:
    first = index * USERS_PER_GROUP
    members = "".join(
        f"member: {user_dn(dc, i)}\n" for i in range(first, min(first + USERS_PER_GROUP, users))
    )
    return (
        f"dn: {group_dn(dc, index)}\nobjectClass: group\nsAMAccountName: benchgroup{index:04d}\n"
        f"description: bench group {index}\n{members}\n"
    )


def ldap_tool(dc: SambaDC, tool: str, password_file: Path, *args: str) -> list[str]:
    """The command line of an OpenLDAP client tool bound as the admin over LDAPS."""
    return [tool, "-x", "-H", dc.ldaps_uri, "-D", dc.admin_upn, "-y", str(password_file), *args]


def password_file_of(dc: SambaDC, directory: Path) -> Path:
    path = directory / "admin.password"
    path.touch(mode=0o600)
    path.write_text(dc.admin_password, encoding="utf-8")
    return path


def ldapadd(dc: SambaDC, ldif: str, jobs: int, scratch: Path) -> float:
    """Add the LDIF's entries with ``jobs`` parallel ``ldapadd -c``; returns the seconds taken."""
    blocks = [b for b in ldif.split("\n\n") if b.strip()]
    secret = password_file_of(dc, scratch)
    files = []
    for job in range(jobs):
        path = scratch / f"add{job}.ldif"
        path.write_text("\n\n".join(blocks[job::jobs]) + "\n\n", encoding="utf-8")
        files.append(path)
    env = {**os.environ, **dc.client_env()}

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        command = ldap_tool(dc, "ldapadd", secret, "-c", "-f", str(path))
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)

    started = time.monotonic()
    with ThreadPoolExecutor(jobs) as pool:
        results = list(pool.map(run, files))
    seconds = time.monotonic() - started
    for result in results:
        if result.returncode not in (0, 68):  # 68: already exists (a resumed load)
            raise RuntimeError(f"ldapadd failed ({result.returncode}): {result.stderr[-600:]}")
    return seconds


def populate(dc: SambaDC, users: int, jobs: int) -> None:
    with tempfile.TemporaryDirectory(prefix="dirguard-bench-") as scratch:
        ldapadd(dc, f"dn: {OU},{dc.base_dn}\nobjectClass: organizationalUnit\n\n", 1, Path(scratch))
        say(f"adding {users} users with {jobs} parallel ldapadd -c ...")
        ldif = "".join(_user_ldif(dc, i) for i in range(users))
        seconds = ldapadd(dc, ldif, jobs, Path(scratch))
        say(f"  {users} users in {seconds:.1f} s ({users / seconds:.0f} adds/s)")
        groups = -(-users // USERS_PER_GROUP)
        ldif = "".join(_group_ldif(dc, g, users) for g in range(groups))
        seconds = ldapadd(dc, ldif, jobs, Path(scratch))
        say(f"  {groups} groups of up to {USERS_PER_GROUP} members in {seconds:.1f} s")


def _enable_nosync(smb_conf: Path) -> None:
    text = smb_conf.read_text(encoding="utf-8")
    if "ldb:nosync" not in text:
        smb_conf.write_text(
            text.replace("[global]\n", "[global]\n\tldb:nosync = true\n", 1), encoding="utf-8"
        )


@contextlib.contextmanager
def big_dc(users: int, jobs: int = 2) -> Iterator[SambaDC]:
    """A running DC with ``users`` bench users in groups of 100, from the cache when it has one."""
    cache = cache_dir()
    name = f"ad-{users}users"
    archive, secret, work = (cache / f"{name}{ext}" for ext in (".tar", ".password", ".work"))
    shutil.rmtree(work, ignore_errors=True)
    if not archive.exists() or not secret.exists():
        say(f"no cached DC with {users} users in {cache}; provisioning and populating one")
        with throwaway_samba_dc(workdir=work, lock_wait=LOCK_WAIT_S) as fresh:
            password = fresh.admin_password
        _enable_nosync(work / "etc" / "smb.conf")
        with throwaway_samba_dc(
            existing_workdir=work, admin_password=password, lock_wait=LOCK_WAIT_S
        ) as dc:
            populate(dc, users, jobs)
        subprocess.run(["tar", "-C", str(cache), "-cf", str(archive), work.name], check=True)
        secret.touch(mode=0o600)
        secret.write_text(password, encoding="utf-8")
        say(f"cached as {archive} ({archive.stat().st_size / 1e6:.0f} MB)")
        shutil.rmtree(work)
    started = time.monotonic()
    subprocess.run(["tar", "-C", str(cache), "-xf", str(archive)], check=True)
    password = secret.read_text(encoding="utf-8")
    try:
        with throwaway_samba_dc(
            existing_workdir=work, admin_password=password, lock_wait=LOCK_WAIT_S
        ) as dc:
            say(f"cached DC unpacked and started in {time.monotonic() - started:.1f} s")
            yield dc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def domain_config(dc: SambaDC) -> AdDomainConfig:
    os.environ["BENCH_DIRGUARD_AD_PASSWORD"] = dc.admin_password
    return AdDomainConfig.model_validate(
        {
            "name": dc.realm.lower(),
            "servers": [dc.host],
            "transport": "ldaps",
            "ca_file": dc.ca_cert_path,
            "bind_upn": dc.admin_upn,
            "password": "env:BENCH_DIRGUARD_AD_PASSWORD",
        }
    )


def config_file(dc: SambaDC, directory: Path) -> Path:
    """A dirguard configuration naming a fresh SQLite store in ``directory`` and the DC."""
    path = directory / "dirguard.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{directory / "store.db"}"\n'
        "[[ad.domains]]\n"
        f'name = "{dc.realm.lower()}"\nservers = ["{dc.host}"]\nca_file = "{dc.ca_cert_path}"\n'
        f'bind_upn = "{dc.admin_upn}"\npassword = "env:BENCH_DIRGUARD_AD_PASSWORD"\n',
        encoding="utf-8",
    )
    return path


def fresh_store(directory: Path) -> sessionmaker[Session]:
    engine = create_engine_for(f"sqlite:///{directory / 'store.db'}")
    upgrade(engine)
    return session_factory(engine)
