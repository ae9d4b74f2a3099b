#!/usr/bin/env bash
# mozdef-receiver ingest (`make bench`): load from a second process on loopback
# (benchmarks/http_load.c: keep-alive connections, one request in flight on each, as
# mozdef-client and most shippers send), every answer a 200 given after the commit
# (SQLite WAL, synchronous=FULL). Single-event POSTs to /events and NDJSON batches of 100 to
# /_bulk; the stored count is checked against the 200s. Targets: >= 20k POSTs/s and
# >= 150k bulk events/s on a 2-core machine; a Python bottle endpoint like MozDef's loginput
# takes ~5k POSTs/s and ~130k events/s per core in batches of 100 (measured here earlier).
# Environment: MOZDEF_RECEIVER (default: the release build), BENCH_SECONDS (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MOZDEF_RECEIVER:-.build/release/mozdef-receiver}
SECONDS_EACH=${BENCH_SECONDS:-10}
work=$(mktemp -d /tmp/mozdef-receiver-bench.XXXXXX)
server=
trap '{ [[ -z $server ]] || { kill -9 $server; wait $server; }; } 2>/dev/null || true; rm -rf "$work"' EXIT
${CC:-cc} -O2 -o "$work/http_load" benchmarks/http_load.c
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" --listen 127.0.0.1:$port --data "$work/data" --mozdef-hostname bench 2> "$work/log" &
server=$!
for _ in $(seq 100); do /usr/bin/python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/status')" 2>/dev/null && break; sleep 0.1; done
# A typical event: what mozdef-ship makes of an sshd failure.
cat > "$work/one.json" <<'JSON'
{"timestamp":"2026-11-28T03:14:07+00:00","utctimestamp":"2026-11-28T03:14:07+00:00","category":"authentication","hostname":"bastion-01","processid":"24101","processname":"sshd","severity":"NOTICE","source":"/var/log/auth.log","summary":"Failed password for root from 198.51.100.77 port 40112 ssh2","tags":[],"details":{"facility":"auth","program":"sshd","action":"failed","success":false,"authmethod":"password","username":"root","sourceipaddress":"198.51.100.77","sourceport":40112}}
JSON
for _ in $(seq 100); do cat "$work/one.json"; done > "$work/bulk.ndjson"
cpu() { awk '{print $14 + $15}' /proc/$server/stat; }
stored() { /usr/bin/python3 -c "
import re, urllib.request
t = urllib.request.urlopen('http://127.0.0.1:$port/metrics').read().decode()
print(sum(int(n) for n in re.findall(r'mozdef_receiver_events_stored_total\{[^}]*\} (\d+)', t)))"; }
hz=$(getconf CLK_TCK)
run() {  # name path body events-per-body connections -> line of results
    local before after c0 c1
    before=$(stored); c0=$(cpu)
    "$work/http_load" 127.0.0.1 $port "$2" "$3" "$4" "$5" "$SECONDS_EACH" > "$work/out"
    c1=$(cpu); after=$(stored)
    /usr/bin/python3 - "$1" "$(cat "$work/out")" $((after - before)) $((c1 - c0)) $hz "$4" <<'PY'
import sys
name, out, stored, ticks, hz, per = sys.argv[1], dict(kv.split("=") for kv in sys.argv[2].split()), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
events = int(out["requests"]) * per
assert stored == events, f"{name}: {events} events answered 200 but {stored} stored"
us = ticks / hz * 1e6 / events
print(f"{name}|{float(out['requests_per_s']):.0f}|{float(out['events_per_s']):.0f}|{out['p50_ms']}|{out['p99_ms']}|{us:.1f}|{stored}")
PY
}
# One store for every run, in this order: it grows as a real one does (the bulk runs find
# about 400k events already there).
s64=$(run single /events "$work/one.json" 1 64)
s128=$(run single /events "$work/one.json" 1 128)
b8=$(run bulk /_bulk "$work/bulk.ndjson" 100 8)
b16=$(run bulk /_bulk "$work/bulk.ndjson" 100 16)
echo "| mozdef-receiver ingest, durable (load: $SECONDS_EACH s each from http_load on loopback, one store) | requests/s | events/s | p50 ms | p99 ms | server CPU µs/event | stored |"
echo "|---|---:|---:|---:|---:|---:|---:|"
row() { IFS='|' read -r _ r e p50 p99 cpu n <<< "$2"; echo "| $1 | $r | $e | $p50 | $p99 | $cpu | $n |"; }
row "one event per POST to /events, 64 connections" "$s64"
row "one event per POST to /events, 128 connections" "$s128"
row "NDJSON /_bulk, 100 events per request, 8 connections" "$b8"
row "NDJSON /_bulk, 100 events per request, 16 connections" "$b16"
best() { python3 -c "import sys; r = [l.split('|') for l in sys.argv[1:]]; b = max(r, key=lambda x: float(x[2])); print(b[2], b[4])" "$@"; }
read -r se s99 < <(best "$s64" "$s128")
read -r be b99 < <(best "$b8" "$b16")
python3 -c "print(('PASS' if $se >= 20000 else 'MISS') + '  receiver single POSTs: best $se/s, p99 $s99 ms (target >= 20000)')"
python3 -c "print(('PASS' if $be >= 150000 else 'MISS') + '  receiver bulk: best $be events/s, p99 $b99 ms (target >= 150000)')"
