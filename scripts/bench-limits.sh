#!/usr/bin/env bash
# What the rate limits cost, by where their budgets are kept (RATE_LIMITS: process, database,
# redis), with one and two app instances on one PostgreSQL database, driven by wrk. Prints
# numbers; compare them as ratios within one run (the machine's load moves them between runs).
#
# Three loads, each from a client of its own:
#   api      paid sentiment runs through the JSON API with one key (a budget large enough never
#            to refuse: API_RATE_*), so every request spends the key's budget and runs
#   sign-in  wrong sign-ins from one client address: ten go through, then every answer is the
#            limiter's 429; `ok` says how many got through, over both instances when two serve
#   page     GET /login, which no limit touches
# BEFORE_BIN=PATH also runs another build of the app (say, the code before a change, built with
# a large API budget) the same way, alternating with this one; the settings it does not know
# are ignored. ROUNDS repeats everything in turn (default 3), DURATION seconds per load
# (default 8).
#
# Needs: wrk, the PostgreSQL server binaries (pg_config --bindir), redis-server, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-3}
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072

command -v wrk >/dev/null || { echo "installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
command -v redis-server >/dev/null || { echo "installing redis-server"; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
echo "== building the app (release)"
cargo build --release -q -p quickscale-app-web --example demo
BIN=$ROOT/target/release/examples/demo

WORK=$(mktemp -d /tmp/qs-limits-XXXX)
chmod 755 "$WORK"
PGBIN=$(pg_config --bindir)
AS_PG=""
[ "$(id -u)" = 0 ] && AS_PG="runuser -u postgres --"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
APP_PIDS=()
cleanup() {
  for pid in "${APP_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/redis.pid" ] && kill "$(cat "$WORK/redis.pid")" 2>/dev/null || true
  $AS_PG "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting PostgreSQL and Redis"
mkdir -p "$WORK/pg"
[ -n "$AS_PG" ] && chown -R postgres:postgres "$WORK/pg"
$AS_PG "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U postgres -E UTF8 --no-sync >/dev/null
PG_PORT=$(free_port)
$AS_PG "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -w \
  -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c synchronous_commit=off -c max_connections=200" start >/dev/null
PSQL="$PGBIN/psql -h 127.0.0.1 -p $PG_PORT -U postgres -q -v ON_ERROR_STOP=1"
REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize yes \
  --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log" >/dev/null
for _ in $(seq 1 50); do [ -f "$WORK/redis.pid" ] && break; sleep 0.1; done

# start_app BIN DATABASE PORT [NAME=VALUE ...]: starts an instance, waits until it answers.
start_app() {
  local bin=$1 db=$2 port=$3; shift 3
  env SECRET_KEY=bench-secret-key-0123456789abcdef0123456789 PORT="$port" WELCOME_CREDITS=100000000 \
    ADMIN_PASSWORD=bench-admin-password RUST_LOG=warn TRUST_PROXY=true DATABASE_MAX_CONNECTIONS=24 \
    ENABLE_API=true API_RATE_BURST=1000000 API_RATE_PER_MINUTE=1000000 QUICKSCALE_PROJECT_DIR="$WORK" \
    DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/$db" "$@" "$bin" serve >>"$WORK/app.log" 2>&1 &
  APP_PIDS+=($!)
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "the app did not start"; tail -20 "$WORK/app.log"; exit 1
}
stop_apps() {
  for pid in "${APP_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  APP_PIDS=()
}

# The value of a hidden or text input in a page.
input() { grep -o "name=\"$1\" value=\"[^\"]*\"" | head -1 | sed 's/.*value="//; s/"$//'; }

# make_key PORT: registers a user and prints a new API key of theirs.
make_key() {
  local base=http://127.0.0.1:$1 jar=$WORK/jar-$1 token form
  token=$(curl -s -H "X-Forwarded-For: 10.200.0.1" -c "$jar" "$base/register" | input csrf_token)
  curl -s -H "X-Forwarded-For: 10.200.0.1" -b "$jar" -c "$jar" -o /dev/null \
    --data-urlencode "email=bench@example.com" --data-urlencode "password=bench password 1" \
    --data-urlencode "password_confirmation=bench password 1" --data-urlencode "csrf_token=$token" "$base/register"
  form=$(curl -s -b "$jar" -c "$jar" "$base/settings/api-keys")
  curl -s -b "$jar" -c "$jar" --data-urlencode "name=bench" --data-urlencode "current_password=bench password 1" \
    --data-urlencode "form_token=$(echo "$form" | input form_token)" \
    --data-urlencode "csrf_token=$(echo "$form" | input csrf_token)" "$base/settings/api-keys" | input new_key
}

# visitor PORT: "cookie token" of a visitor's CSRF cookie and the token of the sign-in form.
visitor() {
  local jar=$WORK/visitor-$1 token
  token=$(curl -s -c "$jar" "http://127.0.0.1:$1/login" | input csrf_token)
  echo "$(awk '$6 == "qs_csrf" { print "qs_csrf=" $7 }' "$jar") $token"
}

field() { echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -1; }

# load LABEL MODE PORT... : one wrk per instance, at once; prints the sums.
CLIENT_N=0
load() {
  local label=$1 mode=$2; shift 2
  local pids=() outs=() port i=0 connections=$((16 / $#)) threads=$((2 / $# > 0 ? 2 / $# : 1))
  CLIENT_N=$((CLIENT_N + 1))
  for port in "$@"; do
    local v cookie token
    v=$(visitor "$port"); cookie=${v% *}; token=${v#* }
    outs+=("$WORK/wrk-$i")
    MODE=$mode KEY=${KEYS[$label]:-} COOKIE=$cookie TOKEN=$token CLIENT="10.9.$((CLIENT_N / 250)).$((CLIENT_N % 250 + 1))" \
      wrk -t"$threads" -c"$connections" -d"${DURATION}s" -s "$ROOT/scripts/bench/limits.lua" "http://127.0.0.1:$port" >"$WORK/wrk-$i" 2>&1 &
    pids+=($!); i=$((i + 1))
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  local rps=0 ok=0 limited=0 other=0 p50="" p99="" line
  for out in "${outs[@]}"; do
    line=$(grep '^RESULT' "$out" || { cat "$out"; echo "RESULT rps=0"; })
    rps=$(awk -v a="$rps" -v b="$(field rps "$line")" 'BEGIN { printf "%.1f", a + b }')
    ok=$((ok + $(field ok "$line"))); limited=$((limited + $(field limited "$line"))); other=$((other + $(field other "$line")))
    p50="$p50$(field p50_ms "$line")/"; p99="$p99$(field p99_ms "$line")/"
  done
  echo "$label instances=$# $mode rps=$rps ok=$ok limited=$limited other=$other p50_ms=${p50%/} p99_ms=${p99%/}" | tee -a "$WORK/results"
}

declare -A KEYS
VARIANTS=(process database redis)
variant_env() {
  case $1 in
    process) echo RATE_LIMITS=process ;;
    database) echo RATE_LIMITS=database ;;
    redis) echo RATE_LIMITS=redis REDIS_URL=redis://127.0.0.1:$REDIS_PORT ;;
    before) echo RATE_LIMITS=process ;;
  esac
}
variant_db() { [ "$1" = before ] && echo app_before || echo app; }
variant_bin() { [ "$1" = before ] && echo "$BEFORE_BIN" || echo "$BIN"; }
if [ -n "${BEFORE_BIN:-}" ]; then VARIANTS=(before "${VARIANTS[@]}"); fi

echo "== preparing the databases and the API keys"
P1=$(free_port); P2=$(free_port)
for db in app app_before; do
  [ "$db" = app_before ] && [ -z "${BEFORE_BIN:-}" ] && continue
  $PSQL -c "CREATE DATABASE $db" postgres
  variant=process; [ "$db" = app_before ] && variant=before
  start_app "$(variant_bin $variant)" "$db" "$P1"
  key=$(make_key "$P1")
  [ -n "$key" ] || { echo "no API key was made"; tail "$WORK/app.log"; exit 1; }
  for v in "${VARIANTS[@]}"; do [ "$(variant_db "$v")" = "$db" ] && KEYS[$v]=$key; done
  stop_apps
done

for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round of $ROUNDS: one instance"
  for v in "${VARIANTS[@]}"; do
    # shellcheck disable=SC2046
    start_app "$(variant_bin "$v")" "$(variant_db "$v")" "$P1" $(variant_env "$v")
    for mode in api sign-in page; do load "$v" "$mode" "$P1"; done
    stop_apps
  done
  echo "== round $round of $ROUNDS: two instances on one database"
  for v in "${VARIANTS[@]}"; do
    [ "$v" = before ] && continue
    # shellcheck disable=SC2046
    start_app "$BIN" app "$P1" $(variant_env "$v")
    # shellcheck disable=SC2046
    start_app "$BIN" app "$P2" $(variant_env "$v")
    for mode in api sign-in; do load "$v" "$mode" "$P1" "$P2"; done
    stop_apps
  done
done

echo "== medians over $ROUNDS rounds (requests per second; ok = answers the limiter let through)"
awk '{ key = $1 " " $2 " " $3; split($4, r, "="); split($5, o, "=");
       n[key]++; rps[key, n[key]] = r[2]; ok[key, n[key]] = o[2]; order[key] = NR }
     END { for (k in n) { m = n[k]; for (i = 1; i <= m; i++) v[i] = rps[k, i] + 0; asort(v);
             printf "%s median_rps=%.1f ok_last=%s\n", k, v[int((m + 1) / 2)], ok[k, m]; delete v } }' \
  "$WORK/results" | sort
