"""The demo's accounts: one for every role the demo procedures need, at the units that receive and
handle them, so that `make run` can take a dossier from submission to result (docs/tour.md, "A
five-minute tour").

- UBND Phường Việt Trì (H44.100), a commune: its one-stop officer, specialist, leader and agency
  admin — commune-level procedures (civil status, residence…: "Xác nhận thông tin về cư trú"
  1.010041, the tour's) are received and settled there;
- the provincial service centre (H44.99): its one-stop officer receives provincial procedures;
- Sở Tài chính (H44.43): a specialist and a leader settle business registrations (2.001610,
  2.001583, 2.002043), received at H44.99 or at the department;
- two citizens, an organisation, and a third-party app (OAuth client credentials).

Every account goes through the real services (`create_staff`, `register_citizen`,
`register_organisation`, `register_app`); only what would come by e-mail is done here: the staff's
first password is set and every contact is marked verified. Passwords are random.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth import passwords
from auth.actor import SYSTEM, Actor, ActorKind
from auth.roles import StaffRole
from core.settings import Settings
from models.accounts import Account, AccountStatus
from models.catalog import Agency
from services.accounts.journal import Journal, RequestMeta
from services.accounts.policy import AccountPolicy

ACCOUNTS_FILE = "demo-accounts.txt"
APP_SCOPES = ("catalog:read", "dossier-status:read", "feedback:submit")


@dataclass(frozen=True)
class DemoAccount:
    """One line of demo-accounts.txt: what it is (Vietnamese, with the role's code), where it
    works, what to sign in with, and the password (an app: client id and secret)."""

    label: str
    unit: str
    login: str
    secret: str


@dataclass(frozen=True)
class StaffSpec:
    label: str
    email: str
    name: str
    role: StaffRole
    agency: str


STAFF = (
    StaffSpec(
        "quản trị cơ quan (AGENCY_ADMIN)",
        "quantri.viettri@demo.dvc.local",
        "Phạm Văn Quản",
        StaffRole.AGENCY_ADMIN,
        "H44.100",
    ),
    StaffSpec(
        "cán bộ một cửa (RECEPTION_OFFICER)",
        "motcua.viettri@demo.dvc.local",
        "Lê Thị Tiếp",
        StaffRole.RECEPTION_OFFICER,
        "H44.100",
    ),
    StaffSpec(
        "chuyên viên xử lý (SPECIALIST)",
        "chuyenvien.viettri@demo.dvc.local",
        "Hoàng Văn Xử",
        StaffRole.SPECIALIST,
        "H44.100",
    ),
    StaffSpec(
        "lãnh đạo phê duyệt (LEADER)",
        "lanhdao.viettri@demo.dvc.local",
        "Đỗ Thị Duyệt",
        StaffRole.LEADER,
        "H44.100",
    ),
    StaffSpec(
        "cán bộ một cửa (RECEPTION_OFFICER)",
        "motcua@demo.dvc.local",
        "Trần Thị Một Cửa",
        StaffRole.RECEPTION_OFFICER,
        "H44.99",
    ),
    StaffSpec(
        "chuyên viên xử lý (SPECIALIST)",
        "chuyenvien.taichinh@demo.dvc.local",
        "Vũ Minh Thẩm",
        StaffRole.SPECIALIST,
        "H44.43",
    ),
    StaffSpec(
        "lãnh đạo phê duyệt (LEADER)",
        "lanhdao.taichinh@demo.dvc.local",
        "Bùi Quang Ký",
        StaffRole.LEADER,
        "H44.43",
    ),
)


def password() -> str:
    return "Demo-" + secrets.token_urlsafe(9)


async def create_demo_accounts(
    session: AsyncSession, now: datetime, policy: AccountPolicy
) -> list[DemoAccount]:
    """Every demo account, active, in `session` (not committed)."""
    from services.accounts.admin.staff import create_system_admin

    journal = Journal(async_sessionmaker(bind=session.bind), RequestMeta(user_agent="demo"), now)
    admin_pw = password()
    await create_system_admin(
        session,
        email="admin@demo.dvc.local",
        full_name="Quản trị Hệ thống",
        password=admin_pw,
        now=now,
        actor=SYSTEM,
    )
    accounts = [
        DemoAccount("quản trị hệ thống (SYSTEM_ADMIN)", "toàn hệ thống", "admin@demo.dvc.local", admin_pw)
    ]
    units = {code: name for code, name in (await session.execute(select(Agency.code, Agency.name))).all()}
    for spec in STAFF:
        accounts.append(await _staff(session, spec, f"{spec.agency} {units[spec.agency]}", journal, policy))
    accounts += await _people(session, now, journal, policy)
    accounts.append(await _app(session, journal, policy))
    return accounts


DEMO_ADMIN = Actor(ActorKind.SYSTEM, name="demo", roles={StaffRole.SYSTEM_ADMIN: None})


async def _staff(
    session: AsyncSession, spec: StaffSpec, unit: str, journal: Journal, policy: AccountPolicy
) -> DemoAccount:
    """Created as an admin would; the first password, which the e-mailed code would let the
    person choose, set here."""
    from services.accounts.admin.assignments import AssignmentData
    from services.accounts.admin.staff import StaffData, create_staff

    staff = await create_staff(
        session,
        DEMO_ADMIN,
        StaffData(spec.name, spec.email, None, (AssignmentData(spec.role, spec.agency),)),
        journal=journal,
        policy=policy,
    )
    secret = password()
    staff.password_hash = passwords.hash_password(secret)
    staff.status = AccountStatus.ACTIVE
    staff.email_verified_at = journal.now
    return DemoAccount(spec.label, unit, spec.email, secret)


async def _people(
    session: AsyncSession, now: datetime, journal: Journal, policy: AccountPolicy
) -> list[DemoAccount]:
    """Two citizens and an organisation, registered as they would themselves, their contacts then
    marked verified (the codes would come by e-mail and SMS)."""
    from services.accounts.registration import (
        CitizenRegistration,
        OrganisationRegistration,
        register_citizen,
        register_organisation,
    )

    people: list[DemoAccount] = []
    for citizen_id, name, born, email, phone, address in (
        (
            "025190000123",
            "Nguyễn Văn Dân",
            date(1990, 5, 17),
            "congdan@demo.dvc.local",
            "0912345678",
            "Phường Việt Trì, Phú Thọ",
        ),
        (
            "025195000456",
            "Trần Thị Hoa",
            date(1995, 3, 8),
            "congdan2@demo.dvc.local",
            "0987654321",
            "Phường Nông Trang, Phú Thọ",
        ),
    ):
        secret = password()
        registered = await register_citizen(
            session,
            CitizenRegistration(citizen_id, name, born, secret, phone, email, address),
            journal=journal,
            policy=policy,
            today=now.date(),
        )
        await _verified(session, registered.account, now)
        people.append(DemoAccount("công dân", f"{name}, số định danh {citizen_id}", email, secret))
    secret = password()
    registered = await register_organisation(
        session,
        OrganisationRegistration(
            tax_code="2600123456",
            name="Công ty TNHH Dịch vụ Mẫu Phú Thọ",
            representative_name="Trần Văn Đại",
            password=secret,
            representative_citizen_id="025085001234",
            phone="0911222333",
            email="doanhnghiep@demo.dvc.local",
            address="Phường Việt Trì, Phú Thọ",
        ),
        journal=journal,
        policy=policy,
    )
    await _verified(session, registered.account, now)
    unit = "Công ty TNHH Dịch vụ Mẫu Phú Thọ, mã số thuế 2600123456"
    people.append(DemoAccount("tổ chức (doanh nghiệp)", unit, "doanhnghiep@demo.dvc.local", secret))
    return people


async def _verified(session: AsyncSession, account: Account | None, now: datetime) -> None:
    if account is None:
        raise RuntimeError("a demo account's ID, tax code or contacts already have an account")
    await session.execute(
        update(Account)
        .where(Account.id == account.id)
        .values(status=AccountStatus.ACTIVE, email_verified_at=now, phone_verified_at=now)
    )


async def _app(session: AsyncSession, journal: Journal, policy: AccountPolicy) -> DemoAccount:
    from services.accounts.apps import register_app

    registered = await register_app(
        session,
        DEMO_ADMIN,
        "Ứng dụng mẫu",
        "ungdung@demo.dvc.local",
        APP_SCOPES,
        journal=journal,
        policy=policy,
    )
    unit = "phạm vi " + " ".join(APP_SCOPES)
    return DemoAccount(
        "ứng dụng bên thứ ba (OAuth)", unit, registered.app.client_id, registered.client_secret
    )


def write_accounts_file(settings: Settings, accounts: list[DemoAccount]) -> Path:
    """`<DATA_DIR>/demo-accounts.txt` (mode 600): one line per account, in aligned columns
    separated by " | " — vai trò, đơn vị, tên đăng nhập, mật khẩu."""
    header = DemoAccount("# vai trò", "đơn vị", "tên đăng nhập", "mật khẩu")
    rows = [header, *accounts]
    widths = [max(len(getattr(r, f)) for r in rows) for f in ("label", "unit", "login")]
    lines = [
        "# Tài khoản mẫu, chỉ để thử (tắt bằng LOAD_DEMO_DATA=false). Đăng nhập: mutation signIn;",
        "# ứng dụng: POST /oauth/token (grant_type=client_credentials) với client_id và client_secret ở",
        "# hai cột cuối. Hướng dẫn: docs/tour.md (A five-minute tour).",
        *(
            " | ".join(
                [r.label.ljust(widths[0]), r.unit.ljust(widths[1]), r.login.ljust(widths[2]), r.secret]
            )
            for r in rows
        ),
    ]
    path = settings.data_dir / ACCOUNTS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_accounts_file(path: Path) -> dict[str, str]:
    """Login -> password (or client id -> secret), as the file lists them."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or " | " not in line:
            continue
        _label, _unit, login, secret = (part.strip() for part in line.split(" | "))
        found[login] = secret
    return found
