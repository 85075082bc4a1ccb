"""The dossiers of the benchmark data set, one after another in submission order, each with its whole
history: the process-control trail (hash-chained), steps, components, result and online payment.
See bench/dataset.py.

Every draw comes from the province's one `random.Random`, in a fixed order: the same seed gives the
same rows, so the steps below must keep drawing in the order they do.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.dataset_province import Province
from bench.dataset_rows import (
    END,
    GENESIS,
    LOCAL,
    START,
    Agency,
    Spec,
    Version,
    event_hash,
    random_uuid,
    working_days,
)

BATCH = 10_000  # dossiers per COPY round
Rows = dict[str, list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Arrival:
    """Who files which procedure, where, when and through which channel; who handles it."""

    index: int
    submitted: datetime
    version: Version
    channel: str
    online: bool
    unit: Agency  # the one-stop unit that receives it
    handler: Agency  # the competent agency, or the unit itself
    name: str
    id_number: str
    phone: str
    account: uuid.UUID | None
    dossier_id: uuid.UUID
    received: datetime
    reception: uuid.UUID
    specialist: uuid.UUID
    leader: uuid.UUID
    days: Decimal
    due: datetime
    fee: int
    delivery_method: str

    @property
    def by_applicant(self) -> str:
        return f"Công dân {self.name}"


@dataclass(frozen=True)
class Course:
    """How the dossier's story ends, and how far it got by END."""

    punctuality: str
    result_at: datetime
    ending: str  # APPROVE, REFUSE or WITHDRAW
    returned: datetime
    step_ends: list[datetime]
    status: str
    current: int  # the step in hand
    paused: bool  # waiting for a supplement

    @property
    def paused_at(self) -> datetime:
        return self.step_ends[0] + (self.step_ends[1] - self.step_ends[0]) / 3

    @property
    def finished(self) -> bool:
        return self.status in ("CLOSED", "WITHDRAWN")

    @property
    def has_result(self) -> bool:
        return self.status in ("RESULT_READY", "REFUSED", "CLOSED")


