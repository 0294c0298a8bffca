#!/usr/bin/env bash
# Pre-fill benchmark (issue #6): opening a pre-filled form for a citizen whose data store holds
# 200 items (20 people) and 50 documents (30 KB each), on SQLite and PostgreSQL, beside the same
# citizen store without consent (the form starts empty) measured in the same run:
#   1. POST /procedures/1.004222/file — a new draft pre-filled from the store (names, dates, phone
#      of the person picked) with a birth extract copied in instead of an upload;
#   2. GET /dossiers/{id}/edit?step=0 — the first page of that form, with each field's provenance.
# Target: p99 < 20 ms.
#
#   bash bench/prefill.sh        # DURATION=15s CONNECTIONS=8 BACKENDS="sqlite postgres"
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-8}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_ADMIN="${THANGLONG_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PASSWORD="Mật khẩu đo hiệu năng 2026"
OUT=bench/out
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
mkdir -p "$OUT"
if [ -z "${THANGLONG_BIN:-}" ]; then cargo build --release -p thanglong -q; fi
BIN="${THANGLONG_BIN:-${CARGO_TARGET_DIR:-target}/release/thanglong}"
results="$OUT/prefill.md"
{
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ); load at start: $(cut -d' ' -f1-3 /proc/loadavg); wrk -t2 -c$CONNECTIONS -d$DURATION"
  echo
  echo "| database | what | per second | p50 ms | p99 ms | errors | time ratio to baseline (p99) |"
  echo "|---|---|---|---|---|---|---|"
} > "$results"
field() { sed -E "s/.*$1=([0-9.]+).*/\\1/" <<<"$2"; }
for backend in $BACKENDS; do
  data=$(mktemp -d)
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -qc "drop database if exists tl_bench_prefill" -c "create database tl_bench_prefill" >/dev/null
    url="${PG_ADMIN%/*}/tl_bench_prefill"
  else
    url="sqlite://$data/thanglong.db"
  fi
  common=(--database-url "$url" --data-dir "$data")
  $BIN catalog import crates/thanglong/seed/catalog.yaml "${common[@]}" >/dev/null
  seeded=$(echo "$PASSWORD" | $BIN bench store-seed --login 001303055555 "${common[@]}")
  person=$(awk '$1 == "PERSON" {print $2}' <<<"$seeded")
  echo "$PASSWORD" | $BIN bench store-seed --login 001303066666 --no-consent "${common[@]}" >/dev/null
  echo "$backend: $(grep ITEMS <<<"$seeded") for each citizen"
  port=$((19000 + RANDOM % 1000))
  THANGLONG_LOG=warn $BIN serve --listen "127.0.0.1:$port" "${common[@]}" >"$OUT/prefill-server-$backend.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  declare -A cookie csrf_of draft
  for who in 001303055555 001303066666; do
    jar="$data/$who.cookies"
    curl -s -c "$jar" -o /dev/null "http://127.0.0.1:$port/signin"
    csrf=$(awk '$6 == "tl_csrf" {print $7}' "$jar")
    curl -s -b "$jar" -c "$jar" -o /dev/null --data-urlencode "login=$who" --data-urlencode "password=$PASSWORD" \
      --data-urlencode "csrf=$csrf" "http://127.0.0.1:$port/signin"
    session=$(awk '$6 == "tl_session" {print $7}' "$jar")
    [ -n "$session" ] || { echo "signing in $who failed" >&2; exit 1; }
    cookie[$who]="tl_session=$session; tl_csrf=$csrf"
    csrf_of[$who]=$csrf
    # One draft to check what the page shows (and to render in part 2).
    loc=$(curl -s -o /dev/null -w '%{redirect_url}' -H "Cookie: ${cookie[$who]}" \
      --data "csrf=$csrf&agency=H26.20.31&person.registrant=$person&idem=bench-check-$who" "http://127.0.0.1:$port/procedures/1.004222/file")
    draft[$who]="${loc#http://127.0.0.1:$port}"
    page=$(curl -s -H "Cookie: ${cookie[$who]}" "http://127.0.0.1:$port${draft[$who]}")
    prefilled=$(grep -c 'class="prefill-note"' <<<"$page" || true)
    echo "$backend $who: ${draft[$who]} shows $prefilled pre-filled fields"
    if [ "$who" = 001303055555 ] && [ "$prefilled" -lt 4 ]; then echo "the seeded citizen's form is not pre-filled" >&2; exit 1; fi
    if [ "$who" = 001303066666 ] && [ "$prefilled" -ne 0 ]; then echo "the baseline citizen's form is pre-filled" >&2; exit 1; fi
  done
  run() { wrk -t2 -c"$CONNECTIONS" -d"$1" -s "$2" "http://127.0.0.1:$port" -- "${@:3}" | grep RESULT; }
  rows=()
  for what in start render; do
    declare -A line
    for who in 001303066666 001303055555; do
      body="csrf=${csrf_of[$who]}&agency=H26.20.31&person.registrant=$person"
      if [ "$what" = start ]; then
        run 3s bench/start.lua "${cookie[$who]}" /procedures/1.004222/file "$body" >/dev/null
        line[$who]=$(run "$DURATION" bench/start.lua "${cookie[$who]}" /procedures/1.004222/file "$body")
      else
        run 3s bench/inbox.lua "${cookie[$who]}" "${draft[$who]}" >/dev/null
        line[$who]=$(run "$DURATION" bench/inbox.lua "${cookie[$who]}" "${draft[$who]}")
      fi
      echo "$backend $what $who ${line[$who]}"
    done
    b=${line[001303066666]}
    m=${line[001303055555]}
    ratio=$(awk -v a="$(field p99_ms "$m")" -v b="$(field p99_ms "$b")" 'BEGIN{printf "%.2f", a/b}')
    if [ "$what" = start ]; then label="POST start: new draft"; else label="GET first page of the draft"; fi
    echo "| $backend | $label, empty (baseline: no consent) | $(field rps "$b") | $(field p50_ms "$b") | $(field p99_ms "$b") | $(field errors "$b") | 1.00 |" >> "$results"
    echo "| $backend | $label, pre-filled from 200 items / 50 documents | $(field rps "$m") | $(field p50_ms "$m") | $(field p99_ms "$m") | $(field errors "$m") | $ratio |" >> "$results"
  done
  kill $pid; wait $pid 2>/dev/null || true
  trap - EXIT
  if [ "$backend" = postgres ]; then psql "$PG_ADMIN" -qc "drop database if exists tl_bench_prefill" >/dev/null; fi
  rm -rf "$data"
done
cat "$results"
