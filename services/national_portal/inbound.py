"""Dossiers submitted on the national portal and handed to us (tiếp nhận hồ sơ từ Cổng Dịch vụ
công quốc gia): `POST /national-portal/dossiers`.

The request is signed like our own feed (`X-DVC-Timestamp`, `X-DVC-Signature: sha256=<HMAC of
"<timestamp>.<body>">` keyed with NATIONAL_PORTAL_SIGNING_SECRET) and must be fresh (within
NATIONAL_PORTAL_CLOCK_SKEW_SECONDS). Its body (docs/domain.md, "The national public service portal"):

    {"MaHoSoQG": "…", "MaTTHC": "1.001234", "MaCoQuan": "H44.99",
     "ChuHoSo": {"HoTen": "…", "LoaiDoiTuong": "CONG_DAN" | "TO_CHUC", "SoDinhDanh": "…",
                 "SoDienThoai": "…", "Email": "…", "DiaChi": "…"},
     "DuLieuToKhai": {…}, "HinhThucNhanKetQua": "ONLINE" | …,
     "ThanhPhanHoSo": [{"TenThanhPhan": "…",
                        "TepTin": [{"TenTep": "…", "LoaiTep": "application/pdf", "NoiDung": "<base64>"}]}]}

Files travel inline (base64), bounded (`MAX_FILE_BYTES` each, `MAX_FILES` in all) and go through
the same checks as a direct upload (`services.uploads.check_stored`: type read from the bytes,
malware scan); the dossier is then created by `submission.submit_from_portal`, the same checks as
an online submission. The portal's dossier id makes a retry harmless: the same request again
answers the same dossier; another request under the same id is a conflict.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from models.catalog import ProcedureComponent
from models.dossiers import Dossier, FileStatus, PortalSubmission, StoredFile
from services.calendar import WorkingCalendar
from services.dossiers import acts, eligibility, submission
from services.errors import DomainError, FieldIssue, Issues, ValidationFailed
from services.files import clean_filename, object_key
from services.national_portal.feed import CONSUMER_NAME
from services.outbox.signing import sign
from services.uploads import Scanner, check_stored
from storage.s3 import ObjectStore

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES = 20
MAX_BODY_BYTES = (MAX_FILE_BYTES * 4 // 3 + 4096) * 3  # base64 of a few files, and the rest
PORTAL = Actor(ActorKind.SYSTEM, name="Cổng Dịch vụ công quốc gia", client_id=CONSUMER_NAME)
PORTAL_ID = re.compile(r"^[A-Za-z0-9._-]{4,64}$")

# Our field names (the dossier commands' paths) → the portal's, for error answers.
FIELD_NAMES = {
    "procedureCode": "MaTTHC",
    "receivingAgencyCode": "MaCoQuan",
    "deliveryMethod": "HinhThucNhanKetQua",
    "formData": "DuLieuToKhai",
    "components": "ThanhPhanHoSo",
    "applicant": "ChuHoSo",
    "name": "HoTen",
    "fileIds": "TepTin",
}


class DuplicateSubmission(DomainError):
    """The portal's dossier id was used for a different request."""

    code = "DUPLICATE_PORTAL_DOSSIER"

    def __init__(self) -> None:
        super().__init__("Mã hồ sơ của Cổng đã được dùng cho một hồ sơ khác.")


def signature_valid(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: datetime, skew: int
) -> str | None:
    """None when the request is authentic and fresh; else the reason."""
    if not timestamp.isdigit():
        return "BAD_TIMESTAMP"
    if abs(int(now.timestamp()) - int(timestamp)) > skew:
        return "STALE"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        return "BAD_SIGNATURE"
    return None


@dataclass(frozen=True)
class PortalFile:
    component: int  # index in ThanhPhanHoSo
    index: int  # index in TepTin
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class PortalDossier:
    portal_id: str
    procedure_code: str
    agency_code: str
    applicant: submission.Applicant
    organisation: bool
    form_data: dict[str, Any]
    delivery_method: str | None
    components: tuple[str, ...]  # TenThanhPhan, by index
    files: tuple[PortalFile, ...]


