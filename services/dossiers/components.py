"""A dossier's components (thành phần hồ sơ): attaching the given files to them, and the automatic
completeness check at submission (Decree 45/2020 art. 11).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.catalog import ProcedureComponent, ProcedureVersion
from models.dossiers import AttachmentKind, Dossier, DossierAttachment, FileStatus, StoredFile
from services.dossiers.acts import ComponentFiles
from services.errors import Issues
from services.vault import vault_file_ids


async def attach(
    session: AsyncSession,
    dossier: Dossier,
    version: ProcedureVersion,
    components: Sequence[ComponentFiles],
    *,
    actor: Actor,
    owner_id: uuid.UUID | None,
    now: datetime,
    kind: AttachmentKind = AttachmentKind.COMPONENT,
) -> None:
    """Attach stored files to components; files must be ready and the caller's own (staff may
    attach files they uploaded at the counter)."""
    known = {
        c.id: c
        for c in await session.scalars(
            select(ProcedureComponent).where(ProcedureComponent.version_id == version.id)
        )
    }
    wanted = [f for c in components for f in c.file_ids]
    files = {f.id: f for f in await session.scalars(select(StoredFile).where(StoredFile.id.in_(wanted)))}
    # Documents of the applicant's vault are reused as they are, without uploading again.
    from_vault = await vault_file_ids(session, owner_id, wanted)
    mine = {f.id for f in files.values() if f.owner_account_id in (owner_id, actor.id) or f.id in from_vault}
    _check_files(components, known, files, mine).raise_if_any()
    for comp in components:
        for file_id in comp.file_ids:
            session.add(
                DossierAttachment(
                    dossier_id=dossier.id,
                    component_id=comp.component_id,
                    kind=kind,
                    file_id=file_id,
                    added_at=now,
                    added_by=actor.label,
                )
            )


def _check_files(
    components: Sequence[ComponentFiles],
    known: dict[uuid.UUID, ProcedureComponent],
    files: dict[uuid.UUID, StoredFile],
    mine: set[uuid.UUID],
) -> Issues:
    """Each component belongs to the procedure; each file is the caller's, ready, of an accepted
    format and size."""
    issues = Issues()
    for i, comp in enumerate(components):
        definition = known.get(comp.component_id)
        if definition is None:
            issues.add(
                ("components", i, "componentId"), "UNKNOWN", "Thành phần hồ sơ không thuộc thủ tục này."
            )
            continue
        for j, file_id in enumerate(comp.file_ids):
            stored = files.get(file_id)
            path = ("components", i, "fileIds", j)
            if stored is None or stored.id not in mine:
                issues.add(path, "UNKNOWN", "Không tìm thấy tệp.")
            elif stored.status is not FileStatus.READY:
                issues.add(path, "NOT_READY", "Tệp chưa được kiểm tra xong hoặc đã bị từ chối.")
            elif stored.content_type not in definition.accepted_formats:
                issues.add(
                    path,
                    "FORMAT",
                    f"Định dạng {stored.content_type} không được chấp nhận cho thành phần này.",
                )
            elif stored.size > definition.max_size_bytes:
                issues.add(path, "TOO_LARGE", "Tệp vượt dung lượng cho phép.")
    return issues


async def check_complete(session: AsyncSession, dossier: Dossier, version: ProcedureVersion) -> None:
    """The automatic check at submission (Decree 45/2020 art. 11): the e-form is valid and every
    required component has a file."""
    issues = Issues()
    _check_form(issues, version, dossier)
    required = list(
        await session.scalars(
            select(ProcedureComponent)
            .where(ProcedureComponent.version_id == version.id, ProcedureComponent.required.is_(True))
            .order_by(ProcedureComponent.position)
        )
    )
    attached = set(
        await session.scalars(
            select(DossierAttachment.component_id).where(
                DossierAttachment.dossier_id == dossier.id, DossierAttachment.removed_at.is_(None)
            )
        )
    )
    for component in required:
        if component.id not in attached:
            issues.add(
                ("components", str(component.id)),
                "MISSING_COMPONENT",
                f"Thiếu thành phần hồ sơ: {component.name}.",
            )
    issues.raise_if_any()


def _check_form(issues: Issues, version: ProcedureVersion, dossier: Dossier) -> None:
    """The e-form (tờ khai) against the procedure's JSON Schema, every problem at its field."""
    validator = Draft202012Validator(version.form_schema, format_checker=FormatChecker())
    for error in sorted(validator.iter_errors(dossier.form_data), key=lambda e: list(e.absolute_path)):
        path = ("formData", *[str(p) for p in error.absolute_path])
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = next((r for r in error.validator_value if r not in error.instance), None)
            if missing is not None:
                path = (*path, str(missing))
            issues.add(path, "REQUIRED", "Trường bắt buộc của tờ khai chưa được điền.")
        else:
            issues.add(path, f"FORM_{str(error.validator).upper()}", f"Tờ khai chưa hợp lệ: {error.message}")
