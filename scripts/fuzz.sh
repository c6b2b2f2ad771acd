#!/usr/bin/env bash
# Runs the fuzz targets of fuzz/ with libFuzzer, straight through libfuzzer-sys (no cargo-fuzz
# needed, stable Rust): builds them with coverage instrumentation, then runs each for a while,
# two at a time, starting from the committed corpus (fuzz/corpus/TARGET). A crash, a failed
# check, a timeout or running out of memory fails the script and leaves the input that did it
# in fuzz/artifacts/TARGET/.
#
#   scripts/fuzz.sh                      every target for FUZZ_SECONDS (default 10) each (CI)
#   scripts/fuzz.sh email credits        those targets
#   FUZZ_SECONDS=600 scripts/fuzz.sh money
#   FUZZ_KEEP=1 scripts/fuzz.sh email    add the new inputs found to fuzz/corpus/email
#
# Longer runs, with AddressSanitizer, go through cargo-fuzz: see fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds=${FUZZ_SECONDS:-10}
jobs=${FUZZ_JOBS:-2}
started=$(date +%s)
host=$(rustc -vV | sed -n 's/^host: //p')

# cargo-fuzz's instrumentation (without a sanitizer, so stable Rust builds it). The target is
# given explicitly so build scripts are not instrumented.
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing"
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
cargo build --locked --profile fuzz-quick --bins --target "$host"
built=$(date +%s)
echo "fuzz: built the targets in $((built - started)) s"

if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(sed -n 's/^ *{ name = "\([a-z_0-9]*\)".*/\1/p' Cargo.toml)
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

run_one() {
  local target=$1
  local binary="target/$host/fuzz-quick/$target"
  [ -x "$binary" ] || { echo "fuzz: no target $target (see fuzz/Cargo.toml)" >&2; return 1; }
  mkdir -p "corpus/$target" "artifacts/$target" "$scratch/$target"
  # New inputs go to the first folder (thrown away unless FUZZ_KEEP=1); the committed corpus
  # is read from the second.
  local fresh="$scratch/$target"
  [ -n "${FUZZ_KEEP:-}" ] && fresh="corpus/$target"
  local dict=()
  [ -f "dicts/$target.dict" ] && dict=("-dict=dicts/$target.dict")
  if "$binary" "$fresh" "corpus/$target" "${dict[@]}" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/" >"$scratch/$target.log" 2>&1; then
    echo "fuzz: $target ok: $(grep -m1 'stat::number_of_executed_units' "$scratch/$target.log" \
      | sed 's/.*: *//') runs in ${seconds} s"
  else
    echo "fuzz: $target FAILED; the input is in fuzz/artifacts/$target/" >&2
    tail -n 40 "$scratch/$target.log" >&2
    return 1
  fi
}
export -f run_one
export host seconds scratch

status=0
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} || status=1
finished=$(date +%s)
echo "fuzz: ${#targets[@]} targets, $((finished - built)) s of fuzzing, $((finished - started)) s in all"
exit "$status"
