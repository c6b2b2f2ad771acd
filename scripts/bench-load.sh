#!/usr/bin/env bash
# Load benchmark of the credit-consuming service run through the web endpoint, like a browser
# (session cookie and CSRF token), on PostgreSQL and on SQLite, compared with pgbench running an
# approximation of one run's SQL (scripts/bench/pgbench.sql) on the same server. Prints numbers.
#
# It also checks what it measures, and exits non-zero (after printing everything) when:
# - a load run has an error, or a response that does not state the charge and the balance
#   after ("reported" differs from "requests");
# - pgbench has failed transactions or aborted clients;
# - verify-ledger finds a run and a debit that do not match, or a broken ledger invariant
#   (after each backend's load, and after the long-history run).
#
#   scripts/bench-load.sh            # DURATION=15 seconds per run by default
#   HISTORY=100000 scripts/bench-load.sh   # runs added to one user's ledger before the last run
#   METRICS_COMPARE=1 ROUNDS=3 scripts/bench-load.sh  # only the paid run on PostgreSQL, metrics
#                                    # off and on (METRICS_TOKEN, scraped every second), alternating
#
# Needs: wrk (apt-get install wrk), the PostgreSQL server binaries (pg_config --bindir), curl.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-15}
HISTORY=${HISTORY:-100000}
ACCOUNTS=50
EXTRA_ENV=() # settings added to the app's environment (the metrics comparison)
FAILURES=()
fail() { echo "FAILED: $*"; FAILURES+=("$*"); }
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072

