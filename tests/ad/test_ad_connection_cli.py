"""dirguard's AD connection (TLS, failover, clear errors) and the AD CLI commands, against the
session's real Samba AD DC."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.providers.ad.connection import AdAuthError, AdTlsError, AdUnreachable, connect
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config

pytestmark = pytest.mark.samba


def test_ldaps_and_starttls_read_the_naming_contexts(samba_dc: SambaDC) -> None:
    for transport in ("ldaps", "starttls"):
        with connect(domain_config(samba_dc, transport=transport), samba_dc.admin_password) as conn:
            assert conn.contexts.default == samba_dc.base_dn
            assert conn.contexts.configuration == f"CN=Configuration,{samba_dc.base_dn}"
            assert conn.contexts.schema == f"CN=Schema,CN=Configuration,{samba_dc.base_dn}"


def test_bad_password_is_refused_without_echoing_it(samba_dc: SambaDC) -> None:
    wrong = "Not-The-Password-42!"
    with pytest.raises(AdAuthError) as caught:
        connect(domain_config(samba_dc), wrong)
    assert "refused the credentials" in str(caught.value)
    assert wrong not in str(caught.value)


def test_certificate_from_an_unknown_ca_fails_unless_validation_is_off(
    samba_dc: SambaDC, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Any CA that did not issue the DC's certificate: the system's bundle.
    other_ca = Path("/etc/ssl/certs/ca-certificates.crt")
    if not other_ca.is_file():
        pytest.skip("no system CA bundle to use as a wrong CA")
    with pytest.raises(AdTlsError, match="certificate"):
        connect(domain_config(samba_dc, ca_file=other_ca), samba_dc.admin_password)
    with (
        caplog.at_level(logging.WARNING, logger="dirguard.providers.ad.connection"),
        connect(
            domain_config(samba_dc, ca_file=None, verify_tls=False), samba_dc.admin_password
        ) as conn,
    ):
        assert conn.contexts.default == samba_dc.base_dn
    assert any("validation is OFF" in r.getMessage() for r in caplog.records)


def test_unreachable_server_is_named_and_the_next_one_is_tried(samba_dc: SambaDC) -> None:
    with pytest.raises(AdUnreachable, match=r"127\.0\.0\.1:1: unreachable"):
        connect(domain_config(samba_dc, port=1), samba_dc.admin_password, timeout=3)
    with connect(
        domain_config(samba_dc, servers=["127.0.0.1", samba_dc.host]),
        samba_dc.admin_password,
        servers=["localhost.invalid", samba_dc.host],
        timeout=3,
    ) as conn:
        assert conn.server == samba_dc.host


def _config(tmp_path: Path, dc: SambaDC) -> Path:
    path = tmp_path / "dirguard.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
        "[[ad.domains]]\n"
        f'name = "{dc.realm.lower()}"\nservers = ["{dc.host}"]\nca_file = "{dc.ca_cert_path}"\n'
        f'bind_upn = "{dc.admin_upn}"\npassword = "env:TEST_DIRGUARD_AD_PASSWORD"\n',
        encoding="utf-8",
    )
    return path


def test_cli_snapshot_capture_changes_history_show(
    samba_dc: SambaDC,
    tmp_path: Path,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    runner = CliRunner()
    config = _config(tmp_path, samba_dc)
    env = {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}

    def run(*args: str) -> dict[str, object]:
        result = runner.invoke(app, ["--config", str(config), *args, "--json"], env=env)
        assert result.exit_code == 0, result.output
        assert samba_dc.admin_password not in result.output
        parsed: dict[str, object] = json.loads(result.stdout)
        return parsed

    snap = run("snapshot", "ad")
    assert snap["snapshots"][0]["objects"] > 100  # type: ignore[index]
    user = unique("cli")
    samba_tool("user", "create", user, "Pa55word!" + user)
    samba_tool("user", "disable", user)
    captured = run("capture", "ad")
    assert captured["captures"][0]["events"] >= 1  # type: ignore[index]

    changes = run("changes", "--object", user)["changes"]
    ops = [(c["op"], c["attribute"]) for c in changes]  # type: ignore[union-attr]
    assert ops[0] == ("create", None)
    disabled = [c for c in changes if c["attribute"] == "userAccountControl"]  # type: ignore[union-attr]
    created_uac = changes[0]["new"]["userAccountControl"]  # type: ignore[index]
    assert not disabled or disabled[0]["new"] == "514"
    assert disabled or created_uac == ["514"]
    assert all(c["actor"] is None for c in changes)  # type: ignore[union-attr]
    since_future = run("changes", "--since", "2999-01-01T00:00:00Z")["changes"]
    assert since_future == []

    history = run("history", user)
    assert history["object"]["natural_key"] == user  # type: ignore[index]
    shown = run("show", user, "--at", "2999-01-01")
    assert shown["attributes"]["sAMAccountName"] == [user]  # type: ignore[index]

    bad = runner.invoke(app, ["--config", str(config), "changes", "--since", "yesterday"], env=env)
    assert bad.exit_code == 2 and "ISO 8601" in bad.output
    missing = runner.invoke(app, ["--config", str(config), "history", "no-such-object"], env=env)
    assert missing.exit_code == 1 and "no object" in missing.output


@contextmanager
def _forwarder(listen: str, target: tuple[str, int]) -> Iterator[int]:
    """A TCP forwarder from ``listen`` (an ephemeral port) to the DC: the DC answers there under
    an address its certificate does not name (it names 127.0.0.1, localhost and its own name)."""
    server = socket.create_server((listen, 0))
    server.settimeout(0.2)
    stop = threading.Event()
    opened: list[socket.socket] = []

    def pipe(a: socket.socket, b: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := a.recv(65536):
                b.sendall(data)
        for s in (a, b):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)

    def accept() -> None:
        while not stop.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(target)
            opened.extend((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        server.close()
        for s in opened:
            s.close()


def test_a_server_name_the_certificate_does_not_name_is_a_tls_configuration_error(
    samba_dc: SambaDC, tmp_path: Path
) -> None:
    with _forwarder("127.0.0.2", (samba_dc.host, samba_dc.ldaps_port)) as port:
        domain = domain_config(samba_dc, servers=["127.0.0.2"], port=port)
        with pytest.raises(AdTlsError, match="TLS failed") as caught:
            connect(domain, samba_dc.admin_password, timeout=5)
        assert "unreachable" not in str(caught.value)
        config = _config(tmp_path, samba_dc).read_text(encoding="utf-8")
        mismatched = tmp_path / "mismatch.toml"
        mismatched.write_text(
            config.replace(f'["{samba_dc.host}"]', f'["127.0.0.2"]\nport = {port}'),
            encoding="utf-8",
        )
        result = CliRunner().invoke(
            app,
            ["--config", str(mismatched), "connect", "validate", "--skip-entra", "--json"],
            env={"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password},
        )
    assert result.exit_code == 3, result.output
    assert "TLS failed" in result.output
