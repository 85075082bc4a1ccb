"""Persisted queries (truy vấn đăng ký trước) for first-party clients, allow-listed by hash.

The protocol is Apollo's: a request carries `extensions.persistedQuery.sha256Hash` (the SHA-256
of the document, hex) instead of, or with, the query text — over POST or GET, so a query sent
by GET has a short, cacheable address, and in a websocket's `subscribe` (graphql-transport-ws) or
`start` (graphql-ws) message, where a refusal is that operation's `error` message. Unlike
Apollo's *automatic* persisted queries, nothing is registered at run time: the allow-list is a
file shipped with the clients (`PERSISTED_QUERIES`), either Apollo's persisted-query manifest
(`{"operations": [{"id": …, "body": …}]}`) or a plain `{"<sha256>": "<document>"}` object;
every entry's hash is checked when the file is read.

- a known hash: its document runs (a query text sent along must be that document);
- an unknown hash without a query: `PERSISTED_QUERY_NOT_FOUND`, as Apollo clients expect;
- no hash: the query runs as usual, unless `PERSISTED_QUERIES_ONLY` is set (production with only
  first-party clients), which refuses it with `PERSISTED_QUERY_REQUIRED`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class PersistedQueryError(Exception):
    """A request the allow-list refuses; `code` is the GraphQL error's `extensions.code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def document_hash(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def _entries(data: Any) -> dict[str, str]:
    if isinstance(data, dict) and isinstance(data.get("operations"), list):
        return {str(op["id"]): str(op["body"]) for op in data["operations"]}
    if isinstance(data, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        return dict(data)
    raise ValueError("expected an Apollo persisted-query manifest or a {sha256: document} object")


@dataclass(frozen=True)
class PersistedQueries:
    documents: dict[str, str]
    only: bool = False

    @classmethod
    def load(cls, path: Path | None, *, only: bool = False) -> PersistedQueries:
        if path is None:
            return cls({}, only=only)
        documents = _entries(json.loads(path.read_text(encoding="utf-8")))
        for digest, document in documents.items():
            if document_hash(document) != digest.lower():
                raise ValueError(f"{path}: the document of {digest} does not have that SHA-256")
        return cls({k.lower(): v for k, v in documents.items()}, only=only)

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The document to run for a request's `query` and `extensions`."""
        persisted = (extensions or {}).get("persistedQuery")
        if not isinstance(persisted, dict):
            if self.only and query is not None:
                raise PersistedQueryError(
                    "PERSISTED_QUERY_REQUIRED", "Chỉ chấp nhận truy vấn đã đăng ký trước (persisted query)."
                )
            return query
        digest = persisted.get("sha256Hash")
        if not isinstance(digest, str):
            raise PersistedQueryError(
                "PERSISTED_QUERY_INVALID", "Thiếu sha256Hash của truy vấn đăng ký trước."
            )
        digest = digest.lower()
        if query is not None and document_hash(query) != digest:
            raise PersistedQueryError("PERSISTED_QUERY_MISMATCH", "Truy vấn không khớp với mã băm đã gửi.")
        document = self.documents.get(digest)
        if document is not None:
            return document
        if query is None or self.only:
            raise PersistedQueryError("PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound")
        return query  # not allow-listed, but ordinary queries are accepted here
