#!/usr/bin/env bash
# HTTP delivery cost (`make bench`): client CPU per event of mozdef-ship sending MozDef events
# to a local HTTP server (benchmarks/http_sink.c: answers 200 and nothing else, so the client's
# cost is what is measured), as NDJSON batches to /_bulk and one
# event per POST to /events. The cost of delivery is the run's CPU minus the same conversion
# written to a file. Targets: bulk <= 1 µs per event, single POST <= 20 µs per event.
# The Elasticsearch output (es+http://, action lines and the bulk answer read) is measured the
# same way against a second sink that answers as Elasticsearch does when every item succeeded.
# Environment: MOZDEF_SHIP (default: the release build).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MOZDEF_SHIP:-.build/release/mozdef-ship}
work=$(mktemp -d /tmp/mozdef-ship-http-bench.XXXXXX)
server= es_server=
trap '{ [[ -z $server ]] || { kill -9 $server; wait $server; }; [[ -z $es_server ]] || { kill -9 $es_server; wait $es_server; }; } 2>/dev/null || true; rm -rf "$work"' EXIT
python3 - 200000 > "$work/in.log" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print("<38>Nov 28 12:00:%02d bastion sshd[%d]: Failed password for user%d from 198.51.100.%d port %d ssh2" % (i % 60, 1000 + i % 9000, i % 500, i % 250, 1024 + i % 60000))
PY
"$BIN" convert --format syslog --now 2026-11-29T00:00:00Z "$work/in.log" > "$work/bulk.jsonl" 2>/dev/null
head -20000 "$work/bulk.jsonl" > "$work/single.jsonl"
cc -O2 -o "$work/http_sink" benchmarks/http_sink.c
"$work/http_sink" > "$work/port" 2>/dev/null &
server=$!
for _ in $(seq 50); do [[ -s $work/port ]] && break; sleep 0.1; done
port=$(head -1 "$work/port")
"$work/http_sink" es > "$work/es_port" 2>/dev/null &
es_server=$!
for _ in $(seq 50); do [[ -s $work/es_port ]] && break; sleep 0.1; done
es_port=$(head -1 "$work/es_port")
cpu() { awk '{print $1 + $2}' "$1"; }
measure() {  # file url-or-empty -> best CPU seconds of 3
    local best=999
    for _ in 1 2 3; do
        if [[ -n $2 ]]; then
            /usr/bin/time -f "%U %S" -o "$work/t" "$BIN" convert --format mozdef --to "$2" --batch 500 "$1" >/dev/null 2>&1
        else
            /usr/bin/time -f "%U %S" -o "$work/t" "$BIN" convert --format mozdef -o "$work/out" "$1" >/dev/null 2>&1
        fi
        best=$(python3 -c "print(min($best, $(cpu "$work/t")))")
    done
    echo "$best"
}
base_bulk=$(measure "$work/bulk.jsonl" "")
bulk=$(measure "$work/bulk.jsonl" "http://127.0.0.1:$port/_bulk")
base_single=$(measure "$work/single.jsonl" "")
single=$(measure "$work/single.jsonl" "http://127.0.0.1:$port/events")
es=$(measure "$work/bulk.jsonl" "es+http://127.0.0.1:$es_port")
read -r bulk_us single_us es_us < <(python3 -c "print(round(($bulk - $base_bulk) * 1e6 / 200000, 2), round(($single - $base_single) * 1e6 / 20000, 2), round(($es - $base_bulk) * 1e6 / 200000, 2))")
echo "| HTTP delivery, client CPU per event (run minus the same conversion to a file) | measured | target |"
echo "|---|---:|---|"
echo "| NDJSON /_bulk, batches of 500, 200k events | $bulk_us µs | ≤ 1 µs |"
echo "| one event per POST (/events), 20k events | $single_us µs | ≤ 20 µs |"
echo "| Elasticsearch bulk (es+http://, daily index per event), batches of 500, 200k events | $es_us µs | |"
python3 -c "print(('PASS' if $bulk_us <= 1 else 'MISS') + '  HTTP bulk: $bulk_us µs client CPU per event (target <= 1)')"
python3 -c "print(('PASS' if $single_us <= 20 else 'MISS') + '  HTTP single POST: $single_us µs client CPU per event (target <= 20)')"
