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
from dataclasses import dataclass
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
    agency = await session.scalar(select(Agency).where(Agency.code == agency_code))
    if agency is None:
        raise NotFound("cơ quan", agency_code)
    if not (actor.is_system_admin or actor.has_role(StaffRole.AGENCY_ADMIN, agency.id)):
        raise Forbidden("Chỉ quản trị hệ thống hoặc quản trị cơ quan được xuất hồ sơ lưu trữ.")
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
    manifest: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dvc-archive-") as tmp:
        path = Path(tmp) / "package.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as package:

            def put(name: str, data: bytes) -> None:
                package.writestr(name, data)
                manifest.append({"path": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})

            for d in dossiers:
                folder = d.code or str(d.id)
                procedure = await session.get_one(Procedure, d.procedure_id)
                version = await session.get_one(ProcedureVersion, d.procedure_version_id)
                put(f"{folder}/dossier.json", _json(_dossier_record(d, procedure, version)))
                events = await session.scalars(
                    select(DossierEvent).where(DossierEvent.dossier_id == d.id).order_by(DossierEvent.seq)
                )
                put(f"{folder}/trail.json", _json([_event_record(e) for e in events]))
                files = await session.execute(
                    select(DossierAttachment.kind, StoredFile)
                    .join(StoredFile, StoredFile.id == DossierAttachment.file_id)
                    .where(DossierAttachment.dossier_id == d.id, DossierAttachment.removed_at.is_(None))
                )
                for kind, stored in files.all():
                    stored.retain_until = date(now.year + retention_years, now.month, min(now.day, 28))
                    name = f"{folder}/files/{kind.value.lower()}-{stored.id.hex[:8]}-{stored.filename}"
                    digest = hashlib.sha256()
                    size = 0
                    with package.open(name, "w", force_zip64=True) as entry:
                        async for chunk in store.chunks(stored.object_key):
                            entry.write(chunk)
                            digest.update(chunk)
                            size += len(chunk)
                    manifest.append(
                        {"path": name, "size": size, "sha256": digest.hexdigest(), "recorded": stored.sha256}
                    )
                d.archived_at = now
            package.writestr(
                "manifest.json",
                _json(
                    {
                        "agency": agency.code,
                        "closedBefore": closed_before,
                        "createdAt": now,
                        "entries": manifest,
                    }
                ),
            )
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