class Trail:
    """One dossier's trail, hash-chained exactly as `services.dossiers.trail` does it."""

    def __init__(self, dossier_id: uuid.UUID, events: list[tuple[Any, ...]]) -> None:
        self.dossier_id = dossier_id
        self.events = events
        self.head = GENESIS
        self.count = 0

    def add(  # noqa: PLR0917 — one line of the trail, positionally like its columns
        self, at: datetime, action: str, actor: uuid.UUID | None, label: str, role: str | None,
        agency: Agency | None, from_status: str | None, to_status: str, from_step: int | None,
        to_step: int | None, punct: str | None = None, data: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        body = {
            "dossier": str(self.dossier_id), "at": at.isoformat(), "action": action, "actor": label,
            "role": role, "agency": str(agency.id) if agency else None, "from": from_status,
            "to": to_status, "fromStep": from_step, "toStep": to_step, "comment": None,
            "punctuality": punct, "data": data or {}, "prev": self.head,
        }  # fmt: skip
        digest = event_hash(body)
        self.events.append(
            (
                self.dossier_id, at, action, actor, label, role, agency.id if agency else None, from_status,
                to_status, from_step, to_step, None, punct, json.dumps(data or {}), self.head, digest,
            )
        )  # fmt: skip
        self.head = digest
        self.count += 1


class Dossiers:
    """Dossier after dossier in submission order, each with its whole history."""

    def __init__(self, province: Province, spec: Spec) -> None:
        self.p = province
        self.rnd = province.rnd
        self.spec = spec
        self.counters: dict[tuple[uuid.UUID, date], int] = {}
        self.codes: list[str] = []
        self.span = (END - START).total_seconds()

    def batches(self) -> Iterator[Rows]:
        rows: Rows = {
            t: [] for t in ("dossiers", "dossier_events", "dossier_steps", "dossier_attachments", "payments")
        }
        for i in range(self.spec.dossiers):
            self._one(i, rows)
            if (i + 1) % BATCH == 0:
                yield rows
                rows = {t: [] for t in rows}
        if rows["dossiers"]:
            yield rows

    def _one(self, i: int, rows: Rows) -> None:
        a = self._arrival(i)
        c = self._course(a)
        trail = Trail(a.dossier_id, rows["dossier_events"])
        trail.add(
            a.submitted, "SUBMIT", a.account, a.by_applicant, None, None, "DRAFT", "SUBMITTED", None, None
        )
        self._attach_components(a, rows["dossier_attachments"])
        payment_status = self._pay(a, c, trail, rows["payments"])
        code = None
        if c.status != "SUBMITTED":
            code = self._receive(a, trail)
            self._handle(a, c, trail, rows["dossier_steps"])
        self._conclude(a, c, trail, rows["dossier_attachments"])
        rows["dossiers"].append(self._dossier_row(a, c, trail, code, payment_status))

    def _arrival(self, i: int) -> Arrival:
        rnd, p = self.rnd, self.p
        submitted = START + timedelta(seconds=int((i + rnd.random()) * self.span / self.spec.dossiers))
        v = p.pick()
        if v.online_mode == "NONE":
            channel = "COUNTER" if rnd.random() < 0.95 else "POST"
        else:
            channel = rnd.choices(["ONLINE", "COUNTER", "NATIONAL_PORTAL", "POST"], [68, 27, 3, 2])[0]
        online = channel in ("ONLINE", "NATIONAL_PORTAL")
        unit = p.centre if v.level == "province" else rnd.choice(p.communes)
        handler = v.competent or unit
        applicant_id, name, id_number, phone = rnd.choice(p.citizens)
        account = applicant_id if online or rnd.random() < 0.5 else None
        dossier_id = random_uuid(rnd, submitted)
        received = submitted + timedelta(seconds=rnd.randrange(1800, 30 * 3600)) if online else submitted
        reception = rnd.choice(unit.staff["RECEPTION_OFFICER"])
        specialist = rnd.choice(handler.staff["SPECIALIST"])
        leader = handler.staff["LEADER"][0]
        days = v.days - 1 if online and v.days > 3 and v.online_mode == "FULL" else v.days
        return Arrival(
            index=i, submitted=submitted, version=v, channel=channel, online=online, unit=unit,
            handler=handler, name=name, id_number=id_number, phone=phone, account=account,
            dossier_id=dossier_id, received=received, reception=reception, specialist=specialist,
            leader=leader, days=days, due=working_days(received, days),
            fee=v.online_fee if online else v.fee,
            delivery_method="ONLINE" if online and rnd.random() < 0.5 else "COUNTER",
        )  # fmt: skip

    def _course(self, a: Arrival) -> Course:
        rnd, received = self.rnd, a.received
        punctuality = rnd.choices(["EARLY", "ON_TIME", "LATE"], [55, 35, 10])[0]
        factor = {
            "EARLY": rnd.uniform(0.3, 0.95),
            "ON_TIME": rnd.uniform(0.95, 1.0),
            "LATE": rnd.uniform(1.0, 1.8),
        }
        result_at = received + (a.due - received) * factor[punctuality]
        ending = rnd.choices(["APPROVE", "REFUSE", "WITHDRAW"], [97, 2, 1])[0]
        returned = result_at + timedelta(seconds=rnd.randrange(600, 3 * 86400))
        step_ends = [received + (result_at - received) * f for f in (0.08, 0.85, 1.0)]
        status = "CLOSED"
        if received > END:
            status = "SUBMITTED"
        elif returned > END:
            status = "RESULT_READY" if result_at <= END else "IN_PROGRESS"
        current = 3
        if status == "IN_PROGRESS":
            current = 1 + sum(1 for t in step_ends[:2] if t <= END)
        paused = status == "IN_PROGRESS" and current == 2 and rnd.random() < 0.1
        if paused:
            status = "SUPPLEMENT_REQUESTED"
        if status == "RESULT_READY" and ending == "REFUSE":
            status = "REFUSED"
        if ending == "WITHDRAW" and status == "CLOSED":
            status = "WITHDRAWN"
            returned = step_ends[2] + timedelta(minutes=1)
        return Course(punctuality, result_at, ending, returned, step_ends, status, current, paused)

    def _attach_components(self, a: Arrival, attachments: list[tuple[Any, ...]]) -> None:
        files = self.p.files
        for position, comp in enumerate(a.version.components[:2]):
            attachments.append(
                (random_uuid(self.rnd, a.submitted), a.dossier_id, comp, "COMPONENT",
                 files[(a.index + position) % len(files)], a.submitted, a.by_applicant)
            )  # fmt: skip

    def _pay(self, a: Arrival, c: Course, trail: Trail, payments: list[tuple[Any, ...]]) -> str:
        """Online, most pay the fee within the half hour; at the counter it is paid in cash."""
        fee, i = a.fee, a.index
        payment_status = "NOT_REQUIRED" if not fee else "UNPAID"
        if fee and a.online and self.rnd.random() < 0.85:
            paid = a.submitted + timedelta(seconds=self.rnd.randrange(60, 1700))
            if paid <= END:
                payment_status = "PAID"
                txn = f"B{i:09d}"
                payments.append(
                    (
                        random_uuid(self.rnd, paid), a.dossier_id, "vnpay", "DVC86", txn, fee, "PAID",
                        paid - timedelta(minutes=1), paid + timedelta(minutes=14), paid, paid, f"{14000000 + i}",
                        "NCB", "00",
                    )
                )  # fmt: skip
                trail.add(
                    paid, "PAY", None, "Cổng thanh toán", None, None, "SUBMITTED", "SUBMITTED", None, None,
                    data={"amount": fee, "txnRef": txn},
                )  # fmt: skip
        elif fee and not a.online and c.status != "SUBMITTED":
            payment_status = "PAID"  # paid in cash at the counter
        return payment_status

    def _receive(self, a: Arrival, trail: Trail) -> str:
        """The one-stop unit receives it: the code of the day's counter, and the trail's RECEIVE."""
        unit = a.unit
        local = a.received + LOCAL
        key = (unit.id, local.date())
        number = self.counters.get(key, 0) + 1
        self.counters[key] = number
        code = f"{unit.electronic_id}-{local:%y%m%d}-{number:04d}"
        if a.index % 97 == 0:
            self.codes.append(code)
        label = f"Cán bộ Một cửa {unit.code}"
        trail.add(
            a.received, "RECEIVE", a.reception, label, "RECEPTION_OFFICER", unit, "SUBMITTED", "IN_PROGRESS",
            None, 1,
        )  # fmt: skip
        return code

    def _handle(self, a: Arrival, c: Course, trail: Trail, steps: list[tuple[Any, ...]]) -> None:
        """The three steps as far as they got, forwarded one to the next; maybe a supplement asked."""
        holders = [(a.reception, a.unit), (a.specialist, a.handler), (a.leader, a.handler)]
        started = a.received
        elapsed = Decimal(0)
        for position, (step_name, role, share) in enumerate(a.version.steps, start=1):
            elapsed += share
            step_due = working_days(a.received, min(elapsed, a.days))
            holder, agency = holders[position - 1]
            ended: datetime | None = c.step_ends[position - 1]
            if position > c.current or (
                position == c.current and c.status in ("IN_PROGRESS", "SUPPLEMENT_REQUESTED")
            ):
                ended = None
            begun = started if position <= c.current else None
            step_punct = None
            if ended is not None:
                step_punct = "LATE" if ended > step_due else "ON_TIME"
            steps.append(
                (random_uuid(self.rnd, a.received), a.dossier_id, position, step_name, agency.id, role,
                 str(share), holder if begun else None, begun, step_due, ended, step_punct)
            )  # fmt: skip
            if ended is not None and position < 3:
                trail.add(
                    ended, "FORWARD", holder, f"{role} {agency.code}", role, agency, "IN_PROGRESS",
                    "IN_PROGRESS", position, position + 1,
                )  # fmt: skip
                started = ended
        if c.paused:
            trail.add(
                c.paused_at, "REQUEST_SUPPLEMENT", a.specialist, f"SPECIALIST {a.handler.code}", "SPECIALIST",
                a.handler, "IN_PROGRESS", "SUPPLEMENT_REQUESTED", 2, 2,
            )  # fmt: skip

    def _conclude(self, a: Arrival, c: Course, trail: Trail, attachments: list[tuple[Any, ...]]) -> None:
        """The decision (approve or refuse) with its result file, the return; or a withdrawal."""
        handler = a.handler
        if c.has_result:
            act = "REFUSE" if c.ending == "REFUSE" else "APPROVE"
            to = "REFUSED" if act == "REFUSE" else "RESULT_READY"
            trail.add(
                c.result_at, act, a.leader, f"LEADER {handler.code}", "LEADER", handler, "IN_PROGRESS", to,
                3, 3, c.punctuality,
            )  # fmt: skip
            if a.delivery_method == "ONLINE":
                files = self.p.files
                attachments.append(
                    (random_uuid(self.rnd, c.result_at), a.dossier_id, None, "RESULT",
                     files[a.index % len(files)], c.result_at, f"LEADER {handler.code}")
                )  # fmt: skip
            if c.status == "CLOSED":
                trail.add(c.returned, "RETURN", a.reception, f"Cán bộ Một cửa {a.unit.code}", "RECEPTION_OFFICER",
                          a.unit, to, "CLOSED", 3, 3)  # fmt: skip
        elif c.status == "WITHDRAWN":
            trail.add(
                c.returned,
                "WITHDRAW",
                a.account,
                a.by_applicant,
                None,
                None,
                "IN_PROGRESS",
                "WITHDRAWN",
                3,
                3,
            )

    def _dossier_row(
        self, a: Arrival, c: Course, trail: Trail, code: str | None, payment_status: str
    ) -> tuple[Any, ...]:
        v, status, finished, received = a.version, c.status, c.finished, a.received
        delivery = "DELIVERED" if finished else "AWAITING_PICKUP" if status == "RESULT_READY" else "NOT_READY"
        return (
            a.dossier_id, code, v.procedure_id, v.id, a.account, a.name, a.id_number, a.phone, a.channel,
            a.unit.id, status, payment_status, delivery, "SYNCED", a.delivery_method, a.submitted,
            received if code else None, received if code else None, a.reception if code else None,
            a.due if code else None, a.due if code else None, c.paused_at if c.paused else None, False, False,
            c.current if code else None, c.result_at if c.has_result else None,
            c.returned if finished else None, c.punctuality if status == "CLOSED" else None,
            f"{self.rnd.getrandbits(128):032x}", trail.count, trail.head, a.submitted,
            c.returned if finished else a.submitted,
        )  # fmt: skip
