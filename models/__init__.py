"""SQLAlchemy models. Import every module here so Alembic sees all tables."""

from models.base import Base
from models.catalog import (
    AdministrativeLevel,
    Agency,
    Field,
    Procedure,
    ProcedureComponent,
    ProcedureEvent,
    ProcedureFee,
    ProcedureReceivingAgency,
    ProcedureVersion,
    WorkflowStep,
)

__all__ = [
    "AdministrativeLevel",
    "Agency",
    "Base",
    "Field",
    "Procedure",
    "ProcedureComponent",
    "ProcedureEvent",
    "ProcedureFee",
    "ProcedureReceivingAgency",
    "ProcedureVersion",
    "WorkflowStep",
]
