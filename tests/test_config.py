"""Configuration: a TOML file plus DIRGUARD_* overrides, strict validation, no inline secrets."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.config.credentials import CredentialError, resolve_credential
from dirguard.config.loader import ConfigError, load_config
from dirguard.config.secret_store import SecretStore, SecretStoreError

DOMAIN = """
[[ad.domains]]
name = "Corp.Example.com"
servers = ["dc1.corp.example.com"]
bind_upn = "svc-dirguard@corp.example.com"
password = "env:DG_TEST_AD_PW"
"""

TENANT = """
[[entra.tenants]]
name = "contoso"
tenant_id = "2f1c4c6a-8d7e-4a5b-9c3d-1e2f3a4b5c6d"
client_id = "6b5a4c3d-2e1f-4a0b-8c9d-7e6f5a4b3c2d"
client_secret = "secret:contoso-app"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "dirguard.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(path: Path, environ: dict[str, str] | None = None) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, environ or {})
    return {p.key: f"{p.problem} | {p.fix}" for p in info.value.problems}


def test_missing_default_file_means_embedded_defaults(tmp_path: Path) -> None:
    loaded = load_config(None, {"DIRGUARD_CONFIG": str(tmp_path / "absent.toml")})
    assert not loaded.file_exists
    assert loaded.config.store.url.startswith("sqlite:///")
    assert loaded.config.ad.domains == []


def test_each_store_has_its_own_default_checkpoint_file(tmp_path: Path) -> None:
    def checkpoints(store: str) -> Path:
        text = f'[store]\nurl = "{store}"\n' if store else ""
        return load_config(write(tmp_path, text), {}).config.store.checkpoint_file

    default = checkpoints("")
    assert default.name == "chain-checkpoints.jsonl"
    demo = checkpoints(f"sqlite:///{tmp_path / 'demo.db'}")
    assert demo == tmp_path / "demo.db.chain-checkpoints.jsonl"
    pg_a = checkpoints("postgresql://dg@db1:5433/dirguard")
    pg_b = checkpoints("postgresql://dg@db2/dirguard")
    assert len({default, demo, pg_a, pg_b}) == 4
    assert pg_a.name == "chain-checkpoints-db1-5433-dirguard.jsonl"
    explicit = tmp_path / "elsewhere.jsonl"
    text = f'[store]\nurl = "sqlite:///{tmp_path / "x.db"}"\ncheckpoint_file = "{explicit}"\n'
    assert load_config(write(tmp_path, text), {}).config.store.checkpoint_file == explicit


def test_valid_file_with_domain_and_tenant(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, DOMAIN + TENANT), {}).config
    domain = cfg.ad.domains[0]
    assert domain.name == "corp.example.com"
    assert domain.transport == "ldaps" and domain.verify_tls
    assert domain.mode == "read-only" and domain.partitions == ["domain"]
    assert str(cfg.entra.tenants[0].tenant_id) == "2f1c4c6a-8d7e-4a5b-9c3d-1e2f3a4b5c6d"


def test_environment_overrides_nested_and_list_entries(tmp_path: Path) -> None:
    env = {
        "DIRGUARD_STORE__URL": "postgresql://dirguard@db.example.com/dirguard",
        "DIRGUARD_AD__DOMAINS__0__MODE": "full",
        "DIRGUARD_AD__DOMAINS__0__PARTITIONS": '["domain", "schema"]',
        "DIRGUARD_AD__DOMAINS__0__VERIFY_TLS": "false",
        "DIRGUARD_CONFIG": "ignored-as-override",
    }
    loaded = load_config(write(tmp_path, DOMAIN), env)
    domain = loaded.config.ad.domains[0]
    assert loaded.config.store.url == "postgresql://dirguard@db.example.com/dirguard"
    assert domain.mode == "full"
    assert domain.partitions == ["domain", "schema"]
    assert domain.verify_tls is False
    assert "ad.domains.0.mode" in loaded.overrides


def test_override_of_missing_list_entry_is_an_error(tmp_path: Path) -> None:
    found = problems(write(tmp_path, DOMAIN), {"DIRGUARD_AD__DOMAINS__3__MODE": "full"})
    assert "does not exist" in found["DIRGUARD_AD__DOMAINS__3__MODE"]


def test_every_problem_names_key_problem_and_fix(tmp_path: Path) -> None:
    text = DOMAIN.replace('"env:DG_TEST_AD_PW"', '"Pa55w0rd!inline"') + (
        'mode = "readonly"\npartitons = ["domain"]\n[log]\nlevel = "loud"\n'
    )
    found = problems(write(tmp_path, text))
    assert "not a credential reference" in found["ad.domains[0].password"]
    assert "env:" in found["ad.domains[0].password"]
    assert "'read-only'" in found["ad.domains[0].mode"]
    assert "did you mean 'partitions'" in found["ad.domains[0].partitons"]
    assert "'debug'" in found["log.level"]
    # The inline secret is never echoed back.
    assert all("Pa55w0rd" not in text for text in found.values())


