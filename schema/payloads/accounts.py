"""What the account mutations answer: the account or session after the act, or a typed error."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.errors import NotFound, Refused, ValidationFailed
from schema.types.accounts import Account, AuthSession, OAuthApp
from schema.types.files import StoredFile


@strawberry.type(
    description="Đã nhận đăng ký; mã xác thực được gửi tới liên hệ đã khai. Nhập mã bằng contactVerify để "
    "kích hoạt tài khoản. Câu trả lời như nhau dù số định danh, mã số thuế, thư điện tử hay số điện thoại "
    "đã có tài khoản (khi đó không tạo tài khoản mới và chủ tài khoản được báo)."
)
class Registered:
    verification_sent_to: list[str] = strawberry.field(
        description="Nơi mã xác thực được gửi (che bớt): các liên hệ đã khai."
    )


@strawberry.type(description="Đăng nhập thành công.")
class SignedIn:
    session: AuthSession = strawberry.field(description="Phiên đăng nhập.")


@strawberry.type(description="Đã thực hiện.")
class Done:
    ok: bool = strawberry.field(description="Luôn là true.")


@strawberry.type(description="Tài khoản sau thao tác.")
class AccountSaved:
    account: Account = strawberry.field(description="Tài khoản.")


@strawberry.type(description="Chuyển trình duyệt tới hệ thống định danh quốc gia.")
class NationalIdentityRedirect:
    url: str = strawberry.field(description="Địa chỉ đăng nhập của nhà cung cấp định danh.")


@strawberry.type(description="Ứng dụng đã được đăng ký; mã bí mật chỉ hiển thị một lần.")
class AppRegistered:
    app: OAuthApp = strawberry.field(description="Ứng dụng.")
    client_secret: str = strawberry.field(description="client_secret — lưu lại ngay, không xem lại được.")


@strawberry.type(description="Ứng dụng sau thao tác.")
class AppSaved:
    app: OAuthApp = strawberry.field(description="Ứng dụng.")


def _union(name: str, description: str) -> object:
    return strawberry.union(name, description=description)


RegisterResult = Annotated[
    Registered | ValidationFailed | Refused, _union("RegisterResult", "Kết quả đăng ký.")
]
VerifyResult = Annotated[AccountSaved | Refused, _union("ContactVerifyResult", "Kết quả xác thực.")]
DoneResult = Annotated[Done | Refused, _union("DoneResult", "Kết quả thao tác.")]
SignInResult = Annotated[SignedIn | ValidationFailed | Refused, _union("SignInResult", "Kết quả đăng nhập.")]
PasswordResetResult = Annotated[
    AccountSaved | ValidationFailed | Refused, _union("PasswordResetResult", "Kết quả đặt lại mật khẩu.")
]
RedirectResult = Annotated[
    NationalIdentityRedirect | Refused, _union("NationalIdentityStartResult", "Kết quả.")
]
AccountAdminResult = Annotated[
    AccountSaved | ValidationFailed | NotFound | Refused,
    _union("AccountAdminResult", "Kết quả thao tác quản trị tài khoản."),
]
AppRegisterResult = Annotated[AppRegistered | ValidationFailed, _union("AppRegisterResult", "Kết quả.")]
AppRevokeResult = Annotated[AppSaved | NotFound, _union("AppRevokeResult", "Kết quả.")]


@strawberry.type(description="Kho dữ liệu đã bàn giao (gói tệp để tải và trao cho người nhận).")
class VaultHandedOver:
    file: StoredFile = strawberry.field(description="Tệp zip: các giấy tờ trong kho và bản kê (ban-ke.json).")
    documents: int = strawberry.field(description="Số giấy tờ đã bàn giao.")


VaultHandOverResult = Annotated[
    VaultHandedOver | ValidationFailed | NotFound | Refused,
    _union("VaultHandOverResult", "Kết quả bàn giao."),
]
