#!/usr/bin/env bash
# Load benchmark of the app from the outside (wrk on loopback), against PostgreSQL's own ceiling
# measured by pgbench on the same server in the same run. Prints numbers, then one line per
# target of issue 14 with the figure, the ceiling it is compared with and the ratio.
#
# What it loads, each for DURATION seconds at CONNECTIONS (16) connections:
# - the paid run: a signed-in browser posts the sentiment service's form (session cookie, CSRF
#   token, a fresh run key); 50 accounts ("all", round robin) and one account ("one");
# - the dashboard of 50 signed-in users;
# - visitor pages without a cookie (home, about, services list) and a static file.
# For each it prints requests/s, p50, p99, the app's and PostgreSQL's CPU per request, and the
# database statements (pg_stat_statements, transaction control not counted) and transactions
# (pg_stat_database's xact_commit + xact_rollback) per request. SQLite runs the same loads
# (no statement counts there).
#
# PostgreSQL runs with its default settings (initdb's configuration; synchronous_commit on),
# plus max_connections=200 and pg_stat_statements loaded. The paid run and pgbench then run
# once more with synchronous_commit=off, labelled "sync-off". The ceilings:
# - scripts/bench/pgbench-minimal.sql, the issue's minimal credit transaction (lock the account
#   row, insert a ledger entry, insert a usage row), 50 accounts and one, with its p99;
# - scripts/bench/pgbench.sql, an approximation of the app's own statements for a run;
# - pgbench's built-in read-only transaction (-S, scale 10) for the dashboard.
#
# It also checks what it measures, and exits non-zero (after printing everything) when:
# - a load run has an error, or an answer that is not what it should be ("reported" differs from
#   "requests": a paid run's page must state the charge and the balance after; a page must be a
#   200 that sets no session cookie);
# - a visitor's page view changes the number of stored sessions;
# - pgbench has failed transactions or aborted clients;
# - verify-ledger finds a run and a debit that do not match, or a broken ledger invariant
#   (after each backend's load, and after the long-history run).
# Targets not met are reported, not failures: they are goals, measured.
#
#   scripts/bench-load.sh                      # DURATION=15 seconds per run, HISTORY=0
#   HISTORY=100000 scripts/bench-load.sh       # runs added to one user's ledger, then a run
#   CONNECTIONS="16 64" scripts/bench-load.sh  # the loads at each of these connection counts
#   BIN=/tmp/demo-before scripts/bench-load.sh  # another build of the demo example, unbuilt
#   LOADS=paid BACKENDS=postgres DURATION=5 scripts/bench-load.sh  # only these loads (any of
#                                    # paid, dashboard, visitor) on these backends, and only the
#                                    # ceilings they are compared with: a quick before/after
#   SHOW_STATEMENTS=1 scripts/bench-load.sh    # after each PostgreSQL load, its statements and
#                                    # how many times per request each ran
#   METRICS_COMPARE=1 ROUNDS=3 scripts/bench-load.sh  # only the paid run on PostgreSQL, metrics
#                                    # off, on (METRICS_TOKEN, scraped every second), and on with
#                                    # traces sent to a local OTLP sink (OTEL_EXPORTER_OTLP_ENDPOINT),
#                                    # alternating
#
# Needs: wrk (apt-get install wrk), the PostgreSQL server binaries (pg_config --bindir) with
# pg_stat_statements (PostgreSQL's contrib, part of Debian's server package), curl, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-15}
HISTORY=${HISTORY:-0}
CONNECTIONS=${CONNECTIONS:-16}
LOADS=${LOADS:-paid dashboard visitor}
BACKENDS=${BACKENDS:-postgres sqlite}
wants() { [[ " $LOADS " == *" $1 "* ]]; }
ACCOUNTS=50
EXTRA_ENV=() # settings added to the app's environment (the metrics comparison)
FAILURES=()
fail() { echo "FAILED: $*"; FAILURES+=("$*"); }
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072

