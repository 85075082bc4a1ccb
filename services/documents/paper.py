"""Convert an electronic document to paper, and verify a paper by its code (Decree 45/2020 art. 18;
Kon Tum art. 15).

`convert` reads the document's bytes from the object store, checks them against the checksum the
upload was verified with, and prints them with the conversion marking and a QR on every page
(`services.documents.conversion`); the paper is stored and the conversion recorded under a
verification code. Anyone holding the paper can check it through `verify`, which discloses no
personal data.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from models.catalog import Agency
from models.dossiers import Dossier, DossierAttachment, FileStatus, PaperConversion, StoredFile
from services.documents.conversion import DEFAULT_MARK, Marking, NotPrintable, paper_of
from services.errors import NotFound, Refused
from services.files import store_bytes
from services.vault import download_basis
from storage.s3 import ObjectStore

NOT_READY = "Tệp chưa sẵn sàng để chuyển đổi sang bản giấy."


def _agency_of(actor: Actor) -> uuid.UUID | None:
    for role in (StaffRole.RECEPTION_OFFICER, StaffRole.SPECIALIST, StaffRole.LEADER):
        agencies = actor.agencies_with(role)
        if agencies:
            return sorted(agencies)[0]
    return None


async def _description(session: AsyncSession, source: StoredFile) -> str:
    dossier_code = await session.scalar(
        select(Dossier.code)
        .join(DossierAttachment, DossierAttachment.dossier_id == Dossier.id)
        .where(DossierAttachment.file_id == source.id)
        .limit(1)
    )
    return f"Tệp “{source.filename}” ({source.size} byte, {source.content_type})" + (
        f", thuộc hồ sơ {dossier_code}" if dossier_code else ""
    )


async def convert(
    session: AsyncSession,
    store: ObjectStore,
    actor: Actor,
    file_id: uuid.UUID,
    *,
    now: datetime,
    zone: ZoneInfo,
    base_url: str,
    system_name: str,
    mark: str = DEFAULT_MARK,
) -> tuple[PaperConversion, StoredFile]:
    """Print an electronic document the caller may read — its pages or its image — with the
    marking (`mark`, the system `system_name`, who, when, the original's checksum) and the
    verification QR on every page. Refused NOT_READY for a file not checked or whose stored bytes
    no longer match, NOT_PRINTABLE for a file that is not a readable PDF or a JPEG/PNG image."""
    source = await session.get(StoredFile, file_id)
    if source is None or await download_basis(session, actor, source, now=now) is None:
        raise NotFound("tệp", str(file_id))
    if source.status is not FileStatus.READY:  # not yet checked, rejected, or its bytes changed
        raise Refused("NOT_READY", NOT_READY)
    data = await store.get_bytes(source.object_key)
    if hashlib.sha256(data).hexdigest() != source.sha256.lower():
        raise Refused("NOT_READY", NOT_READY)  # changed in the store since it was checked
    code = secrets.token_hex(6).upper()
    who = actor.name or actor.label
    if actor.kind is ActorKind.STAFF:
        who = f"{who} ({actor.label})"
    url = f"{base_url.rstrip('/')}/xac-minh/{code}"
    marking = Marking(
        mark=mark,
        source_system=system_name,
        converted_by=who,
        converted_at=now,
        source_description=await _description(session, source),
        checksum_sha256=source.sha256,
        verification_code=code,
        verification_url=url,
    )
    try:  # drawing and merging pages is CPU work: off the event loop
        pdf = await asyncio.to_thread(paper_of, data, marking, zone=zone)
    except NotPrintable as error:
        raise Refused(error.code, error.message) from error
    output = await store_bytes(
        session,
        store,
        owner_id=actor.id if actor.is_person else None,
        filename=f"ban-chuyen-doi-{code}.pdf",
        content_type="application/pdf",
        data=pdf,
        now=now,
    )
    row = PaperConversion(
        verification_code=code,
        source_file_id=source.id,
        source_checksum=source.sha256,
        title=source.filename,
        converted_by=who,
        converted_by_agency_id=_agency_of(actor),
        converted_at=now,
        output_file_id=output.id,
    )
    session.add(row)
    await session.flush()
    return row, output


async def verify(session: AsyncSession, code: str) -> tuple[PaperConversion, str | None] | None:
    """The conversion behind a paper's code, and the issuing agency's name (no personal data)."""
    row = await session.scalar(
        select(PaperConversion).where(PaperConversion.verification_code == code.strip().upper())
    )
    if row is None:
        return None
    agency = await session.get(Agency, row.converted_by_agency_id) if row.converted_by_agency_id else None
    return row, agency.name if agency else None
