"""Vietnamese texts of the messages sent to account owners, each signed with the system's name
(`Settings.system_name`, carried by `AccountPolicy.system_name`)."""

from __future__ import annotations

from datetime import date


def verification_code(code: str, minutes: int, *, system: str) -> tuple[str, str]:
    return (
        "Mã xác thực tài khoản",
        f"Mã xác thực của bạn là {code}. Mã có hiệu lực trong {minutes} phút. "
        f"Không chia sẻ mã này cho bất kỳ ai. — {system}",
    )


def reset_code(code: str, minutes: int, *, system: str) -> tuple[str, str]:
    return (
        "Mã đặt lại mật khẩu",
        f"Mã đặt lại mật khẩu của bạn là {code}, có hiệu lực trong {minutes} phút. Nếu bạn không yêu "
        f"cầu, hãy bỏ qua tin này. — {system}",
    )


def unlock_code(code: str, minutes: int, *, system: str) -> tuple[str, str]:
    return (
        "Mã mở khoá tài khoản",
        f"Mã mở khoá tài khoản của bạn là {code}, có hiệu lực trong {minutes} phút. Tài khoản bị khoá do "
        f"nhập sai mật khẩu nhiều lần; nếu không phải bạn nhập, hãy đổi mật khẩu sau khi mở khoá. Không "
        f"chia sẻ mã này cho bất kỳ ai. — {system}",
    )


def registration_attempt(what: list[str], *, system: str) -> tuple[str, str]:
    return (
        "Có người đăng ký tài khoản bằng thông tin của bạn",
        f"Có người vừa đăng ký tài khoản mới bằng {', '.join(what)} của tài khoản bạn. Không có tài khoản "
        "mới nào được tạo. Nếu đó là bạn: bạn đã có tài khoản, hãy đăng nhập hoặc dùng chức năng quên mật "
        f"khẩu. Nếu không phải bạn, bạn có thể bỏ qua tin này. — {system}",
    )


LOCK_REASONS = {
    "FAILED_SIGN_INS": "nhập sai mật khẩu 5 lần liên tiếp",
    "INACTIVITY": "không đăng nhập trong 01 năm",
    "OWNER_REQUEST": "theo yêu cầu của chủ tài khoản",
    "DECEASED": "chủ tài khoản đã qua đời",
    "MISSING": "chủ tài khoản bị tuyên bố mất tích",
    "DISSOLVED": "tổ chức đã giải thể, chấm dứt hoạt động",
    "UNASSIGNED": "cán bộ không còn được phân công nhiệm vụ",
    "ADMIN": "theo quyết định của quản trị hệ thống",
}


SELF_UNLOCK = (
    "Bạn có thể tự mở khoá bằng mã gửi tới thư điện tử hoặc số điện thoại đã xác thực (chức năng "
    "“Mở khoá tài khoản”), hoặc liên hệ bộ phận hỗ trợ."
)


def locked(reason: str, *, system: str) -> tuple[str, str]:
    how = (
        SELF_UNLOCK
        if reason == "FAILED_SIGN_INS"
        else "Để mở khoá, vui lòng liên hệ bộ phận hỗ trợ hoặc quản trị hệ thống."
    )
    return (
        "Tài khoản đã bị khoá",
        f"Tài khoản của bạn đã bị khoá do {LOCK_REASONS.get(reason, reason)}. {how} — {system}",
    )


def inactivity_warning(lock_on: date, *, system: str) -> tuple[str, str]:
    return (
        "Tài khoản sắp bị khoá do không sử dụng",
        f"Tài khoản của bạn chưa đăng nhập gần 01 năm và sẽ bị khoá từ ngày {lock_on:%d/%m/%Y} nếu bạn "
        f"không đăng nhập trước ngày đó. — {system}",
    )


def unlocked(*, system: str) -> tuple[str, str]:
    return ("Tài khoản đã được mở khoá", f"Tài khoản của bạn đã được mở khoá. — {system}")


def staff_welcome(code: str, minutes: int, *, system: str) -> tuple[str, str]:
    return (
        "Tài khoản cán bộ đã được tạo",
        f"Tài khoản cán bộ của bạn đã được tạo. Dùng mã {code} (hiệu lực {minutes} phút) để đặt mật khẩu "
        f"lần đầu. — {system}",
    )
