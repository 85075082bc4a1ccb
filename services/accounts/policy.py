"""The numbers of the account rules, in one place (Trà Vinh art. 7; Kon Tum art. 8)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from auth.tokens import TokenConfig
from core.settings import DEFAULT_PROVINCE, system_name


@dataclass(frozen=True)
class AccountPolicy:
    tokens: TokenConfig
    lock_after_failures: int = 5  # "nhập sai mật khẩu 5 lần liên tiếp"
    inactivity: timedelta = timedelta(days=365)  # "01 năm không đăng nhập"
    warn_before_inactivity_lock: timedelta = timedelta(days=30)
    min_warning_notice: timedelta = timedelta(days=7)  # never lock before the owner had a week
    code_ttl: timedelta = timedelta(minutes=10)
    staff_code_ttl: timedelta = timedelta(hours=48)
    code_attempts: int = 5
    # Rate limits (fixed windows shared by every process).
    sign_in_window: timedelta = timedelta(minutes=15)
    sign_in_per_address: int = 30
    sign_in_per_identifier: int = 10
    registration_window: timedelta = timedelta(hours=1)
    registration_per_address: int = 10
    codes_per_destination: int = 5  # per `code_window`
    code_window: timedelta = timedelta(hours=1)
    system_name: str = system_name(DEFAULT_PROVINCE)  # signs the messages (Settings.system_name)
    app_scopes: frozenset[str] = field(
        default_factory=lambda: frozenset({"catalog:read", "dossier-status:read", "feedback:submit"})
    )
