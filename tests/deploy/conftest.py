"""The shipped deployment started for real: Debian's nginx with deploy/nginx/dvc.conf (only its
ports, paths and two timeouts substituted) in front of two `dvc serve` processes, as the systemd
units start them, over a database of their own.

nginx comes from scripts/install-nginx.sh (`make test-deps`); run on their own, the tests call the
script when nginx is missing and fail if it still is — they never skip.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from devservers import EmbeddedClamd, find_free_port
from tests.conftest import JWT_SECRET, Servers
from tests.live.conftest import site_database

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "nginx" / "dvc.conf"
NGINX = Path(os.environ.get("NGINX_PATH", "/usr/sbin/nginx"))
LOOKUP_LIMIT = 3  # LOOKUP_RATE_LIMIT of the app processes: the client address test hits it
HEADER_TIMEOUT = 2  # client_header_timeout and client_body_timeout of the test's nginx (seconds)


def ensure_nginx() -> Path:
    if not os.access(NGINX, os.X_OK):
        subprocess.run(["bash", str(ROOT / "scripts" / "install-nginx.sh")], check=False, timeout=900)
    if not os.access(NGINX, os.X_OK):
        pytest.fail(
            f"{NGINX}: scripts/install-nginx.sh could not install nginx (`make test-deps` does the same)"
        )
    return NGINX


def _sub(text: str, pattern: str, replacement: str, count: int) -> str:
    """Replace `pattern`, which must occur exactly `count` times: a shipped file that changed
    shape fails here instead of being tested half-substituted."""
    found = len(re.findall(pattern, text, flags=re.MULTILINE))
    assert found == count, f"deploy/nginx/dvc.conf: {pattern!r} found {found} times, expected {count}"
    return re.sub(pattern, replacement, text, flags=re.MULTILINE)


@dataclass(frozen=True)
class Ports:
    http: int
    https: int
    apps: tuple[int, int]


def site_for_test(shipped: str, ports: Ports, folder: Path) -> str:
    """deploy/nginx/dvc.conf with what differs on a test machine: loopback ports instead of 80/443
    and 8001/8002, no IPv6 listeners, the test's certificate and log files, and short body and
    header timeouts. Everything else — headers passed on, websockets, limits, locations — as shipped."""
    text = shipped
    text = _sub(text, r"^(\s*server) 127\.0\.0\.1:8001 ", rf"\1 127.0.0.1:{ports.apps[0]} ", 1)
    text = _sub(text, r"^(\s*server) 127\.0\.0\.1:8002 ", rf"\1 127.0.0.1:{ports.apps[1]} ", 1)
    text = _sub(text, r"^\s*listen \[::\]:.*\n", "", 2)
    text = _sub(text, r"^(\s*listen) 80;", rf"\1 127.0.0.1:{ports.http};", 1)
    text = _sub(text, r"^(\s*listen) 443 ssl http2;", rf"\1 127.0.0.1:{ports.https} ssl http2;", 1)
    text = _sub(text, r"/etc/ssl/dvc/", f"{folder}/tls/", 2)
    text = _sub(text, r"/var/log/nginx/", f"{folder}/logs/", 2)
    text = _sub(text, r"/var/www/acme", f"{folder}/acme", 1)
    text = _sub(text, r"^(\s*client_header_timeout) 10s;", rf"\1 {HEADER_TIMEOUT}s;", 1)
    return _sub(text, r"^(\s*client_body_timeout) 30s;", rf"\1 {HEADER_TIMEOUT}s;", 1)


def _main_config(folder: Path) -> str:
    """The top of nginx.conf that Debian's package would provide, with the test's folders."""
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers reach the test's 0700 folders
    temp = "".join(
        f"    {kind}_temp_path {folder}/temp/{kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {folder}/nginx.pid;\nerror_log {folder}/logs/error.log info;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        "    default_type application/octet-stream;\n"
        f"    access_log {folder}/logs/access.log;\n{temp}"
        f"    include {folder}/dvc.conf;\n"
        "}\n"
    )


def _certificate(folder: Path) -> Path:
    """A self-signed certificate for 127.0.0.1 (the client trusts exactly it)."""
    tls = folder / "tls"
    tls.mkdir()
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(tls / "privkey.pem"), "-out", str(tls / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return tls / "fullchain.pem"


def _wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited: {log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"port {port} never opened: {log.read_text(errors='replace')[-3000:]}")


def start_nginx(folder: Path, ports: Ports) -> subprocess.Popen[bytes]:
    nginx = ensure_nginx()
    for sub in ("logs", "acme", *(f"temp/{k}" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    (folder / "dvc.conf").write_text(site_for_test(SHIPPED.read_text(), ports, folder))
    (folder / "nginx.conf").write_text(_main_config(folder))
    command = [
        str(nginx),
        "-p",
        str(folder),
        "-c",
        str(folder / "nginx.conf"),
        "-e",
        str(folder / "logs/error.log"),
    ]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    log = folder / "logs" / "nginx.out"
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    _wait_for_port(ports.https, process, folder / "logs" / "error.log")
    return process


def start_serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`dvc serve --host 127.0.0.1 --port P`, the ExecStart of dvc@.service."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 180  # importing the app alone took 32 s on a loaded 2-core machine
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dvc serve exited: {log.read_text()[-3000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"dvc serve did not become ready: {log.read_text()[-3000:]}")


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@dataclass(frozen=True)
class Deployment:
    database_url: str
    ports: Ports
    folder: Path
    ca: Path
    app_logs: tuple[Path, Path]

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.ports.https}"

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def client(self, source: str = "127.0.0.1", **options: object) -> httpx.Client:
        """A client of nginx (TLS checked against the test's certificate) from a loopback address."""
        transport = httpx.HTTPTransport(verify=self.tls(), local_address=source)
        return httpx.Client(base_url=self.https, transport=transport, timeout=20, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def deployment(
    servers: Servers, clamd: EmbeddedClamd, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    ensure_nginx()
    folder = tmp_path_factory.mktemp("deploy")
    url = site_database(servers, "deploy_check")
    ports = Ports(find_free_port(), find_free_port(), (find_free_port(), find_free_port()))
    env = {
        **{
            k: v
            for k, v in os.environ.items()
            if k not in {"PUBLIC_BASE_URL", "TRUSTED_PROXIES", "ENVIRONMENT"}
        },
        "DATABASE_URL": url,
        "S3_ENDPOINT": servers.s3.endpoint,
        "S3_ACCESS_KEY": servers.s3.access_key,
        "S3_SECRET_KEY": servers.s3.secret_key,
        "S3_BUCKET": servers.s3.bucket,
        "CLAMD_SOCKET": str(clamd.socket_path),
        "JWT_SECRET": JWT_SECRET,
        "LOAD_DEMO_DATA": "false",
        "JOBS_INTERVAL_MINUTES": "0",
        "TRUSTED_PROXIES": "127.0.0.1",  # deploy/dvc.env.example: nginx, and only nginx
        "LOOKUP_RATE_LIMIT": str(LOOKUP_LIMIT),
    }
    logs = (folder / "app-1.log", folder / "app-2.log")
    apps: list[subprocess.Popen[bytes]] = []
    nginx: subprocess.Popen[bytes] | None = None
    try:
        for port, log in zip(ports.apps, logs, strict=True):  # one after the other: each migrates at start
            apps.append(start_serve({**env, "DATA_DIR": str(folder / f"data-{port}")}, port, log))
        ca = _certificate(folder)
        nginx = start_nginx(folder, ports)
        yield Deployment(url, ports, folder, ca, logs)
    finally:
        stop(*([nginx] if nginx else []), *apps)
        shutil.rmtree(folder / "temp", ignore_errors=True)
