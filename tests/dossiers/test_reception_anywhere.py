"""Reception anywhere in the province (Decree 118/2025; issue 16 item 4): a one-stop unit receives a
dossier of a procedure settled elsewhere in the province and routes it to the competent agency; the
code and the appointment follow the receiving unit."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from core.settings import Settings
from models.catalog import Agency, Procedure, ProcedureComponent, ProcedureVersion
from models.dossiers import Channel
from services.dossiers import submission
from services.dossiers.acts import ComponentFiles
from services.errors import ValidationFailed
from storage.s3 import ObjectStore
from tests.accounts.helpers import make_staff, token_for
from tests.conftest import CALENDAR, NOW, gql
from tests.dossiers.helpers import act, long_token, upload

REGISTER = """mutation($p: String!, $at: String!, $c: [ComponentFilesInput!]!, $f: JSON!, $to: String) {
  r: dossierRegisterAtCounter(procedureCode: $p, receivingAgencyCode: $at, competentAgencyCode: $to,
    applicant: {name: "Nguyễn Văn An", idNumber: "025190000009"}, formData: $f, components: $c) {
    __typename
    ... on DossierChanged { dossier { id version competentAgency { code } receivingAgency { code } } }
    ... on ValidationFailed { errors { field code message } } } }"""
FORMS: dict[str, dict[str, Any]] = {
    "2.001610": {
        "ten_doanh_nghiep": "Doanh nghiệp tư nhân An Phát",
        "dia_chi_tru_so": "Số 1 đường Hùng Vương, phường Việt Trì",
        "nganh_nghe_chinh": "4711",
        "von": 100000000,
        "ho_ten_nguoi_dai_dien": "Nguyễn Văn An",
        "so_dinh_danh_nguoi_dai_dien": "025190000009",
    },
    "2.000815": {
        "ho_ten_nguoi_yeu_cau": "Nguyễn Văn An",
        "so_dinh_danh_nguoi_yeu_cau": "025190000009",
        "ten_giay_to": "Bằng tốt nghiệp trung học phổ thông",
        "so_trang": 1,
        "so_ban_sao": 2,
    },
    "1.010041": {
        "ho_ten": "Nguyễn Văn An",
        "ngay_sinh": "1990-01-01",
        "so_dinh_danh": "025190000009",
        "noi_dung_xac_nhan": "Quá trình cư trú",
    },
}
DOSSIER = """query($id: ID!) { dossier(id: $id) { code appointmentAt competentAgency { code }
  receivingAgency { code electronicId } steps { position role agency { code } } } }"""


async def _parts(
    session: AsyncSession, store: ObjectStore, officer: uuid.UUID, code: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A scan for every required component and a valid e-form of the procedure in force."""
    procedure = await session.scalar(select(Procedure).where(Procedure.code == code))
    assert procedure is not None
    version = await session.get_one(ProcedureVersion, procedure.published_version_id)
    required = await session.scalars(
        select(ProcedureComponent).where(
            ProcedureComponent.version_id == version.id, ProcedureComponent.required
        )
    )
    parts = [{"componentId": str(c.id), "fileIds": [await upload(session, store, officer)]} for c in required]
    return parts, FORMS[code]


async def _register(
    client: httpx.AsyncClient,
    session: AsyncSession,
    store: ObjectStore,
    officer: tuple[uuid.UUID, str],
    procedure: str,
    at: str,
    to: str | None = None,
) -> dict[str, Any]:
    parts, form = await _parts(session, store, officer[0], procedure)
    variables = {"p": procedure, "at": at, "c": parts, "f": form, "to": to}
    result: dict[str, Any] = (await gql(client, REGISTER, variables, token=officer[1]))["data"]["r"]
    return result


async def _officer(session: AsyncSession, unit: str) -> tuple[uuid.UUID, str]:
    account, _ = await make_staff(session, f"motcua.{unit}@phutho.gov.vn", ("RECEPTION_OFFICER", unit, False))
    return account, long_token(account)