command -v wrk >/dev/null || { echo "installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
echo "== building the app (release)"
cargo build --release -q -p quickscale-app-web --example demo
BIN=$ROOT/target/release/examples/demo

WORK=$(mktemp -d /tmp/qs-bench-XXXX)
chmod 755 "$WORK" # the postgres user (when we are root) must reach its data folder
PGBIN=$(pg_config --bindir)
AS_PG=""
[ "$(id -u)" = 0 ] && AS_PG="runuser -u postgres --"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
APP_PID=""
cleanup() {
  [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null || true
  $AS_PG "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting PostgreSQL"
mkdir -p "$WORK/pg"
[ -n "$AS_PG" ] && chown -R postgres:postgres "$WORK/pg"
$AS_PG "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
PG_PORT=$(free_port)
PG_SETTINGS="-c synchronous_commit=off -c max_connections=200 -c shared_buffers=256MB"
$AS_PG "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w \
  -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 $PG_SETTINGS" start >/dev/null
PSQL="$PGBIN/psql -h 127.0.0.1 -p $PG_PORT -U postgres -q -v ON_ERROR_STOP=1"
$PSQL -c "CREATE DATABASE app" postgres
echo "   PostgreSQL settings: $PG_SETTINGS (same for pgbench)"

APP_PORT=$(free_port)
app_env() { # exec: the app replaces the subshell, so $! is the app's own process
  exec env SECRET_KEY=bench-secret-key-0123456789abcdef0123456789 PORT=$APP_PORT WELCOME_CREDITS=1000000 \
      ADMIN_PASSWORD=bench-admin-password RUST_LOG=warn TRUST_PROXY=true DATABASE_MAX_CONNECTIONS=24 \
      QUICKSCALE_PROJECT_DIR=$WORK "${EXTRA_ENV[@]}" DATABASE_URL="$1" "${@:2}"
}

start_app() {
  (app_env "$1" "$BIN" serve >"$WORK/app.log" 2>&1) &
  APP_PID=$!
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$APP_PORT/health" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "the app did not start"; cat "$WORK/app.log"; exit 1
}

stop_app() {
  kill -TERM "$APP_PID"; wait "$APP_PID" 2>/dev/null || true; APP_PID=""
}

# Registers ACCOUNTS users and writes "cookie token" lines (the session and its CSRF token)
# to $WORK/<backend>-sessions-all, and the first one to $WORK/<backend>-sessions-one.
make_sessions() {
  : > "$WORK/$1-sessions-all"
  for i in $(seq 1 $ACCOUNTS); do
    jar="$WORK/jar-$i"
    # One client address per account: registration is rate limited per client (TRUST_PROXY=true).
    ip=(-H "X-Forwarded-For: 10.1.$((i / 250)).$((i % 250 + 1))")
    token=$(curl -s "${ip[@]}" -c "$jar" "http://127.0.0.1:$APP_PORT/register" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"//')
    curl -s "${ip[@]}" -b "$jar" -c "$jar" -o /dev/null --data-urlencode "email=bench$i@example.com" \
      --data-urlencode "password=bench password $i" --data-urlencode "password_confirmation=bench password $i" \
      --data-urlencode "csrf_token=$token" "http://127.0.0.1:$APP_PORT/register"
    token=$(curl -s -b "$jar" -c "$jar" "http://127.0.0.1:$APP_PORT/services/text_sentiment_analysis" | grep -o 'name="csrf_token" value="[^"]*"' | head -1 | sed 's/.*value="//; s/"//')
    cookie=$(awk '$6 == "qs_session" { print "qs_session=" $7 }' "$jar")
    echo "$cookie $token" >> "$WORK/$1-sessions-all"
  done
  head -1 "$WORK/$1-sessions-all" > "$WORK/$1-sessions-one"
}

RESULTS=$WORK/results
: > "$RESULTS"
# CPU time (clock ticks) of a process, and of the benchmark's PostgreSQL (postmaster and children).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {
  local master total=0 p
  master=$(head -1 "$WORK/pg/data/postmaster.pid")
  for p in $master $(pgrep -P "$master"); do total=$((total + $(ticks "$p"))); done
  echo $total
}
pg_commits() { $PSQL -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = 'app'" postgres; }

# The value of NAME=VALUE in a line of words.
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }

load() { # backend shape connections [label] [duration]
  local file=$WORK/$1-sessions-$2
  local line app0 pg0 tx0 requests errors reported hz
  app0=$(ticks "$APP_PID"); pg0=$(pg_ticks); tx0=$(pg_commits)
  line=$(SESSIONS=$file wrk -t2 -c"$3" -d"${5:-$DURATION}s" -s "$ROOT/scripts/bench/run.lua" "http://127.0.0.1:$APP_PORT" | grep '^RESULT' || true)
  requests=$(field requests "$line"); errors=$(field errors "$line"); reported=$(field reported "$line")
  if [ -z "$requests" ] || [ "$requests" = 0 ]; then
    fail "${4:-$1} $2 c=$3: no result from wrk"; return
  fi
  # Every response must be a charged result page: no error, and as many as requests.
  [ "$errors" = 0 ] || fail "${4:-$1} $2 c=$3: $errors errors"
  [ "$reported" = "$requests" ] || fail "${4:-$1} $2 c=$3: $reported of $requests responses stated the charge and balance"
  # Where the time goes: CPU per request in the app and in PostgreSQL, and PostgreSQL
  # transactions (each statement outside BEGIN..COMMIT is one) per request.
  hz=$(getconf CLK_TCK)
  line="$line $(awk -v a=$(( $(ticks "$APP_PID") - app0 )) -v p=$(( $(pg_ticks) - pg0 )) \
      -v t=$(( $(pg_commits) - tx0 )) -v n="$requests" -v hz="$hz" -v b="$1" \
      'BEGIN { printf "app_cpu_ms=%.2f", 1000 * a / hz / n;
               if (b != "sqlite") printf " db_cpu_ms=%.2f db_transactions=%.1f", 1000 * p / hz / n, t / n }')"
  echo "${4:-$1} $2 c=$3 $line" | tee -a "$RESULTS"
}

bench_backend() { # name url
  echo "== $1"
  start_app "$2"
  make_sessions "$1"
  for shape in all one; do
    for c in 16 64; do load "$1" "$shape" "$c"; done
  done
  echo "$1 peak_rss_kib=$(awk '/VmHWM/ {print $2}' /proc/$APP_PID/status) idle_rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$APP_PID/status)" | tee -a "$RESULTS"
  stop_app
  verify_ledger "$1" "$2"
}

# verify-ledger over the whole database: every account's invariants, every run matched with
# its debit. Its verdict goes to the results; a failure lists the first problems.
verify_ledger() { # label url
  echo "-- verifying the ledger ($1)"
  local out=$WORK/verify-$1.log
  if (app_env "$2" "$BIN" verify-ledger) >"$out" 2>&1; then
    echo "$1 verify-ledger: $(grep '^accounts ' "$out")" | tee -a "$RESULTS"
  else
    head -20 "$out"; tail -3 "$out"
    fail "$1: verify-ledger found problems"
  fi
}

if [ -n "${METRICS_COMPARE:-}" ]; then
  # The cost of metrics on the paid run: the same load with metrics off and on, alternating so
  # that the machine's drift falls on both; with metrics on, a scraper asks for /metrics every
  # second (Prometheus' usual interval is 15 s) so that rendering is part of the cost.
  echo "== metrics off vs on (PostgreSQL, the paid run, ${ROUNDS:-3} rounds)"
  url="postgres://postgres@127.0.0.1:$PG_PORT/app"
  start_app "$url"; make_sessions postgres; stop_app
  token=bench-metrics-token-0123456789
  for round in $(seq 1 "${ROUNDS:-3}"); do
    for mode in off on; do
      EXTRA_ENV=(); [ $mode = on ] && EXTRA_ENV=(METRICS_TOKEN=$token)
      start_app "$url"
      scraper=""
      if [ $mode = on ]; then
        curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$APP_PORT/metrics" | grep -q '^quickscale_build_info' \
          || fail "metrics on: /metrics does not answer"
        (while sleep 1; do curl -fs -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:$APP_PORT/metrics"; done) &
        scraper=$!
      fi
      load postgres all 16 "metrics-$mode"
      [ -n "$scraper" ] && kill "$scraper" 2>/dev/null
      stop_app
    done
  done
  echo
  echo "== metrics: mean requests per second, off and on, and the cost"
  awk '$1 ~ /^metrics-/ { for (i = 4; i <= NF; i++) if ($i ~ /^rps=/) { split($i, r, "="); sum[$1] += r[2]; n[$1]++; all[$1] = all[$1] " " r[2] } }
       END { off = sum["metrics-off"] / n["metrics-off"]; on = sum["metrics-on"] / n["metrics-on"];
             printf "  off: %.1f rps (%s)\n  on:  %.1f rps (%s)\n  cost: %.1f %% of requests per second\n", off, all["metrics-off"], on, all["metrics-on"], 100 * (off - on) / off }' "$RESULTS"
  if [ ${#FAILURES[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${FAILURES[@]}"; exit 1
  fi
  exit 0
fi

bench_backend postgres "postgres://postgres@127.0.0.1:$PG_PORT/app"
bench_backend sqlite "sqlite://$WORK/app.db"

echo "== pgbench: an approximation of one run's SQL, straight to PostgreSQL"
# scripts/bench/pgbench.sql claims a run, runs the ledger transaction for one grant and finishes
# the run; the app's own statements differ (it also loads the session and the user, and plans
# over every open grant). A ceiling for comparison, not the same work.
$PSQL -c "CREATE DATABASE ceiling TEMPLATE app" postgres
$PSQL ceiling <<SQL
CREATE TABLE bench_accounts AS SELECT row_number() OVER (ORDER BY u.email) AS n, u.id FROM users u WHERE u.email LIKE 'bench%';
CREATE SEQUENCE bench_keys;
SQL
for accounts in $ACCOUNTS 1; do
  for c in 16 64; do
    out=$WORK/pgbench.out; err=$WORK/pgbench.err; status=0
    "$PGBIN/pgbench" -h 127.0.0.1 -p $PG_PORT -U postgres -n -c "$c" -j 2 -T "$DURATION" \
        -D accounts=$accounts -f "$ROOT/scripts/bench/pgbench.sql" ceiling >"$out" 2>"$err" || status=$?
    tps=$(awk '/^tps/ {print $3; exit}' "$out")
    failed=$(awk -F'[: ]+' '/^number of failed transactions/ {print $5; exit}' "$out")
    aborted=$(grep -c 'aborted' "$err" || true)
    echo "pgbench accounts=$accounts c=$c tps=${tps:-none} failed=${failed:-unknown} aborted_clients=$aborted exit=$status" | tee -a "$RESULTS"
    if [ "$status" != 0 ] || [ "${failed:-1}" != 0 ] || [ "$aborted" != 0 ]; then
      grep -v '^pgbench: client [0-9]* executing\|progress' "$err" | head -5
      fail "pgbench accounts=$accounts c=$c: exit $status, ${failed:-unknown} failed transactions, $aborted aborted clients"
    fi
  done
done

echo "== a user with $HISTORY more runs in the ledger (PostgreSQL): does a run stay as fast?"
# The history is made the way users make it: service runs through the web endpoint (each a
# claimed run, a debit with its allocation, a finished run), 30 seconds at a time (each checked
# like the runs above) until the user has $HISTORY more ledger entries.
entries_of_one_user() {
  $PSQL -Atc "SELECT count(*) FROM credit_entries e JOIN users u ON u.id = e.account_id WHERE u.email = 'bench1@example.com'" app
}
start_app "postgres://postgres@127.0.0.1:$PG_PORT/app"
entries_before=$(entries_of_one_user); entries=$entries_before; rounds=0
while [ $((entries - entries_before)) -lt "$HISTORY" ] && [ $rounds -lt 100 ]; do
  load postgres one 16 postgres-seeding-history 30 >/dev/null
  entries=$(entries_of_one_user); rounds=$((rounds + 1))
done
echo "postgres-history ledger_entries_of_one_user=$entries (before: $entries_before)" | tee -a "$RESULTS"
[ $((entries - entries_before)) -ge "$HISTORY" ] || fail "the history grew by $((entries - entries_before)) entries, not $HISTORY"
load postgres one 16 postgres-with-history
stop_app
verify_ledger postgres-with-history "postgres://postgres@127.0.0.1:$PG_PORT/app"

echo
echo "== summary"
cat "$RESULTS"
echo
echo "== the web endpoint as a fraction of the pgbench approximation (same accounts, same connections)"
awk '
  $1 == "pgbench" { split($2, a, "="); split($3, c, "="); split($4, t, "="); ceiling[(a[2] == 1 ? "one" : "all") " " c[2]] = t[2] }
  $1 == "postgres" && $3 ~ /^c=/ { for (i = 4; i <= NF; i++) if ($i ~ /^rps=/) { split($i, r, "="); web[$2 " " substr($3, 3)] = r[2] } }
  END { for (k in web) if (ceiling[k] > 0) printf "  %-8s web %8.1f rps, pgbench %8.1f tps: %4.0f%%\n", k, web[k], ceiling[k], 100 * web[k] / ceiling[k] }
' "$RESULTS"
echo
if [ ${#FAILURES[@]} -gt 0 ]; then
  echo "== FAILED (${#FAILURES[@]}):"
  printf '  %s\n' "${FAILURES[@]}"
  exit 1
fi
echo "== every response checked, no errors, pgbench without failures, every ledger verified"
