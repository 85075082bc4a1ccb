"""Compiled reads (the planner): a validated GraphQL query made, once, into one SQL statement
whose result is the response's `data`, built as JSON by PostgreSQL.

- `planner.plans`: documents, operations and plans, cached; `Planner.prepare` per request.
- `planner.compiler`: selection sets to `json_build_object`, relations as sub-selects.
- `planner.roots`: root fields (`schema.sql.Rows`): one object, a list, a Relay connection.
- `planner.statements`: SQL text, positional parameters, scalars printed as the executor does.

What is compiled is declared on the strawberry types (`schema.sql`); the HTTP side is
`web.compiled`. docs/architecture.md, "Compiled reads", tells the whole story.
"""
