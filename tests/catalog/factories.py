"""Plain factories with fixed defaults for catalog inputs."""

from __future__ import annotations

from typing import Any

PROCEDURE_FIELDS = """
  id code status version versionState revision name processingDays onlineProcessingDays
  onlineMode deliveryMethods resultName legalBasis formSchema
  field { code name } levels { code }
  competentAgency { code } receivingAgencies { code }
  fees { kind name amount onlineAmount }
  components { position name required copyType count acceptedFormats maxSizeBytes }
  workflow { position name agencyRef role days agency { code } }
  decision { number date }
  versions { version state decision { number } }
  availableActions
"""

ERRORS = """
  ... on UserError { __typename message code field }
  ... on ValidationFailed { errors { field code message } }
"""
TRANSITION_ERRORS = ERRORS + "  ... on InvalidTransition { status action }\n"


def procedure_input(code: str = "9.999001", **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": code,
        "name": "Thủ tục cấp giấy phép thử nghiệm",
        "fieldCode": "HOTICH",
        "levels": ["province"],
        "onlineMode": "FULL",
        "processingDays": 5,
        "onlineProcessingDays": 4,
        "resultName": "Giấy phép",
        "deliveryMethods": ["ONLINE", "POST"],
        "competentAgencyCode": "H44.19",
        "receivingAgencyCodes": ["H44.99"],
        "legalBasis": "Nghị định 61/2018/NĐ-CP",
        "fees": [{"kind": "CHARGE", "name": "Lệ phí cấp phép", "amount": 100000, "onlineAmount": 50000}],
        "components": [
            {"name": "Tờ khai theo mẫu", "required": True, "copyType": "ORIGINAL"},
            {"name": "Bản sao giấy tờ tùy thân", "required": False, "copyType": "COPY", "maxSizeMb": 5},
        ],
        "workflow": [
            {"name": "Tiếp nhận", "agencyRef": "RECEIVING", "role": "RECEPTION_OFFICER", "days": 0.5},
            {"name": "Thẩm định", "agencyRef": "COMPETENT", "role": "SPECIALIST", "days": 3},
            {
                "name": "Lấy ý kiến thuế",
                "agencyRef": "AGENCY",
                "agencyCode": "H44.96",
                "role": "SPECIALIST",
                "days": 1,
            },
            {"name": "Phê duyệt", "agencyRef": "COMPETENT", "role": "LEADER", "days": 0.5},
        ],
        "formSchema": {
            "type": "object",
            "properties": {"hoTen": {"type": "string", "title": "Họ và tên"}},
            "required": ["hoTen"],
        },
    }
    data.update(overrides)
    return data


CREATE = """
mutation($input: ProcedureInput!) {
  procedureCreate(input: $input) {
    __typename
    ... on ProcedureSaved { procedure { %s } }
    %s
  }
}""" % (PROCEDURE_FIELDS, ERRORS)

PUBLISH = """
mutation($code: String!, $number: String!, $date: Date!, $rev: Int) {
  procedurePublish(code: $code, decision: {number: $number, date: $date}, expectedRevision: $rev) {
    __typename
    ... on ProcedurePublished { procedure { %s } }
    %s
  }
}""" % (PROCEDURE_FIELDS, TRANSITION_ERRORS)

AMEND = """
mutation($code: String!, $input: ProcedureInput!, $rev: Int) {
  procedureAmend(code: $code, input: $input, expectedRevision: $rev) {
    __typename
    ... on ProcedureSaved { procedure { %s } }
    %s
  }
}""" % (PROCEDURE_FIELDS, TRANSITION_ERRORS)
