"""Archive export (Kon Tum art. 14–15; Decree 45/2020 art. 17): dossiers finished before the
retention start move to the archived state, and the agency's archive receives one package.

The package is a zip: per dossier `<code>/dossier.json` (the dossier as submitted and finished,
its procedure version, applicant as recorded), `<code>/trail.json` (the process control slip
with its hash chain), `<code>/files/<name>` (every attachment's bytes); and `manifest.json` listing
every entry with its SHA-256 and size, so the archive can check the package. It is written to a
temporary file chunk by chunk and stored as an ordinary (private) stored file. Archived dossiers'
files stay in the store and readable as before.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from auth.roles import StaffRole
from models.catalog import Agency, Procedure, ProcedureVersion
from models.dossiers import ArchiveExport, Dossier, DossierAttachment, DossierEvent, StoredFile
from services.dossiers.workflow import FINAL
from services.errors import Forbidden, NotFound, Refused
from services.files import store_file
from storage.s3 import ObjectStore


@dataclass(frozen=True)
class Exported:
    export: ArchiveExport
    file: StoredFile


def _dossier_record(d: Dossier, procedure: Procedure, version: ProcedureVersion) -> dict[str, Any]:
    return {
        "id": str(d.id),
        "code": d.code,
        "procedure": {"code": procedure.code, "version": version.version_no, "name": version.name},
        "applicant": {
            "name": d.applicant_name,
            "idNumber": d.applicant_id_number,
            "phone": d.applicant_phone,
            "email": d.applicant_email,
            "address": d.applicant_address,
        },
        "channel": d.channel.value,
        "status": d.status.value,
        "formData": d.form_data,
        "submittedAt": d.submitted_at,
        "receivedAt": d.received_at,
        "appointmentAt": d.appointment_at,
        "dueAt": d.due_at,
        "resultAt": d.result_at,
        "finishedAt": d.finished_at,
        "punctuality": d.punctuality.value if d.punctuality else None,
        "apologised": d.apologised,
        "trailHead": d.trail_head,
    }


def _event_record(e: DossierEvent) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": e.at,
        "action": e.action,
        "actor": e.actor_label,
        "role": e.actor_role,
        "fromStatus": e.from_status,
        "toStatus": e.to_status,
        "fromStep": e.from_step,
        "toStep": e.to_step,
        "comment": e.comment,
        "punctuality": e.punctuality,
        "data": e.data,
        "prevHash": e.prev_hash,
        "hash": e.hash,
    }


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str).encode()


async def export(
    session: AsyncSession,
    store: ObjectStore,
    actor: Actor,
    *,
    agency_code: str,
    closed_before: datetime,
    now: datetime,
    retention_years: int = 10,
) -> Exported:
    """Archive an agency's dossiers finished before `closed_before`: one package (the module
    docstring), stored as a private file of the caller; the dossiers are marked archived and their
    files kept for `retention_years`."""
    agency = await _agency_to_export(session, actor, agency_code)
    dossiers = await _dossiers_to_archive(session, agency, closed_before)
    retain_until = date(now.year + retention_years, now.month, min(now.day, 28))
    with tempfile.TemporaryDirectory(prefix="dvc-archive-") as tmp:
        path = Path(tmp) / "package.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zip_file:
            package = _Package(zip_file)
            for dossier in dossiers:
                await _add_dossier(session, store, package, dossier, retain_until=retain_until)
                dossier.archived_at = now
            package.write_manifest(agency=agency.code, closed_before=closed_before, created_at=now)
        stored = await store_file(
            session,
            store,
            owner_id=actor.id,
            filename=f"luu-tru-{agency.code}-{now:%Y%m%d}.zip",
            content_type="application/zip",
            path=path,
            now=now,
        )
    row = ArchiveExport(
        id=uuid.uuid4(),
        agency_id=agency.id,
        closed_before=closed_before,
        dossiers=len(dossiers),
        file_id=stored.id,
        created_at=now,
        created_by=actor.label,
    )
    session.add(row)
    await session.flush()
    return Exported(row, stored)


async def _agency_to_export(session: AsyncSession, actor: Actor, agency_code: str) -> Agency:
    """The agency, if the caller administers it (or the system)."""
    agency = await session.scalar(select(Agency).where(Agency.code == agency_code))
    if agency is None:
        raise NotFound("cơ quan", agency_code)
    if not (actor.is_system_admin or actor.has_role(StaffRole.AGENCY_ADMIN, agency.id)):
        raise Forbidden("Chỉ quản trị hệ thống hoặc quản trị cơ quan được xuất hồ sơ lưu trữ.")
    return agency


async def _dossiers_to_archive(
    session: AsyncSession, agency: Agency, closed_before: datetime
) -> list[Dossier]:
    """The agency's finished, not yet archived dossiers, locked (skipping those another export holds)."""
    dossiers = list(
        await session.scalars(
            select(Dossier)
            .where(
                Dossier.receiving_agency_id == agency.id,
                Dossier.status.in_(FINAL),
                Dossier.finished_at < closed_before,
                Dossier.archived_at.is_(None),
            )
            .order_by(Dossier.finished_at)
            .with_for_update(skip_locked=True)
        )
    )
    if not dossiers:
        raise Refused("NOTHING_TO_ARCHIVE", "Không có hồ sơ đã kết thúc nào cần lưu trữ trong kỳ này.")
    return dossiers


