"""`column` fields: read from the wrapped row when asked (as lazily as a method), never set."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

import pytest
import strawberry

from schema.types.columns import column, identifier


@strawberry.type
class Thing:
    row: strawberry.Private[SimpleNamespace]
    id: strawberry.ID = identifier("Mã.")
    label: str = column("Nhãn.", "name")


def test_a_column_reads_the_row_when_asked_and_cannot_be_set() -> None:
    key = uuid.uuid4()
    row = SimpleNamespace(id=key, name="một")
    thing = Thing(row=row)
    row.name = "hai"  # read when asked, not copied at construction
    assert (thing.id, thing.label) == (str(key), "hai")
    with pytest.raises(AttributeError, match="label is read from row"):
        thing.label = "ba"
    with pytest.raises(AttributeError):
        Thing(row=row, label="bốn")


async def test_the_schema_resolves_columns_like_plain_fields() -> None:
    @strawberry.type
    class Query:
        @strawberry.field
        def things(self) -> list[Thing]:
            return [Thing(row=SimpleNamespace(id=uuid.UUID(int=i), name=f"#{i}")) for i in range(3)]

    schema = strawberry.Schema(Query)
    assert "label: String!" in str(schema)
    result = await schema.execute("{ things { id label } }")
    assert result.errors is None
    assert result.data == {"things": [{"id": str(uuid.UUID(int=i)), "label": f"#{i}"} for i in range(3)]}
