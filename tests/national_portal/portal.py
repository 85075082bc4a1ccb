"""A local server that speaks the national portal's integration API as the adapter uses it: the
OAuth2 token endpoint (client credentials, HTTP Basic), dossier synchronisation and the status
query for reconciliation. It checks every bearer token and HMAC signature, keeps what a real
portal would hold (per dossier: the last event id and status; duplicates by event id ignored),
records every request, and can be told to fail: an HTTP status, a stall (the sender times out),
or revoking the tokens it issued (the next call gets 401)."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from services.outbox.signing import verify_signature

CLIENT_ID = "tinh-phu-tho"
CLIENT_SECRET = "portal-client-secret-0123456789"
SIGNING_SECRET = "portal-signing-secret-0123456789abcdef"


@dataclass(frozen=True)
class Stall:
    seconds: float


Behaviour = int | Stall


@dataclass(frozen=True)
class Call:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


class _Server(ThreadingHTTPServer):
    daemon_threads = False

    def __init__(self, portal: Portal) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.portal = portal


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        assert isinstance(self.server, _Server)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer, stall = self.server.portal.handle(self.path, headers, body)
        if stall:
            threading.Event().wait(stall)
        data = json.dumps(answer).encode()
        with contextlib.suppress(OSError):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Portal:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.held: dict[str, dict[str, Any]] = {}  # IdHoSo -> {"TrangThaiHoSo", "MaSuKien"}
        self.feedback: dict[str, dict[str, Any]] = {}  # IdPAKN -> the last request, duplicates ignored
        self.tokens_issued = 0
        self._valid: set[str] = set()
        self._plans: dict[str, deque[Behaviour]] = {}
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="portal", daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api"

    @property
    def token_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/oauth2/token"

    def plan(self, dossier_id: str, *behaviours: Behaviour) -> None:
        """How to answer this dossier's next synchronisation requests (then 200)."""
        with self._lock:
            self._plans.setdefault(dossier_id, deque()).extend(behaviours)

    def revoke_tokens(self) -> None:
        with self._lock:
            self._valid.clear()

    def forget(self, dossier_id: str) -> None:
        with self._lock:
            self.held.pop(dossier_id, None)

    def syncs(self, dossier_id: str) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self.calls
                if c.path.endswith("/hoso/dongbo") and c.json.get("IdHoSo") == dossier_id
            ]

    def pakn(self, inquiry_id: str | None = None) -> list[Call]:
        """The feedback synchronisation requests (of one inquiry)."""
        with self._lock:
            return [
                c
                for c in self.calls
                if c.path.endswith("/pakn/dongbo") and inquiry_id in (None, c.json.get("IdPAKN"))
            ]

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any], float]:
        with self._lock:
            status, answer, stall = self._handle(path, headers, body)
            self.calls.append(Call(path, headers, body, status))
            return status, answer, stall

    def _handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any], float]:
        if path == "/oauth2/token":
            expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            if headers.get("authorization") != expected or b"grant_type=client_credentials" not in body:
                return 401, {"error": "invalid_client"}, 0
            self.tokens_issued += 1
            token = f"token-{self.tokens_issued}"
            self._valid.add(token)
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}, 0
        bearer = headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self._valid:
            return 401, {"error": "invalid_token"}, 0
        if not verify_signature(
            SIGNING_SECRET, headers.get("x-dvc-timestamp", ""), body, headers.get("x-dvc-signature", "")
        ):
            return 403, {"error": "bad signature"}, 0
        document = json.loads(body)
        if path == "/api/hoso/dongbo":
            dossier = str(document["IdHoSo"])
            plan = self._plans.get(dossier)
            behaviour = plan.popleft() if plan else 200
            if isinstance(behaviour, int) and behaviour != 200:
                return behaviour, {"error": "down"}, 0
            held = self.held.get(dossier)
            if held is None or held["MaSuKien"] < document["MaSuKien"]:  # duplicates change nothing
                self.held[dossier] = {
                    "TrangThaiHoSo": document["TrangThaiHoSo"],
                    "MaSuKien": document["MaSuKien"],
                }
            return 200, {"KetQua": "OK"}, behaviour.seconds if isinstance(behaviour, Stall) else 0
        if path == "/api/pakn/dongbo":
            inquiry = str(document["IdPAKN"])
            plan = self._plans.get(inquiry)
            behaviour = plan.popleft() if plan else 200
            if isinstance(behaviour, int) and behaviour != 200:
                return behaviour, {"error": "down"}, 0
            held = self.feedback.get(inquiry)
            if held is None or held["MaSuKien"] < document["MaSuKien"]:
                self.feedback[inquiry] = document
            return 200, {"KetQua": "OK"}, 0
        if path == "/api/hoso/trangthai":
            found = [
                {"IdHoSo": i, **self.held[i]} for i in document.get("DanhSachIdHoSo", []) if i in self.held
            ]
            return 200, {"DanhSach": found}, 0
        return 404, {"error": "not found"}, 0

    def __enter__(self) -> Portal:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
