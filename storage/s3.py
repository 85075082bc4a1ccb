"""S3-compatible object store through the minio SDK.

The SDK is synchronous; calls run in a worker thread so they never block the event loop.
Buckets are private: the embedded SeaweedFS is started with an identity (see NOTES.md), and
objects are only ever reached through presigned, short-lived URLs.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.datatypes import PostPolicy
from minio.error import S3Error, ServerError

if TYPE_CHECKING:
    from core.settings import Settings

STORE_UNAVAILABLE_MESSAGE = "Kho lưu trữ tệp tạm thời không hoạt động; vui lòng thử lại sau ít phút."


def is_store_unavailable(error: BaseException) -> bool:
    """True when `error` (or what caused it) says the object store cannot be reached (refused,
    reset, timed out after the SDK's retries) or failed on its side (5xx) — not a refusal of ours."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (urllib3.exceptions.HTTPError, ServerError)):
            return True
        current = current.__cause__ or current.__context__
    return False


def is_missing(error: BaseException) -> bool:
    """True when `error` is the store saying the object is not there."""
    return isinstance(error, S3Error) and error.code in ("NoSuchKey", "NoSuchObject", "NotFound")


@dataclass(frozen=True)
class S3Config:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    secure: bool = False
    region: str | None = None

    @classmethod
    def of(cls, settings: Settings) -> S3Config:
        """The store the settings name (S3_ENDPOINT, its keys, bucket, TLS and region)."""
        return cls(
            endpoint=settings.s3_endpoint or "",
            access_key=settings.s3_access_key or "",
            secret_key=settings.s3_secret_key or "",
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
        )


class ObjectStore:
    def __init__(self, config: S3Config) -> None:
        self.config = config
        self.bucket = config.bucket
        self.client = Minio(
            config.endpoint,
            access_key=config.access_key,
            secret_key=config.secret_key,
            secure=config.secure,
            region=config.region,
        )

    async def ensure_bucket(self) -> None:
        def run() -> None:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)

        await asyncio.to_thread(run)

    async def ping(self) -> bool:
        """Readiness: the store answers and our bucket is there."""
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self.client.bucket_exists, self.bucket), timeout=3
            )
        except Exception:  # noqa: BLE001 — any failure means "not ready"
            return False

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> None:
        """Small objects written by the service itself (scans at the counter, generated slips)."""
        await asyncio.to_thread(
            self.client.put_object, self.bucket, key, io.BytesIO(data), len(data), content_type=content_type
        )

    async def get_bytes(self, key: str) -> bytes:
        def run() -> bytes:
            response = self.client.get_object(self.bucket, key)
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

        return await asyncio.to_thread(run)

    @property
    def base_url(self) -> str:
        scheme = "https" if self.config.secure else "http"
        return f"{scheme}://{self.config.endpoint}/{self.bucket}"

    def presigned_upload(
        self, key: str, *, content_type: str, size: int, expires: timedelta
    ) -> tuple[str, dict[str, str]]:
        """A browser form POST the store itself enforces: this key, this content type, exactly
        this many bytes, for `expires`. The store checks expiry by its own clock, so the policy
        is dated by the real clock, like the request signature the SDK computes."""
        policy = PostPolicy(self.bucket, datetime.now(UTC) + expires)
        policy.add_equals_condition("key", key)
        policy.add_equals_condition("Content-Type", content_type)
        policy.add_content_length_range_condition(size, size)
        fields = self.client.presigned_post_policy(policy)
        return self.base_url, {"key": key, "Content-Type": content_type, **fields}

    def presigned_download(self, key: str, *, filename: str, expires: timedelta) -> str:
        disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
        return self.client.presigned_get_object(
            self.bucket, key, expires=expires, response_headers={"response-content-disposition": disposition}
        )

    async def size_of(self, key: str) -> int | None:
        def run() -> int | None:
            try:
                return int(self.client.stat_object(self.bucket, key).size or 0)
            except S3Error as error:
                if is_missing(error):
                    return None
                raise

        return await asyncio.to_thread(run)

    async def chunks(self, key: str, size: int = 1 << 20) -> AsyncIterator[bytes]:
        """The object's bytes in chunks, read in a worker thread: memory stays flat whatever the size."""
        response = await asyncio.to_thread(self.client.get_object, self.bucket, key)
        try:
            while True:
                chunk = await asyncio.to_thread(response.read, size)
                if not chunk:
                    break
                yield bytes(chunk)
        finally:
            response.close()
            response.release_conn()

    async def copy(self, source: str, target: str) -> None:
        """A server-side copy inside the bucket (content type kept); the bytes never pass here."""
        await asyncio.to_thread(self.client.copy_object, self.bucket, target, CopySource(self.bucket, source))

    async def keys(self, prefix: str, *, limit: int) -> list[str]:
        """Up to `limit` keys under `prefix` (none when the bucket is not made yet)."""

        def run() -> list[str]:
            found: list[str] = []
            try:
                for item in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
                    if item.object_name is not None:
                        found.append(item.object_name)
                    if len(found) >= limit:
                        break
            except S3Error as error:
                if error.code != "NoSuchBucket":
                    raise
            return found

        return await asyncio.to_thread(run)

    async def remove(self, key: str) -> None:
        await asyncio.to_thread(self.client.remove_object, self.bucket, key)

    async def put_file(self, key: str, path: str, content_type: str) -> None:
        """A file on disk, streamed to the store in parts (archive packages can be large)."""
        await asyncio.to_thread(self.client.fput_object, self.bucket, key, path, content_type=content_type)
