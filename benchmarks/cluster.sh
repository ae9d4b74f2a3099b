#!/usr/bin/env bash
# Scale-out (`make bench`): how fast 1, 2 and 3 mozdef-receivers sharing one PostgreSQL drain
# MozDef's eventtask queue on one RabbitMQ, against one receiver on SQLite. The queue is
# filled first (benchmarks/amqp_pub.c, the same events for every run), then the receivers
# start; the rate is counted from the first stored event to the last, and every event must be
# stored exactly once. CPU per event: the receivers' own, and the whole machine's (broker,
# PostgreSQL and receivers together), both over the drain.
# Environment: MOZDEF_RECEIVER (default: the release build), CLUSTER_EVENTS (default 200000).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MOZDEF_RECEIVER:-.build/release/mozdef-receiver}
SHIP=${MOZDEF_SHIP:-.build/release/mozdef-ship}
N=${CLUSTER_EVENTS:-200000}
work=$(mktemp -d /tmp/mozdef-cluster-bench.XXXXXX)
chmod 755 "$work"
amqp_port=$((23000 + RANDOM % 2000))
pg_port=$((27000 + RANDOM % 2000))
pids=()
stop_receivers() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
trap 'stop_receivers || true; scripts/rabbitmq-private stop "$work/node" $amqp_port || true; scripts/postgres-private stop "$work/pg" $pg_port || true; rm -rf "$work"' EXIT
cc -O2 -o "$work/amqp_pub" benchmarks/amqp_pub.c $(pkg-config --cflags --libs librabbitmq)
python3 - "$N" > "$work/in.log" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print("<38>Nov 28 12:00:%02d bastion sshd[%d]: Failed password for user%d from 198.51.100.%d port %d ssh2" % (i % 60, 1000 + i % 9000, i % 500, i % 250, 1024 + i % 60000))
PY
"$SHIP" convert --format syslog --now 2026-11-29T00:00:00Z "$work/in.log" > "$work/events.jsonl" 2>/dev/null
scripts/rabbitmq-private start "$work/node" $amqp_port
scripts/postgres-private start "$work/pg" $pg_port
amqp="amqp://guest:guest@127.0.0.1:$amqp_port/"
hz=$(getconf CLK_TCK)
busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }   # user nice system irq softirq
own() { local t=0; for p in "${pids[@]}"; do t=$((t + $(awk '{print $14 + $15}' /proc/$p/stat))); done; echo $t; }
stored() {
    local t=0 n
    for port in "${ports[@]}"; do
        n=$(/usr/bin/python3 -c "
import re, sys, urllib.request
try:
    t = urllib.request.urlopen('http://127.0.0.1:$port/metrics', timeout=2).read().decode()
    print(sum(int(n) for n in re.findall(r'mozdef_receiver_events_stored_total\{[^}]*\} (\d+)', t)))
except Exception:
    print(0)")
        t=$((t + n))
    done
    echo $t
}
run() {  # name count store-kind -> table row
    local name=$1 k=$2 kind=$3 db store t0 t1 c0 c1 o0 o1 first have
    "$work/amqp_pub" $amqp_port "$work/events.jsonl" > /dev/null
    if [[ $kind == postgres ]]; then
        db="mozdef_$name"
        runuser -u postgres -- /usr/bin/createdb -h 127.0.0.1 -p $pg_port -U postgres "$db"
        store="postgres://postgres@127.0.0.1:$pg_port/$db"
    else
        store="sqlite:$work/sqlite-$name"
    fi
    ports=()
    for i in $(seq "$k"); do
        local port
        port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        "$BIN" --listen 127.0.0.1:$port --store "$store" --amqp "$amqp" --mozdef-hostname bench 2>> "$work/log" &
        pids+=($!)
        ports+=($port)
    done
    # From the first stored event to the last.
    have=0
    while (( have == 0 )); do sleep 0.05; have=$(stored); done
    t0=$(date +%s.%N); c0=$(busy); o0=$(own); first=$have
    while (( have < N )); do sleep 0.1; have=$(stored); done
    t1=$(date +%s.%N); c1=$(busy); o1=$(own)
    sleep 1
    have=$(stored)
    stop_receivers
    if [[ $kind == postgres ]]; then
        have=$(psql -X -A -t -h 127.0.0.1 -p $pg_port -U postgres "$db" -c "SELECT count(*) FROM events")
    fi
    [[ $have == "$N" ]] || { echo "$name: $have stored, expected $N" >&2; exit 1; }
    python3 -c "
n, t, hz = $N - $first, $t1 - $t0, $hz
print(f'| $name | {n / t:.0f} | {($o1 - $o0) / hz * 1e6 / n:.1f} | {($c1 - $c0) / hz * 1e6 / n:.1f} |')"
}
echo "| $N events drained from RabbitMQ, durable | events/s | receivers' CPU µs/event | machine CPU µs/event |"
echo "|---|---:|---:|---:|"
run sqlite1 1 sqlite
run postgres1 1 postgres
run postgres2 2 postgres
run postgres3 3 postgres
