"""A realistic province, fast: the data set the lookup, inbox and submission benchmarks run on.

One province after the 2025 reform (no district level): 200 agencies in a tree (the provincial
people's committee, the public administration service centre, 19 departments with their
sub-units, 122 communes that are their own one-stop units), about 1,500 published procedures
with components, fees and a three-step workflow, 100,000 citizens (with profiles and vaults;
one precomputed argon2 hash for all — hashing 100,000 passwords would take longer than the
rest), about 600 staff with their assignments, and N dossiers over three years with their
process-control trail, steps, components (rows sharing a few stored files), results and online
payments, in realistic proportions: most finished (mostly early or on time, some late), some in
progress (a share overdue), a few waiting for a supplement; online, at the counter, by post and
through the national portal.

Everything comes from one `random.Random(seed)`: the same seed gives the same rows. The trail is
hash-chained exactly as `services.dossiers.trail` does it (computed here in COPY order), so
`check_trail` passes on any dossier. Rows are written with COPY (asyncpg
`copy_records_to_table`) with triggers off for the loading session (`session_replication_role
= replica`: neither the statistics triggers nor the foreign-key checks run per row; the
generator keeps the references right itself), then `dossier_facts` is filled once by the
rebuild the statistics use (`services.statistics.facts.rebuild`).

Run: `python -m bench.dataset --dossiers 1000000 --seed 1` (an embedded PostgreSQL in
`var/bench/postgres`, kept for the other benchmarks) or `--database-url postgresql://…`.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import hashlib
import json
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg

from auth.passwords import hash_password

END = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
START = END - timedelta(days=3 * 365)
LOCAL = timedelta(hours=7)  # Asia/Ho_Chi_Minh, no daylight saving
GENESIS = "0" * 64
PASSWORD = "bench-password-1"
BATCH = 10_000  # dossiers per COPY round


def pg_dsn(url: str) -> str:
    """asyncpg wants `postgresql://`; accept the SQLAlchemy spelling too."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@dataclass(frozen=True)
class Spec:
    dossiers: int = 1_000_000
    seed: int = 1
    procedures: int = 1_500
    citizens: int = 100_000
    files: int = 40


@dataclass
class Agency:
    id: uuid.UUID
    code: str
    electronic_id: str
    level: str
    one_stop: bool
    staff: dict[str, list[uuid.UUID]] = field(default_factory=dict)


@dataclass
class Version:
    procedure_id: uuid.UUID
    id: uuid.UUID
    code: str
    name: str
    level: str
    competent: Agency | None
    online_mode: str
    days: Decimal
    fee: int
    online_fee: int
    components: list[uuid.UUID]
    steps: list[tuple[str, str, Decimal]]  # (name, role, days)


@dataclass(frozen=True)
class Loaded:
    dossiers: int
    rows: int
    seconds: float
    codes: list[str]  # a sample of issued codes, for lookups