@pytest.mark.parametrize(
    ("snippet", "key", "words"),
    [
        ('[store]\nurl = "mysql://x/y"\n', "store.url", "unsupported database"),
        ('[store]\nurl = "postgresql://u:pw@h/db"\n', "store.url", "carries a password"),
        (DOMAIN.replace('servers = ["dc1.corp.example.com"]', "servers = []"), "servers", "least"),
        (DOMAIN + 'partitions = ["schema"]\n', "partitions", "always monitored"),
        (DOMAIN + "port = 70000\n", "port", "less than or equal"),
        (DOMAIN.replace('name = "Corp.Example.com"', 'name = "corp"'), "name", "DNS"),
        (TENANT.replace('tenant_id = "2f1c', 'tenant_id = "zz1c'), "tenant_id", "UUID"),
        (TENANT + 'certificate = "file:/etc/c.pem"\n', "entra.tenants[0]", "exactly one"),
        (TENANT + 'authority = "http://login"\n', "authority", "https"),
        (
            TENANT + 'graph_url = "https://graph.microsoft.us"\n',
            "entra.tenants[0]",
            "authority is the global cloud's, graph_url is US Government's",
        ),
        (
            TENANT + 'authority = "https://login.chinacloudapi.cn"\n'
            'graph_url = "https://microsoftgraph.chinacloudapi.cn"\n'
            'subscriptions = ["0b1f6471-1bf0-4dda-aec3-111122223333"]\n',
            "entra.tenants[0]",
            "arm_url is the global cloud's",
        ),
        (DOMAIN + DOMAIN, "ad.domains", "configured twice"),
        ("[store\n", "(file)", "not valid TOML"),
    ],
)
def test_invalid_values(tmp_path: Path, snippet: str, key: str, words: str) -> None:
    found = problems(write(tmp_path, snippet))
    matching = [v for k, v in found.items() if key in k or (key == "ad.domains" and k == "")]
    matching += [v for k, v in found.items() if k == "(top level)"]
    assert any(words in v for v in matching), found


def test_a_national_cloud_or_the_sandbox_is_one_cloud(tmp_path: Path) -> None:
    us = TENANT + (
        'authority = "https://login.microsoftonline.us"\n'
        'graph_url = "https://dod-graph.microsoft.us"\n'
        'arm_url = "https://management.usgovcloudapi.net"\n'
        'subscriptions = ["0b1f6471-1bf0-4dda-aec3-111122223333"]\n'
    )
    assert (
        load_config(write(tmp_path, us), {})
        .config.entra.tenants[0]
        .graph_url.startswith("https://dod-graph")
    )
    sandbox = (
        TENANT + 'authority = "https://127.0.0.1:8443"\ngraph_url = "https://127.0.0.1:8443"\n'
    )
    assert load_config(write(tmp_path, sandbox), {}).config.entra.tenants[0].authority == (
        "https://127.0.0.1:8443"
    )


def test_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="run `dirguard init`"):
        load_config(tmp_path / "nope.toml", {}, require_file=True)


def test_credentials_resolve_from_env_file_and_store(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "k" / "secret.key", tmp_path / "secrets.json")
    store.set("contoso-app", "s3cr3t-value")
    assert resolve_credential("secret:contoso-app", store) == "s3cr3t-value"
    assert "s3cr3t-value" not in (tmp_path / "secrets.json").read_text()
    assert (tmp_path / "k" / "secret.key").stat().st_mode & 0o777 == 0o600
    assert resolve_credential("env:X_PW", store, {"X_PW": "from-env"}) == "from-env"
    secret_file = tmp_path / "pw"
    secret_file.write_text("from-file\n")
    secret_file.chmod(0o600)
    assert resolve_credential(f"file:{secret_file}", store) == "from-file"


def test_credential_errors_are_clear_and_never_show_values(tmp_path: Path) -> None:
    store = SecretStore(tmp_path / "secret.key", tmp_path / "secrets.json")
    with pytest.raises(CredentialError, match="X_UNSET is not set"):
        resolve_credential("env:X_UNSET", store, {})
    loose = tmp_path / "loose"
    loose.write_text("open-secret")
    loose.chmod(0o644)
    with pytest.raises(CredentialError, match="chmod 600") as info:
        resolve_credential(f"file:{loose}", store)
    assert "open-secret" not in str(info.value)
    with pytest.raises(CredentialError, match="dirguard secret set missing"):
        resolve_credential("secret:missing", store)
    store.set("a", "value-a")
    (tmp_path / "secret.key").write_bytes(b"not a key")
    with pytest.raises(SecretStoreError, match="not a dirguard secret store key"):
        store.get("a")


