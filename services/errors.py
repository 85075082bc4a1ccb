"""Domain errors raised by the business rules and turned into typed GraphQL results.

Each carries a stable machine code and a Vietnamese message for the citizen or officer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class FieldIssue:
    path: Path
    code: str
    message: str


class DomainError(Exception):
    code = "ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationFailed(DomainError):
    code = "VALIDATION_FAILED"

    def __init__(self, issues: Sequence[FieldIssue]) -> None:
        super().__init__("Dữ liệu không hợp lệ, vui lòng kiểm tra các trường được đánh dấu.")
        self.issues = list(issues)


class NotFound(DomainError):
    code = "NOT_FOUND"

    def __init__(self, what: str, key: str) -> None:
        super().__init__(f"Không tìm thấy {what} “{key}”.")
        self.what = what
        self.key = key


class InvalidTransition(DomainError):
    code = "INVALID_TRANSITION"

    def __init__(self, status: str, action: str, message: str | None = None) -> None:
        super().__init__(message or f"Không thể thực hiện thao tác “{action}” ở trạng thái {status}.")
        self.status = status
        self.action = action


class Conflict(DomainError):
    code = "CHANGED_BY_SOMEONE_ELSE"

    def __init__(self, message: str = "Dữ liệu đã được người khác thay đổi, vui lòng tải lại.") -> None:
        super().__init__(message)


@dataclass
class Issues:
    """Collects every problem with an input before failing, so a form shows them all."""

    items: list[FieldIssue] = field(default_factory=list)

    def add(self, path: Path, code: str, message: str) -> None:
        self.items.append(FieldIssue(path, code, message))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(self.items)


class Forbidden(DomainError):
    """The actor may not do this at all (a top-level error, not a result)."""

    code = "FORBIDDEN"

    def __init__(self, message: str = "Bạn không có quyền thực hiện thao tác này.") -> None:
        super().__init__(message)


class Refused(DomainError):
    """A refusal with its own code (wrong credentials, locked, rate limited, bad code…).

    `keep_writes`: what the command wrote before refusing must be committed (e.g. nothing but
    bookkeeping); by default a refusal rolls everything back.
    """

    def __init__(
        self, code: str, message: str, *, retry_after: int | None = None, keep_writes: bool = False
    ) -> None:
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after
        self.keep_writes = keep_writes


class RateLimited(Refused):
    """Too many attempts in a fixed window (`RATE_LIMITED`): `retry_after` is the whole seconds
    until the window ends, when the caller may try again."""

    def __init__(self, message: str, *, retry_after: int, keep_writes: bool = False) -> None:
        super().__init__("RATE_LIMITED", message, retry_after=retry_after, keep_writes=keep_writes)