def _uuid(rnd: random.Random, at: datetime | None = None) -> uuid.UUID:
    """Time-ordered (UUIDv7 layout) when `at` is given: the indexes grow at their right edge."""
    bits = rnd.getrandbits(128)
    if at is None:
        return uuid.UUID(int=bits, version=4)
    ms = int(at.timestamp() * 1000)
    value = (ms << 80) | (0x7 << 76) | ((bits >> 64) & 0xFFF) << 64 | (0b10 << 62) | (bits & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def event_hash(body: dict[str, Any]) -> str:
    """`services.dossiers.trail.event_hash`, from the fields directly (the test proves they agree)."""
    encoded = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def _working_days(start: datetime, days: Decimal) -> datetime:
    # Working days to calendar time, roughly (5 of 7 days; holidays ignored for the data set).
    return start + timedelta(days=float(days) * 1.4)


COLUMNS: dict[str, list[str]] = {
    "agencies": [
        "id", "code", "electronic_id", "name", "search_text", "level_code", "parent_id",
        "is_one_stop_unit", "support_phone", "created_at", "updated_at",
    ],
    "fields": ["id", "code", "name", "created_at", "updated_at"],
    "procedures": ["id", "code", "status", "published_version_id", "revision", "created_at", "updated_at"],
    "procedure_versions": [
        "id", "procedure_id", "version_no", "state", "name", "search_text", "field_id", "levels",
        "competent_agency_id", "legal_basis", "online_mode", "processing_days", "online_processing_days",
        "result_name", "delivery_methods", "form_schema", "decision_number", "created_at", "published_at",
    ],
    "procedure_components": [
        "id", "version_id", "position", "name", "required", "copy_type", "count", "accepted_formats",
        "max_size_bytes",
    ],
    "procedure_fees": ["id", "version_id", "position", "kind", "name", "amount", "online_amount"],
    "workflow_steps": ["id", "version_id", "position", "name", "agency_ref", "agency_id", "role", "days"],
    "accounts": [
        "id", "kind", "status", "display_name", "email", "phone", "email_verified_at", "password_hash",
        "failed_sign_ins", "last_sign_in_at", "token_version", "notify_email", "notify_sms", "created_at",
        "updated_at",
    ],
    "citizen_profiles": ["account_id", "citizen_id", "full_name", "birth_date", "address"],
    "vaults": ["id", "account_id", "created_at"],
    "staff_assignments": ["id", "account_id", "agency_id", "role", "include_sub_agencies", "created_at", "created_by"],
    "stored_files": [
        "id", "object_key", "filename", "content_type", "size", "sha256", "status", "created_at",
        "scan_verdict", "checked_at",
    ],
    "dossiers": [
        "id", "code", "procedure_id", "procedure_version_id", "applicant_account_id", "applicant_name",
        "applicant_id_number", "applicant_phone", "channel", "receiving_agency_id", "status",
        "payment_status", "delivery_status", "sync_status", "delivery_method", "submitted_at",
        "counts_from", "received_at", "received_by", "appointment_at", "due_at", "paused_at",
        "apologised", "completion_requested", "current_step", "result_at", "finished_at", "punctuality",
        "lookup_secret", "version", "trail_head", "created_at", "updated_at",
    ],
    "dossier_events": [
        "dossier_id", "at", "action", "actor_id", "actor_label", "actor_role", "agency_id", "from_status",
        "to_status", "from_step", "to_step", "comment", "punctuality", "data", "prev_hash", "hash",
    ],
    "dossier_steps": [
        "id", "dossier_id", "position", "name", "agency_id", "role", "days", "assignee_id", "started_at",
        "due_at", "finished_at", "punctuality",
    ],
    "dossier_attachments": ["id", "dossier_id", "component_id", "kind", "file_id", "added_at", "added_by"],
    "payments": [
        "id", "dossier_id", "gateway", "merchant", "txn_ref", "amount", "state", "created_at", "expires_at",
        "settled_at", "paid_at", "transaction_no", "bank_code", "response_code",
    ],
    "dossier_code_counters": ["agency_id", "day", "last"],
}  # fmt: skip

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
                    (_uuid(rnd), account, agency.id, role, False, created, "bench")
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
            fid = _uuid(rnd)
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
            fid = _uuid(rnd)
            self.files.append(fid)
            self.rows["stored_files"].append(
                (
                    fid, f"bench/{fid.hex}", f"giay-to-{i}.pdf", "application/pdf", 120_000 + i,
                    hashlib.sha256(str(i).encode()).hexdigest(), "READY", created, "CLEAN", created,
                )
            )  # fmt: skip

    def _agency(self, code: str, name: str, level: str, parent: Agency | None, *, one_stop: bool) -> Agency:
        agency = Agency(_uuid(self.rnd), code, f"000.00.{len(self.agencies):02d}.H86", level, one_stop)
        self.agencies.append(agency)
        self.rows["agencies"].append(
            (
                agency.id, code, agency.electronic_id, name, name.lower(), level,
                parent.id if parent else None, one_stop, "0260 3 800 800", self.created, self.created,
            )
        )  # fmt: skip
        return agency

    def _account(self, kind: str, login: str, name: str, *, phone: str | None = None) -> uuid.UUID:
        account = _uuid(self.rnd)
        created = self.created
        self.rows["accounts"].append(
            (
                account, kind, "ACTIVE", name, f"{login}@example.vn", phone, created, self.password_hash,
                0, END - timedelta(days=self.rnd.randrange(200)), 1, True, phone is not None, created, created,
            )
        )  # fmt: skip
        self.rows["vaults"].append((_uuid(self.rnd), account, created))
        return account

    def _procedure(self, i: int) -> Version:
        rnd = self.rnd
        pid, vid = _uuid(rnd), _uuid(rnd)
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
                vid, pid, 1, "PUBLISHED", name, f"{code} thu tuc hanh chinh so {i}", rnd.choice(self.field_ids),
                [level], competent.id if competent else None, "Nghị định 118/2025/NĐ-CP", mode, days, online_days,
                "Giấy phép", ["ONLINE", "COUNTER", "POST"], "{}", f"{i}/QĐ-UBND", created, created,
            )
        )  # fmt: skip
        components = []
        for position in range(1, 4):
            cid = _uuid(rnd)
            components.append(cid)
            self.rows["procedure_components"].append(
                (cid, vid, position, f"Thành phần {position}", position < 3, "ORIGINAL", 1, ["application/pdf"], 10_000_000)
            )  # fmt: skip
        fee = rnd.choice([0, 0, 20_000, 50_000, 100_000, 500_000])
        online_fee = fee // 2
        if fee:
            self.rows["procedure_fees"].append((_uuid(rnd), vid, 1, "CHARGE", "Lệ phí", fee, online_fee))
        steps: list[tuple[str, str, Decimal]] = [
            ("Tiếp nhận, chuyển hồ sơ", "RECEPTION_OFFICER", Decimal("0.5")),
            ("Thẩm định hồ sơ", "SPECIALIST", max(days - 1, Decimal("0.5"))),
            ("Phê duyệt, ký kết quả", "LEADER", Decimal("0.5")),
        ]
        for position, (step_name, role, share) in enumerate(steps, start=1):
            ref = "RECEIVING" if role == "RECEPTION_OFFICER" else "COMPETENT"
            self.rows["workflow_steps"].append((_uuid(rnd), vid, position, step_name, ref, None, role, share))
        return Version(pid, vid, code, name, level, competent, mode, days, fee, online_fee, components, steps)

    def pick(self) -> Version:
        x = self.rnd.random() * self.cumulative[-1]
        return self.popular[min(bisect.bisect_left(self.cumulative, x), len(self.popular) - 1)]


