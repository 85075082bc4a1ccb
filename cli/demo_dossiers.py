"""The demo's dossier received anywhere in the province (Decree 118/2025; issue 16 item 4).

UBND Phường Nông Trang (H44.101), a commune's one-stop unit, receives a business registration
(2.001610, "Đăng ký thành lập doanh nghiệp tư nhân") whose competent agency is Sở Tài chính
(H44.43): the dossier's code carries Nông Trang's electronic id (000.01.01.H44-…), its appointment
is counted from its reception there, and its examination and approval steps go to Sở Tài chính —
where the demo's specialist (chuyenvien.taichinh@demo.dvc.local) finds it in the inbox, assigned.

It goes through the real acts (registration at the counter, reception). The README tour's own
dossier is received at Phường Việt Trì (H44.100), so its code stays …-0001.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from models.catalog import Procedure, ProcedureComponent
from models.dossiers import Channel, Dossier
from services.calendar import WorkingCalendar
from services.dossiers import acts, reception, submission, transition
from services.files import store_bytes
from storage.s3 import ObjectStore

RECEIVING_UNIT = "H44.101"  # UBND Phường Nông Trang
PROCEDURE = "2.001610"  # settled by Sở Tài chính (H44.43)
DEMO_RECEPTION = Actor(ActorKind.SYSTEM, name="demo", roles={StaffRole.RECEPTION_OFFICER: None})
SCAN = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
    b"endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
FORM = {
    "ten_doanh_nghiep": "Doanh nghiệp tư nhân Nông Trang Xanh",
    "dia_chi_tru_so": "Số 12 đường Hùng Vương, phường Nông Trang, tỉnh Phú Thọ",
    "nganh_nghe_chinh": "4711",
    "von": 500000000,
    "ho_ten_nguoi_dai_dien": "Trần Thị Hoa",
    "so_dinh_danh_nguoi_dai_dien": "025190000321",
}


async def receive_anywhere_demo(
    session: AsyncSession, store: ObjectStore, *, now: datetime, calendar: WorkingCalendar
) -> Dossier:
    """Register and receive the demo dossier (in `session`, not committed)."""
    procedure = await session.scalar(select(Procedure).where(Procedure.code == PROCEDURE))
    assert procedure is not None, "the demo catalog is loaded first"
    required = await session.scalars(
        select(ProcedureComponent.id)
        .where(
            ProcedureComponent.version_id == procedure.published_version_id,
            ProcedureComponent.required.is_(True),
        )
        .order_by(ProcedureComponent.position)
    )
    scan = await store_bytes(
        session,
        store,
        owner_id=None,
        filename="ban-quet.pdf",
        content_type="application/pdf",
        data=SCAN,
        now=now,
    )
    dossier = await submission.register_at_counter(
        session,
        DEMO_RECEPTION,
        procedure_code=PROCEDURE,
        agency_code=RECEIVING_UNIT,
        applicant=submission.Applicant(
            name="Trần Thị Hoa",
            id_number="025190000321",
            phone="0912345321",
            address="Phường Nông Trang, tỉnh Phú Thọ",
        ),
        form_data=FORM,
        components=[acts.ComponentFiles(c, (scan.id,)) for c in required],
        channel=Channel.COUNTER,
        now=now,
        calendar=calendar,
    )
    ctx = transition.ActContext(actor=DEMO_RECEPTION, now=now, calendar=calendar)
    return await reception.receive(session, dossier.id, ctx)
