"""Schema extensions: the request's transaction boundary, error masking and operation metrics."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import AsyncIterator, Iterator

from graphql import GraphQLError, StringValueNode, ValidationRule
from opentelemetry import trace
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.types.graphql import OperationType

from core.db import is_database_unavailable
from core.http import DATABASE_UNAVAILABLE_MESSAGE, NUL_MESSAGE
from core.observability import ERRORS, graphql_children, request_id
from schema.context import Context
from schema.errors import ClientError

log = logging.getLogger("dvc")
INTERNAL_ERROR_MESSAGE = "Lỗi hệ thống, vui lòng thử lại sau."
_NAME = re.compile(r"^[_A-Za-z][_0-9A-Za-z]{0,59}$")


class TransactionBoundary(SchemaExtension):
    """Commit once, after the whole operation, only for a mutation that fully succeeded.

    Services flush and never commit; a mutation answering with a typed error sets
    `rollback_only`; any top-level error also rolls back. So a failed operation leaves nothing
    behind, and notifications sent with `pg_notify` inside the transaction go out only on commit.
    """

    def on_execute(self) -> Iterator[None]:
        """A mutation reads and writes the primary only (`RequestDb.writing`)."""
        ec = self.execution_context
        if isinstance(ec.context, Context) and ec.operation_type is OperationType.MUTATION:
            ec.context.db.writing = True
        yield

    async def on_operation(self) -> AsyncIterator[None]:
        ec = self.execution_context
        ctx = ec.context
        try:
            yield
        except BaseException:
            # Raised out of the operation (the request time limit, a cancelled request): roll back.
            if isinstance(ctx, Context):
                try:
                    await ctx.db.finish(commit=False)
                except Exception:  # the connection is closed and dropped by the pool anyway
                    log.warning("rollback after an interrupted operation failed", exc_info=True)
            raise
        if not isinstance(ctx, Context):
            return
        result = ec.result
        failed = bool(getattr(result, "errors", None)) or ctx.rollback_only
        is_mutation = ec.graphql_document is not None and ec.operation_type is OperationType.MUTATION
        try:
            await ctx.db.finish(commit=is_mutation and not failed)
        except Exception as error:
            # The commit did not happen (or cannot be known to have happened): the caller must
            # not see a success, nor the driver's message. A retry with the same idempotency
            # key applies once.
            log.warning("the request's transaction could not be finished", exc_info=True)
            if is_database_unavailable(error):
                raise database_unavailable() from None
            raise GraphQLError(INTERNAL_ERROR_MESSAGE) from None


def database_unavailable(error: GraphQLError | None = None) -> GraphQLError:
    """PostgreSQL restarting or unreachable: a clear "try again later" with its own code."""
    return GraphQLError(
        DATABASE_UNAVAILABLE_MESSAGE,
        nodes=error.nodes if error else None,
        source=error.source if error else None,
        positions=error.positions if error else None,
        path=error.path if error else None,
        extensions={"code": "DATABASE_UNAVAILABLE"},
    )


class MaskInternalErrors(MaskErrors):
    """Strawberry's masking, except that a database outage says so (`DATABASE_UNAVAILABLE`)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=should_mask, error_message=INTERNAL_ERROR_MESSAGE)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if error.original_error is not None and is_database_unavailable(error.original_error):
            return database_unavailable(error)
        return super().anonymise_error(error)


def should_mask(error: GraphQLError) -> bool:
    """Mask everything the caller should not see: any exception that is not ours to show.

    Parse and validation errors have no original error and stay as they are; permission
    errors are GraphQL errors raised on purpose; `ClientError`s carry a message for the caller.
    """
    original = error.original_error
    if original is None:
        return False
    return not isinstance(original, (GraphQLError, ClientError))


_SEEN_NAMES: set[str] = set()


def operation_label(name: str | None) -> str:
    """The metrics label of an operation name (see `OperationMetrics`)."""
    if not name:
        return "anonymous"
    if not _NAME.match(name):
        return "other"
    if name not in _SEEN_NAMES:
        if len(_SEEN_NAMES) >= 500:
            return "other"
        _SEEN_NAMES.add(name)
    return name


class OperationMetrics(SchemaExtension):
    """Counts and times each operation by name, and counts the errors it answered by code.

    Operation names come from clients: a name that is not a plain GraphQL name of at most 60
    characters, or any name beyond the first 500 seen by this process, is counted as `other`,
    so a client cannot blow up the metrics' size.
    """

    async def on_operation(self) -> AsyncIterator[None]:
        started = time.perf_counter()
        yield
        ec = self.execution_context
        name = operation_label(ec.operation_name)
        try:
            kind = ec.operation_type.value if ec.graphql_document is not None else "invalid"
        except Exception:  # noqa: BLE001 — an unparsable or ambiguous document has no type
            kind = "invalid"
        count, seconds = graphql_children(name, kind)
        count.inc()
        seconds.observe(time.perf_counter() - started)
        for error in getattr(ec.result, "errors", None) or ():
            code = (error.extensions or {}).get("code") if isinstance(error, GraphQLError) else None
            ERRORS.labels(str(code) if code else "GRAPHQL_ERROR").inc()


class RejectNulInLiterals(ValidationRule):
    """PostgreSQL text cannot hold U+0000: a string literal containing it is refused at
    validation, with code BAD_CHARACTER, before any resolver runs (variables are checked when
    the request body is decoded, in app.py)."""

    def enter_string_value(self, node: StringValueNode, *_args: object) -> None:
        if "\x00" in node.value:
            self.report_error(GraphQLError(NUL_MESSAGE, node, extensions={"code": "BAD_CHARACTER"}))


def contains_nul(value: object) -> bool:
    """Whether a decoded JSON value holds U+0000 anywhere (keys included)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(k) or contains_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(contains_nul(v) for v in value)
    return False


class OperationTracing(SchemaExtension):
    """One OpenTelemetry span per GraphQL operation (name, type, request id), the current span
    while it runs. Installed only when tracing is configured (see core/tracing.py)."""

    def on_operation(self) -> Iterator[None]:
        tracer = trace.get_tracer("dvc.graphql")
        with tracer.start_as_current_span("graphql.operation", kind=trace.SpanKind.INTERNAL) as span:
            yield
            ec = self.execution_context
            name = ec.operation_name or "anonymous"
            try:
                kind = ec.operation_type.value if ec.graphql_document is not None else "invalid"
            except Exception:  # noqa: BLE001 — an unparsable document has no type
                kind = "invalid"
            span.update_name(f"GraphQL {kind} {name}")
            span.set_attribute("graphql.operation.name", name)
            span.set_attribute("graphql.operation.type", kind)
            span.set_attribute("dvc.request_id", request_id.get() or "")
            errors = getattr(ec.result, "errors", None)
            if errors:
                span.set_attribute("graphql.errors", len(errors))