async def test_decree_118_2025_a_commune_centre_receives_a_provincial_procedure_and_routes_it(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    """Decree 118/2025: reception at a commune's centre regardless of administrative boundary; the
    dossier goes to the competent agency (Sở Tài chính for a business registration), its code carries
    the receiving unit's electronic id, and the receiving unit keeps the reception and return steps."""
    officer = await _officer(session, "H44.100")
    made = await _register(client, session, store, officer, "2.001610", "H44.100")
    assert made["__typename"] == "DossierChanged", made
    dossier = made["dossier"]
    assert dossier["receivingAgency"] == {"code": "H44.100"}
    assert dossier["competentAgency"] == {"code": "H44.43"}
    received = await act(
        client, officer[1], "dossierReceive", "expectedVersion: $v", id=dossier["id"], v=dossier["version"]
    )
    assert received["__typename"] == "DossierChanged", received
    specialist_id, _ = await make_staff(
        session, "chuyenvien.stc@phutho.gov.vn", ("SPECIALIST", "H44.43", False)
    )
    # The competent agency's specialist reads the dossier routed to them.
    seen = (await gql(client, DOSSIER, {"id": dossier["id"]}, token=long_token(specialist_id)))["data"][
        "dossier"
    ]
    assert seen["code"].startswith("000.01.00.H44-")  # UBND Phường Việt Trì's electronic id
    assert [(s["role"], s["agency"]["code"]) for s in seen["steps"]] == [
        ("RECEPTION_OFFICER", "H44.100"),
        ("SPECIALIST", "H44.43"),
        ("LEADER", "H44.43"),
        ("RECEPTION_OFFICER", "H44.100"),
    ]


async def test_decree_118_2025_a_commune_centre_receives_for_another_commune(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    """Decree 118/2025: a commune-level procedure (no competent agency named: each commune settles its
    own) received at Phường Việt Trì for Phường Nông Trang goes to Nông Trang's COMPETENT steps; the
    code and the appointment are Việt Trì's."""
    officer = await _officer(session, "H44.100")
    made = await _register(client, session, store, officer, "2.000815", "H44.100", to="H44.101")
    assert made["dossier"]["competentAgency"] == {"code": "H44.101"}
    received = await act(
        client,
        officer[1],
        "dossierReceive",
        "expectedVersion: $v",
        id=made["dossier"]["id"],
        v=made["dossier"]["version"],
    )
    steps = received["dossier"]["steps"]
    assert [s["agency"]["code"] for s in steps] == ["H44.100", "H44.101", "H44.100"]
    assert received["dossier"]["code"].startswith("000.01.00.H44-")
    # Without a choice, a commune serving the procedure itself settles it, as before.
    own = await _register(client, session, store, officer, "2.000815", "H44.100")
    assert own["dossier"]["competentAgency"] == {"code": "H44.100"}


async def test_decree_118_2025_routing_needs_a_competent_agency_that_settles_the_procedure(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    """Decree 118/2025 routes a dossier to the competent agency: when the receiving unit does not
    settle the procedure and it names none, the officer chooses one — among those that settle it."""
    centre = await _officer(session, "H44.99")
    missing = await _register(client, session, store, centre, "1.010041", "H44.99")
    assert [(e["field"], e["code"]) for e in missing["errors"]] == [(["competentAgencyCode"], "REQUIRED")]
    chosen = await _register(client, session, store, centre, "1.010041", "H44.99", to="H44.102")
    assert chosen["dossier"]["competentAgency"] == {"code": "H44.102"}
    wrong = await _register(client, session, store, centre, "2.000815", "H44.99", to="H44.43")
    assert [(e["field"], e["code"]) for e in wrong["errors"]] == [(["competentAgencyCode"], "NOT_COMPETENT")]
    named = await _register(client, session, store, centre, "2.001610", "H44.99", to="H44.19")
    assert [(e["field"], e["code"]) for e in named["errors"]] == [(["competentAgencyCode"], "NOT_COMPETENT")]


async def test_reception_anywhere_is_a_province_policy_on_by_default(
    session: AsyncSession, store: ObjectStore
) -> None:
    """RECEPTION_ANYWHERE_IN_PROVINCE (default on, as Decree 118/2025 says): off, only the units a
    procedure lists — or, none listed, those at its levels — receive it (the pre-2025 rule)."""
    assert Settings.model_fields["reception_anywhere_in_province"].default is True
    commune = await session.scalar(select(Agency).where(Agency.code == "H44.100"))
    assert commune is not None
    officer = Actor(
        ActorKind.STAFF, id=uuid.uuid4(), roles={StaffRole.RECEPTION_OFFICER: frozenset({commune.id})}
    )
    procedure = await session.scalar(select(Procedure).where(Procedure.code == "2.001610"))
    assert procedure is not None
    required = await session.scalars(
        select(ProcedureComponent).where(
            ProcedureComponent.version_id == procedure.published_version_id, ProcedureComponent.required
        )
    )
    parts = [ComponentFiles(c.id, (uuid.UUID(await upload(session, store, None)),)) for c in required]
    with pytest.raises(ValidationFailed) as refused:
        await submission.register_at_counter(
            session,
            officer,
            procedure_code="2.001610",
            agency_code="H44.100",
            applicant=submission.Applicant("Nguyễn Văn An"),
            form_data={},
            components=parts,
            channel=Channel.COUNTER,
            now=NOW,
            calendar=CALENDAR,
            anywhere=False,
        )
    assert [(i.path, i.code) for i in refused.value.issues] == [(("receivingAgencyCode",), "NOT_RECEIVING")]


DRAFT = """mutation($input: DossierDraftInput!) { r: dossierSaveDraft(input: $input) {
  __typename
  ... on DossierChanged { dossier { id version competentAgency { code } receivingAgency { code } } }
  ... on ValidationFailed { errors { field code } } } }"""


async def test_decree_118_2025_an_online_dossier_names_its_competent_agency_on_the_draft(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    """Decree 118/2025: online too, the applicant submits to a one-stop unit of their choice in the
    province and the dossier is routed to the competent agency named on the draft."""
    citizen = await token_for(client, session)
    citizen_id = uuid.UUID((await gql(client, "{ me { id } }", token=citizen))["data"]["me"]["id"])
    parts, form = await _parts(session, store, citizen_id, "1.010041")
    draft = {
        "procedureCode": "1.010041",
        "receivingAgencyCode": "H44.99",
        "formData": form,
        "components": parts,
    }
    missing = (await gql(client, DRAFT, {"input": draft}, token=citizen))["data"]["r"]
    assert missing["errors"] == [{"field": ["competentAgencyCode"], "code": "REQUIRED"}]
    routed = await gql(client, DRAFT, {"input": {**draft, "competentAgencyCode": "H44.100"}}, token=citizen)
    dossier = routed["data"]["r"]["dossier"]
    assert (dossier["receivingAgency"], dossier["competentAgency"]) == (
        {"code": "H44.99"},
        {"code": "H44.100"},
    )
