"""The GraphQL schema's parts: types, inputs, payloads, typed errors, permissions, the request
context and its loaders, and the request extensions. It never imports `resolvers`: the root types
and the executable schema are assembled above both, in `resolvers.root`."""