def test_cli_init_then_check(tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "conf" / "dirguard.toml"
    result = runner.invoke(app, ["--config", str(path), "init"])
    assert result.exit_code == 0, result.output
    assert "[[ad.domains]]" in path.read_text()
    again = runner.invoke(app, ["--config", str(path), "init"])
    assert again.exit_code == 1 and "--force" in again.output
    checked = runner.invoke(app, ["--config", str(path), "config", "check", "--json"])
    assert checked.exit_code == 0, checked.output
    assert json.loads(checked.stdout)["valid"] is True


def test_cli_check_reports_problems_with_exit_3(tmp_path: Path) -> None:
    path = write(tmp_path, DOMAIN + 'mode = "sometimes"\n')
    result = CliRunner().invoke(app, ["--config", str(path), "config", "check", "--json"])
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert report["problems"][0]["key"] == "ad.domains[0].mode"


def test_cli_check_credentials_names_unresolved_reference(tmp_path: Path) -> None:
    path = write(tmp_path, DOMAIN + TENANT + f'[secrets]\nkey_file = "{tmp_path}/k"\n')
    env = {k: v for k, v in os.environ.items() if k != "DG_TEST_AD_PW"}
    result = CliRunner(env=env).invoke(
        app, ["--config", str(path), "config", "check", "--credentials", "--json"]
    )
    assert result.exit_code == 3
    creds = {c["key"]: c for c in json.loads(result.stdout)["credentials"]}
    assert not creds["ad.domains[0].password"]["ok"]
    assert "DG_TEST_AD_PW is not set" in creds["ad.domains[0].password"]["problem"]
    assert not creds["entra.tenants[0].client_secret"]["ok"]


def test_cli_secret_set_list_never_prints_value(tmp_path: Path) -> None:
    path = write(
        tmp_path, f'[secrets]\nkey_file = "{tmp_path}/k"\nstore_file = "{tmp_path}/s.json"\n'
    )
    runner = CliRunner()
    stored = runner.invoke(app, ["-c", str(path), "secret", "set", "ad-pw"], input="Tr0ub4dor&3\n")
    assert stored.exit_code == 0, stored.output
    listed = runner.invoke(app, ["-c", str(path), "secret", "list", "--json"])
    assert json.loads(listed.stdout) == ["ad-pw"]
    assert "Tr0ub4dor" not in stored.output + listed.output
    assert SecretStore(tmp_path / "k", tmp_path / "s.json").get("ad-pw") == "Tr0ub4dor&3"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "does not exist or is not a file"),
        (b"not a certificate\n", "holds no PEM certificate"),
        (b"-----BEGIN CERTIFICATE-----\nbm90IGRlcg==\n-----END CERTIFICATE-----\n", "no PEM"),
    ],
)
def test_a_ca_file_that_is_missing_or_not_a_certificate_is_a_config_error(
    tmp_path: Path, content: bytes | None, words: str
) -> None:
    ca = tmp_path / "ca.pem"
    if content is not None:
        ca.write_bytes(content)
    path = write(tmp_path, DOMAIN + f'ca_file = "{ca}"\n')
    found = problems(path)
    assert words in found["ad.domains[0].ca_file"]
    assert str(ca) in found["ad.domains[0].ca_file"]
    result = CliRunner().invoke(app, ["--config", str(path), "config", "check", "--json"])
    assert result.exit_code == 3
    assert json.loads(result.stdout)["problems"][0]["key"] == "ad.domains[0].ca_file"
    snapshot = CliRunner(env={"DG_TEST_AD_PW": "x"}).invoke(
        app, ["--config", str(path), "snapshot", "ad"]
    )
    assert snapshot.exit_code == 3, snapshot.output
    assert "ca_file" in snapshot.output


def test_cli_check_credentials_resolves_the_elevation_password(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        DOMAIN
        + 'elevation_bind_upn = "admin@corp.example.com"\n'
        + 'elevation_password = "env:DG_TEST_ELEVATION_PW"\n',
    )
    env = {k: v for k, v in os.environ.items() if k != "DG_TEST_ELEVATION_PW"}
    env["DG_TEST_AD_PW"] = "set"
    result = CliRunner(env=env).invoke(
        app, ["--config", str(path), "config", "check", "--credentials", "--json"]
    )
    assert result.exit_code == 3
    creds = {c["key"]: c for c in json.loads(result.stdout)["credentials"]}
    assert creds["ad.domains[0].password"]["ok"]
    assert not creds["ad.domains[0].elevation_password"]["ok"]
    assert "DG_TEST_ELEVATION_PW is not set" in creds["ad.domains[0].elevation_password"]["problem"]
