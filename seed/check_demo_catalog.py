#!/usr/bin/env python3
"""Check the internal consistency of seed/demo_catalog.json.

Usage (from the repository root):
    .venv/bin/python seed/check_demo_catalog.py [path/to/demo_catalog.json]

Prints one summary line and exits 0 when the file is consistent; otherwise prints
every problem found (one per line, on stderr) and exits 1. Uses only the standard
library and jsonschema.
"""

from __future__ import annotations

import csv
import json
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

HERE = Path(__file__).resolve().parent
DEFAULT_PATH = HERE / "demo_catalog.json"
# Optional cross-check against the real source data, when it is present on this machine.
SOURCE_CSV = Path("/work/shared/data/catalog_procedures.csv")

MIN_PROCEDURES = 45
MIN_COMMUNES = 6
MIN_DEPARTMENTS = 8
EPS = 1e-9

ONLINE_MODES = {"FULL", "PARTIAL", "NONE"}
FEE_KINDS = {"FEE", "CHARGE"}
COPY_TYPES = {"ORIGINAL", "COPY", "CERTIFIED_COPY", "ORIGINAL_OR_COPY"}
DELIVERY = {"ONLINE", "POST", "COUNTER"}
STEP_ROLES = {"RECEPTION_OFFICER", "SPECIALIST", "LEADER"}
STEP_AGENCY_KEYWORDS = {"RECEIVING", "COMPETENT"}
EID_RE = re.compile(r"^[0-9]{3}\.[0-9]{2}\.[0-9]{2}\.[A-Z][0-9]{2}$")
ACCOUNT_RE = re.compile(r"^3511\.0\.[0-9]{7}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
FIELD_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]{1,19}$")


class Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def err(self, where: str, msg: str) -> None:
        self.problems.append(f"{where}: {msg}")

    def need(self, cond: bool, where: str, msg: str) -> bool:
        if not cond:
            self.err(where, msg)
        return cond


def is_half_multiple(x: float) -> bool:
    return abs(x * 2 - round(x * 2)) < EPS