def _text(
    document: dict[str, Any],
    key: str,
    issues: Issues,
    path: tuple[str | int, ...],
    *,
    required: bool = True,
    limit: int = 300,
) -> str | None:
    value = document.get(key)
    if value is None or value == "":
        if required:
            issues.add((*path, key), "REQUIRED", "Trường bắt buộc.")
        return None
    if not isinstance(value, str) or len(value) > limit:
        issues.add((*path, key), "BAD_FORMAT", f"Chuỗi ký tự, tối đa {limit} ký tự.")
        return None
    return value.strip()


def parse(document: Any) -> PortalDossier:
    """The request body, checked field by field (every problem at once, in the portal's names)."""
    issues = Issues()
    if not isinstance(document, dict):
        raise ValidationFailed([FieldIssue((), "BAD_FORMAT", "Nội dung phải là một đối tượng JSON.")])
    portal_id = _text(document, "MaHoSoQG", issues, (), limit=64)
    if portal_id is not None and not PORTAL_ID.match(portal_id):
        issues.add(("MaHoSoQG",), "BAD_FORMAT", "Mã hồ sơ gồm chữ, số, “.”, “_”, “-” (4–64 ký tự).")
    procedure_code = _text(document, "MaTTHC", issues, (), limit=40)
    agency_code = _text(document, "MaCoQuan", issues, (), limit=40)
    delivery = _text(document, "HinhThucNhanKetQua", issues, (), required=False, limit=16)
    form = document.get("DuLieuToKhai", {})
    if not isinstance(form, dict):
        issues.add(("DuLieuToKhai",), "BAD_FORMAT", "Dữ liệu tờ khai phải là một đối tượng JSON.")
        form = {}
    applicant, organisation = _owner(document, issues)
    names, files = _parts(document, issues)
    if len(files) > MAX_FILES:
        issues.add(("ThanhPhanHoSo",), "TOO_MANY_FILES", f"Tối đa {MAX_FILES} tệp cho một hồ sơ.")
    issues.raise_if_any()
    assert portal_id is not None
    assert procedure_code is not None
    assert agency_code is not None
    return PortalDossier(
        portal_id=portal_id,
        procedure_code=procedure_code,
        agency_code=agency_code,
        applicant=applicant,
        organisation=organisation,
        form_data=form,
        delivery_method=delivery,
        components=tuple(names),
        files=tuple(files),
    )


def _owner(document: dict[str, Any], issues: Issues) -> tuple[submission.Applicant, bool]:
    """ChuHoSo: the applicant, and whether it is an organisation (TO_CHUC)."""
    owner = document.get("ChuHoSo")
    if not isinstance(owner, dict):
        issues.add(("ChuHoSo",), "REQUIRED", "Thiếu thông tin chủ hồ sơ.")
        return submission.Applicant(name=""), False
    kind = owner.get("LoaiDoiTuong", "CONG_DAN")
    if kind not in ("CONG_DAN", "TO_CHUC"):
        issues.add(("ChuHoSo", "LoaiDoiTuong"), "BAD_FORMAT", "Loại đối tượng là CONG_DAN hoặc TO_CHUC.")
    organisation = kind == "TO_CHUC"
    id_number = _text(owner, "SoDinhDanh", issues, ("ChuHoSo",), required=False, limit=14)
    pattern = r"^\d{10}(\d{3})?$" if organisation else r"^\d{12}$"
    if id_number is not None and not re.match(pattern, id_number):
        issues.add(
            ("ChuHoSo", "SoDinhDanh"),
            "BAD_FORMAT",
            "Mã số thuế gồm 10 hoặc 13 chữ số." if organisation else "Số định danh cá nhân gồm 12 chữ số.",
        )
    applicant = submission.Applicant(
        name=_text(owner, "HoTen", issues, ("ChuHoSo",)) or "",
        id_number=id_number,
        phone=_text(owner, "SoDienThoai", issues, ("ChuHoSo",), required=False, limit=20),
        email=_text(owner, "Email", issues, ("ChuHoSo",), required=False, limit=320),
        address=_text(owner, "DiaChi", issues, ("ChuHoSo",), required=False, limit=500),
    )
    return applicant, organisation


