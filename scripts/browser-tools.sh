#!/usr/bin/env bash
# Installs what the browser tests inject into pages (tests/browser-tools/package.json: axe-core,
# pinned by its package-lock.json) into the target directory, with `npm ci`. The browser tests
# call it when the files are missing; .ci/run calls it with the other test tools.
# Prints the folder that holds node_modules/.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
dest=$target/browser-tools
mkdir -p "$dest"
if ! cmp -s tests/browser-tools/package-lock.json "$dest/package-lock.json" \
  || [ ! -f "$dest/node_modules/axe-core/axe.min.js" ]; then
  cp tests/browser-tools/package.json tests/browser-tools/package-lock.json "$dest/"
  (cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi
echo "$dest"