command -v wrk >/dev/null || { echo "installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
if [ -z "${BIN:-}" ]; then # BIN=path: measure that build of the demo example instead
  echo "== building the app (release)"
  cargo build --release -q -p quickscale-app-web --example demo
  BIN=$ROOT/target/release/examples/demo
fi

WORK=$(mktemp -d /tmp/qs-bench-XXXX)
chmod 755 "$WORK" # the postgres user (when we are root) must reach its data folder
PGBIN=$(pg_config --bindir)
AS_PG=""
[ "$(id -u)" = 0 ] && AS_PG="runuser -u postgres --"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
APP_PID=""
cleanup() {
  [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null || true
  [ -n "${SINK_PID:-}" ] && kill "$SINK_PID" 2>/dev/null || true
  $AS_PG "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting PostgreSQL"
mkdir -p "$WORK/pg"
[ -n "$AS_PG" ] && chown -R postgres:postgres "$WORK/pg"
$AS_PG "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
PG_PORT=$(free_port)
PG_SETTINGS="-c max_connections=200 -c shared_preload_libraries=pg_stat_statements"
$AS_PG "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w \
  -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 $PG_SETTINGS" start >/dev/null
PSQL="$PGBIN/psql -h 127.0.0.1 -p $PG_PORT -U postgres -q -v ON_ERROR_STOP=1"
$PSQL -c "CREATE DATABASE app" -c "CREATE EXTENSION pg_stat_statements" postgres
echo "   PostgreSQL $($PSQL -Atc 'SHOW server_version' postgres): initdb's settings and $PG_SETTINGS"
# Default settings first (synchronous_commit on); sync_commit off|on switches for the labelled runs.
sync_commit() {
  $PSQL -c "ALTER SYSTEM SET synchronous_commit = $1" -c "SELECT pg_reload_conf()" postgres >/dev/null
  sleep 0.5
}

APP_PORT=$(free_port)
app_env() { # exec: the app replaces the subshell, so $! is the app's own process
  exec env SECRET_KEY=bench-secret-key-0123456789abcdef0123456789 PORT=$APP_PORT WELCOME_CREDITS=1000000 \
      ADMIN_PASSWORD=bench-admin-password RUST_LOG=warn TRUST_PROXY=true DATABASE_MAX_CONNECTIONS=24 \
      QUICKSCALE_PROJECT_DIR=$WORK "${EXTRA_ENV[@]}" DATABASE_URL="$1" "${@:2}"
}

# Starts the app; STARTUP_MS is the time from the start to its first 200 on /health.
STARTUP_MS=""
start_app() {
  local t0 t1
  t0=$(date +%s%N)
  (app_env "$1" "$BIN" serve >"$WORK/app.log" 2>&1) &
  APP_PID=$!
  for _ in $(seq 1 5000); do
    if curl -fs "http://127.0.0.1:$APP_PORT/health" >/dev/null 2>&1; then
      t1=$(date +%s%N); STARTUP_MS=$(( (t1 - t0) / 1000000 )); return
    fi
    sleep 0.002
  done
  echo "the app did not start" >&2; cat "$WORK/app.log" >&2; exit 1
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
# Transactions and statements of the app's database so far. Backends report their transaction
# counts when idle (within a second), hence the pause.
pg_transactions() { sleep 1.2; $PSQL -Atc "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'app'" postgres; }
pg_statements() {
  $PSQL -Atc "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'app') AND query !~* '^\\s*(begin|commit|rollback|start|savepoint|release)'" postgres
}
sessions_stored() { # backend
  if [ "$1" = sqlite ]; then
    python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM sessions').fetchone()[0])" "$WORK/app.db"
  else
    $PSQL -Atc "SELECT count(*) FROM sessions" app
  fi
}

# The value of NAME=VALUE in a line of words.
field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }

# load backend label what connections [duration]: one wrk run, checked, with its costs.
# what: paid-all, paid-one (the paid run), signed:<path> (50 signed-in users), visitor:<path>.
load() {
  local backend=$1 label=$2 what=$3 c=$4 duration=${5:-$DURATION}
  local line app0 pg0 tx0 st0 requests errors reported hz db="" env=()
  case $what in
    paid-all) env=(SESSIONS="$WORK/$backend-sessions-all") script=run.lua ;;
    paid-one) env=(SESSIONS="$WORK/$backend-sessions-one") script=run.lua ;;
    signed:*) env=(SESSIONS="$WORK/$backend-sessions-all" PAGE="${what#signed:}") script=get.lua ;;
    visitor:*) env=(SESSIONS="" PAGE="${what#visitor:}") script=get.lua ;;
  esac
  app0=$(ticks "$APP_PID")
  if [ "$backend" != sqlite ]; then
    [ -n "${SHOW_STATEMENTS:-}" ] && $PSQL -Atc "SELECT pg_stat_statements_reset()" postgres >/dev/null
    pg0=$(pg_ticks); tx0=$(pg_transactions); st0=$(pg_statements)
  fi
  line=$(env "${env[@]}" wrk -t2 -c"$c" -d"${duration}s" -s "$ROOT/scripts/bench/$script" "http://127.0.0.1:$APP_PORT" | grep '^RESULT' || true)
  requests=$(field requests "$line"); errors=$(field errors "$line"); reported=$(field reported "$line")
  if [ -z "$requests" ] || [ "$requests" = 0 ]; then
    fail "$label $what c=$c: no result from wrk"; return
  fi
  [ "$errors" = 0 ] || fail "$label $what c=$c: $errors errors"
  [ "$reported" = "$requests" ] || fail "$label $what c=$c: $reported of $requests answers as expected"
  hz=$(getconf CLK_TCK)
  if [ "$backend" != sqlite ]; then
    db=$(awk -v p=$(( $(pg_ticks) - pg0 )) -v t=$(( $(pg_transactions) - tx0 )) -v s=$(( $(pg_statements) - st0 )) \
        -v n="$requests" -v hz="$hz" \
        'BEGIN { printf " db_cpu_ms=%.2f db_statements=%.2f db_transactions=%.2f", 1000 * p / hz / n, s / n, t / n }')
  fi
  line="${line#RESULT } $(awk -v a=$(( $(ticks "$APP_PID") - app0 )) -v n="$requests" -v hz="$hz" \
      'BEGIN { printf "app_cpu_ms=%.2f", 1000 * a / hz / n }')$db"
  echo "$label $what c=$c $line" | tee -a "$RESULTS"
  if [ "$backend" != sqlite ] && [ -n "${SHOW_STATEMENTS:-}" ]; then
    $PSQL -Atc "SELECT round(calls::numeric / $requests, 2) || ' per request: ' || left(regexp_replace(query, '\s+', ' ', 'g'), 150) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'app') AND calls >= $requests / 100 ORDER BY calls DESC" postgres | sed 's/^/    /'
  fi
}

