#!/usr/bin/env bash
# The SDKs and the Postman collection, generated from the API's OpenAPI document:
#   sdks/openapi.json                            the document (example openapi_doc: what
#                                                /api/v1/openapi.json serves with the built-in services)
#   sdks/python/quickscale_api/                  openapi-python-client
#   sdks/typescript/src/schema.d.ts              openapi-typescript (used with openapi-fetch)
#   docs/api/quickscale.postman_collection.json  openapi-to-postmanv2
# The generators are pinned (sdks/tools/package-lock.json, sdks/tools/requirements.txt) and
# installed into the target directory on first use.
#
#   scripts/sdks.sh           regenerates them all
#   scripts/sdks.sh --check   regenerates into a temporary folder and fails when a committed file
#                             differs (CI: the document, the SDKs and the server cannot drift)
#   scripts/sdks.sh --tools   only installs the tools (and the TypeScript SDK's openapi-fetch);
#                             prints the tools folder
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
tools=$target/sdk-tools
mode=${1:-write}

install_tools() {
  mkdir -p "$tools"
  if ! cmp -s sdks/tools/package-lock.json "$tools/package-lock.json" \
    || [ ! -x "$tools/node_modules/.bin/openapi-typescript" ]; then
    cp sdks/tools/package.json sdks/tools/package-lock.json "$tools/"
    (cd "$tools" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  fi
  if ! cmp -s sdks/tools/requirements.txt "$tools/venv/requirements.txt" \
    || [ ! -x "$tools/venv/bin/openapi-python-client" ]; then
    rm -rf "$tools/venv"
    python3 -m venv "$tools/venv"
    "$tools/venv/bin/pip" install --quiet --disable-pip-version-check -r sdks/tools/requirements.txt >&2
    cp sdks/tools/requirements.txt "$tools/venv/requirements.txt"
  fi
  # The TypeScript SDK's own dependency (openapi-fetch), where node finds it for its tests.
  if ! cmp -s sdks/typescript/package-lock.json sdks/typescript/node_modules/.installed-lock.json; then
    (cd sdks/typescript && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    cp sdks/typescript/package-lock.json sdks/typescript/node_modules/.installed-lock.json
  fi
}

# Writes everything generated under $1 (the repository, or a folder of the same layout).
generate() {
  local out=$1
  mkdir -p "$out/sdks/python" "$out/sdks/typescript/src" "$out/docs/api"
  cargo run --quiet -p quickscale-app-web --example openapi_doc >"$out/sdks/openapi.json"
  # The generator formats its output with ruff, from the same virtual environment, for the
  # Python versions sdks/python/pyproject.toml names.
  [ "$out" = "$root" ] || cp sdks/python/pyproject.toml "$out/sdks/python/"
  (cd "$out/sdks/python" && PATH="$tools/venv/bin:$PATH" RUFF_NO_CACHE=true "$tools/venv/bin/openapi-python-client" \
    generate --path "$out/sdks/openapi.json" --meta none --output-path quickscale_api \
    --overwrite --config "$root/sdks/python/generator.yaml" >&2)
  "$tools/node_modules/.bin/openapi-typescript" "$out/sdks/openapi.json" \
    -o "$out/sdks/typescript/src/schema.d.ts" >&2
  # openapi-to-postmanv2, made repeatable (sdks/tools/postman.mjs says how).
  node "$root/sdks/tools/postman.mjs" "$tools/node_modules" "$out/sdks/openapi.json" \
    "$out/docs/api/quickscale.postman_collection.json"
}

install_tools
case "$mode" in
  --tools) echo "$tools" ;;
  --check)
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch" "$scratch.log"' EXIT
    generate "$scratch" 2>"$scratch.log" || { cat "$scratch.log" >&2; exit 1; }
    status=0
    for path in sdks/openapi.json sdks/python/quickscale_api sdks/typescript/src/schema.d.ts \
      docs/api/quickscale.postman_collection.json; do
      if ! diff -r -q -x __pycache__ "$path" "$scratch/$path" >/dev/null 2>&1; then
        diff -r -u -x __pycache__ "$path" "$scratch/$path" | head -40 >&2 || true
        echo "$path differs from what the OpenAPI document generates: run scripts/sdks.sh and commit" >&2
        status=1
      fi
    done
    [ $status -eq 0 ] && echo "The SDKs and the Postman collection match the OpenAPI document."
    exit $status
    ;;
  write) generate "$root" ;;
  *) echo "usage: scripts/sdks.sh [--check|--tools]" >&2; exit 2 ;;
esac
