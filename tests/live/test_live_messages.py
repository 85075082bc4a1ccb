"""Messages caught in development, in real app processes (what `make run` runs): their own
notification sender catches what no SMTP server or SMS gateway can take, another process shows
it, and the codes shown are the ones that work. A production process without SMTP does not
start."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from devservers import find_free_port
from tests.conftest import ADMIN_TOKEN, Servers
from tests.live.conftest import ROOT, LiveSite, start_app
from tests.live.test_serve import CONFIG
from tests.test_cli import dvc

REGISTER = """mutation($input: CitizenRegisterInput!) { citizenRegister(input: $input) { __typename } }"""
VERIFY = """mutation($d: String!, $c: String!) { contactVerify(destination: $d, code: $c) {
  __typename ... on AccountSaved { account { status } } } }"""
STAFF = """mutation($input: StaffCreateInput!) { staffCreate(input: $input) { __typename } }"""
RESET = """mutation($d: String!, $c: String!, $p: String!) { passwordReset(destination: $d, code: $c,
  newPassword: $p) { __typename } }"""
SIGN_IN = """mutation($i: String!, $p: String!) { signIn(identifier: $i, password: $p) { __typename } }"""


def call(base: str, query: str, variables: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{base}/graphql", json={"query": query, "variables": variables}, headers=headers, timeout=30
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


def caught(base: str, to: str, template: str) -> dict[str, Any]:
    """The newest message to `to` of `template` on `base`'s development page, once caught (the
    sender of whichever process takes it runs every 2 s)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        page = httpx.get(f"{base}/dev/messages", params={"to": to, "format": "json"}, timeout=10)
        assert page.status_code == 200, page.text
        found = [m for m in page.json()["messages"] if m["template"] == template]
        if found:
            newest: dict[str, Any] = found[0]
            return newest
        time.sleep(0.5)
    raise AssertionError(f"no {template} message to {to} was caught")


def test_register_verify_and_activate_staff_across_two_processes(
    live_site: LiveSite, servers: Servers, tmp_path: Path
) -> None:
    first, second = live_site.bases
    email, phone = "caught.live@example.vn", "0912888001"
    citizen = {
        "citizenId": "025190088801",
        "fullName": "Trần Văn Bắt",
        "birthDate": "1990-01-02",
        "password": "Mat-khau-an-toan-2026",
        "email": email,
        "phone": phone,
        "address": "Phường Việt Trì, tỉnh Phú Thọ",
    }
    assert call(first, REGISTER, {"input": citizen})["citizenRegister"]["__typename"] == "Registered"
    code = caught(second, email, "verify_contact")["code"]  # queued by one process, shown by the other
    sms = caught(second, phone, "verify_contact")  # found by the number as typed
    assert sms["channel"] == "SMS"
    assert sms["to"] == "+84912888001"
    assert call(second, VERIFY, {"d": email, "c": code})["contactVerify"]["account"]["status"] == "ACTIVE"

    staff_email = "canbo.live@phutho.gov.vn"
    staff = {
        "fullName": "Lê Thị Mới",
        "email": staff_email,
        "assignments": [{"role": "SPECIALIST", "agencyCode": "H44.19"}],
    }
    assert call(first, STAFF, {"input": staff}, ADMIN_TOKEN)["staffCreate"]["__typename"] == "AccountSaved"
    welcome = caught(first, staff_email, "reset_password_welcome")
    reset = call(second, RESET, {"d": staff_email, "c": welcome["code"], "p": "Can-bo-song-2026"})
    assert reset["passwordReset"]["__typename"] == "AccountSaved"
    signed = call(first, SIGN_IN, {"i": staff_email, "p": "Can-bo-song-2026"})
    assert signed["signIn"]["__typename"] == "SignedIn"

    # The command line reads the same table.
    env = {
        **os.environ,
        "DATABASE_URL": live_site.database_url,
        "S3_ENDPOINT": servers.s3.endpoint,
        "S3_ACCESS_KEY": servers.s3.access_key,
        "S3_SECRET_KEY": servers.s3.secret_key,
        "DATA_DIR": str(tmp_path / "var"),
        "JWT_SECRET": "cli-test-secret-0123456789abcdef0123456789",
    }
    listed = dvc(env, "messages", "--to", staff_email)
    assert listed.returncode == 0, listed.stderr
    assert f"Mã: {welcome['code']}" in listed.stdout


def test_a_production_process_without_smtp_does_not_start(servers: Servers, tmp_path: Path) -> None:
    log = tmp_path / "production.log"
    production = {"ENVIRONMENT": "production", "METRICS_TOKEN": "m" * 16}
    with pytest.raises(RuntimeError, match="app process exited"):
        start_app(servers, log, extra_env=production)
    assert "SMTP_HOST is unset" in log.read_text()


def test_dvc_messages_beside_make_run(tmp_path: Path) -> None:
    """What a newcomer does: `make run` (dvc serve on its own data folder, embedded servers),
    register, then `dvc messages` in another terminal — which shares the embedded PostgreSQL and
    leaves the running service's servers alone."""
    port = find_free_port()
    env = {k: v for k, v in os.environ.items() if k not in CONFIG}
    env.update(DATA_DIR=str(tmp_path / "var"), PORT=str(port))
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert serve.poll() is None, log.read_text()[-3000:]
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            time.sleep(0.5)
        else:
            raise AssertionError(log.read_text()[-3000:])
        citizen = {
            "citizenId": "025190077701",
            "fullName": "Đỗ Thị Mới",
            "birthDate": "1995-05-06",
            "password": "Mat-khau-an-toan-2026",
            "email": "moi.den@example.vn",
            "address": "Phường Việt Trì, tỉnh Phú Thọ",
        }
        assert call(base, REGISTER, {"input": citizen})["citizenRegister"]["__typename"] == "Registered"
        shown = caught(base, "moi.den@example.vn", "verify_contact")
        listed = dvc(env, "messages", "--to", "moi.den@example.vn")
        assert listed.returncode == 0, listed.stderr
        assert f"Mã: {shown['code']}" in listed.stdout
        assert httpx.get(f"{base}/readyz", timeout=10).status_code == 200  # its servers still there
        verified = call(base, VERIFY, {"d": "moi.den@example.vn", "c": shown["code"]})
        assert verified["contactVerify"]["account"]["status"] == "ACTIVE"
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