def _parts(document: dict[str, Any], issues: Issues) -> tuple[list[str], list[PortalFile]]:
    """ThanhPhanHoSo: each component's name (TenThanhPhan, by index) and every file given."""
    names: list[str] = []
    files: list[PortalFile] = []
    parts = document.get("ThanhPhanHoSo", [])
    if not isinstance(parts, list):
        issues.add(("ThanhPhanHoSo",), "BAD_FORMAT", "Thành phần hồ sơ phải là một danh sách.")
        parts = []
    for i, part in enumerate(parts):
        if not isinstance(part, dict):
            issues.add(("ThanhPhanHoSo", i), "BAD_FORMAT", "Thành phần hồ sơ không hợp lệ.")
            names.append("")
            continue
        names.append(_text(part, "TenThanhPhan", issues, ("ThanhPhanHoSo", i), limit=1000) or "")
        attached = part.get("TepTin", [])
        if not isinstance(attached, list) or not attached:
            issues.add(("ThanhPhanHoSo", i, "TepTin"), "REQUIRED", "Thành phần hồ sơ cần ít nhất một tệp.")
            continue
        for j, item in enumerate(attached):
            found = _file(item, i, j, issues)
            if found is not None:
                files.append(found)
    return names, files


def _file(item: Any, component: int, index: int, issues: Issues) -> PortalFile | None:
    """One TepTin entry: its name, type and base64 content (bounded); None when unusable."""
    path: tuple[str | int, ...] = ("ThanhPhanHoSo", component, "TepTin", index)
    if not isinstance(item, dict):
        issues.add(path, "BAD_FORMAT", "Tệp không hợp lệ.")
        return None
    filename = _text(item, "TenTep", issues, path, limit=255)
    content_type = _text(item, "LoaiTep", issues, path, limit=100)
    raw = item.get("NoiDung")
    data = b""
    if not isinstance(raw, str) or not raw:
        issues.add((*path, "NoiDung"), "REQUIRED", "Thiếu nội dung tệp (base64).")
    elif len(raw) > (MAX_FILE_BYTES * 4) // 3 + 4:
        issues.add((*path, "NoiDung"), "TOO_LARGE", "Mỗi tệp tối đa 10 MB.")
    else:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            issues.add((*path, "NoiDung"), "BAD_FORMAT", "Nội dung tệp không phải base64 hợp lệ.")
    name = clean_filename(filename) if filename else None
    if filename and name is None:
        issues.add((*path, "TenTep"), "BAD_FORMAT", "Tên tệp không hợp lệ.")
    if name and content_type and data:
        return PortalFile(component, index, name, content_type, data)
    return None


def portal_path(path: tuple[str | int, ...]) -> str:
    """`("components", 0, "fileIds", 1)` → `ThanhPhanHoSo.0.TepTin.1` (field paths of answers)."""
    return ".".join(str(FIELD_NAMES.get(p, p)) if isinstance(p, str) else str(p) for p in path)


@dataclass(frozen=True)
class Accepted:
    dossier: Dossier
    created: bool  # False: a retry of a request already applied


