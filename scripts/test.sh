#!/usr/bin/env bash
# The whole test suite. PostgreSQL suites use TEST_DATABASE_URL when set, otherwise a throwaway
# server started from the local PostgreSQL binaries (`pg_config --bindir`).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace "$@"
