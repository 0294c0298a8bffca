#!/usr/bin/env bash
# Processing-inbox benchmark: 1,000,000 dossiers over two years (`thanglong bench fill-dossiers`),
# then the inbox of two officers — a specialist of one commune (H26.31) and a leader at the city
# (H26: every agency) — with the page's filters (default, a name search, a procedure, "late"):
#   1. the storage query alone, N times after a warm-up, beside the same queries without the
#      inbox index (dropped in a transaction that is rolled back), with the plans;
#   2. GET /office/inbox over HTTP, signed in, under wrk, beside /healthz from the same server.
# On SQLite (a file in a temporary directory) and PostgreSQL (a new database).
#
#   bash bench/inbox.sh        # COUNT=1000000 ITERATIONS=2000 DURATION=15s BACKENDS="sqlite postgres"
#   COUNT=100000 DURATION=5s BACKENDS=sqlite bash bench/inbox.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT="${COUNT:-1000000}"
ITERATIONS="${ITERATIONS:-2000}"
BASELINE_ITERATIONS="${BASELINE_ITERATIONS:-20}"
DURATION="${DURATION:-15s}"
CONNECTIONS="${CONNECTIONS:-32}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_ADMIN="${THANGLONG_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PASSWORD="Mật khẩu đo hiệu năng 2026"
OUT=bench/out
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
mkdir -p "$OUT"
cargo build --release -p thanglong -q
BIN="${CARGO_TARGET_DIR:-target}/release/thanglong"
results="$OUT/inbox.md"
{
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ); $COUNT dossiers; storage: $ITERATIONS iterations (baseline $BASELINE_ITERATIONS); HTTP: wrk -t2 -c$CONNECTIONS -d$DURATION"
  echo
} > "$results"
storage_rows=()
http_rows=()
for backend in $BACKENDS; do
  data=$(mktemp -d)
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -qc "drop database if exists tl_bench_inbox" -c "create database tl_bench_inbox" >/dev/null
    url="${PG_ADMIN%/*}/tl_bench_inbox"
  else
    url="sqlite://$data/thanglong.db"
  fi
  common=(--database-url "$url" --data-dir "$data")
  $BIN catalog import crates/thanglong/seed/catalog.yaml "${common[@]}" >/dev/null
  fill=$($BIN bench fill-dossiers --count "$COUNT" "${common[@]}")
  echo "$backend fill: $fill"
  echo "$backend fill: $fill" >> "$results"
  echo "$PASSWORD" | $BIN user add --login bench.chuyenvien --name "Nguyễn Thị Chuyên" --agency H26.31 --role specialist "${common[@]}" >/dev/null
  echo "$PASSWORD" | $BIN user add --login bench.lanhdao --name "Trần Văn Lãnh" --agency H26 --role leader "${common[@]}" >/dev/null
  if [ "$backend" = sqlite ]; then echo "$backend database size: $(du -h "$data/thanglong.db" | cut -f1)" >> "$results"; fi

  # 1. The storage query alone.
  report="$OUT/inbox-$backend.txt"
  $BIN bench inbox --officer bench.chuyenvien --officer bench.lanhdao --iterations "$ITERATIONS" \
    --baseline-iterations "$BASELINE_ITERATIONS" "${common[@]}" > "$report"
  grep '^PARAMS' "$report"
  while IFS= read -r row; do storage_rows+=("${row#ROW }"); done < <(grep '^ROW ' "$report")

  # 2. HTTP: sign in each officer, then wrk on the inbox with the same filters.
  port=$((19000 + RANDOM % 1000))
  THANGLONG_LOG=warn $BIN serve --listen "127.0.0.1:$port" "${common[@]}" >"$OUT/inbox-server-$backend.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  wrk -t2 -c"$CONNECTIONS" -d5s -s bench/paths.lua "http://127.0.0.1:$port" -- healthz >/dev/null
  base=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s bench/paths.lua "http://127.0.0.1:$port" -- healthz | grep RESULT)
  base_rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$base")
  http_rows+=("| $backend | /healthz (baseline) | $base_rps | $(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$base") | $(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$base") | $(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$base") | 1.00 |")
  for officer in bench.chuyenvien bench.lanhdao; do
    jar="$data/$officer.cookies"
    curl -s -c "$jar" -o /dev/null "http://127.0.0.1:$port/signin"
    csrf=$(awk '$6 == "tl_csrf" {print $7}' "$jar")
    curl -s -b "$jar" -c "$jar" -o /dev/null --data-urlencode "login=$officer" --data-urlencode "password=$PASSWORD" \
      --data-urlencode "csrf=$csrf" "http://127.0.0.1:$port/signin"
    session=$(awk '$6 == "tl_session" {print $7}' "$jar")
    [ -n "$session" ] || { echo "signing in $officer failed" >&2; exit 1; }
    cookie="tl_session=$session; tl_csrf=$csrf"
    mapfile -t paths < <(awk -v o="$officer" '$1 == "URL" && $2 == o {print $3}' "$report")
    for p in "${paths[@]}"; do
      code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "http://127.0.0.1:$port$p")
      [ "$code" = 200 ] || { echo "GET $p as $officer answered $code" >&2; exit 1; }
    done
    wrk -t2 -c"$CONNECTIONS" -d5s -s bench/inbox.lua "http://127.0.0.1:$port" -- "$cookie" "${paths[@]}" >/dev/null
    line=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s bench/inbox.lua "http://127.0.0.1:$port" -- "$cookie" "${paths[@]}" | grep RESULT)
    echo "$backend $officer $line"
    rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")
    ratio=$(awk -v a="$rps" -v b="$base_rps" 'BEGIN{printf "%.2f", a/b}')
    http_rows+=("| $backend | GET /office/inbox as $officer (4 filters in turn) | $rps | $(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line") | $(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line") | $(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line") | $ratio |")
  done
  kill $pid; wait $pid 2>/dev/null || true
  trap - EXIT
  rm -rf "$data"
  if [ "$backend" = postgres ]; then psql "$PG_ADMIN" -qc "drop database if exists tl_bench_inbox" >/dev/null; fi
done
{
  echo
  echo "Storage query alone (ms):"
  echo
  echo "| database | officer | filter | rows | p50 ms | p95 ms | p99 ms | max ms | baseline p50 ms | baseline p99 ms | speed-up (p50) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${storage_rows[@]}"
  echo
  echo "HTTP:"
  echo
  echo "| database | what | req/s | p50 ms | p99 ms | errors | ratio to /healthz |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${http_rows[@]}"
} >> "$results"
echo; cat "$results"
echo "plans: $OUT/inbox-<database>.txt (PLAN = with the inbox index, BASEPLAN = without)"
