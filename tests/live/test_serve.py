"""`dvc serve` (what `make run` calls) on a fresh data folder: it starts its own PostgreSQL and
S3 store, migrates, loads the demo catalog, answers a search, and stops everything on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cli.demo_accounts import read_accounts_file
from devservers import find_free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ("DATABASE_URL", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY", "JWT_SECRET")


def _processes_using(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if str(folder) in cmdline:
                found.append(int(entry.name))
    return found


def test_serve_from_nothing(tmp_path: Path) -> None:
    data = tmp_path / "var"
    port = find_free_port()
    env = {k: v for k, v in os.environ.items() if k not in CONFIG}
    env.update(DATA_DIR=str(data), PORT=str(port))
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()[-3000:]
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        else:
            raise AssertionError(log.read_text()[-3000:])
        query = '{ procedures(search: "khai sinh", first: 1) { edges { node { code name } } } }'
        body = httpx.post(f"{base}/graphql", json={"query": query}, timeout=10).json()
        assert body["data"]["procedures"]["edges"][0]["node"] == {
            "code": "1.001193",
            "name": "Thủ tục đăng ký khai sinh",
        }
        secret = (data / "jwt-secret").read_text().strip()
        assert len(secret) >= 32
        for private in ("jwt-secret", "demo-accounts.txt"):
            assert oct((data / private).stat().st_mode)[-3:] == "600"
        email = "admin@demo.dvc.local"
        password = read_accounts_file(data / "demo-accounts.txt")[email]
        signin = "mutation($i: String!, $p: String!) { signIn(identifier: $i, password: $p) { __typename } }"
        body = httpx.post(
            f"{base}/graphql", json={"query": signin, "variables": {"i": email, "p": password}}
        ).json()
        assert body["data"]["signIn"]["__typename"] == "SignedIn"
        # query strings stay out of the access log (they may carry what a log must not keep)
        leaked = "?s=do-not-log-me-0123&nd=025190000999"
        assert httpx.get(f"{base}/tra-cuu/000.00.99.H44-261127-9999{leaked}", timeout=10).status_code == 404
        # a local process cannot pass itself off as another client (no TRUSTED_PROXIES by default)
        forged = {"X-Forwarded-For": "203.0.113.77"}
        assert httpx.get(f"{base}/healthz", headers=forged, timeout=10).status_code == 200
        assert _processes_using(data), "embedded servers should be running under the data folder"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    logged = log.read_text()
    assert '"GET /tra-cuu/000.00.99.H44-261127-9999 HTTP/1.1" 404' in logged
    assert "do-not-log-me-0123" not in logged
    assert "025190000999" not in logged
    assert "127.0.0.1:" in logged
    assert "203.0.113.77" not in logged
    deadline = time.monotonic() + 20
    while _processes_using(data) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_using(data) == [], "embedded servers outlived the service"
