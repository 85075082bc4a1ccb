"""`dvc` — operate the administrative-procedure system.

Every sub-command works on the configured servers, or starts the embedded ones under
DATA_DIR when DATABASE_URL / S3_ENDPOINT are not set (see docs/configuration.md). The commands
live in the module of their area (cli/serve.py, cli/database.py, …); this module puts them on
the one `dvc` app, by name, in the order `dvc --help` lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from cli import (
    accounts,
    archive,
    catalog,
    database,
    delivery,
    demo,
    holidays,
    jobs,
    messages,
    partitions,
    schema,
    serve,
    statistics,
)
from cli.support import console
from core.settings import get_settings

app = typer.Typer(help="Hệ thống giải quyết thủ tục hành chính — công cụ vận hành.", no_args_is_help=True)

COMMANDS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("serve", serve.serve),
    ("check-config", serve.check_config),
    ("migrate", database.migrate_cmd),
    ("demo-load", demo.demo_load),
    ("import-catalog", catalog.import_catalog),
    ("create-admin", accounts.create_admin),
    ("run-jobs", jobs.run_jobs),
    ("payments-settle", jobs.payments_settle),
    ("export-schema", schema.export_schema),
    ("servers", serve.servers),
    ("outbox", delivery.outbox_cmd),
    ("messages", messages.messages_cmd),
    ("reconcile-portal", delivery.reconcile_portal),
    ("statistics-rebuild", statistics.statistics_rebuild),
    ("statistics-export", statistics.statistics_export),
    ("backup", database.backup_cmd),
    ("restore", database.restore_cmd),
    ("verify", database.verify_cmd),
    ("export-catalog", catalog.export_catalog),
    ("unlock-account", accounts.unlock_account),
    ("archive-export", archive.archive_export),
    ("generate-data", demo.generate_data),
)
for name, command in COMMANDS:
    app.command(name)(command)
app.add_typer(holidays.app, name="holidays")
app.add_typer(partitions.app, name="partitions")


@app.callback()
def _check_configuration() -> None:
    """Validate every setting before doing anything; a wrong value is named, not a traceback."""
    from pydantic import ValidationError

    try:
        get_settings()
    except ValidationError as error:
        console.print("[red]Cấu hình không hợp lệ:[/red]")
        for item in error.errors():
            name = ".".join(str(p) for p in item["loc"]).upper()
            console.print(f"  • {name}: {item['msg']}")
        raise typer.Exit(2) from None


def main() -> None:
    app()


if __name__ == "__main__":
    main()