@dataclass
class _Package:
    """The zip being written, and the manifest of what went into it."""

    zip_file: zipfile.ZipFile
    manifest: list[dict[str, Any]] = field(default_factory=list)

    def put(self, name: str, data: bytes) -> None:
        self.zip_file.writestr(name, data)
        self.manifest.append({"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})

    async def put_stored(self, name: str, stored: StoredFile, store: ObjectStore) -> None:
        """A stored file's bytes, streamed chunk by chunk; the manifest also keeps its recorded digest."""
        digest = hashlib.sha256()
        size = 0
        with self.zip_file.open(name, "w", force_zip64=True) as entry:
            async for chunk in store.chunks(stored.object_key):
                entry.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        self.manifest.append(
            {"path": name, "size": size, "sha256": digest.hexdigest(), "recorded": stored.sha256}
        )

    def write_manifest(self, *, agency: str, closed_before: datetime, created_at: datetime) -> None:
        """Write `manifest.json` (not listed in itself)."""
        manifest = {
            "agency": agency,
            "closedBefore": closed_before,
            "createdAt": created_at,
            "entries": self.manifest,
        }
        self.zip_file.writestr("manifest.json", _json(manifest))


async def _add_dossier(
    session: AsyncSession, store: ObjectStore, package: _Package, dossier: Dossier, *, retain_until: date
) -> None:
    """A dossier's folder: its record, its trail and every attachment (kept until `retain_until`)."""
    folder = dossier.code or str(dossier.id)
    procedure = await session.get_one(Procedure, dossier.procedure_id)
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    package.put(f"{folder}/dossier.json", _json(_dossier_record(dossier, procedure, version)))
    events = await session.scalars(
        select(DossierEvent).where(DossierEvent.dossier_id == dossier.id).order_by(DossierEvent.seq)
    )
    package.put(f"{folder}/trail.json", _json([_event_record(e) for e in events]))
    files = await session.execute(
        select(DossierAttachment.kind, StoredFile)
        .join(StoredFile, StoredFile.id == DossierAttachment.file_id)
        .where(DossierAttachment.dossier_id == dossier.id, DossierAttachment.removed_at.is_(None))
    )
    for kind, stored in files.all():
        stored.retain_until = retain_until
        await package.put_stored(
            f"{folder}/files/{kind.value.lower()}-{stored.id.hex[:8]}-{stored.filename}", stored, store
        )
