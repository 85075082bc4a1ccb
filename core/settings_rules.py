"""The province's own rules among the settings (one installation serves one province): its name
and local time, its calendar, how it judges on time, its late-dossier letters, where feedback goes,
how long archives are kept, the legal map's choices. Each is documented in docs/configuration.md;
where the law is silent or our reading unverified, the default says what we chose (docs/domain.md,
"The rules at a glance")."""

from __future__ import annotations

import re
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"  # the province's local time unless TIMEZONE says otherwise
DEFAULT_PROVINCE = "Phú Thọ"  # the demo's province (seed/demo_catalog.json)


def system_name(province: str) -> str:
    """The service's name as citizens read it — pages' footers, issued documents, messages:
    «… tỉnh Phú Thọ»; a name given with its kind («thành phố Hà Nội», «tỉnh …») is kept as is."""
    kind = "" if province.lower().startswith(("tỉnh ", "thành phố ")) else "tỉnh "
    return f"Hệ thống thông tin giải quyết thủ tục hành chính {kind}{province}"


# An agency's electronic identifier: QCVN 102:2016 V1V2V3.Z1Z2.Y1Y2.MX1X2 (000.00.31.H34); the
# groups may take three digits, as the codes issued after the 1 July 2025 reorganisation do where a
# merged province numbers more than 99 units (unverified; AGENCY_ELECTRONIC_ID_PATTERN overrides it).
ELECTRONIC_ID_DEFAULT = r"^\d{3}\.\d{2,3}\.\d{2,3}\.[A-Z]\d{2,3}$"

_SESSION = r"^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$"


class ProvinceRules(BaseSettings):
    """What the province decides (part of `core.settings.Settings`)."""

    retention_years: int = Field(
        10, ge=1, le=100, description="Years archived dossiers' files are kept at least (retain_until)."
    )
    on_time_policy: Literal["DECISION_766", "DECREE_61_ART_19"] = Field(
        "DECISION_766",
        description="How a dossier paused for the applicant's supplement is judged on time "
        "(services/dossiers/ontime.py): DECISION_766, the national portal's formula (the waiting time "
        "subtracted, a second supplement request late), or DECREE_61_ART_19 (a request within 3 "
        "working days of reception restarts the time, with a new appointment).",
    )
    feedback_answer_days: int = Field(
        15,
        ge=1,
        le=60,
        description="Working days the competent agency has to answer a forwarded question or feedback "
        "(15: the time to handle feedback that the Decision 766 index scores, indicator 5.1).",
    )
    apology_lead_working_days: float = Field(
        1,
        ge=0,
        le=10,
        description="Working days before the deadline by which an apology (form 04) must come at the "
        "latest (Decree 61/2018 art. 19: one day; a multiple of 0.5).",
    )
    apology_max_moves: int = Field(
        1,
        ge=1,
        le=5,
        description="How many times a dossier's result date may be moved (Decree 61/2018: once).",
    )
    apology_signer: Literal["LATE_AGENCY_LEADER", "RECEIVING_AGENCY_LEADER", "ACTING_OFFICER"] = Field(
        "LATE_AGENCY_LEADER",
        description="Who signs the apology (form 04): a leader of the agency holding the late step, a "
        "leader of the receiving unit, or the officer who records it.",
    )
    feedback_focal_agency: str | None = Field(
        None,
        description="Where the search starts for the agency that receives feedback not about a named "
        "agency, procedure or dossier: the nearest one-stop unit with a focal point, this one or below "
        "(services/feedback/routing.py). Unset: from the top of the tree.",
    )
    timezone: str = Field(DEFAULT_TIMEZONE, description="Local time of the province.")
    # The province's calendar (services.holidays.province_hours); a receiving unit may have its own.
    calendar_morning: str = Field(
        "07:30-11:30", pattern=_SESSION, description="Morning office session, local HH:MM-HH:MM."
    )
    calendar_afternoon: str = Field(
        "13:00-17:00", pattern=_SESSION, description="Afternoon office session, local HH:MM-HH:MM."
    )
    calendar_cutoff: str = Field(
        "16:30",
        pattern=r"^(([01][0-9]|2[0-3]):[0-5][0-9])?$",
        description="A reception after this time counts from the next working day (empty: no cut-off).",
    )
    calendar_saturday: str = Field(
        "", pattern=rf"^({_SESSION[1:-1]})?$", description="Saturday session HH:MM-HH:MM (empty: none)."
    )
    calendar_saturday_counts: bool = Field(
        False, description="Whether the Saturday session's time counts towards time limits."
    )
    province_name: str = Field(
        DEFAULT_PROVINCE,
        min_length=1,
        max_length=60,
        pattern=r"\S",
        description="The province's name (in the system's name: pages, documents, messages); «tỉnh» is "
        "added unless it starts with «tỉnh» or «thành phố».",
    )
    paper_conversion_mark: str = Field(
        "BẢN CHUYỂN ĐỔI TỪ VĂN BẢN ĐIỆN TỬ",
        min_length=1,
        max_length=120,
        pattern=r"\S",
        description="The distinctive sign printed on every page of a paper conversion (Decree "
        "45/2020 art. 18.2 requires a sign but prescribes no wording).",
    )
    reception_anywhere_in_province: bool = Field(
        True,
        description="Decree 118/2025: any one-stop unit of the province receives a dossier of any "
        "procedure of the province, regardless of administrative boundary, and routes it to the competent "
        "agency (the code and the appointment follow the receiving unit). Off: only the units a procedure "
        "lists (or, none listed, those at its levels) receive it.",
    )
    agency_electronic_id_pattern: str = Field(
        ELECTRONIC_ID_DEFAULT,
        description="Regular expression an agency's electronic identifier (mã định danh điện tử, the "
        "prefix of dossier codes) must match. Default: the QCVN 102:2016 form V1V2V3.Z1Z2.Y1Y2.MX1X2 "
        "(000.00.31.H34) with two- or three-digit groups, as issued after the 2025 reorganisation "
        "(unverified: see docs/domain.md).",
    )

    @field_validator("agency_electronic_id_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"AGENCY_ELECTRONIC_ID_PATTERN is not a regular expression: {exc}") from exc
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        ZoneInfo(value)  # raises for an unknown zone: fail at start, not at first use
        return value

    @property
    def system_name(self) -> str:
        return system_name(self.province_name)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
