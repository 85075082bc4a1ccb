"""Fields read straight from the wrapped ORM row, without a resolver.

A method field (`@strawberry.field def code(self): return self.row.code`) goes through
strawberry's resolver wrapper on every value: an `Info`, the argument conversion, the field
extension chain. A field without a resolver is read with a plain `getattr` instead, about half the
cost per value, and a list of a hundred dossiers with their steps has thousands of them. `column`
declares such a field: its default is a data descriptor that reads the attribute from the row when
asked, so the value stays as lazy as a method's and the types are still built as `Dossier(row=…)`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry


class Column:
    """`instance.<name>` reads `instance.<source>.<attribute>` (the attribute defaults to the name),
    passed through `convert` when given and not None (an `ID` is a string, the row's key a UUID)."""

    def __init__(
        self, attribute: str | None = None, source: str = "row", convert: Callable[[Any], Any] | None = None
    ) -> None:
        self.attribute = attribute
        self.source = source
        self.convert = convert
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.attribute = self.attribute or name

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self  # the dataclass's default: itself, given back to __set__ below
        value = getattr(getattr(instance, self.source), self.attribute or self.name)
        return value if self.convert is None or value is None else self.convert(value)

    def __set__(self, instance: object, value: object) -> None:
        if value is not self:
            raise AttributeError(f"{self.name} is read from {self.source}, it cannot be set")


def column(
    description: str,
    attribute: str | None = None,
    *,
    source: str = "row",
    convert: Callable[[Any], Any] | None = None,
) -> Any:
    """A GraphQL field whose value is `self.<source>.<attribute>` (see the module's docstring)."""
    return strawberry.field(description=description, default=Column(attribute, source, convert))


def identifier(description: str, *, source: str = "row") -> Any:
    """The row's UUID key as a GraphQL `ID`."""
    return column(description, "id", source=source, convert=str)
