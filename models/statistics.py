"""The statistics fact row of each dossier (dữ liệu tổng hợp phục vụ thống kê, Chỉ số 766).

One narrow row per dossier with every fact the statistics and the Decision 766 index need, so a
report reads one indexed table and joins nothing. The rows are written by PostgreSQL triggers
(migration 0014) in the same transaction as the change to the dossier, its payments, events,
attachments, vault documents or rating — whatever code path makes it — so they are never stale.
`dvc statistics-rebuild` recomputes them all from scratch with the same SQL function.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

# A fact's open span: received (excluded) to finished (included; none: still open); a dossier
# "finished" before it was received is open at no instant (migration 0034).
OPEN_SPAN = (
    "tstzrange(received_at, CASE WHEN (finished_at < received_at) THEN received_at ELSE finished_at END, "
    "'(]'::text)"
)


class DossierFact(Base):
    __tablename__ = "dossier_facts"

    dossier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("dossiers.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column()  # the receiving agency
    procedure_id: Mapped[uuid.UUID] = mapped_column()
    field_id: Mapped[uuid.UUID] = mapped_column()  # of the procedure version submitted under
    online_mode: Mapped[str] = mapped_column(String(10))  # FULL | PARTIAL | NONE of that version
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ready_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # result ready
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paused: Mapped[bool] = mapped_column(Boolean)
    punctuality: Mapped[str | None] = mapped_column(String(10))
    refused: Mapped[bool] = mapped_column(Boolean)  # từ chối giải quyết (a REFUSE act)
    fee_owed: Mapped[bool] = mapped_column(Boolean)
    paid_online: Mapped[bool] = mapped_column(Boolean)
    digitised: Mapped[bool] = mapped_column(Boolean)  # số hoá tại Bộ phận Một cửa
    electronic_result: Mapped[bool] = mapped_column(Boolean)  # kết quả bản điện tử
    reused: Mapped[bool] = mapped_column(Boolean)  # a component taken from the data vault
    synced: Mapped[bool] = mapped_column(Boolean)  # đồng bộ xong với Cổng DVC quốc gia
    rating: Mapped[float | None] = mapped_column(Float)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Attribution (migration 0027): the competent agency (the procedure version's, else the
    # receiving unit, as reception assigns the COMPETENT steps) and every agency holding one of
    # the dossier's started steps (sorted; empty before reception).
    competent_agency_id: Mapped[uuid.UUID] = mapped_column()
    processing_agency_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()))
    # Waiting for the applicant's supplement since (the 766 formula ends such a dossier there),
    # and how many supplements were asked for (a second one counts as late) — migration 0030.
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    supplement_requests: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_dossier_facts_agency_received", "agency_id", "received_at"),
        Index("ix_dossier_facts_agency_finished", "agency_id", "finished_at"),
        Index(
            "ix_dossier_facts_agency_open",
            "agency_id",
            "due_at",
            postgresql_where=text("finished_at IS NULL AND received_at IS NOT NULL"),
        ),
        Index("ix_dossier_facts_agency_rated", "agency_id", "rated_at"),
        Index("ix_dossier_facts_competent_received", "competent_agency_id", "received_at"),
        Index("ix_dossier_facts_competent_finished", "competent_agency_id", "finished_at"),
        Index("ix_dossier_facts_processing", "processing_agency_ids", postgresql_using="gin"),
        # Province-wide reports (no agency in scope).
        Index("ix_dossier_facts_received", "received_at"),
        Index("ix_dossier_facts_finished", "finished_at"),
        Index("ix_dossier_facts_rated", "rated_at"),
        # In progress at an instant R: the open spans holding R (migration 0034,
        # services.statistics.figures.open_span).
        Index(
            "ix_dossier_facts_open_span",
            text(OPEN_SPAN),
            postgresql_using="gist",
            postgresql_where=text("received_at IS NOT NULL"),
        ),
        # The 766 formula's waiting dossiers by their pause (the monthly fast path's edge days).
        Index(
            "ix_dossier_facts_waiting",
            "paused_at",
            postgresql_where=text("status = 'SUPPLEMENT_REQUESTED'"),
        ),
        Index(
            "ix_dossier_facts_open",
            "due_at",
            postgresql_where=text("finished_at IS NULL AND received_at IS NOT NULL"),
        ),
    )


# The monthly pre-aggregate (migration 0032): per local month and (receiving agency, competent
# agency, procedure, field), every additive figure counted in the month of its own moment. Kept
# by `dossier_fact_refresh` in the same transaction as the facts; read by
# services.statistics.months. (name, moment) — the moment whose month a measure counts in.
MONTH_KEYS = ("agency_id", "competent_agency_id", "procedure_id", "field_id")
MONTH_MEASURES: tuple[tuple[str, str], ...] = tuple(
    (name, moment)
    for moment, names in (
        (
            "received",
            "received received_online received_national_portal received_counter received_post "
            "full_online_received full_online_online fee_owed paid_online paper_received digitised "
            "received_synced received_reused offered_online offered_online_online",
        ),
        (
            "finished",
            "finished finished_early finished_on_time finished_late refused finished_electronic "
            "handling_seconds rejected withdrawn",
        ),
        ("rated", "ratings rating_total unsatisfied"),
        ("waiting", "waiting waiting_good waiting_late waiting_odd"),
        # Migration 0035: what is in progress and overdue at a month's start adds up from these
        # (services.statistics.months.balances), each in the month of the later of its moments.
        ("closed", "closed"),  # received and finished: greatest(received, finished)
        ("due", "due_opened"),  # received with a deadline, not paused: greatest(received, due)
        ("due_closed", "due_closed"),  # … and finished: greatest(received, due, finished)
    )
    for name in names.split()
)
NUMERIC_MEASURES = frozenset({"handling_seconds", "rating_total"})

fact_months = Table(
    "dossier_fact_months",
    Base.metadata,
    Column("month", Date, nullable=False),
    *(Column(k, Uuid, nullable=False) for k in MONTH_KEYS),
    *(
        Column(n, Numeric if n in NUMERIC_MEASURES else BigInteger, nullable=False, server_default="0")
        for n, _ in MONTH_MEASURES
    ),
    PrimaryKeyConstraint("month", *MONTH_KEYS, name="pk_dossier_fact_months"),
    Index("ix_dossier_fact_months_agency", "agency_id", "month"),
    Index("ix_dossier_fact_months_competent", "competent_agency_id", "month"),
)


def _rollup(name: str, keys: tuple[str, str], index: Index) -> Table:
    return Table(
        name,
        Base.metadata,
        Column("month", Date, nullable=False),
        *(Column(k, Uuid, nullable=False) for k in keys),
        *(
            Column(n, Numeric if n in NUMERIC_MEASURES else BigInteger, nullable=False, server_default="0")
            for n, _ in MONTH_MEASURES
        ),
        PrimaryKeyConstraint("month", *keys, name=f"pk_{name}"),
        index,
    )


# Coarser rollups of the month rows (migration 0034), kept from them by a row trigger: per
# (month, receiving agency, competent agency) and per (month, procedure, field) — what the
# province-wide reads sum (services.statistics.months picks the coarsest that answers).
AGENCY_ROLLUP_KEYS = ("agency_id", "competent_agency_id")
PROCEDURE_ROLLUP_KEYS = ("procedure_id", "field_id")
fact_months_agency = _rollup(
    "dossier_fact_months_agency",
    AGENCY_ROLLUP_KEYS,
    Index("ix_dossier_fact_months_agency_competent", "competent_agency_id", "month"),
)
fact_months_procedure = _rollup(
    "dossier_fact_months_procedure",
    PROCEDURE_ROLLUP_KEYS,
    Index("ix_dossier_fact_months_procedure_field", "field_id", "month"),
)
# The per-procedure rollup by year (migration 0036), kept from the one above by a row trigger:
# `year` is the year's first day. A year's groups by procedure or field read 1,500 rows here
# instead of twelve months of them.
fact_years_procedure = Table(
    "dossier_fact_years_procedure",
    Base.metadata,
    Column("year", Date, nullable=False),
    *(Column(k, Uuid, nullable=False) for k in PROCEDURE_ROLLUP_KEYS),
    *(
        Column(n, Numeric if n in NUMERIC_MEASURES else BigInteger, nullable=False, server_default="0")
        for n, _ in MONTH_MEASURES
    ),
    PrimaryKeyConstraint("year", *PROCEDURE_ROLLUP_KEYS, name="pk_dossier_fact_years_procedure"),
    Index("ix_dossier_fact_years_procedure_field", "field_id", "year"),
)
