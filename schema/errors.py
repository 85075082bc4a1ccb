"""Typed errors returned inside mutation result unions.

Every error shares the `UserError` interface (message, code, field path), so a client renders
any of them generically and switches on `code` (stable, machine-readable) where it cares.
Authentication and authorisation failures are not here: they are top-level GraphQL errors.
"""

from __future__ import annotations

import strawberry

from services import errors as domain


@strawberry.interface(description="Lỗi nghiệp vụ trả về trong kết quả của một mutation.")
class UserError:
    message: str = strawberry.field(description="Thông báo tiếng Việt để hiển thị cho người dùng.")
    code: str = strawberry.field(description="Mã lỗi ổn định, dùng cho xử lý tự động.")
    field: list[str] | None = strawberry.field(
        description="Đường dẫn tới trường đầu vào gây lỗi (null nếu lỗi không gắn với trường nào)."
    )


@strawberry.type(description="Một lỗi gắn với một trường đầu vào.")
class FieldError(UserError):
    pass


@strawberry.type(description="Dữ liệu đầu vào không hợp lệ; `errors` liệt kê từng trường.")
class ValidationFailed(UserError):
    errors: list[FieldError] = strawberry.field(description="Từng lỗi theo trường.")


@strawberry.type(description="Không tìm thấy đối tượng (hoặc người gọi không được phép xem).")
class NotFound(UserError):
    pass


@strawberry.type(description="Thao tác không được phép ở trạng thái hiện tại.")
class InvalidTransition(UserError):
    status: str = strawberry.field(description="Trạng thái hiện tại.")
    action: str = strawberry.field(description="Thao tác bị từ chối.")


@strawberry.type(description="Đối tượng đã bị người khác thay đổi; tải lại rồi thử lại.")
class Conflict(UserError):
    pass


@strawberry.type(description="Yêu cầu bị từ chối (sai thông tin, bị khoá, quá số lần thử, mã sai…).")
class Refused(UserError):
    retry_after_seconds: int | None = strawberry.field(
        description=(
            "Số giây đến khi được thử lại: luôn có với `RATE_LIMITED` (đến hết khung thời gian của "
            "giới hạn), null với các mã khác."
        )
    )


def _path(path: domain.Path) -> list[str]:
    return [str(p) for p in path]


def to_graphql(error: domain.DomainError) -> UserError:
    if isinstance(error, domain.ValidationFailed):
        issues = [FieldError(message=i.message, code=i.code, field=_path(i.path)) for i in error.issues]
        first = issues[0].field if len(issues) == 1 else None
        return ValidationFailed(message=error.message, code=error.code, field=first, errors=issues)
    if isinstance(error, domain.NotFound):
        return NotFound(message=error.message, code=error.code, field=None)
    if isinstance(error, domain.InvalidTransition):
        return InvalidTransition(
            message=error.message, code=error.code, field=None, status=error.status, action=error.action
        )
    if isinstance(error, domain.Conflict):
        return Conflict(message=error.message, code=error.code, field=None)
    if isinstance(error, domain.Refused):
        return Refused(
            message=error.message, code=error.code, field=None, retry_after_seconds=error.retry_after
        )
    raise TypeError(f"unmapped domain error {type(error).__name__}")  # a bug: masked as internal


class ClientError(Exception):
    """A top-level error meant for the caller (bad argument, authentication, permission, rate
    limit); `extensions.field` is the path of the argument at fault, when one is;
    `extensions.retryAfterSeconds` when the caller may try again after that many seconds.

    Everything else raised during execution is masked as an internal error.
    """

    def __init__(
        self, message: str, code: str, field: domain.Path | None = None, *, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.extensions: dict[str, object] = {"code": code}
        if field is not None:
            self.extensions["field"] = _path(field)
        if retry_after is not None:
            self.extensions["retryAfterSeconds"] = retry_after

    @classmethod
    def of(cls, error: domain.ValidationFailed) -> ClientError:
        """A query argument's validation failure (its first issue) as a top-level error."""
        issue = error.issues[0]
        return cls(issue.message, issue.code, issue.path)
