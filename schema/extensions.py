"""Schema extensions: the request's transaction boundary and error masking."""

from __future__ import annotations

from collections.abc import AsyncIterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from resolvers.context import Context
from schema.errors import ClientError


class TransactionBoundary(SchemaExtension):
    """Commit once, after the whole operation, only for a mutation that fully succeeded.

    Services flush and never commit; a mutation answering with a typed error sets
    `rollback_only`; any top-level error also rolls back. So a failed operation leaves nothing
    behind, and notifications sent with `pg_notify` inside the transaction go out only on commit.
    """

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        ec = self.execution_context
        ctx = ec.context
        if not isinstance(ctx, Context):
            return
        result = ec.result
        failed = bool(getattr(result, "errors", None)) or ctx.rollback_only
        is_mutation = ec.graphql_document is not None and ec.operation_type is OperationType.MUTATION
        await ctx.db.finish(commit=is_mutation and not failed)


def should_mask(error: GraphQLError) -> bool:
    """Mask everything the caller should not see: any exception that is not ours to show.

    Parse and validation errors have no original error and stay as they are; permission
    errors are GraphQL errors raised on purpose; `ClientError`s carry a message for the caller.
    """
    original = error.original_error
    if original is None:
        return False
    return not isinstance(original, (GraphQLError, ClientError))
