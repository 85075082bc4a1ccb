"""S3-compatible object store through the minio SDK.

The SDK is synchronous; calls run in a worker thread so they never block the event loop.
Buckets are private: the embedded SeaweedFS is started with an identity (see NOTES.md), and
objects are only ever reached through presigned, short-lived URLs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from minio import Minio


@dataclass(frozen=True)
class S3Config:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    secure: bool = False
    region: str | None = None


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
        import io

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
