#!/usr/bin/env bash
# GraphiQL's files ship with the service in assets/graphiql/<package>@<version>/<file> (served at
# /graphiql/assets/ by web/graphiql.py), listed with their SHA-256 in assets/graphiql/SHA256SUMS.
# Nothing needs this script to run the service or its tests.
#
#   scripts/fetch-graphiql-assets.sh            check the shipped files against SHA256SUMS (offline)
#   scripts/fetch-graphiql-assets.sh --refresh  fetch them again from the npm registry (`npm pack`)
#                                               and check them against SHA256SUMS
#   scripts/fetch-graphiql-assets.sh --new-sums after changing the versions below (and the paths in
#                                               web/graphiql.py): fetch them and write SHA256SUMS
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=assets/graphiql
PACKAGES=(react@18.2.0 react-dom@18.2.0 graphiql@3.8.3 @graphiql/plugin-explorer@1.0.2)
FILES=(
    react@18.2.0/LICENSE
    react@18.2.0/umd/react.production.min.js
    react-dom@18.2.0/LICENSE
    react-dom@18.2.0/umd/react-dom.production.min.js
    graphiql@3.8.3/LICENSE
    graphiql@3.8.3/graphiql.min.css
    graphiql@3.8.3/graphiql.min.js
    @graphiql/plugin-explorer@1.0.2/dist/style.css
    @graphiql/plugin-explorer@1.0.2/dist/index.umd.js
)
mode=${1:-}

if [ -n "$mode" ]; then
    command -v npm >/dev/null 2>&1 || { echo "npm not found: cannot fetch GraphiQL's files" >&2; exit 1; }
    WORK=$(mktemp -d -t graphiql-assets.XXXXXX)
    trap 'rm -rf "$WORK"' EXIT
    for spec in "${PACKAGES[@]}"; do
        tarball=$(cd "$WORK" && npm pack --silent "$spec" | tail -n 1)
        mkdir -p "$WORK/unpacked/$spec"
        tar xzf "$WORK/$tarball" -C "$WORK/unpacked/$spec" --strip-components=1
    done
    for f in "${FILES[@]}"; do
        [ -s "$WORK/unpacked/$f" ] || { echo "not in the package: $f" >&2; exit 1; }
    done
    case "$mode" in
        --refresh)
            # Checked before anything is replaced: a file that differs from its sum is not installed.
            (cd "$WORK/unpacked" && sha256sum --check --quiet "$OLDPWD/$DEST/SHA256SUMS")
            ;;
        --new-sums)
            (cd "$WORK/unpacked" && sha256sum "${FILES[@]}") > "$WORK/SHA256SUMS"
            rm -rf "$DEST"
            ;;
        *) echo "unknown option: $mode (--refresh or --new-sums)" >&2; exit 2 ;;
    esac
    for f in "${FILES[@]}"; do
        mkdir -p "$DEST/$(dirname "$f")"
        cp "$WORK/unpacked/$f" "$DEST/$f"
    done
    [ "$mode" = --new-sums ] && cp "$WORK/SHA256SUMS" "$DEST/SHA256SUMS"
fi
(cd "$DEST" && sha256sum --check --quiet SHA256SUMS)
echo "GraphiQL's files in $DEST match SHA256SUMS"
