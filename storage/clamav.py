"""Malware scanning of uploaded files with ClamAV's daemon (clamd), over its Unix socket.

The client speaks clamd's protocol directly (asyncio, no dependency): `zINSTREAM` sends the
file as chunks, each prefixed with its length as a 4-byte big-endian integer, ended by a
zero length; clamd answers `stream: OK` or `stream: <signature> FOUND`, NUL-terminated.
Chunks are sent as they come from the source (e.g. an S3 object being read), so a 200 MB
upload is scanned without ever being held in memory; clamd spools it to a temp file.

Each connection carries one command; clamd runs up to MaxThreads scans at once and queues the
rest. `timeout` bounds every step (connecting, handing clamd one chunk, waiting for the
verdict once everything is sent), not the whole scan: time spent waiting on the source of the
chunks does not count, though clamd itself drops a stream that stalls for ReadTimeout (120 s in
`devservers.clamd`'s configuration).

A verdict of "infected" is a normal result (`ScanResult.clean is False`); `ScanError` means
no verdict: clamd unreachable, too slow, the stream over its StreamMaxLength, or any other
error. Callers must treat a ScanError as "not scanned", never as clean.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Literal

__all__ = ["UNREACHABLE", "ClamAV", "ScanError", "ScanResult"]

UNREACHABLE = "Không kết nối được dịch vụ quét mã độc"
_MAX_CHUNK = (1 << 32) - 1
_MAX_REPLY = 64 * 1024

ScanErrorKind = Literal["unavailable", "timeout", "too_large", "error"]


@dataclass(frozen=True)
class ScanResult:
    """clamd's verdict: `clean`, or infected with the malware `signature` it matched."""

    clean: bool
    signature: str | None = None

    @property
    def infected(self) -> bool:
        return not self.clean


class ScanError(Exception):
    """No verdict was obtained. `kind` tells why, for callers that react differently.

    * "unavailable": no clamd at the socket (missing, refused, closed the connection);
    * "timeout": clamd did not take data or answer within the timeout;
    * "too_large": the stream exceeds clamd's StreamMaxLength;
    * "error": clamd answered with an error or something unexpected.
    """

    def __init__(self, message: str, *, kind: ScanErrorKind = "error") -> None:
        super().__init__(message)
        self.kind: ScanErrorKind = kind


class _PeerClosed(Exception):
    """clamd closed the connection while we were sending."""


