#!/usr/bin/env bash
# Fetch the files strawberry's GraphiQL page loads from unpkg.com (React, GraphiQL, the explorer
# plugin, js-cookie — the exact versions its HTML pins) from the npm registry with `npm pack`,
# into .tools/graphiql-assets/<package>@<version>/<file>. The browser test serves them in place
# of the CDN (this machine and CI reach the npm registry, not unpkg.com); the page's subresource
# integrity hashes still check every byte. Idempotent; exit 0 when all files are there.
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=.tools/graphiql-assets
PACKAGES=(react@18.2.0 react-dom@18.2.0 js-cookie@3.0.5 graphiql@3.8.3 @graphiql/plugin-explorer@1.0.2)
FILES=(
    react@18.2.0/umd/react.production.min.js
    react-dom@18.2.0/umd/react-dom.production.min.js
    js-cookie@3.0.5/dist/js.cookie.min.js
    graphiql@3.8.3/graphiql.min.css
    graphiql@3.8.3/graphiql.min.js
    @graphiql/plugin-explorer@1.0.2/dist/style.css
    @graphiql/plugin-explorer@1.0.2/dist/index.umd.js
)

missing=0
for f in "${FILES[@]}"; do [ -s "$DEST/$f" ] || missing=1; done
if [ "$missing" -eq 0 ]; then
    echo "GraphiQL assets already in $DEST"
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "npm not found: cannot fetch the GraphiQL assets (the GraphiQL browser test will skip)" >&2
    exit 1
fi
WORK=$(mktemp -d -t graphiql-assets.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
for spec in "${PACKAGES[@]}"; do
    tarball=$(cd "$WORK" && npm pack --silent "$spec" | tail -n 1)
    target="$DEST/$spec"
    mkdir -p "$target"
    tar xzf "$WORK/$tarball" -C "$target" --strip-components=1
done
for f in "${FILES[@]}"; do
    [ -s "$DEST/$f" ] || { echo "missing after fetch: $DEST/$f" >&2; exit 1; }
done
echo "GraphiQL assets fetched into $DEST"
