#!/usr/bin/env bash
# Catalog benchmark: 2,000 procedures (the seed scaled up), the release binary on SQLite and on
# PostgreSQL, wrk at 64 connections. The baseline is /healthz on the same server in the same run
# (the machine's floor for one HTTP round trip), so ratios are comparable across machines.
#
#   bash bench/run.sh            # both databases, 20 s per scenario
#   DURATION=10s BACKENDS=sqlite bash bench/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_ADMIN="${THANGLONG_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
OUT=bench/out
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
cargo build --release --locked -q
BIN=target/release/thanglong
$BIN catalog synthesize --count 2000 -o "$OUT/catalog-2000.json"

results="$OUT/results.md"
{
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ); wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
  echo
  echo "| database | scenario | req/s | p50 ms | p99 ms | errors | ratio to /healthz |"
  echo "|---|---|---|---|---|---|---|"
} > "$results"

for backend in $BACKENDS; do
  port=$((18000 + RANDOM % 1000))
  data=$(mktemp -d)
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -qc "drop database if exists tl_bench" -c "create database tl_bench" >/dev/null
    url="${PG_ADMIN%/*}/tl_bench"
  else
    url="sqlite://$data/thanglong.db"
  fi
  $BIN catalog import "$OUT/catalog-2000.json" --database-url "$url" --data-dir "$data" >/dev/null
  echo "--- search engines on $backend (same queries, same data)"
  $BIN catalog bench-search --passes 30 --database-url "$url" --data-dir "$data" | tee "$OUT/engines-$backend.txt"
  THANGLONG_LOG=warn $BIN serve --listen "127.0.0.1:$port" --database-url "$url" --data-dir "$data" >"$OUT/server-$backend.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  base_rps=""
  for scenario in healthz api-search page-search page-procedure; do
    wrk -t"$THREADS" -c"$CONNECTIONS" -d5s -s bench/paths.lua "http://127.0.0.1:$port" -- "$scenario" >/dev/null  # warm-up
    line=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s bench/paths.lua "http://127.0.0.1:$port" -- "$scenario" | grep RESULT)
    echo "$backend $scenario $line"
    rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")
    p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")
    p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")
    errs=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")
    [ "$scenario" = healthz ] && base_rps=$rps
    ratio=$(awk -v a="$rps" -v b="$base_rps" 'BEGIN{printf "%.2f", a/b}')
    echo "| $backend | $scenario | $rps | $p50 | $p99 | $errs | $ratio |" >> "$results"
  done
  rss_kb=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
  echo "| $backend | peak RSS of the server | $((rss_kb / 1024)) MiB | | | | |" >> "$results"
  kill $pid; wait $pid 2>/dev/null || true
  trap - EXIT
  rm -rf "$data"
done
{
  echo
  for backend in $BACKENDS; do echo "search engines, $backend:"; sed 's/^/    /' "$OUT/engines-$backend.txt"; done
} >> "$results"
echo; cat "$results"