class Dossiers:
    """Dossier after dossier in submission order, each with its whole history."""

    def __init__(self, province: Province, spec: Spec) -> None:
        self.p = province
        self.rnd = province.rnd
        self.spec = spec
        self.counters: dict[tuple[uuid.UUID, date], int] = {}
        self.codes: list[str] = []
        self.span = (END - START).total_seconds()

    def batches(self) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
        rows: dict[str, list[tuple[Any, ...]]] = {
            t: [] for t in ("dossiers", "dossier_events", "dossier_steps", "dossier_attachments", "payments")
        }
        for i in range(self.spec.dossiers):
            self._one(i, rows)
            if (i + 1) % BATCH == 0:
                yield rows
                rows = {t: [] for t in rows}
        if rows["dossiers"]:
            yield rows

    def _one(self, i: int, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        rnd, p = self.rnd, self.p
        submitted = START + timedelta(seconds=int((i + rnd.random()) * self.span / self.spec.dossiers))
        v = p.pick()
        if v.online_mode == "NONE":
            channel = "COUNTER" if rnd.random() < 0.95 else "POST"
        else:
            channel = rnd.choices(["ONLINE", "COUNTER", "NATIONAL_PORTAL", "POST"], [68, 27, 3, 2])[0]
        online = channel in ("ONLINE", "NATIONAL_PORTAL")
        unit = p.centre if v.level == "province" else rnd.choice(p.communes)
        handler = v.competent or unit
        applicant_id, name, id_number, phone = rnd.choice(p.citizens)
        account = applicant_id if online or rnd.random() < 0.5 else None
        dossier_id = _uuid(rnd, submitted)
        received = submitted + timedelta(seconds=rnd.randrange(1800, 30 * 3600)) if online else submitted
        reception = rnd.choice(unit.staff["RECEPTION_OFFICER"])
        specialist = rnd.choice(handler.staff["SPECIALIST"])
        leader = handler.staff["LEADER"][0]
        days = v.days - 1 if online and v.days > 3 and v.online_mode == "FULL" else v.days
        due = _working_days(received, days)
        fee = v.online_fee if online else v.fee
        payment_status = "NOT_REQUIRED" if not fee else "UNPAID"
        delivery_method = "ONLINE" if online and rnd.random() < 0.5 else "COUNTER"
        # The story: how it ends, and how far it got by END.
        punctuality = rnd.choices(["EARLY", "ON_TIME", "LATE"], [55, 35, 10])[0]
        factor = {
            "EARLY": rnd.uniform(0.3, 0.95),
            "ON_TIME": rnd.uniform(0.95, 1.0),
            "LATE": rnd.uniform(1.0, 1.8),
        }
        result_at = received + (due - received) * factor[punctuality]
        ending = rnd.choices(["APPROVE", "REFUSE", "WITHDRAW"], [97, 2, 1])[0]
        returned = result_at + timedelta(seconds=rnd.randrange(600, 3 * 86400))
        step_ends = [received + (result_at - received) * f for f in (0.08, 0.85, 1.0)]
        status = "CLOSED"
        if received > END:
            status = "SUBMITTED"
        elif returned > END:
            status = "RESULT_READY" if result_at <= END else "IN_PROGRESS"
        current = 3
        if status == "IN_PROGRESS":
            current = 1 + sum(1 for t in step_ends[:2] if t <= END)
        paused = status == "IN_PROGRESS" and current == 2 and rnd.random() < 0.1
        if paused:
            status = "SUPPLEMENT_REQUESTED"
        if status == "RESULT_READY" and ending == "REFUSE":
            status = "REFUSED"
        if ending == "WITHDRAW" and status == "CLOSED":
            status = "WITHDRAWN"
        # The trail, chained.
        events = rows["dossier_events"]
        head = GENESIS
        count = 0

        def event(  # noqa: PLR0917 — one line of the trail, positionally like its columns
            at: datetime, action: str, actor: uuid.UUID | None, label: str, role: str | None,
            agency: Agency | None, from_status: str | None, to_status: str, from_step: int | None,
            to_step: int | None, punct: str | None = None, data: dict[str, Any] | None = None,
        ) -> None:  # fmt: skip
            nonlocal head, count
            body = {
                "dossier": str(dossier_id), "at": at.isoformat(), "action": action, "actor": label,
                "role": role, "agency": str(agency.id) if agency else None, "from": from_status,
                "to": to_status, "fromStep": from_step, "toStep": to_step, "comment": None,
                "punctuality": punct, "data": data or {}, "prev": head,
            }  # fmt: skip
            digest = event_hash(body)
            events.append(
                (
                    dossier_id, at, action, actor, label, role, agency.id if agency else None, from_status,
                    to_status, from_step, to_step, None, punct, json.dumps(data or {}), head, digest,
                )
            )  # fmt: skip
            head = digest
            count += 1

        by_applicant = f"Công dân {name}"
        event(submitted, "SUBMIT", account, by_applicant, None, None, "DRAFT", "SUBMITTED", None, None)
        code = None
        steps = rows["dossier_steps"]
        attachments = rows["dossier_attachments"]
        for position, comp in enumerate(v.components[:2]):
            attachments.append(
                (_uuid(rnd, submitted), dossier_id, comp, "COMPONENT", p.files[(i + position) % len(p.files)],
                 submitted, by_applicant)
            )  # fmt: skip
        if fee and online and rnd.random() < 0.85:
            paid = submitted + timedelta(seconds=rnd.randrange(60, 1700))
            if paid <= END:
                payment_status = "PAID"
                txn = f"B{i:09d}"
                rows["payments"].append(
                    (
                        _uuid(rnd, paid), dossier_id, "vnpay", "DVC86", txn, fee, "PAID", paid - timedelta(minutes=1),
                        paid + timedelta(minutes=14), paid, paid, f"{14000000 + i}", "NCB", "00",
                    )
                )  # fmt: skip
                event(
                    paid,
                    "PAY",
                    None,
                    "Cổng thanh toán",
                    None,
                    None,
                    "SUBMITTED",
                    "SUBMITTED",
                    None,
                    None,
                    data={"amount": fee, "txnRef": txn},
                )
        elif fee and not online and status != "SUBMITTED":
            payment_status = "PAID"  # paid in cash at the counter
        if status != "SUBMITTED":
            local = received + LOCAL
            key = (unit.id, local.date())
            number = self.counters.get(key, 0) + 1
            self.counters[key] = number
            code = f"{unit.electronic_id}-{local:%y%m%d}-{number:04d}"
            if i % 97 == 0:
                self.codes.append(code)
            label = f"Cán bộ Một cửa {unit.code}"
            event(
                received,
                "RECEIVE",
                reception,
                label,
                "RECEPTION_OFFICER",
                unit,
                "SUBMITTED",
                "IN_PROGRESS",
                None,
                1,
            )
            holders = [(reception, unit), (specialist, handler), (leader, handler)]
            started = received
            elapsed = Decimal(0)
            for position, (step_name, role, share) in enumerate(v.steps, start=1):
                elapsed += share
                step_due = _working_days(received, min(elapsed, days))
                holder, agency = holders[position - 1]
                ended: datetime | None = step_ends[position - 1]
                if position > current or (
                    position == current and status in ("IN_PROGRESS", "SUPPLEMENT_REQUESTED")
                ):
                    ended = None
                begun = started if position <= current else None
                step_punct = None
                if ended is not None:
                    step_punct = "LATE" if ended > step_due else "ON_TIME"
                steps.append(
                    (_uuid(rnd, received), dossier_id, position, step_name, agency.id, role, str(share),
                     holder if begun else None, begun, step_due, ended, step_punct)
                )  # fmt: skip
                if ended is not None and position < 3:
                    event(
                        ended,
                        "FORWARD",
                        holder,
                        f"{role} {agency.code}",
                        role,
                        agency,
                        "IN_PROGRESS",
                        "IN_PROGRESS",
                        position,
                        position + 1,
                    )
                    started = ended
            if paused:
                event(
                    step_ends[0] + (step_ends[1] - step_ends[0]) / 3,
                    "REQUEST_SUPPLEMENT",
                    specialist,
                    f"SPECIALIST {handler.code}",
                    "SPECIALIST",
                    handler,
                    "IN_PROGRESS",
                    "SUPPLEMENT_REQUESTED",
                    2,
                    2,
                )
        finished = status in ("CLOSED", "WITHDRAWN")
        if status in ("RESULT_READY", "REFUSED", "CLOSED"):
            act = "REFUSE" if ending == "REFUSE" else "APPROVE"
            to = "REFUSED" if act == "REFUSE" else "RESULT_READY"
            event(
                result_at,
                act,
                leader,
                f"LEADER {handler.code}",
                "LEADER",
                handler,
                "IN_PROGRESS",
                to,
                3,
                3,
                punctuality,
            )
            if delivery_method == "ONLINE":
                attachments.append(
                    (_uuid(rnd, result_at), dossier_id, None, "RESULT", p.files[i % len(p.files)], result_at,
                     f"LEADER {handler.code}")
                )  # fmt: skip
            if status == "CLOSED":
                event(returned, "RETURN", reception, f"Cán bộ Một cửa {unit.code}", "RECEPTION_OFFICER", unit,
                      to, "CLOSED", 3, 3)  # fmt: skip
        elif status == "WITHDRAWN":
            returned = step_ends[2] + timedelta(minutes=1)
            event(returned, "WITHDRAW", account, by_applicant, None, None, "IN_PROGRESS", "WITHDRAWN", 3, 3)
        rows["dossiers"].append(
            (
                dossier_id, code, v.procedure_id, v.id, account, name, id_number, phone, channel, unit.id, status,
                payment_status, "DELIVERED" if finished else "AWAITING_PICKUP" if status == "RESULT_READY" else "NOT_READY",
                "SYNCED", delivery_method, submitted, received if code else None, received if code else None,
                reception if code else None, due if code else None, due if code else None,
                step_ends[0] + (step_ends[1] - step_ends[0]) / 3 if paused else None, False, False,
                current if code else None, result_at if status in ("RESULT_READY", "REFUSED", "CLOSED") else None,
                returned if finished else None,
                punctuality if status == "CLOSED" else None, f"{rnd.getrandbits(128):032x}",
                count, head, submitted, returned if finished else submitted,
            )
        )  # fmt: skip


async def _copy(conn: asyncpg.Connection, rows: dict[str, list[tuple[Any, ...]]]) -> int:
    written = 0
    for table, records in rows.items():
        if records:
            await conn.copy_records_to_table(table, records=records, columns=COLUMNS[table])
            written += len(records)
    return written


async def load(dsn: str, spec: Spec, *, echo: bool = True) -> Loaded:
    """Fill an empty, migrated database. Triggers and FK checks are off for this session only."""
    from core.db import make_engine, make_session_factory
    from services.statistics.facts import rebuild

    started = time.perf_counter()
    rnd = random.Random(spec.seed)
    conn = await asyncpg.connect(pg_dsn(dsn))
    rows_written = 0
    try:
        if await conn.fetchval("SELECT count(*) FROM dossiers"):
            raise SystemExit("the database already holds dossiers: load into an empty one")
        await conn.execute(
            "SET session_replication_role = replica; SET synchronous_commit = off; SET statement_timeout = 0"
        )
        province = Province(spec, rnd)
        async with conn.transaction():
            rows_written += await _copy(conn, province.rows)
        gen = Dossiers(province, spec)
        done = 0
        # Generate the next batch in a thread while PostgreSQL takes in the current one.
        loop = asyncio.get_running_loop()
        batches = gen.batches()
        with ThreadPoolExecutor(1) as pool:
            pending = loop.run_in_executor(pool, next, batches, None)
            while (batch := await pending) is not None:
                pending = loop.run_in_executor(pool, next, batches, None)
                async with conn.transaction():
                    rows_written += await _copy(conn, batch)
                done += len(batch["dossiers"])
                if echo and done % 100_000 == 0:
                    print(
                        f"  {done:,} dossiers, {rows_written:,} rows, {time.perf_counter() - started:.0f} s",
                        flush=True,
                    )
        counters = [(agency, day, last) for (agency, day), last in gen.counters.items()]
        rows_written += await _copy(conn, {"dossier_code_counters": counters})
        await conn.execute("SET session_replication_role = DEFAULT")
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    if echo:
        print(
            f"  rows written in {time.perf_counter() - started:.0f} s; rebuilding dossier_facts", flush=True
        )
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = make_engine(url, pool_size=1)
    try:
        async with make_session_factory(engine)() as session:
            from sqlalchemy import text

            await session.execute(text("SET LOCAL statement_timeout = 0"))
            rebuilt = await rebuild(session)
            await session.commit()
            await session.execute(text("ANALYZE dossier_facts"))
            await session.commit()
    finally:
        await engine.dispose()
    return Loaded(spec.dossiers, rows_written + rebuilt.rows, time.perf_counter() - started, gen.codes)


def sample_codes(codes: Sequence[str], n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    return [rnd.choice(codes) for _ in range(n)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="a migrated, empty database (default: an embedded one)")
    parser.add_argument(
        "--data-dir", default="var/bench", help="where the embedded PostgreSQL keeps its data"
    )
    args = parser.parse_args(argv)
    spec = Spec(dossiers=args.dossiers, seed=args.seed)
    if args.database_url:
        loaded = asyncio.run(load(args.database_url, spec))
    else:
        from core import migrate
        from devservers import EmbeddedServices

        with EmbeddedServices(Path(args.data_dir), s3=False) as servers:
            assert servers.postgres is not None
            migrate.upgrade(servers.postgres.database_url)
            loaded = asyncio.run(load(servers.postgres.dsn, spec))
    print(f"{loaded.dossiers:,} dossiers, {loaded.rows:,} rows in {loaded.seconds:.0f} s (seed {args.seed})")


if __name__ == "__main__":
    main()