# Visitor pages: no cookie, each must leave the sessions table as it was.
visitor_pages() { # backend label
  local before after page
  before=$(sessions_stored "$1")
  for page in / /about /services /static/css/app.css; do
    for c in $CONNECTIONS; do load "$1" "$2" "visitor:$page" "$c"; done
  done
  after=$(sessions_stored "$1")
  echo "$2 visitor-sessions-stored before=$before after=$after" | tee -a "$RESULTS"
  [ "$before" = "$after" ] || fail "$2: visitors' page views changed the stored sessions from $before to $after"
}

bench_backend() { # name url
  local startup
  echo "== $1"
  start_app "$2"; startup=$STARTUP_MS
  make_sessions "$1"
  if wants paid; then
    for shape in all one; do
      for c in $CONNECTIONS; do load "$1" "$1" "paid-$shape" "$c"; done
    done
  fi
  if wants dashboard; then
    for c in $CONNECTIONS; do load "$1" "$1" "signed:/dashboard" "$c"; done
  fi
  if wants visitor; then visitor_pages "$1" "$1"; fi
  if [ "$1" = postgres ] && wants paid; then
    sync_commit off
    for shape in all one; do
      for c in $CONNECTIONS; do load "$1" "$1-sync-off" "paid-$shape" "$c"; done
    done
    sync_commit on
  fi
  echo "$1 memory peak_rss_kib=$(awk '/VmHWM/ {print $2}' /proc/$APP_PID/status) idle_rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$APP_PID/status)" | tee -a "$RESULTS"
  stop_app
  verify_ledger "$1" "$2"
  # Start-up with the migrations applied (and the first start's work done): the median of five.
  local times=()
  for _ in 1 2 3 4 5; do start_app "$2"; times+=("$STARTUP_MS"); stop_app; done
  echo "$1 startup_ms=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p) all=${times[*]} first_start_with_migrations_ms=$startup" | tee -a "$RESULTS"
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
  # The cost of metrics and traces on the paid run: the same load with metrics off, on, and on
  # with traces, alternating so that the machine's drift falls on each; with metrics on, a
  # scraper asks for /metrics every second (Prometheus' usual interval is 15 s) so that rendering
  # is part of the cost; with traces on, every span goes over OTLP/HTTP to a local sink that
  # accepts the posts and counts them (a collector's work is not the app's cost).
  echo "== metrics off vs on vs on with traces (PostgreSQL, the paid run, ${ROUNDS:-3} rounds)"
  url="postgres://postgres@127.0.0.1:$PG_PORT/app"
  start_app "$url"; make_sessions postgres; stop_app
  token=bench-metrics-token-0123456789
  SINK_PORT=$(free_port)
  python3 - "$SINK_PORT" "$WORK/sink-count" <<'PY' &
import http.server, sys, threading
port, out = int(sys.argv[1]), sys.argv[2]
lock, count = threading.Lock(), [0, 0]
class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            count[0] += 1; count[1] += len(body)
            open(out, "w").write(f"{count[0]} {count[1]}\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Sink).serve_forever()
PY
  SINK_PID=$!
  for round in $(seq 1 "${ROUNDS:-3}"); do
    for mode in off on traced; do
      EXTRA_ENV=()
      [ $mode != off ] && EXTRA_ENV=(METRICS_TOKEN=$token)
      [ $mode = traced ] && EXTRA_ENV+=(OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$SINK_PORT OTEL_SERVICE_NAME=bench)
      start_app "$url"
      scraper=""
      if [ $mode != off ]; then
        curl -fs -H "Authorization: Bearer $token" "http://127.0.0.1:$APP_PORT/metrics" | grep -q '^quickscale_build_info' \
          || fail "metrics $mode: /metrics does not answer"
        (while sleep 1; do curl -fs -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:$APP_PORT/metrics"; done) &
        scraper=$!
      fi
      load postgres "metrics-$mode" paid-all 16
      [ -n "$scraper" ] && kill "$scraper" 2>/dev/null
      stop_app
    done
  done
  kill "$SINK_PID" 2>/dev/null || true
  read -r posts bytes < "$WORK/sink-count" 2>/dev/null || { posts=0; bytes=0; }
  [ "${posts:-0}" -gt 0 ] || fail "traces on: the OTLP sink received nothing"
  echo
  echo "== metrics and traces: mean requests per second, and the cost against off"
  echo "  the OTLP sink received $posts posts ($bytes bytes of spans)"
  awk '$1 ~ /^metrics-/ { for (i = 4; i <= NF; i++) if ($i ~ /^rps=/) { split($i, r, "="); sum[$1] += r[2]; n[$1]++; all[$1] = all[$1] " " r[2] } }
       END { off = sum["metrics-off"] / n["metrics-off"]; on = sum["metrics-on"] / n["metrics-on"]; tr = sum["metrics-traced"] / n["metrics-traced"];
             printf "  off:            %.1f rps (%s)\n  metrics:        %.1f rps (%s)\n  metrics+traces: %.1f rps (%s)\n", off, all["metrics-off"], on, all["metrics-on"], tr, all["metrics-traced"];
             printf "  cost of metrics: %.1f %% of requests per second (on/off %.3f)\n", 100 * (off - on) / off, on / off;
             printf "  cost of metrics and traces: %.1f %% of requests per second (traced/off %.3f)\n", 100 * (off - tr) / off, tr / off }' "$RESULTS"
  if [ ${#FAILURES[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${FAILURES[@]}"; exit 1
  fi
  exit 0
fi

for backend in $BACKENDS; do
  case $backend in
    postgres) bench_backend postgres "postgres://postgres@127.0.0.1:$PG_PORT/app" ;;
    sqlite) bench_backend sqlite "sqlite://$WORK/app.db" ;;
  esac
done

# pgbench label script accounts connections: tps and p99 (from its per-transaction log).
pgbench_run() {
  local out=$WORK/pgbench.out err=$WORK/pgbench.err status=0 tps failed aborted p99
  rm -f "$WORK"/pgblog*
  "$PGBIN/pgbench" -h 127.0.0.1 -p $PG_PORT -U postgres -n -c "$4" -j 2 -T "$DURATION" \
      -l --log-prefix="$WORK/pgblog" -D accounts="$3" -f "$ROOT/scripts/bench/$2" ceiling >"$out" 2>"$err" || status=$?
  tps=$(awk '/^tps/ {print $3; exit}' "$out")
  failed=$(awk -F'[: ]+' '/^number of failed transactions/ {print $5; exit}' "$out")
  aborted=$(grep -c 'aborted' "$err" || true)
  p99=$(cat "$WORK"/pgblog* | awk '{print $3}' | sort -n | awk '{v[NR] = $1} END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.2f", v[i] / 1000 }')
  echo "$1 ${2%.sql} accounts=$3 c=$4 tps=${tps:-none} p99_ms=$p99 failed=${failed:-unknown} aborted_clients=$aborted exit=$status" | tee -a "$RESULTS"
  if [ "$status" != 0 ] || [ "${failed:-1}" != 0 ] || [ "$aborted" != 0 ]; then
    grep -v '^pgbench: client [0-9]* executing\|progress' "$err" | head -5
    fail "pgbench $2 accounts=$3 c=$4: exit $status, ${failed:-unknown} failed transactions, $aborted aborted clients"
  fi
}

# The paid run's ceilings: pgbench's minimal transaction and the approximation, on a copy of the
# app's database (its rows are never checked by verify-ledger), with synchronous_commit on and off.
paid_ceilings() {
  $PSQL -c "CREATE DATABASE ceiling TEMPLATE app" postgres
  $PSQL ceiling <<SQL
CREATE TABLE bench_accounts AS SELECT row_number() OVER (ORDER BY u.email) AS n, u.id FROM users u WHERE u.email LIKE 'bench%';
CREATE SEQUENCE bench_keys;
SQL
  local setting label accounts c
  for setting in on off; do
    sync_commit $setting
    label=pgbench; [ $setting = off ] && label=pgbench-sync-off
    for accounts in $ACCOUNTS 1; do
      for c in $CONNECTIONS; do
        pgbench_run $label pgbench-minimal.sql $accounts "$c"
        pgbench_run $label pgbench.sql $accounts "$c"
      done
    done
  done
  sync_commit on
}

# The dashboard's ceiling: pgbench's built-in read-only transaction.
readonly_ceiling() {
  local c tps
  $PSQL -c "CREATE DATABASE readonly" postgres
  "$PGBIN/pgbench" -h 127.0.0.1 -p $PG_PORT -U postgres -i -q -s 10 readonly >/dev/null 2>&1
  for c in $CONNECTIONS; do
    tps=$("$PGBIN/pgbench" -h 127.0.0.1 -p $PG_PORT -U postgres -n -S -c "$c" -j 2 -T "$DURATION" readonly 2>/dev/null | awk '/^tps/ {print $3; exit}')
    echo "pgbench select-only scale=10 c=$c tps=${tps:-none}" | tee -a "$RESULTS"
  done
}

echo "== pgbench: the ceilings, straight to PostgreSQL"
# The paid run's need the bench accounts, made by the PostgreSQL loads.
if wants paid && [[ " $BACKENDS " == *" postgres "* ]]; then paid_ceilings; fi
if wants dashboard; then readonly_ceiling; fi

if [ "$HISTORY" -gt 0 ]; then
  echo "== a user with $HISTORY more runs in the ledger (PostgreSQL): does a run stay as fast?"
  # The history is made the way users make it: service runs through the web endpoint (each a
  # claimed run, a debit with its allocation, a finished run), 30 seconds at a time (each
  # checked like the runs above) until the user has $HISTORY more ledger entries.
  entries_of_one_user() {
    $PSQL -Atc "SELECT count(*) FROM credit_entries e JOIN users u ON u.id = e.account_id WHERE u.email = 'bench1@example.com'" app
  }
  start_app "postgres://postgres@127.0.0.1:$PG_PORT/app"
  entries_before=$(entries_of_one_user); entries=$entries_before; rounds=0
  while [ $((entries - entries_before)) -lt "$HISTORY" ] && [ $rounds -lt 100 ]; do
    load postgres postgres-seeding-history paid-one 16 30 >/dev/null
    entries=$(entries_of_one_user); rounds=$((rounds + 1))
  done
  echo "postgres-history ledger_entries_of_one_user=$entries (before: $entries_before)" | tee -a "$RESULTS"
  [ $((entries - entries_before)) -ge "$HISTORY" ] || fail "the history grew by $((entries - entries_before)) entries, not $HISTORY"
  load postgres postgres-with-history paid-one 16
  load postgres postgres-with-history signed:/dashboard 16
  stop_app
  verify_ledger postgres-with-history "postgres://postgres@127.0.0.1:$PG_PORT/app"
fi

echo
echo "== summary"
cat "$RESULTS"
echo
echo "== issue 14's targets (16 connections; PostgreSQL at its default settings unless labelled)"
awk -v accounts=$ACCOUNTS '
  function f(line, name,   i, kv) { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] } return "" }
  $1 ~ /^pgbench/ && $3 == "accounts=" accounts && $4 == "c=16" { tps[$1 " " $2 " all"] = f($0, "tps"); p99[$1 " " $2 " all"] = f($0, "p99_ms") }
  $1 ~ /^pgbench/ && $3 == "accounts=1" && $4 == "c=16" { tps[$1 " " $2 " one"] = f($0, "tps"); p99[$1 " " $2 " one"] = f($0, "p99_ms") }
  $1 == "pgbench" && $2 == "select-only" && $4 == "c=16" { readonly = f($0, "tps") }
  $3 == "c=16" && $2 ~ /^(paid|signed|visitor)/ { rps[$1 " " $2] = f($0, "rps"); lat[$1 " " $2] = f($0, "p99_ms"); st[$1 " " $2] = f($0, "db_statements"); tx[$1 " " $2] = f($0, "db_transactions") }
  $2 ~ /^startup_ms/ { startup[$1] = f($0, "startup_ms") }
  $2 == "memory" { peak[$1] = f($0, "peak_rss_kib"); idle[$1] = f($0, "idle_rss_kib") }
  function ratio(label, figure, ceiling, target, unit) {
    if (figure == "" || ceiling == "" || ceiling == 0) { printf "  %-58s no figure\n", label; return }
    if (target == 0) { printf "  %-58s %9.1f %-4s vs %9.1f: %5.0f%% (for reference, no target)\n", label, figure, unit, ceiling, 100 * figure / ceiling; return }
    printf "  %-58s %9.1f %-4s vs %9.1f: %5.0f%% (target %d%%) %s\n", label, figure, unit, ceiling, 100 * figure / ceiling, target, (100 * figure / ceiling >= target ? "met" : "NOT MET")
  }
  END {
    for (s = 0; s < 2; s++) {
      sfx = s ? "-sync-off" : ""; tag = s ? " (synchronous_commit=off)" : ""
      ratio("paid run, 50 accounts / pgbench minimal" tag, rps["postgres" sfx " paid-all"], tps["pgbench" sfx " pgbench-minimal all"], 50, "rps")
      ratio("paid run, one account / pgbench minimal" tag, rps["postgres" sfx " paid-one"], tps["pgbench" sfx " pgbench-minimal one"], 60, "rps")
      a = lat["postgres" sfx " paid-all"]; b = p99["pgbench" sfx " pgbench-minimal all"]
      if (a != "" && b > 0) printf "  %-58s %9.2f ms   vs %9.2f: %5.1fx (target at most 3x) %s\n", "p99 paid run, 50 accounts / pgbench p99" tag, a, b, a / b, (a / b <= 3 ? "met" : "NOT MET")
      ratio("paid run, 50 accounts / pgbench approximation" tag, rps["postgres" sfx " paid-all"], tps["pgbench" sfx " pgbench all"], 0, "rps")
    }
    d = rps["postgres signed:/dashboard"]
    printf "  %-58s %9.1f rps  (target 2000) %s\n", "dashboard, 50 signed-in users", d, (d >= 2000 ? "met" : "NOT MET")
    ratio("dashboard / pgbench select-only (-S)", d, readonly, 0, "rps")
    for (b = 0; b < 2; b++) {
      be = b ? "sqlite" : "postgres"; stat = rps[be " visitor:/static/css/app.css"]
      split("/ /about /services", pages, " ")
      for (i = 1; i <= 3; i++) {
        k = be " visitor:" pages[i]
        ratio(be " visitor " pages[i] " / static file" (be == "postgres" ? " (" st[k] " statements)" : ""), rps[k], stat, 60, "rps")
      }
    }
    for (k in st) if (k ~ /^postgres /) printf "  %-58s %6s statements, %6s transactions per request\n", k, st[k], tx[k]
    for (be in startup) printf "  %-58s %9d ms   (target under 100) %s\n", be " start-up to the first 200 on /health", startup[be], (startup[be] < 100 ? "met" : "NOT MET")
    for (be in peak) printf "  %-58s peak %.1f MiB (under 60), idle %.1f MiB (under 30) %s\n", be " memory", peak[be] / 1024, idle[be] / 1024, (peak[be] < 61440 && idle[be] < 30720 ? "met" : "NOT MET")
  }
' "$RESULTS"
echo
if [ ${#FAILURES[@]} -gt 0 ]; then
  echo "== FAILED (${#FAILURES[@]}):"
  printf '  %s\n' "${FAILURES[@]}"
  exit 1
fi
echo "== every answer checked, no errors, no visitor session stored, pgbench without failures, every ledger verified"
