"""The province of the benchmark data set: its agencies, procedures (with components, fees and a
three-step workflow), citizens and staff — the small tables, built in memory before the dossiers.
See bench/dataset.py."""

from __future__ import annotations

import bisect
import hashlib
import random
import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from auth.passwords import hash_password
from bench.dataset_rows import COLUMNS, END, START, Agency, Spec, Version, random_uuid
from services.text import fold

PASSWORD = "bench-password-1"

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = ["Văn", "Thị", "Hữu", "Minh", "Thanh", "Ngọc", "Đức", "Quốc", "Thu", "Hoài"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Giang", "Hà", "Hải", "Hùng", "Lan", "Linh", "Mai", "Nam", "Phúc"]
DEPARTMENTS = [
    "Tư pháp", "Xây dựng", "Nông nghiệp và Môi trường", "Tài chính", "Y tế", "Giáo dục và Đào tạo",
    "Công Thương", "Văn hoá, Thể thao và Du lịch", "Nội vụ", "Khoa học và Công nghệ", "Dân tộc và Tôn giáo",
    "Ngoại vụ", "Công an tỉnh", "Thanh tra tỉnh", "Văn phòng UBND tỉnh", "Ban Quản lý các khu công nghiệp",
    "Bảo hiểm xã hội tỉnh", "Thuế tỉnh", "Kho bạc Nhà nước khu vực",
]  # fmt: skip
ACTIONS_NAME = {"RECEPTION_OFFICER": "Tiếp nhận hồ sơ", "SPECIALIST": "Thẩm định", "LEADER": "Phê duyệt"}


def _name(rnd: random.Random) -> str:
    return f"{rnd.choice(SURNAMES)} {rnd.choice(MIDDLE)} {rnd.choice(GIVEN)}"


class Province:
    """The catalog, the organisation and the people: small tables, built in memory first."""

    def __init__(self, spec: Spec, rnd: random.Random) -> None:
        self.rnd = rnd
        self.rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COLUMNS}
        created = START - timedelta(days=30)
        self.created = created
        self.agencies: list[Agency] = []
        root = self._agency("T86", "Ủy ban nhân dân tỉnh", "province", None, one_stop=False)
        self.centre = self._agency(
            "T86-HCC", "Trung tâm Phục vụ hành chính công tỉnh", "province", root, one_stop=True
        )
        self.departments: list[Agency] = []
        for i, name in enumerate(DEPARTMENTS, start=1):
            dept = self._agency(f"S{i:02d}", f"Sở {name}", "province", root, one_stop=False)
            self.departments.append(dept)
            for j in range(1, 4):
                self._agency(f"S{i:02d}-P{j}", f"Phòng {j}, Sở {name}", "province", dept, one_stop=False)
        self.communes = [
            self._agency(f"X{i:03d}", f"Ủy ban nhân dân xã {i}", "commune", root, one_stop=True)
            for i in range(1, 200 - len(self.agencies) + 1)
        ]
        password_hash = hash_password(PASSWORD)
        self.password_hash = password_hash
        # Staff: two reception officers per one-stop unit; two specialists and a leader wherever
        # steps are handled (departments and communes).
        self.staff: list[tuple[uuid.UUID, Agency, str]] = []
        for agency in self.agencies:
            roles: list[str] = []
            if agency.one_stop:
                roles += ["RECEPTION_OFFICER"] * 2
            if agency in self.departments or agency.level == "commune":
                roles += ["SPECIALIST", "SPECIALIST", "LEADER"]
            for role in roles:
                login = f"{role.lower()}{len(self.staff)}.{agency.code.lower()}"
                account = self._account("STAFF", login, _name(rnd))
                agency.staff.setdefault(role, []).append(account)
                self.staff.append((account, agency, role))
                self.rows["staff_assignments"].append(
                    (random_uuid(rnd), account, agency.id, role, False, created, "bench")
                )
        self.citizens: list[tuple[uuid.UUID, str, str, str]] = []  # id, name, citizen id, phone
        for i in range(spec.citizens):
            name = _name(rnd)
            account = self._account("CITIZEN", f"cd{i}", name, phone=f"+849{i:08d}")
            citizen_id = f"086{i:09d}"
            self.rows["citizen_profiles"].append(
                (account, citizen_id, name, date(1950, 1, 1) + timedelta(days=rnd.randrange(20_000)), None)
            )
            self.citizens.append((account, name, citizen_id, f"+849{i:08d}"))
        self.field_ids: list[uuid.UUID] = []
        for i in range(40):
            fid = random_uuid(rnd)
            self.field_ids.append(fid)
            self.rows["fields"].append((fid, f"F{i:03d}", f"Lĩnh vực {i}", created, created))
        self.versions = [self._procedure(i) for i in range(spec.procedures)]
        weights = [1 / (rank + 8) ** 1.1 for rank in range(len(self.versions))]
        order = list(range(len(self.versions)))
        rnd.shuffle(order)
        self.popular = [self.versions[i] for i in order]
        self.cumulative: list[float] = []
        total = 0.0
        for w in weights:
            total += w
            self.cumulative.append(total)
        self.files: list[uuid.UUID] = []
        for i in range(spec.files):
            fid = random_uuid(rnd)
            self.files.append(fid)
            self.rows["stored_files"].append(
                (
                    fid, f"bench/{fid.hex}", f"giay-to-{i}.pdf", "application/pdf", 120_000 + i,
                    hashlib.sha256(str(i).encode()).hexdigest(), "READY", created, "CLEAN", created,
                )
            )  # fmt: skip

    def _agency(self, code: str, name: str, level: str, parent: Agency | None, *, one_stop: bool) -> Agency:
        agency = Agency(random_uuid(self.rnd), code, f"000.00.{len(self.agencies):02d}.H86", level, one_stop)
        self.agencies.append(agency)
        self.rows["agencies"].append(
            (
                agency.id, code, agency.electronic_id, name, name.lower(), level,
                parent.id if parent else None, one_stop, "0260 3 800 800", self.created, self.created,
            )
        )  # fmt: skip
        return agency

    def _account(self, kind: str, login: str, name: str, *, phone: str | None = None) -> uuid.UUID:
        account = random_uuid(self.rnd)
        created = self.created
        self.rows["accounts"].append(
            (
                account, kind, "ACTIVE", name, f"{login}@example.vn", phone, created, self.password_hash,
                0, END - timedelta(days=self.rnd.randrange(200)), 1, True, phone is not None, created, created,
            )
        )  # fmt: skip
        self.rows["vaults"].append((random_uuid(self.rnd), account, created))
        return account

    def _procedure(self, i: int) -> Version:
        rnd = self.rnd
        pid, vid = random_uuid(rnd), random_uuid(rnd)
        code = f"1.{10000 + i:06d}"
        provincial = rnd.random() < 0.6
        competent = rnd.choice(self.departments) if provincial else None
        level = "province" if provincial else "commune"
        mode = rnd.choices(["FULL", "PARTIAL", "NONE"], [40, 40, 20])[0]
        days = Decimal(rnd.choice([1, 3, 5, 7, 10, 15, 20, 30]))
        online_days = days - 1 if mode == "FULL" and days > 3 else None
        name = f"Thủ tục hành chính số {i}: cấp giấy phép {rnd.choice(DEPARTMENTS).lower()}"
        created = self.created
        self.rows["procedures"].append((pid, code, "PUBLISHED", vid, 1, created, created))
        self.rows["procedure_versions"].append(
            (
                vid, pid, 1, "PUBLISHED", name, fold(name), rnd.choice(self.field_ids),
                [level], competent.id if competent else None, "Nghị định 118/2025/NĐ-CP", mode, days, online_days,
                "Giấy phép", ["ONLINE", "COUNTER", "POST"], "{}", f"{i}/QĐ-UBND", created, created,
            )
        )  # fmt: skip
        components = []
        for position in range(1, 4):
            cid = random_uuid(rnd)
            components.append(cid)
            self.rows["procedure_components"].append(
                (cid, vid, position, f"Thành phần {position}", position < 3, "ORIGINAL", 1, ["application/pdf"], 10_000_000)
            )  # fmt: skip
        fee = rnd.choice([0, 0, 20_000, 50_000, 100_000, 500_000])
        online_fee = fee // 2
        if fee:
            self.rows["procedure_fees"].append(
                (random_uuid(rnd), vid, 1, "CHARGE", "Lệ phí", fee, online_fee)
            )
        steps: list[tuple[str, str, Decimal]] = [
            ("Tiếp nhận, chuyển hồ sơ", "RECEPTION_OFFICER", Decimal("0.5")),
            ("Thẩm định hồ sơ", "SPECIALIST", max(days - 1, Decimal("0.5"))),
            ("Phê duyệt, ký kết quả", "LEADER", Decimal("0.5")),
        ]
        for position, (step_name, role, share) in enumerate(steps, start=1):
            ref = "RECEIVING" if role == "RECEPTION_OFFICER" else "COMPETENT"
            self.rows["workflow_steps"].append(
                (random_uuid(rnd), vid, position, step_name, ref, None, role, share)
            )
        return Version(pid, vid, code, name, level, competent, mode, days, fee, online_fee, components, steps)

    def pick(self) -> Version:
        x = self.rnd.random() * self.cumulative[-1]
        return self.popular[min(bisect.bisect_left(self.cumulative, x), len(self.popular) - 1)]