def is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_nfc(c: Checker, obj, where: str = "$") -> None:
    """Every string is NFC-normalised (so equality and search behave)."""
    if isinstance(obj, str):
        if unicodedata.normalize("NFC", obj) != obj:
            c.err(where, f"string is not NFC-normalised: {obj[:60]!r}")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            check_nfc(c, v, f"{where}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            check_nfc(c, v, f"{where}[{i}]")


def unique(c: Checker, items: list[dict], key: str, what: str) -> dict:
    counts = Counter(it.get(key) for it in items)
    for k, n in counts.items():
        if n > 1:
            c.err(what, f"duplicate {key} {k!r} ({n} times)")
    return {it.get(key): it for it in items}


def check(doc: dict) -> tuple[Checker, dict]:
    c = Checker()
    stats: dict = {}
    for top in ("levels", "agencies", "fields", "procedures"):
        if not c.need(isinstance(doc.get(top), list), "$", f"missing list {top!r}"):
            return c, stats
    check_nfc(c, doc)
    levels = check_levels(c, doc)
    agencies = check_agencies(c, doc, levels, stats)
    fields = check_fields(c, doc, stats)
    tally = check_procedures(c, doc, Catalog(doc, levels, agencies, fields))
    check_against_source(c, doc, stats)
    stats.update(procedures=len(doc["procedures"]), **vars(tally))
    return c, stats


def check_levels(c: Checker, doc: dict) -> dict:
    levels = unique(c, doc["levels"], "code", "levels")
    for lv in doc["levels"]:
        c.need(isinstance(lv.get("name"), str) and lv["name"], f"level {lv.get('code')}", "empty name")
        c.need(isinstance(lv.get("rank"), int), f"level {lv.get('code')}", "rank must be an integer")
    unique(c, doc["levels"], "rank", "levels")
    return levels


def check_agencies(c: Checker, doc: dict, levels: dict, stats: dict) -> dict:
    agencies = unique(c, doc["agencies"], "code", "agencies")
    unique(c, doc["agencies"], "electronic_id", "agencies")
    seen: set[str] = set()
    for a in doc["agencies"]:
        check_agency(c, a, levels, seen)
        seen.add(a.get("code"))
    communes = [a for a in doc["agencies"] if a.get("level") == "commune"]
    departments = [
        a for a in doc["agencies"] if a.get("level") == "province" and a.get("parent_code") is not None
    ]
    c.need(
        len(communes) >= MIN_COMMUNES, "agencies", f"only {len(communes)} communes (need >= {MIN_COMMUNES})"
    )
    c.need(
        len(departments) >= MIN_DEPARTMENTS,
        "agencies",
        f"only {len(departments)} provincial departments (need >= {MIN_DEPARTMENTS})",
    )
    for a in communes:
        c.need(a.get("is_one_stop_unit") is True, f"agency {a['code']}", "commune must be a one-stop unit")
    stats["agencies"] = len(doc["agencies"])
    stats["communes"] = len(communes)
    return agencies


def check_agency(c: Checker, a: dict, levels: dict, seen: set[str]) -> None:
    """One agency; `seen` holds the codes of the agencies before it (a parent comes first)."""
    w = f"agency {a.get('code')}"
    for k in ("code", "electronic_id", "name", "level", "support_phone", "address"):
        c.need(isinstance(a.get(k), str) and a[k].strip(), w, f"missing/empty {k}")
    c.need(a.get("level") in levels, w, f"unknown level {a.get('level')!r}")
    c.need(
        isinstance(a.get("electronic_id"), str) and bool(EID_RE.match(a["electronic_id"])),
        w,
        f"electronic_id {a.get('electronic_id')!r} is not of the form V1V2V3.Z1Z2.Y1Y2.MX1X2",
    )
    c.need(isinstance(a.get("is_one_stop_unit"), bool), w, "is_one_stop_unit must be boolean")
    parent = a.get("parent_code")
    if parent is not None:
        c.need(parent in seen, w, f"parent_code {parent!r} does not refer to an agency earlier in the list")
    fa = a.get("fee_account")
    if fa is not None:
        if c.need(isinstance(fa, dict), w, "fee_account must be an object or null"):
            c.need(
                bool(ACCOUNT_RE.match(str(fa.get("number", "")))),
                w,
                f"bad fee_account.number {fa.get('number')!r}",
            )
            c.need(bool(fa.get("bank")), w, "fee_account.bank empty")
            c.need(fa.get("holder") == a.get("name"), w, "fee_account.holder should be the agency name")


def check_fields(c: Checker, doc: dict, stats: dict) -> dict:
    fields = unique(c, doc["fields"], "code", "fields")
    unique(c, doc["fields"], "name", "fields")
    for f in doc["fields"]:
        c.need(
            bool(FIELD_CODE_RE.match(str(f.get("code", "")))),
            f"field {f.get('code')}",
            "code must be short uppercase ASCII",
        )
        c.need(isinstance(f.get("name"), str) and f["name"], f"field {f.get('code')}", "empty name")
    stats["fields"] = len(doc["fields"])
    return fields


@dataclass(frozen=True)
class Catalog:
    """What a procedure's checks look codes up in."""

    doc: dict
    levels: dict
    agencies: dict
    fields: dict


@dataclass
class Tally:
    """The summary line's counts, over the procedures."""

    online_time_cut: int = 0
    paid: int = 0
    online_fee_cut: int = 0
    online_fee_half: int = 0
    inter_agency: int = 0


def check_procedures(c: Checker, doc: dict, catalog: Catalog) -> Tally:
    unique(c, doc["procedures"], "code", "procedures")
    fields_used: set[str] = set()
    tally = Tally()
    for p in doc["procedures"]:
        fields_used.add(p.get("field_code"))
        check_procedure(c, p, catalog, tally)
    unused = set(catalog.fields) - fields_used
    c.need(not unused, "fields", f"fields used by no procedure: {sorted(unused)}")
    c.need(
        len(doc["procedures"]) >= MIN_PROCEDURES,
        "procedures",
        f"only {len(doc['procedures'])} procedures (need >= {MIN_PROCEDURES})",
    )
    return tally


def check_procedure(c: Checker, p: dict, catalog: Catalog, tally: Tally) -> None:
    w = f"procedure {p.get('code')}"
    plevels = check_procedure_basics(c, p, w, catalog)
    check_competent_agency(c, p, w, plevels, catalog)
    check_receiving_agencies(c, p, w, plevels, catalog)
    mode = p.get("online_mode")
    c.need(mode in ONLINE_MODES, w, f"bad online_mode {mode!r}")
    days = check_processing_days(c, p, w, mode, tally)
    check_fees(c, p, w, mode, tally)
    check_components(c, p, w)
    check_form_schema(c, p, w)
    check_delivery_and_decision(c, p, w, mode)
    check_steps(c, p, w, catalog, tally, days=days)


def check_procedure_basics(c: Checker, p: dict, w: str, catalog: Catalog) -> list:
    """Names, field and levels; returns the procedure's levels ([] when they are wrong)."""
    for k in ("code", "name", "legal_basis", "result"):
        c.need(isinstance(p.get(k), str) and p[k].strip(), w, f"missing/empty {k}")
    c.need(p.get("field_code") in catalog.fields, w, f"unknown field_code {p.get('field_code')!r}")
    plevels = p.get("levels")
    if c.need(isinstance(plevels, list) and plevels, w, "levels must be a non-empty list"):
        for lv in plevels:
            c.need(lv in catalog.levels, w, f"unknown level {lv!r}")
        c.need(len(set(plevels)) == len(plevels), w, "duplicate level")
        return plevels
    return []


def check_competent_agency(c: Checker, p: dict, w: str, plevels: list, catalog: Catalog) -> None:
    agencies = catalog.agencies
    comp = p.get("competent_agency_code")
    if comp is not None:
        if c.need(comp in agencies, w, f"unknown competent_agency_code {comp!r}"):
            c.need(
                agencies[comp]["level"] == "province",
                w,
                "competent_agency_code must be a provincial agency",
            )
    else:
        c.need(
            "province" not in plevels or len(plevels) > 1,
            w,
            "a province-only procedure needs an explicit competent_agency_code",
        )


def check_receiving_agencies(c: Checker, p: dict, w: str, plevels: list, catalog: Catalog) -> None:
    agencies = catalog.agencies
    rec = p.get("receiving_agency_codes")
    if c.need(isinstance(rec, list), w, "receiving_agency_codes must be a list"):
        c.need(len(set(rec)) == len(rec), w, "duplicate receiving agency")
        for code in rec:
            if c.need(code in agencies, w, f"unknown receiving agency {code!r}"):
                c.need(
                    agencies[code]["is_one_stop_unit"] is True,
                    w,
                    f"receiving agency {code} is not a one-stop unit",
                )
                c.need(
                    agencies[code]["level"] in plevels,
                    w,
                    f"receiving agency {code} is at level {agencies[code]['level']}, not one of {plevels}",
                )
        if not rec:
            c.need(
                any(a["is_one_stop_unit"] and a["level"] in plevels for a in catalog.doc["agencies"]),
                w,
                "no one-stop unit exists at the procedure's level(s)",
            )


def check_processing_days(c: Checker, p: dict, w: str, mode, tally: Tally):
    """The processing time, and the online reduction; returns the days (None when wrong)."""
    days = p.get("processing_days")
    if c.need(is_number(days) and days > 0, w, f"processing_days must be a positive number, got {days!r}"):
        c.need(is_half_multiple(days), w, "processing_days must be a multiple of 0.5")
    else:
        days = None
    odays = p.get("online_processing_days")
    if odays is not None:
        if (
            c.need(is_number(odays) and odays > 0, w, f"bad online_processing_days {odays!r}")
            and days is not None
        ):
            c.need(odays < days - EPS, w, f"online_processing_days {odays} is not < processing_days {days}")
            c.need(mode in ("FULL", "PARTIAL"), w, "online time reduction on a procedure that is not online")
            tally.online_time_cut += 1
    return days


def check_fees(c: Checker, p: dict, w: str, mode, tally: Tally) -> None:
    fees = p.get("fees")
    if not c.need(isinstance(fees, list), w, "fees must be a list"):
        return
    has_cut = has_half = False
    for i, fe in enumerate(fees):
        fw = f"{w} fee[{i}]"
        c.need(fe.get("kind") in FEE_KINDS, fw, f"bad kind {fe.get('kind')!r}")
        c.need(isinstance(fe.get("name"), str) and fe["name"], fw, "empty name")
        amt = fe.get("amount")
        if not c.need(
            isinstance(amt, int) and not isinstance(amt, bool) and amt >= 0,
            fw,
            "amount must be a non-negative integer",
        ):
            continue
        oa = fe.get("online_amount")
        if oa is not None:
            if c.need(
                isinstance(oa, int) and not isinstance(oa, bool) and oa >= 0,
                fw,
                "online_amount must be a non-negative integer or null",
            ):
                c.need(oa <= amt, fw, f"online_amount {oa} > amount {amt}")
                c.need(mode in ("FULL", "PARTIAL"), fw, "online fee on a procedure that is not online")
                if oa < amt:
                    has_cut = True
                if amt > 0 and oa * 2 == amt:
                    has_half = True
        c.need(
            fe.get("note") is None or isinstance(fe.get("note"), str),
            fw,
            "note must be a string or null",
        )
    if any(fe.get("amount", 0) > 0 for fe in fees):
        tally.paid += 1
        tally.online_fee_cut += has_cut
        tally.online_fee_half += has_half


def check_components(c: Checker, p: dict, w: str) -> None:
    comps = p.get("components")
    if not c.need(isinstance(comps, list) and len(comps) >= 2, w, "needs at least 2 components"):
        return
    names = [x.get("name") for x in comps]
    c.need(len(set(names)) == len(names), w, "duplicate component name")
    c.need(any(x.get("required") is True for x in comps), w, "no required component")
    for i, x in enumerate(comps):
        cw = f"{w} component[{i}]"
        c.need(isinstance(x.get("name"), str) and x["name"].strip(), cw, "empty name")
        c.need(isinstance(x.get("required"), bool), cw, "required must be boolean")
        c.need(x.get("copy_type") in COPY_TYPES, cw, f"bad copy_type {x.get('copy_type')!r}")
        c.need(isinstance(x.get("count"), int) and x["count"] >= 1, cw, "count must be an integer >= 1")
        t = x.get("template_url")
        c.need(
            t is None or (isinstance(t, str) and t.startswith("https://")),
            cw,
            "template_url must be null or https URL",
        )
        fmts = x.get("accepted_formats")
        c.need(
            isinstance(fmts, list) and fmts and all(isinstance(m, str) and "/" in m for m in fmts),
            cw,
            "accepted_formats must be a non-empty list of MIME types",
        )
        c.need(
            is_number(x.get("max_size_mb")) and x["max_size_mb"] > 0,
            cw,
            "max_size_mb must be positive",
        )


def check_form_schema(c: Checker, p: dict, w: str) -> None:
    fs = p.get("form_schema")
    if not c.need(isinstance(fs, dict), w, "form_schema must be an object"):
        return
    try:
        Draft202012Validator.check_schema(fs)
    except SchemaError as e:
        c.err(w, f"form_schema is not a valid Draft 2020-12 schema: {e.message}")
    c.need(fs.get("type") == "object", w, "form_schema.type must be 'object'")
    c.need(isinstance(fs.get("title"), str) and fs["title"], w, "form_schema needs a title")
    c.need(fs.get("additionalProperties") is False, w, "form_schema.additionalProperties must be false")
    props = fs.get("properties") or {}
    c.need(3 <= len(props) <= 10, w, f"form_schema has {len(props)} properties (want 3-10)")
    for name, sub in props.items():
        c.need(
            isinstance(sub, dict) and isinstance(sub.get("title"), str) and sub["title"],
            w,
            f"form_schema property {name!r} has no title",
        )
    req = fs.get("required", [])
    c.need(
        isinstance(req, list) and set(req) <= set(props),
        w,
        "form_schema.required names unknown properties",
    )


def check_delivery_and_decision(c: Checker, p: dict, w: str, mode) -> None:
    dm = p.get("delivery_methods")
    if c.need(
        isinstance(dm, list) and dm and set(dm) <= DELIVERY and len(set(dm)) == len(dm),
        w,
        f"bad delivery_methods {dm!r}",
    ):
        if mode == "FULL":
            c.need("ONLINE" in dm, w, "a FULL online procedure must deliver ONLINE")
    dec = p.get("decision")
    if c.need(isinstance(dec, dict), w, "missing decision"):
        c.need(
            isinstance(dec.get("number"), str) and "/QĐ-" in dec["number"],
            w,
            f"bad decision number {dec.get('number')!r}",
        )
        c.need(
            isinstance(dec.get("date"), str) and bool(DATE_RE.match(dec["date"])),
            w,
            f"bad decision date {dec.get('date')!r}",
        )


def check_steps(c: Checker, p: dict, w: str, catalog: Catalog, tally: Tally, *, days) -> None:
    steps = p.get("steps")
    if not c.need(isinstance(steps, list) and steps, w, "needs steps"):
        return
    total = 0.0
    other_agency = False
    for i, st in enumerate(steps):
        sw = f"{w} step[{i}]"
        c.need(isinstance(st.get("name"), str) and st["name"], sw, "empty name")
        ag = st.get("agency")
        if ag not in STEP_AGENCY_KEYWORDS:
            if c.need(ag in catalog.agencies, sw, f"unknown step agency {ag!r}"):
                other_agency = True
        c.need(st.get("role") in STEP_ROLES, sw, f"bad role {st.get('role')!r}")
        d = st.get("days")
        if c.need(
            is_number(d) and d >= 0 and is_half_multiple(d),
            sw,
            f"days must be a multiple of 0.5, got {d!r}",
        ):
            if d == 0:
                c.need(i == len(steps) - 1, sw, "only the final (same-day return) step may take 0 days")
            total += d
    if days is not None:
        c.need(abs(total - days) < EPS, w, f"steps add up to {total}, processing_days is {days}")
    tally.inter_agency += other_agency


def check_against_source(c: Checker, doc: dict, stats: dict) -> None:
    """Optional: the real codes' names and fields match the source CSV, when it is on this machine."""
    if not SOURCE_CSV.exists():
        return
    text = unicodedata.normalize("NFC", SOURCE_CSV.read_text(encoding="utf-8"))
    src = {r["national_code"]: r for r in csv.DictReader(text.splitlines())}
    fname = {f["code"]: f["name"] for f in doc["fields"]}
    for p in doc["procedures"]:
        r = src.get(p.get("code"))
        if r is None:
            continue
        c.need(p["name"] == r["name"], f"procedure {p['code']}", "name differs from the source CSV")
        c.need(
            fname.get(p.get("field_code")) == r["field"],
            f"procedure {p['code']}",
            "field differs from the source CSV",
        )
    stats["from_source"] = sum(1 for p in doc["procedures"] if p.get("code") in src)


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_PATH
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        print(f"FAIL {path}: cannot read JSON: {e}", file=sys.stderr)
        return 1
    c, s = check(doc)
    for prob in c.problems:
        print(prob, file=sys.stderr)
    summary = (
        f"{path.name}: {s.get('agencies', 0)} agencies ({s.get('communes', 0)} communes), "
        f"{s.get('fields', 0)} fields, {s.get('procedures', 0)} procedures "
        f"({s.get('online_time_cut', 0)} with online time reduction, "
        f"{s.get('online_fee_cut', 0)}/{s.get('paid', 0)} paid with online fee reduction "
        f"[{s.get('online_fee_half', 0)} at exactly 50%], "
        f"{s.get('inter_agency', 0)} inter-agency)"
    )
    if c.problems:
        print(f"FAIL {summary} — {len(c.problems)} problem(s)")
        return 1
    print(f"OK {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
