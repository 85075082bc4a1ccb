"""Plain input records for catalog commands (no GraphQL, no ORM)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from models.catalog import CopyType, FeeKind, OnlineMode, PaymentTiming, StepAgencyRef, TimeLimitUnit


@dataclass(frozen=True)
class FeeAccountData:
    number: str
    bank: str
    holder: str


@dataclass(frozen=True)
class AgencyData:
    code: str
    name: str
    level_code: str
    electronic_id: str | None = None
    parent_code: str | None = None
    is_one_stop_unit: bool = False
    fee_account: FeeAccountData | None = None
    support_phone: str | None = None
    address: str | None = None
    email: str | None = None
    valid_from: date | None = None


@dataclass(frozen=True)
class FieldData:
    code: str
    name: str


@dataclass(frozen=True)
class ComponentData:
    name: str
    required: bool = True
    copy_type: CopyType = CopyType.ORIGINAL_OR_COPY
    count: int = 1
    template_url: str | None = None
    accepted_formats: tuple[str, ...] = ("application/pdf", "image/jpeg", "image/png")
    max_size_mb: Decimal = Decimal(10)


@dataclass(frozen=True)
class FeeData:
    kind: FeeKind
    name: str
    amount: int
    online_amount: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class StepData:
    name: str
    agency_ref: StepAgencyRef
    role: str
    days: Decimal
    agency_code: str | None = None


@dataclass(frozen=True)
class DecisionData:
    """Quyết định công bố: the provincial chairman's decision number and date."""

    number: str
    date: date


@dataclass(frozen=True)
class ProcedureData:
    code: str
    name: str
    field_code: str
    levels: tuple[str, ...]
    online_mode: OnlineMode
    processing_days: Decimal
    result_name: str
    delivery_methods: tuple[str, ...]
    components: tuple[ComponentData, ...]
    steps: tuple[StepData, ...]
    form_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    fees: tuple[FeeData, ...] = ()
    online_processing_days: Decimal | None = None
    payment_timing: PaymentTiming = PaymentTiming.AT_SUBMISSION
    competent_agency_code: str | None = None
    receiving_agency_codes: tuple[str, ...] = ()
    legal_basis: str = ""
    time_limit_unit: TimeLimitUnit = TimeLimitUnit.WORKING_DAYS
    change_note: str | None = None
