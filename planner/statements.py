"""SQL text and parameters: the services' statements made into fragments of one plan's text, and
every parameter bound by position (`$n`), never formatted into the text.

A plan's text is fixed once built, so asyncpg prepares it once per connection; what changes from
one request to the next — the GraphQL variables, the clock — are parameters. The values an actor's
permissions put into a statement (their agencies, their account) are parameters too, fixed for the
plan, which is cached per permission set (`planner.plans`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.sql.elements import BindParameter

from schema.sql import AnySelect

_DIALECT = PGDialect_asyncpg(paramstyle="pyformat")  # type: ignore[no-untyped-call]
_PLACEHOLDER = re.compile(r"%\(([^)]+)\)s")
_EXPANDED = re.compile(r"_\d+$")
_POSITION = re.compile(r"\$(\d+)(?!\d)")


class NotCompilable(Exception):
    """This operation (for this caller) has no plan: it runs through the executor. The message is
    the reason, counted in `/metrics` and logged when PLANNER_LOG_FALLBACKS is on."""


@dataclass(frozen=True)
class Param:
    """One positional parameter of a plan: a request value by name (`request`), or a value fixed
    when the plan was built (`fixed`)."""

    request: str | None = None
    fixed: Any = None
    convert: Callable[[Any], Any] | None = None


@dataclass
class Parameters:
    """The parameters of one plan's text, in order: `$1` is `items[0]`."""

    items: list[Param] = field(default_factory=list)
    _by_request: dict[str, int] = field(default_factory=dict)

    def request(self, name: str, convert: Callable[[Any], Any] | None = None) -> str:
        """`$n` of the request value `name` (one position per name)."""
        if name not in self._by_request:
            self.items.append(Param(request=name, convert=convert))
            self._by_request[name] = len(self.items)
        return f"${self._by_request[name]}"

    def fixed(self, value: Any) -> str:
        self.items.append(Param(fixed=value))
        return f"${len(self.items)}"

    def unused(self, sql: str) -> list[int]:
        """The positions no `$n` of `sql` reads (PostgreSQL refuses a statement given more
        parameters than it uses: such a plan is refused, never run)."""
        used = {int(n) for n in _POSITION.findall(sql)}
        return [n for n in range(1, len(self.items) + 1) if n not in used]

    def values(self, request: Mapping[str, Any]) -> list[Any]:
        out = []
        for p in self.items:
            if p.request is None:
                out.append(p.fixed)
                continue
            value = request[p.request]
            out.append(p.convert(value) if p.convert is not None and value is not None else value)
        return out


def placeholder(name: str) -> BindParameter[Any]:
    """A request parameter inside a services' statement: bound when the plan runs (its type is
    the column's it is compared with)."""
    return bindparam(name, None, required=False)


def fragment(stmt: AnySelect, params: Parameters, request_names: set[str]) -> str:
    """`stmt` as SQL text for a plan: the placeholders named in `request_names` become request
    parameters, every other bound value (the actor's agencies, enum constants) a fixed one,
    processed as SQLAlchemy would bind it."""
    compiled = stmt.compile(dialect=_DIALECT, compile_kwargs={"render_postcompile": True})
    processors: dict[str, Any] = dict(compiled._bind_processors)
    values = compiled.params

    def processor(name: str) -> Callable[[Any], Any] | None:
        return processors.get(name) or processors.get(_EXPANDED.sub("", name))

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in request_names:
            return params.request(name, processor(name))
        value = values[name]
        convert = processor(name)
        return params.fixed(convert(value) if convert is not None and value is not None else value)

    return _PLACEHOLDER.sub(replace, str(compiled)).replace("%%", "%")


def quote_literal(text: str) -> str:
    """A SQL string literal of text from our own code (type names, response keys, a zone name)."""
    return "'" + text.replace("'", "''") + "'"


def fixed_offset(zone: ZoneInfo) -> str | None:
    """The zone's UTC offset as `+HH:MM` when it has been the same since 1976 and stays so (every
    Vietnamese province: +07:00, and UTC); None for a zone with daylight saving."""
    offsets = {
        datetime(year, month, 1, tzinfo=UTC).astimezone(zone).isoformat()[-6:]
        for year in range(1976, 2100, 3)
        for month in (1, 7)
    }
    return offsets.pop() if len(offsets) == 1 else None


def wire_datetime(expression: str, zone: ZoneInfo) -> str:
    """SQL printing a `timestamptz` as `schema.scalars.wire_datetime` does: in the province's
    zone, six fraction digits, `+HH:MM`."""
    offset = fixed_offset(zone)
    if offset is None:
        raise NotCompilable(f"zone {zone.key} has daylight saving: DateTime is printed by the executor")
    local = f"to_char(({expression}) AT TIME ZONE {quote_literal(zone.key)}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    return f"({local} || {quote_literal(offset)})"


def wire_date(expression: str) -> str:
    """SQL printing a `date` as `schema.scalars.wire_date`: `YYYY-MM-DD`."""
    return f"to_char({expression}, 'YYYY-MM-DD')"


def wire_float(expression: str) -> str:
    """SQL printing a short `numeric` (`planner.compiler._short_numeric`) as the executor prints
    it as a GraphQL Float (`float(value)`, in JSON): trailing zeros dropped, `.0` when whole —
    `15.0`, `2.5`; a JSON number (NULL stays NULL)."""
    trimmed = f"trim_scale({expression})"
    return f"(({trimmed})::text || CASE WHEN scale({trimmed}) = 0 THEN '.0' ELSE '' END)::json"


def base64url(text_sql: str) -> str:
    """SQL of `base64.urlsafe_b64encode(text.encode()).decode()`: PostgreSQL's base64 breaks
    lines every 76 characters, `translate` drops the breaks (a third source character without
    a replacement)."""
    return f"translate(encode(convert_to({text_sql}, 'UTF8'), 'base64'), '+/' || chr(10), '-_')"