class ClamAV:
    """Client of one clamd listening on the Unix socket `socket_path`.

    `chunk` is the largest INSTREAM chunk sent; bigger pieces from the source are split.
    """

    def __init__(self, socket_path: str, *, timeout: float = 60, chunk: int = 1 << 20) -> None:
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if not 0 < chunk <= _MAX_CHUNK:
            raise ValueError(f"chunk must be between 1 and {_MAX_CHUNK} bytes")
        self.socket_path = socket_path
        self.timeout = timeout
        self.chunk = chunk

    def __repr__(self) -> str:
        return f"ClamAV({self.socket_path!r}, timeout={self.timeout})"

    # ---------------------------------------------------------------------------- commands

    async def ping(self) -> bool:
        """Readiness: True when clamd answers PONG (within at most 5 s), False on any failure."""
        try:
            return await self._command(b"PING", seconds=min(self.timeout, 5.0)) == "PONG"
        except ScanError:
            return False

    async def version(self, seconds: float | None = None) -> str:
        """clamd's version line, e.g. "ClamAV 1.4.6/27850/Tue Nov 25 09:30:00 2026"."""
        return await self._command(b"VERSION", seconds=seconds or self.timeout)

    async def reload(self) -> None:
        """Have clamd load its signature database again (it goes on scanning with the old one
        meanwhile); ScanError if it does not accept."""
        reply = await self._command(b"RELOAD", seconds=self.timeout)
        if reply != "RELOADING":
            raise ScanError(f"clamd tại {self.socket_path} không nạp lại mẫu nhận diện: {reply!r}")

    async def scan_bytes(self, data: bytes | bytearray | memoryview) -> ScanResult:
        """Scan a buffer already in memory."""
        view = memoryview(data).cast("B")

        async def pieces() -> AsyncIterator[memoryview]:
            for start in range(0, len(view), self.chunk):
                yield view[start : start + self.chunk]

        return await self.scan_stream(pieces())

    async def scan_stream(self, chunks: AsyncIterable[bytes | bytearray | memoryview]) -> ScanResult:
        """Scan the concatenation of `chunks`, sending each to clamd as soon as it arrives.

        At most one chunk is held at a time. An exception raised by the source propagates
        unchanged (the connection is closed, no verdict). Raises ScanError when there is no
        verdict; if clamd answers early (size limit) the rest of the source is not read.
        """
        reader, writer = await self._connect(self.timeout)
        reply = asyncio.ensure_future(_read_reply(reader))
        try:
            # clamd may close the connection while we send (size limit): its reply says why.
            with contextlib.suppress(_PeerClosed):
                await self._send_stream(writer, chunks, reply)
            try:
                async with asyncio.timeout(self.timeout):
                    text = await reply
            except TimeoutError:
                raise ScanError(
                    f"Dịch vụ quét mã độc không trả kết quả sau {self.timeout:g} giây "
                    f"(clamd tại {self.socket_path})",
                    kind="timeout",
                ) from None
        finally:
            if reply.done():
                if not reply.cancelled():
                    reply.exception()  # retrieved here, so asyncio does not log it
            else:
                reply.cancel()
            await _close(writer)
        return _verdict(text)

    # ------------------------------------------------------------------------------ internal

    async def _connect(self, seconds: float) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            async with asyncio.timeout(seconds):
                return await asyncio.open_unix_connection(self.socket_path, limit=_MAX_REPLY)
        except TimeoutError:
            raise ScanError(
                f"{UNREACHABLE}: clamd tại {self.socket_path} không nhận kết nối sau {seconds:g} giây",
                kind="timeout",
            ) from None
        except OSError as exc:
            raise ScanError(
                f"{UNREACHABLE}: clamd tại {self.socket_path} ({exc.strerror or exc})", kind="unavailable"
            ) from exc

    async def _send_stream(
        self,
        writer: asyncio.StreamWriter,
        chunks: AsyncIterable[bytes | bytearray | memoryview],
        reply: asyncio.Future[str],
    ) -> None:
        await self._send(writer, b"zINSTREAM\0")
        async for chunk in chunks:
            if reply.done():  # clamd answered before the end (an error): stop sending
                return
            view = memoryview(chunk).cast("B")
            for start in range(0, len(view), self.chunk):  # an empty chunk would end the stream
                piece = view[start : start + self.chunk]
                writer.write(struct.pack(">I", len(piece)))  # buffered, sent with the piece
                await self._send(writer, piece)
        if not reply.done():
            await self._send(writer, b"\0\0\0\0")

    async def _send(self, writer: asyncio.StreamWriter, data: bytes | memoryview) -> None:
        """Write and wait until the socket takes it; errors of the source never pass here."""
        try:
            writer.write(data)
            async with asyncio.timeout(self.timeout):
                await writer.drain()
        except OSError as exc:
            raise _PeerClosed from exc
        except TimeoutError:
            raise ScanError(
                f"Dịch vụ quét mã độc không nhận dữ liệu sau {self.timeout:g} giây "
                f"(clamd tại {self.socket_path})",
                kind="timeout",
            ) from None

    async def _command(self, command: bytes, *, seconds: float) -> str:
        reader, writer = await self._connect(seconds)
        try:
            async with asyncio.timeout(seconds):
                writer.write(b"z" + command + b"\0")
                await writer.drain()
                return await _read_reply(reader)
        except TimeoutError:
            raise ScanError(
                f"Dịch vụ quét mã độc không trả lời lệnh {command.decode()} sau {seconds:g} giây "
                f"(clamd tại {self.socket_path})",
                kind="timeout",
            ) from None
        except OSError as exc:
            raise ScanError(f"{UNREACHABLE}: {exc}", kind="unavailable") from exc
        finally:
            await _close(writer)


def _verdict(text: str) -> ScanResult:
    """Parse clamd's reply to INSTREAM."""
    body = text
    if body[:1].isdigit():  # "<id>: " in front inside an IDSESSION (not used here)
        body = body.partition(": ")[2]
    if body.endswith("ERROR"):
        if "size limit exceeded" in body:
            raise ScanError(
                f"Tệp vượt quá dung lượng tối đa mà dịch vụ quét mã độc nhận (StreamMaxLength): {text}",
                kind="too_large",
            )
        raise ScanError(f"Dịch vụ quét mã độc báo lỗi: {text}")
    if body.startswith("stream: "):
        verdict = body.removeprefix("stream: ")
        if verdict == "OK":
            return ScanResult(clean=True)
        if verdict.endswith(" FOUND") and verdict.removesuffix(" FOUND").strip():
            return ScanResult(clean=False, signature=verdict.removesuffix(" FOUND").strip())
    raise ScanError(f"Dịch vụ quét mã độc trả lời không hợp lệ: {text!r}")


async def _read_reply(reader: asyncio.StreamReader) -> str:
    """One NUL-terminated reply; ScanError if clamd closes the connection without one."""
    try:
        raw = await reader.readuntil(b"\0")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            raise ScanError(
                f"{UNREACHABLE}: clamd đóng kết nối mà không trả lời", kind="unavailable"
            ) from None
        raw = exc.partial
    except asyncio.LimitOverrunError:
        raise ScanError("Dịch vụ quét mã độc trả lời quá dài") from None
    except OSError as exc:
        raise ScanError(f"{UNREACHABLE}: {exc}", kind="unavailable") from exc
    return raw.rstrip(b"\0").decode("utf-8", errors="replace").strip()


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
