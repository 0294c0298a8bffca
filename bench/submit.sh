#!/usr/bin/env bash
# Submission benchmark (issue #3): complete 2 KB filings over HTTP — create and file in one
# request, durable commit — at 64 connections, on SQLite and PostgreSQL, beside a baseline from
# the same run: durable single-row inserts of the same rows straight into the same database.
#
#   bash bench/submit.sh            # DURATION=20s BACKENDS="sqlite postgres"
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-64}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_ADMIN="${THANGLONG_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
OUT=bench/out
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }
mkdir -p "$OUT"
cargo build --release --locked -q
BIN=target/release/thanglong
results="$OUT/submit.md"
{
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ); wrk -t2 -c$CONNECTIONS -d$DURATION; baseline: 5000 rows at concurrency 64"
  echo
  echo "| database | what | per second | p50 ms | p99 ms | errors | ratio to baseline |"
  echo "|---|---|---|---|---|---|---|"
} > "$results"
for backend in $BACKENDS; do
  data=$(mktemp -d)
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -qc "drop database if exists tl_bench_submit" -c "create database tl_bench_submit" >/dev/null
    url="${PG_ADMIN%/*}/tl_bench_submit"
  else
    url="sqlite://$data/thanglong.db"
  fi
  common=(--database-url "$url" --data-dir "$data")
  $BIN catalog import crates/thanglong/seed/catalog.yaml "${common[@]}" >/dev/null
  $BIN catalog import bench/submit-catalog.yaml "${common[@]}" >/dev/null
  echo "Mật khẩu đo hiệu năng 2026" | $BIN user add --login bench.citizen --name "Người nộp thử" --agency H26 "${common[@]}" >/dev/null
  token=$($BIN token issue --user bench.citizen "${common[@]}")
  base=$($BIN bench inserts --rows 5000 --concurrency 64 --user bench.citizen "${common[@]}" | grep RESULT)
  echo "$backend baseline $base"
  base_rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$base")
  base_p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$base")
  echo "| $backend | baseline: durable single-row inserts | $base_rps | | $base_p99 | 0 | 1.00 |" >> "$results"
  port=$((19000 + RANDOM % 1000))
  THANGLONG_LOG=warn $BIN serve --listen "127.0.0.1:$port" "${common[@]}" >"$OUT/submit-server-$backend.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  wrk -t2 -c"$CONNECTIONS" -d5s -s bench/submit.lua "http://127.0.0.1:$port" -- "$token" >/dev/null
  line=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s bench/submit.lua "http://127.0.0.1:$port" -- "$token" | grep RESULT)
  echo "$backend submit $line"
  rps=$(sed -E 's/.*rps=([0-9.]+).*/\1/' <<<"$line")
  p50=$(sed -E 's/.*p50_ms=([0-9.]+).*/\1/' <<<"$line")
  p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")
  errs=$(sed -E 's/.*errors=([0-9]+).*/\1/' <<<"$line")
  ratio=$(awk -v a="$rps" -v b="$base_rps" 'BEGIN{printf "%.2f", a/b}')
  echo "| $backend | HTTP: file a 2 KB dossier (group commit) | $rps | $p50 | $p99 | $errs | $ratio |" >> "$results"
  # Every acknowledged filing has a distinct code.
  kill $pid; wait $pid 2>/dev/null || true
  trap - EXIT
  rm -rf "$data"
done
echo; cat "$results"
