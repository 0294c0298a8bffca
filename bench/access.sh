#!/usr/bin/env bash
# Access-log benchmark (issue #6): what recording a read in the access log costs an officer's
# dossier read. `thanglong bench access` runs the whole application in-process on one database
# and reads dossiers as an officer of the ward — the dossier page and the GovStack operator's
# application read — through two app states over the same data, one recording every read in the
# access log, one discarding the entries, alternating round by round in the same run:
#   - sequential: each read timed (mean, p50, p99);
#   - concurrent: reads per second from CONCURRENCY readers, counted until the access log has
#     committed every entry.
# Target: overhead < 10 % of the read's time. On SQLite (a file in a temporary directory) and
# PostgreSQL (a new database), with the release binary.
#
#   bash bench/access.sh        # READS=2000 ROUNDS=5 CONCURRENCY=16 BACKENDS="sqlite postgres"
#   READS=500 ROUNDS=3 BACKENDS=sqlite bash bench/access.sh
set -euo pipefail
cd "$(dirname "$0")/.."
READS="${READS:-2000}"
ROUNDS="${ROUNDS:-5}"
CONCURRENCY="${CONCURRENCY:-16}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG_ADMIN="${THANGLONG_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
OUT=bench/out
mkdir -p "$OUT"
if [ -z "${BIN:-}" ]; then
  cargo build --release -p thanglong -q
  BIN="${CARGO_TARGET_DIR:-target}/release/thanglong"
fi
results="$OUT/access.md"
notes=()
{
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "date: $(date -u +%Y-%m-%dT%H:%MZ); binary: $BIN; $READS reads per measurement, $ROUNDS rounds each way, $CONCURRENCY concurrent readers"
  echo
  echo "| database | read | mean ms without | mean ms with | p50 without | p50 with | p99 without | p99 with | overhead (mean) | req/s without | req/s with | overhead (req/s) | entries written |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
} > "$results"
for backend in $BACKENDS; do
  data=$(mktemp -d)
  if [ "$backend" = postgres ]; then
    psql "$PG_ADMIN" -qc "drop database if exists tl_bench_access" -c "create database tl_bench_access" >/dev/null
    url="${PG_ADMIN%/*}/tl_bench_access"
  else
    url="sqlite://$data/thanglong.db"
  fi
  common=(--database-url "$url" --data-dir "$data")
  THANGLONG_LOG=warn $BIN catalog import crates/thanglong/seed/catalog.yaml "${common[@]}" >/dev/null
  report="$OUT/access-$backend.txt"
  THANGLONG_LOG=warn $BIN bench access --reads "$READS" --rounds "$ROUNDS" --concurrency "$CONCURRENCY" "${common[@]}" | tee "$report"
  grep '^ROW ' "$report" | sed 's/^ROW //' >> "$results"
  while IFS= read -r line; do notes+=("- $backend: $line"); done < <(grep -E '^(BATCHES|VERIFY)' "$report")
  rm -rf "$data"
  if [ "$backend" = postgres ]; then psql "$PG_ADMIN" -qc "drop database if exists tl_bench_access" >/dev/null; fi
done
{ echo; printf '%s\n' "${notes[@]}"; } >> "$results"
echo; cat "$results"
