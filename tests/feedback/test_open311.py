"""Open311 GeoReport v2: a civic app lists services, files a feedback with its app token and
follows it; nothing personal is shown before (or after) the answer is published."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Agency
from models.feedback import Inquiry, InquiryChannel
from tests.accounts.test_apps import app_token, registered_app
from tests.documented import assert_documented
from tests.feedback.test_inquiries import ANSWER, FORWARD, REVIEW, people, run

BASE = "/open311/v2"
REPORT = {
    "service_code": "XAYDUNG",
    "description": "Công trình xây dựng lấn chiếm vỉa hè tại số 12 đường Hùng Vương, gọi 0912345678.",
    "first_name": "Lê",
    "last_name": "Minh",
    "email": "minh@example.vn",
    "lat": "21.3227",
    "long": "105.4019",
    "address_string": "Số 12 đường Hùng Vương, phường Việt Trì",
}


async def test_services_and_discovery_in_json_and_xml(client: httpx.AsyncClient) -> None:
    services = await client.get(f"{BASE}/services.json")
    assert services.status_code == 200
    codes = [s["service_code"] for s in services.json()]
    assert codes[0] == "CHUNG"
    assert "HOTICH" in codes
    assert all(s["metadata"] is False and s["type"] == "realtime" for s in services.json())
    xml = await client.get(f"{BASE}/services.xml")
    assert xml.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "services"
    assert [n.findtext("service_code") for n in root.findall("service")] == codes
    discovery = (await client.get(f"{BASE}/discovery.json")).json()
    assert discovery["endpoints"][0]["url"].endswith("/open311/v2")
    assert (await client.get(f"{BASE}/nothing.json")).status_code == 404
    assert (await client.get(f"{BASE}/services.csv")).status_code == 404


async def test_an_app_files_a_feedback_and_follows_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    # Without the scope (403), or without a valid token (401), nothing is filed.
    no_scope_id, no_scope_secret = await registered_app(client, scopes=["catalog:read"])
    no_scope = await app_token(client, no_scope_id, no_scope_secret)
    refused = await client.post(f"{BASE}/requests.json", data={**REPORT, "api_key": no_scope})
    assert refused.status_code == 403
    assert refused.json()[0]["code"] == 403
    anonymous = await client.post(f"{BASE}/requests.json", data=REPORT)
    assert anonymous.status_code == 401
    forged = await client.post(f"{BASE}/requests.json", data={**REPORT, "api_key": "not-a-token"})
    assert forged.status_code == 401
    assert not list(await session.scalars(select(Inquiry)))

    client_id, secret = await registered_app(client, scopes=["feedback:submit"])
    token = await app_token(client, client_id, secret)
    unknown = await client.post(
        f"{BASE}/requests.json", data={**REPORT, "service_code": "KHONG", "api_key": token}
    )
    assert unknown.status_code == 404
    incomplete = await client.post(
        f"{BASE}/requests.json", data={"service_code": "XAYDUNG", "description": "ngắn", "api_key": token}
    )
    assert incomplete.status_code == 400
    problem = incomplete.json()[0]["description"]
    assert "description" in problem
    assert "first_name" in problem
    assert "email" in problem

    filed = await client.post(
        f"{BASE}/requests.json", data=REPORT, headers={"Authorization": f"Bearer {token}"}
    )
    assert filed.status_code == 201, filed.text
    assert_documented("open311-created", filed.json())
    code = filed.json()[0]["service_request_id"]
    assert code.startswith("PA-")
    row = await session.scalar(select(Inquiry).where(Inquiry.code == code))
    assert row is not None
    assert row.channel is InquiryChannel.OPEN311
    assert row.app_client_id == client_id
    assert row.submitter_name == "Lê Minh"
    # `address_string` is where it happened, not the person's address.
    assert (row.location_address, row.submitter_address) == ("Số 12 đường Hùng Vương, phường Việt Trì", None)

    # Open, and nothing of its text or place is public yet.
    listed = (await client.get(f"{BASE}/requests.json", params={"status": "open"})).json()
    assert [r["service_request_id"] for r in listed] == [code]
    assert listed[0]["description"] is None
    assert listed[0]["lat"] is None
    assert listed[0]["address"] is None
    assert_documented("open311-request", listed)
    assert listed[0]["service_code"] == "XAYDUNG"
    assert (await client.get(f"{BASE}/requests.json", params={"status": "closed"})).json() == []
    assert (await client.get(f"{BASE}/requests.json", params={"status": "maybe"})).status_code == 400

    # Routed, answered and published: closed, with the redacted text, the answer and the place.
    staff = await people(session)
    await run(client, FORWARD, staff["focal"], id=str(row.id), a="H44.44")
    builder = await _builder(session)
    # The agency's published contacts (services/redaction.py spares them).
    await session.execute(
        update(Agency)
        .where(Agency.code == "H44.44")
        .values(email="sxd@phutho.gov.vn", support_phone="0210 3811 222")
    )
    await session.commit()
    answered = await run(
        client,
        ANSWER,
        builder,
        id=str(row.id),
        t="Đã kiểm tra, yêu cầu chủ công trình tháo dỡ phần lấn chiếm. Ông Lê Minh (0912345678, "
        "minh@example.vn) có thể gọi đường dây nóng 02103811222 hoặc viết sxd@phutho.gov.vn.",
    )
    assert answered["__typename"] == "InquiryChanged", answered
    await run(client, REVIEW, staff["focal"], id=str(row.id), p=True)
    published = (await client.get(f"{BASE}/requests/{code}.json")).json()
    assert_documented("open311-request", published)
    one = published[0]
    assert one["status"] == "closed"
    assert one["status_notes"].startswith("Đã kiểm tra")
    assert "0912345678" not in one["description"]
    assert "[đã ẩn]" in one["description"]
    assert one["lat"] == 21.3227
    assert one["address"] == "Số 12 đường Hùng Vương, phường Việt Trì"
    # The citizen's data is masked; the agency's hotline and e-mail stay.
    assert one["status_notes"].endswith(
        "Ông [đã ẩn] ([đã ẩn], [đã ẩn]) có thể gọi đường dây nóng 02103811222 hoặc viết sxd@phutho.gov.vn."
    )
    xml = await client.get(f"{BASE}/requests/{code}.xml")
    assert ET.fromstring(xml.content).findtext("request/status") == "closed"
    assert (await client.get(f"{BASE}/requests/PA-NOTHING.json")).status_code == 404


async def _builder(session: AsyncSession) -> str:
    from tests.accounts.helpers import make_staff
    from tests.dossiers.helpers import long_token

    account_id, _ = await make_staff(session, "xaydung@phutho.gov.vn", ("SPECIALIST", "H44.44", False))
    await session.commit()
    return long_token(account_id)
