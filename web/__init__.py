"""The HTTP layer: the GraphQL view, request authentication, the plain HTTP endpoints, the
middleware and the process's background workers. Above `schema` and `resolvers`; nothing below
imports it."""
