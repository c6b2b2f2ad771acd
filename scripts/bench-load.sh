#!/usr/bin/env bash
# Load benchmark of the credit-consuming service run through the web endpoint, like a browser
# (session cookie and CSRF token), on PostgreSQL and on SQLite, compared with pgbench running the
# same SQL transaction on the same server. Prints numbers; it is not a test.
#
#   scripts/bench-load.sh            # DURATION=15 seconds per run by default
#
# Needs: wrk (apt-get install wrk), the PostgreSQL server binaries (pg_config --bindir), curl.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-15}
ACCOUNTS=50
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
      QUICKSCALE_PROJECT_DIR=$WORK DATABASE_URL="$1" "${@:2}"
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

load() { # backend shape connections [label]
  local file=$WORK/$1-sessions-$2
  local line app0 pg0 tx0 requests hz
  app0=$(ticks "$APP_PID"); pg0=$(pg_ticks); tx0=$(pg_commits)
  line=$(SESSIONS=$file wrk -t2 -c"$3" -d"${DURATION}s" -s "$ROOT/scripts/bench/run.lua" "http://127.0.0.1:$APP_PORT" | grep '^RESULT')
  # Where the time goes: CPU per request in the app and in PostgreSQL, and PostgreSQL
  # transactions (each statement outside BEGIN..COMMIT is one) per request.
  requests=$(echo "$line" | sed 's/.*requests=\([0-9]*\).*/\1/'); hz=$(getconf CLK_TCK)
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
  echo "-- verifying the ledger ($1)"
  (app_env "$2" "$BIN" verify-ledger) 2>&1 | tail -2 | tee -a "$RESULTS"
}

bench_backend postgres "postgres://postgres@127.0.0.1:$PG_PORT/app"
bench_backend sqlite "sqlite://$WORK/app.db"

echo "== pgbench ceiling (the same transaction, straight to PostgreSQL)"
$PSQL -c "CREATE DATABASE ceiling TEMPLATE app" postgres
$PSQL ceiling <<SQL
CREATE TABLE bench_accounts AS SELECT row_number() OVER (ORDER BY u.email) AS n, u.id FROM users u WHERE u.email LIKE 'bench%';
CREATE SEQUENCE bench_keys;
SQL
for accounts in $ACCOUNTS 1; do
  for c in 16 64; do
    tps=$("$PGBIN/pgbench" -h 127.0.0.1 -p $PG_PORT -U postgres -n -c "$c" -j 2 -T "$DURATION" \
        -D accounts=$accounts -f "$ROOT/scripts/bench/pgbench.sql" ceiling 2>/dev/null | awk '/^tps/ {print $3; exit}')
    echo "pgbench accounts=$accounts c=$c tps=$tps" | tee -a "$RESULTS"
  done
done

echo "== a user with 100,000 ledger entries (PostgreSQL): does a run stay as fast?"
$PSQL app <<SQL
WITH target AS (SELECT id FROM users WHERE email = 'bench1@example.com')
INSERT INTO credit_entries (account_id, kind, amount_cents, balance_after_cents, shortfall_cents, actor, reason, at)
SELECT target.id, 'consume', 100, 100000000, 0, 'system', 'seeded history', now() - interval '1 day'
FROM target, generate_series(1, 100000);
SQL
start_app "postgres://postgres@127.0.0.1:$PG_PORT/app"
load postgres one 16 postgres-with-100k-history
stop_app

echo
echo "== summary"
cat "$RESULTS"
echo
echo "== the web endpoint as a fraction of the pgbench ceiling (same accounts, same connections)"
awk '
  $1 == "pgbench" { split($2, a, "="); split($3, c, "="); split($4, t, "="); ceiling[(a[2] == 1 ? "one" : "all") " " c[2]] = t[2] }
  $1 == "postgres" && $3 ~ /^c=/ { for (i = 4; i <= NF; i++) if ($i ~ /^rps=/) { split($i, r, "="); web[$2 " " substr($3, 3)] = r[2] } }
  END { for (k in web) if (ceiling[k] > 0) printf "  %-8s web %8.1f rps, pgbench %8.1f tps: %4.0f%%\n", k, web[k], ceiling[k], 100 * web[k] / ceiling[k] }
' "$RESULTS"
