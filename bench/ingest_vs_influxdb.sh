#!/usr/bin/env bash
# Durable ingest, side by side: Sluice BatchPutMessage (100 x ~150-byte JSON messages per
# request, a pipeline carrying them into a DuckDB datastore) against InfluxDB 1.x /write
# (the same 100 readings per request as line protocol, WAL fsync on every write).
# Both servers run on this machine with fresh data directories; the load generator too.
#   bench/ingest_vs_influxdb.sh [THREADS] [REQUESTS_PER_RUN] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${1:-8}
REQUESTS=${2:-400}
RUNS=${3:-5}
BIN=${SLUICE_BIN:-build/release/src/server/sluice}
BENCH=${SLUICE_BENCH:-build/release/bench/sluice_bench}
command -v influxd >/dev/null || { echo "install InfluxDB 1.x: apt-get install influxdb"; exit 2; }
[ -x "$BIN" ] && [ -x "$BENCH" ] || { echo "build first: cmake --build --preset release"; exit 2; }

work=$(mktemp -d)
cleanup() { kill "$SLUICE_PID" "$INFLUX_PID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

SLUICE_ACCESS_KEY_ID=BENCHKEY SLUICE_SECRET_ACCESS_KEY=BENCHSECRET \
  "$BIN" serve --data-dir "$work/sluice" --listen 127.0.0.1:0 >"$work/sluice.out" 2>"$work/sluice.err" &
SLUICE_PID=$!
cat >"$work/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:0"
[meta]
  dir = "$work/influx/meta"
[data]
  dir = "$work/influx/data"
  wal-dir = "$work/influx/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:18086"
  log-enabled = false
[monitor]
  store-enabled = false
CONF
influxd -config "$work/influxdb.conf" >"$work/influx.log" 2>&1 &
INFLUX_PID=$!

for _ in $(seq 200); do
  grep -q "listening on" "$work/sluice.out" 2>/dev/null && \
    curl -s -o /dev/null http://127.0.0.1:18086/ping && break
  sleep 0.05
done
SLUICE_ADDR=$(sed -n 's/^listening on //p' "$work/sluice.out")

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
echo "== Sluice BatchPutMessage -> channel (fsync) -> pipeline -> DuckDB datastore"
"$BENCH" ingest --endpoint "$SLUICE_ADDR" --key BENCHKEY --secret BENCHSECRET \
  --pipeline bench_p --threads "$THREADS" --requests "$REQUESTS" --runs "$RUNS"
echo "== InfluxDB $(influxd version 2>/dev/null | head -1) /write (WAL fsync per write)"
"$BENCH" influxdb --endpoint 127.0.0.1:18086 --op write \
  --threads "$THREADS" --requests "$REQUESTS" --runs "$RUNS"
