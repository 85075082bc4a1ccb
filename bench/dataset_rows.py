"""The benchmark data set's frame: its time span, the tables and columns it fills (in COPY order),
the agencies and procedure versions the generator keeps in memory, and the helpers every row uses
(random but seeded UUIDs, the trail's hash, working days as calendar time). See bench/dataset.py."""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

END = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
START = END - timedelta(days=3 * 365)
LOCAL = timedelta(hours=7)  # Asia/Ho_Chi_Minh, no daylight saving
GENESIS = "0" * 64


@dataclass(frozen=True)
class Spec:
    dossiers: int = 1_000_000
    seed: int = 1
    procedures: int = 1_500
    citizens: int = 100_000
    files: int = 40


@dataclass
class Agency:
    id: uuid.UUID
    code: str
    electronic_id: str
    level: str
    one_stop: bool
    staff: dict[str, list[uuid.UUID]] = field(default_factory=dict)


@dataclass
class Version:
    procedure_id: uuid.UUID
    id: uuid.UUID
    code: str
    name: str
    level: str
    competent: Agency | None
    online_mode: str
    days: Decimal
    fee: int
    online_fee: int
    components: list[uuid.UUID]
    steps: list[tuple[str, str, Decimal]]  # (name, role, days)


def random_uuid(rnd: random.Random, at: datetime | None = None) -> uuid.UUID:
    """Time-ordered (UUIDv7 layout) when `at` is given: the indexes grow at their right edge."""
    bits = rnd.getrandbits(128)
    if at is None:
        return uuid.UUID(int=bits, version=4)
    ms = int(at.timestamp() * 1000)
    value = (ms << 80) | (0x7 << 76) | ((bits >> 64) & 0xFFF) << 64 | (0b10 << 62) | (bits & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def event_hash(body: dict[str, Any]) -> str:
    """`services.dossiers.trail.event_hash`, from the fields directly (the test proves they agree)."""
    encoded = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def working_days(start: datetime, days: Decimal) -> datetime:
    # Working days to calendar time, roughly (5 of 7 days; holidays ignored for the data set).
    return start + timedelta(days=float(days) * 1.4)


COLUMNS: dict[str, list[str]] = {
    "agencies": [
        "id", "code", "electronic_id", "name", "search_text", "level_code", "parent_id",
        "is_one_stop_unit", "support_phone", "created_at", "updated_at",
    ],
    "fields": ["id", "code", "name", "created_at", "updated_at"],
    "procedures": ["id", "code", "status", "published_version_id", "revision", "created_at", "updated_at"],
    "procedure_versions": [
        "id", "procedure_id", "version_no", "state", "name", "search_text", "field_id", "levels",
        "competent_agency_id", "legal_basis", "online_mode", "processing_days", "online_processing_days",
        "result_name", "delivery_methods", "form_schema", "decision_number", "created_at", "published_at",
    ],
    "procedure_components": [
        "id", "version_id", "position", "name", "required", "copy_type", "count", "accepted_formats",
        "max_size_bytes",
    ],
    "procedure_fees": ["id", "version_id", "position", "kind", "name", "amount", "online_amount"],
    "workflow_steps": ["id", "version_id", "position", "name", "agency_ref", "agency_id", "role", "days"],
    "accounts": [
        "id", "kind", "status", "display_name", "email", "phone", "email_verified_at", "password_hash",
        "failed_sign_ins", "last_sign_in_at", "token_version", "notify_email", "notify_sms", "created_at",
        "updated_at",
    ],
    "citizen_profiles": ["account_id", "citizen_id", "full_name", "birth_date", "address"],
    "vaults": ["id", "account_id", "created_at"],
    "staff_assignments": ["id", "account_id", "agency_id", "role", "include_sub_agencies", "created_at", "created_by"],
    "stored_files": [
        "id", "object_key", "filename", "content_type", "size", "sha256", "status", "created_at",
        "scan_verdict", "checked_at",
    ],
    "dossiers": [
        "id", "code", "procedure_id", "procedure_version_id", "applicant_account_id", "applicant_name",
        "applicant_id_number", "applicant_phone", "channel", "receiving_agency_id", "status",
        "payment_status", "delivery_status", "sync_status", "delivery_method", "submitted_at",
        "counts_from", "received_at", "received_by", "appointment_at", "due_at", "paused_at",
        "apologised", "completion_requested", "current_step", "result_at", "finished_at", "punctuality",
        "lookup_secret", "version", "trail_head", "created_at", "updated_at",
    ],
    "dossier_events": [
        "dossier_id", "at", "action", "actor_id", "actor_label", "actor_role", "agency_id", "from_status",
        "to_status", "from_step", "to_step", "comment", "punctuality", "data", "prev_hash", "hash",
    ],
    "dossier_steps": [
        "id", "dossier_id", "position", "name", "agency_id", "role", "days", "assignee_id", "started_at",
        "due_at", "finished_at", "punctuality",
    ],
    "dossier_attachments": ["id", "dossier_id", "component_id", "kind", "file_id", "added_at", "added_by"],
    "payments": [
        "id", "dossier_id", "gateway", "merchant", "txn_ref", "amount", "state", "created_at", "expires_at",
        "settled_at", "paid_at", "transaction_no", "bank_code", "response_code",
    ],
    "dossier_code_counters": ["agency_id", "day", "last"],
}  # fmt: skip
