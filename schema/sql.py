"""What a GraphQL field is in SQL: the declarations the compiled read path (`planner`) reads.

A type whose rows come from tables names them with `strawberry.Private` fields annotated with the
ORM model (`row: strawberry.Private[m.Dossier]`); its `column(…)` fields (schema.types.columns)
are columns of those rows. Any other field says what it is in its metadata, under `SQL`:

- `Expr`: an expression over the row (an enum's label, a derived flag such as `overdue`);
- `ToOne` / `ToMany`: the rows of another type reached by a key (to one, to many, in order);
- `Embed`: an object made of the same row's columns (`Dossier.applicant`);
- `ForCaller`: one of these chosen for the caller (a field only staff read);
- `Rows`: a root field answered by a statement of the services (`services.*.queries`), the same
  statement the resolver runs, with the field's arguments bound as parameters.

A field without a declaration is answered by its resolver only: an operation that selects it
runs through the executor, never a guess (docs/architecture.md, "Compiled reads").
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Select

from auth.actor import Actor

AnySelect = Select[*tuple[Any, ...]]  # a statement of any columns
SQL = "dvc.sql"  # the key of a field's declaration in its strawberry metadata


@dataclass(frozen=True)
class Expr:
    """A value computed by PostgreSQL from the row: `template` is SQL where `{row}` (or
    `{<source>}`) stands for the row's alias and `{now}` for the request's clock (a parameter).
    The template is written here, never built from input."""

    template: str
    nullable: bool = True  # False: the expression is never NULL (a non-null field may use it)


@dataclass(frozen=True)
class Join:
    """One source of the target type: its rows of `model` whose `key` column equals the parent's
    `on` column (of the parent's `source` row)."""

    model: type[Any]
    on: str
    key: str = "id"
    source: str = "row"


@dataclass(frozen=True)
class ToOne:
    """The field's object is a row of another table (one per source of the target type, keyed
    by the parent's columns); null when the key is null or the row is gone."""

    joins: Mapping[str, Join]  # target source name → how to reach it
    required: bool = False  # True: a foreign key guarantees the row (a non-null field)


@dataclass(frozen=True)
class Link:
    """A link table between the parent and the rows of a `ToMany`: its rows whose `parent` column
    equals the parent's `on` column, each reaching the row whose `key` equals its `child` column."""

    model: type[Any]
    parent: str
    child: str


@dataclass(frozen=True)
class ToMany:
    """The field's list: the rows of `model` whose `key` column equals the parent's `on` column,
    ordered by `order_by` (SQL over `{row}`, the child's alias, and `{link}`, the link's).

    With `link`, the rows are reached through a link table (`Link`); with `array`, `on` is an
    array column of the parent and the list is, in the array's order, the row whose `key` equals
    each element (an element without a row is left out; `order_by` is not used)."""

    model: type[Any]
    key: str
    on: str
    order_by: str
    source: str = "row"
    link: Link | None = None
    array: bool = False
    where: Callable[[Actor], str] | None = None  # the rows this caller sees: SQL over `{row}`


@dataclass(frozen=True)
class Embed:
    """The field's object is made of the same row: each field of the target type by the column
    (ORM attribute) or `Expr` it reads."""

    fields: Mapping[str, str | Expr]
    source: str = "row"
    present: str | None = None  # SQL over `{row}`: the object exists when true (null otherwise)


@dataclass(frozen=True)
class ForCaller:
    """A field whose value depends on who asks (a contact shown to staff only): `choose(actor)`
    gives the field's declaration for that caller — decided when the plan is built for the
    caller's permission set, from the same rule the resolver applies."""

    choose: Callable[[Actor], Expr]


@dataclass(frozen=True)
class RequestEnv:
    """What a root field's guard sees of the request (the compiled path has no `Context`)."""

    actor: Actor
    address: str | None
    now: datetime
    runtime: Any  # web.runtime.Runtime: settings, journal factory, lookup leases


Guard = Callable[[RequestEnv], Awaitable[bool]]
Shape = Literal["one", "list", "connection", "page"]


class Fallback(Exception):
    """Raised by a root field's `prepare` (or a guard's caller) when this request must run
    through the executor: the executor then answers exactly, refusals and errors included."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Rows:
    """A root field answered from rows.

    `prepare(actor, arguments)` checks the GraphQL arguments as the resolver would and returns
    the statement's parameters (raise `Fallback`, or the services' `ValidationFailed`, to let the
    executor answer); `select(actor, params)` builds the services' statement, with
    `params[name]` a bound parameter (`sqlalchemy.bindparam`), for one shape of the arguments:
    it may branch on which parameters are None and on the actor, never on their values.
    `sources` names the type's sources and the model of each (`{"row": Dossier}`): the statement
    selects each source's key labelled by the source's name (`Dossier.id.label("row")`); a source
    whose model is None is the statement's own row, its columns read by their labels.

    A `connection` (Relay) keeps `params["first"]` rows of the statement, which asks for
    `params["limit"]` (`first + 1`, to know whether a next page exists); `params["has_previous"]`
    is its `pageInfo.hasPreviousPage`. Its cursors are `services.pagination.encode_offset` of
    `params["offset"]` plus the row's number, or, with `cursor`, `encode_key` of that expression
    (the key the services put in their cursors, as text); `cursor` may be a function of the
    statement's `params` (as `select`, deciding on which are None) giving that expression or
    None. `count` is the statement whose rows `totalCount` counts (a `CountedConnection`), run
    only when `totalCount` is selected; when `windowed_count(params)` says so (a ranked search,
    whose order reads every matching row anyway), it is counted in the same scan instead, by a
    window over the statement (`count(*) OVER ()`), and `count` runs only for a page past the
    end. A `page` is `{ items hasNextPage }` of `params["first"]`
    rows (the statement asks for `limit`).
    `guard` runs before the statement (a rate limit); when it refuses, the executor answers (and
    refuses) the request."""

    prepare: Callable[[Actor, Mapping[str, Any]], Mapping[str, Any]]
    select: Callable[[Actor, Mapping[str, Any]], AnySelect]
    parameters: tuple[str, ...]  # the names `prepare` answers, every one on every call
    shape: Shape = "one"
    sources: Mapping[str, type[Any] | None] = field(default_factory=dict)
    cursor: Expr | Callable[[Mapping[str, Any]], Expr | None] | None = None  # or by `params`
    count: Callable[[Actor, Mapping[str, Any]], AnySelect] | None = None
    windowed_count: Callable[[Mapping[str, Any]], bool] | None = None
    guard: Guard | None = None
    non_null: frozenset[str] = frozenset()  # labels the statement never answers NULL for


def uuid_or_none(value: object) -> uuid.UUID | None:
    """A GraphQL `ID` argument as a row key: None when it is not a UUID (no row has it)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class Live:
    """A subscription whose every event is its object re-read (`planner.live`): `rows` (shape
    "one") finds the object's row for the caller and the arguments, and says whether the caller
    may see it; `topic` is the broker topic (`core.broker`) announcing its changes, keyed by the
    id of the row's `key` source. The selection is compiled as a query's would be."""

    rows: Rows
    topic: str
    key: str = "row"
