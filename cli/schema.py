"""`dvc export-schema`: the committed GraphQL schema (schema.graphql) and its check."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.support import ROOT, console


def export_schema(
    output: Annotated[Path, typer.Option(help="Tệp đích.")] = ROOT / "schema.graphql",
    check: Annotated[bool, typer.Option(help="Chỉ kiểm tra tệp có khớp không.")] = False,
) -> None:
    """Write the GraphQL schema (SDL) to schema.graphql, or check that it is current."""
    from resolvers.root import schema

    sdl = schema.as_str() + "\n"
    if check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != sdl:
            console.print(f"[red]{output} đã cũ: chạy `dvc export-schema`.[/red]")
            raise typer.Exit(1)
        console.print(f"{output} khớp với schema.")
        return
    output.write_text(sdl, encoding="utf-8")
    console.print(f"Đã ghi {output}.")
