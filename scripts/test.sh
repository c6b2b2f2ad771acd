#!/usr/bin/env bash
# The whole test suite. PostgreSQL suites use TEST_DATABASE_URL when set, otherwise a throwaway
# server started from the local PostgreSQL binaries (`pg_config --bindir`), otherwise (or with
# QS_POSTGRES_VIA=docker) a container of the local test image when a Docker engine answers
# (docs/testing.md).
#
# A test whose backend or tool is missing (PostgreSQL, chromium and chromedriver, aiosmtpd,
# Stripe's Python library) skips unless its QS_REQUIRE_* switch is on, and cargo still counts it
# as passed; so each skip is recorded, and the list is printed at the end. Set every switch to
# 1 to make anything missing fail instead (CI does).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-$PWD/target}
mkdir -p "$target"
export QS_SKIP_LOG=$target/skipped-tests.log
: > "$QS_SKIP_LOG"

status=0
cargo test --workspace --no-fail-fast "$@" || status=$?

if [ -s "$QS_SKIP_LOG" ]; then
  echo
  echo "== SKIPPED: $(wc -l < "$QS_SKIP_LOG") tests did not run (cargo counted them as passed):"
  sort "$QS_SKIP_LOG" | sed 's/^/  /'
  echo "   By switch:"
  grep -o 'QS_REQUIRE_[A-Z_]*' "$QS_SKIP_LOG" | sort | uniq -c | sed 's/^ */     /'
  echo "   Install what is missing, or set its QS_REQUIRE_* switch to 1 to fail instead (README: Run the tests)."
else
  echo
  echo "== no test was skipped for a missing backend or tool"
fi
exit "$status"
