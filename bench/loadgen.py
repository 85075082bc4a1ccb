"""The load generator: many keep-alive HTTP/1.1 connections from one asyncio (uvloop) process.

A deliberately thin client (a request is written as prepared bytes, a response read by its
Content-Length or chunks) so that on a 2-core machine the client takes as little CPU from the
server as it can; every server under test gets the same client. Runs in a process of its own:

    python -m bench.loadgen REQUESTS.json --port 8000 --concurrency 64 --seconds 10

REQUESTS.json is a list of [method, path, body, expect] (expect: bytes every good answer holds).
Prints one JSON object: requests, errors, seconds, rps, p50/p90/p99 in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any


def build(host: str, port: int, method: str, path: str, body: str, *, headers: dict[str, str]) -> bytes:
    payload = body.encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if payload or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered == b"content-length":
            length = int(value)
        elif lowered == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if length is not None:
        return status, await reader.readexactly(length)
    if chunked:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return status, b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
    return status, b""


async def _client(  # noqa: PLR0917 — one client's whole state
    port: int,
    requests: list[tuple[bytes, bytes]],
    offset: int,
    stop_at: float,
    measure_from: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while (now := time.perf_counter()) < stop_at:
            raw, expect = requests[i % len(requests)]
            i += 1
            writer.write(raw)
            status, body = await _read_response(reader)
            took = time.perf_counter() - now
            if now >= measure_from:
                if status != 200 or expect not in body:
                    errors.append(f"{status} {body[:200]!r}")
                else:
                    latencies.append(took)
    finally:
        writer.close()


async def run(
    port: int,
    items: list[list[Any]],
    *,
    concurrency: int,
    seconds: float,
    warmup: float,
    headers: dict[str, str],
) -> dict[str, Any]:
    requests = [(build("127.0.0.1", port, m, p, b, headers=headers), e.encode()) for m, p, b, e in items]
    latencies: list[float] = []
    errors: list[str] = []
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds
    await asyncio.gather(
        *(
            _client(port, requests, k * 7919, stop_at, measure_from, latencies, errors)
            for k in range(concurrency)
        )
    )
    latencies.sort()

    def pct(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")
        )

    return {
        "requests": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": seconds,
        "rps": len(latencies) / seconds,
        "p50": pct(0.50),
        "p90": pct(0.90),
        "p99": pct(0.99),
        "mean": statistics.fmean(latencies) * 1000 if latencies else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("requests")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--header", action="append", default=[])
    args = parser.parse_args()
    items = json.loads(Path(args.requests).read_text())
    headers = dict(h.split(": ", 1) for h in args.header)
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover — uvloop is a dependency of the app
        pass
    result = asyncio.run(
        run(
            args.port,
            items,
            concurrency=args.concurrency,
            seconds=args.seconds,
            warmup=args.warmup,
            headers=headers,
        )
    )
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
