"""`dirguard sandbox serve` starts the sandbox tenant and announces how to reach it."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path


def test_serve_announces_tenant_and_answers_over_its_own_tls(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "dirguard", "sandbox", "serve", "--users", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        assert Path(info["ca_file"]).is_file()
        assert set(info["apps"]) == {"full", "read_only"}
        context = ssl.create_default_context(cafile=info["ca_file"])
        discovery = (
            f"{info['login_base']}/{info['tenant_id']}/v2.0/.well-known/openid-configuration"
        )
        with urllib.request.urlopen(discovery, context=context, timeout=10) as answer:  # noqa: S310
            document = json.load(answer)
        assert document["token_endpoint"].startswith(info["login_base"])
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=20)
    assert server.returncode == 0