async def accept(
    session: AsyncSession,
    store: ObjectStore,
    scanner: Scanner | None,
    request: PortalDossier,
    request_hash: str,
    *,
    now: datetime,
    calendar: WorkingCalendar,
    anywhere: bool = True,
) -> Accepted:
    """Create the dossier once per portal dossier id (`anywhere`: RECEPTION_ANYWHERE_IN_PROVINCE).
    Never commits; on failure the caller rolls back, and the bytes stored so far are removed here."""
    earlier = await _claim(session, request, request_hash, now)
    if earlier is not None:
        return earlier
    by_name = await _components_by_name(session, request)
    account_id = await submission.applicant_account(
        session, request.applicant.id_number, organisation=request.organisation
    )
    stored: list[StoredFile] = []
    try:
        await _store_files(session, store, scanner, request, account_id, stored, now=now)
        components = tuple(
            acts.ComponentFiles(
                by_name[name].id,
                tuple(row.id for f, row in zip(request.files, stored, strict=True) if f.component == i),
            )
            for i, name in enumerate(request.components)
        )
        dossier = await submission.submit_from_portal(
            session,
            PORTAL,
            procedure_code=request.procedure_code,
            agency_code=request.agency_code,
            applicant=request.applicant,
            account_id=account_id,
            form_data=request.form_data,
            components=components,
            delivery_method=request.delivery_method,
            portal_dossier_id=request.portal_id,
            now=now,
            calendar=calendar,
            anywhere=anywhere,
        )
    except BaseException:
        for row in stored:
            await store.remove(row.object_key)
        raise
    portal_submission = await session.get_one(PortalSubmission, request.portal_id)
    portal_submission.dossier_id = dossier.id
    await session.flush()
    return Accepted(dossier, created=True)


async def _claim(
    session: AsyncSession, request: PortalDossier, request_hash: str, now: datetime
) -> Accepted | None:
    """None: the portal dossier id is ours now. Else the dossier an identical earlier request made
    (a different request under the same id is a `DuplicateSubmission`)."""
    claimed = await session.scalar(
        insert(PortalSubmission)
        .values(
            portal_dossier_id=request.portal_id, dossier_id=None, request_hash=request_hash, received_at=now
        )
        .on_conflict_do_nothing()
        .returning(PortalSubmission.portal_dossier_id)
    )
    if claimed is not None:
        return None
    earlier = await session.get_one(PortalSubmission, request.portal_id, populate_existing=True)
    if earlier.request_hash != request_hash or earlier.dossier_id is None:
        raise DuplicateSubmission
    return Accepted(await session.get_one(Dossier, earlier.dossier_id), created=False)


async def _components_by_name(session: AsyncSession, request: PortalDossier) -> dict[str, ProcedureComponent]:
    """The published procedure's components by name; every TenThanhPhan must be one of them."""
    _, version = await eligibility.published(session, request.procedure_code)
    by_name = {
        c.name: c
        for c in await session.scalars(
            select(ProcedureComponent).where(ProcedureComponent.version_id == version.id)
        )
    }
    issues = Issues()
    for i, name in enumerate(request.components):
        if name not in by_name:
            issues.add(
                ("ThanhPhanHoSo", i, "TenThanhPhan"), "UNKNOWN", "Thành phần hồ sơ không thuộc thủ tục này."
            )
    issues.raise_if_any()
    return by_name


async def _store_files(  # noqa: PLR0917 — the request's parts, in the order accept holds them
    session: AsyncSession,
    store: ObjectStore,
    scanner: Scanner | None,
    request: PortalDossier,
    account_id: uuid.UUID | None,
    stored: list[StoredFile],
    *,
    now: datetime,
) -> None:
    """Each file stored and checked like a direct upload (type from the bytes, malware scan),
    appended to `stored` as soon as its bytes are in the store (so the caller can remove them)."""
    issues = Issues()
    for f in request.files:
        file_id = uuid.uuid4()
        row = StoredFile(
            id=file_id,
            owner_account_id=account_id,
            object_key=object_key(file_id, now),
            filename=f.filename,
            content_type=f.content_type,
            size=len(f.data),
            sha256=hashlib.sha256(f.data).hexdigest(),
            status=FileStatus.QUARANTINED,
            created_at=now,
        )
        await store.put_bytes(row.object_key, f.data, f.content_type)
        stored.append(row)
        session.add(row)
        await session.flush()
        await check_stored(session, store, scanner, row, source=row.object_key, now=now)
        if row.status is not FileStatus.READY:
            issues.add(
                ("ThanhPhanHoSo", f.component, "TepTin", f.index),
                "FILE_REJECTED",
                row.rejection or "Tệp bị từ chối.",
            )
    issues.raise_if_any()
