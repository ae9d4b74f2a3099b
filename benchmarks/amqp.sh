#!/usr/bin/env bash
# RabbitMQ publishing rate with confirms (`make bench`): mozdef-ship against the C
# librabbitmq publisher in benchmarks/amqp_pub.c, on the same private broker in the same run,
# publishing the same 100k MozDef events. Target: mozdef-ship >= 90% of the C publisher.
# Environment: MOZDEF_SHIP (default: the release build), AMQP_EVENTS (default 100000).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${MOZDEF_SHIP:-.build/release/mozdef-ship}
N=${AMQP_EVENTS:-100000}
work=$(mktemp -d /tmp/mozdef-ship-amqp-bench.XXXXXX)
chmod 755 "$work"
port=$((23000 + RANDOM % 2000))
trap 'scripts/rabbitmq-private stop "$work/node" $port; rm -rf "$work"' EXIT
cc -O2 -o "$work/amqp_pub" benchmarks/amqp_pub.c $(pkg-config --cflags --libs librabbitmq)
# The events: RFC 3164 auth lines converted once, then published as they are (--format mozdef).
python3 - "$N" > "$work/in.log" <<'PY'
import sys
for i in range(int(sys.argv[1])):
    print("<38>Nov 28 12:00:%02d bastion sshd[%d]: Failed password for user%d from 198.51.100.%d port %d ssh2" % (i % 60, 1000 + i % 9000, i % 500, i % 250, 1024 + i % 60000))
PY
"$BIN" convert --format syslog --now 2026-11-29T00:00:00Z "$work/in.log" > "$work/events.jsonl" 2>/dev/null
scripts/rabbitmq-private start "$work/node" $port
purge() { /usr/bin/python3 -c "import pika,sys; c=pika.BlockingConnection(pika.ConnectionParameters('127.0.0.1',int(sys.argv[1]))); ch=c.channel(); ch.queue_declare('eventtask',durable=True); ch.queue_purge('eventtask'); c.close()" $port; }
best_c=0 best_ours=0 cpu_ours=0
for run in 1 2 3; do
    purge
    rc=$("$work/amqp_pub" $port "$work/events.jsonl")
    (( rc > best_c )) && best_c=$rc
    purge
    # Its rate from the first publish to the last confirm (as the C publisher counts), from its note.
    /usr/bin/time -f "%U %S" -o "$work/time" "$BIN" convert --format mozdef --to "amqp://guest:guest@127.0.0.1:$port/" "$work/events.jsonl" 2>"$work/err" >/dev/null
    r=$(sed -n 's/.* \([0-9][0-9]*\) msg\/s.*/\1/p' "$work/err" | tail -1)
    [[ -n $r ]] || { cat "$work/err" >&2; exit 1; }
    if (( r > best_ours )); then best_ours=$r; cpu_ours=$(awk '{print ($1 + $2) * 1e6 / '"$N"'}' "$work/time"); fi
    echo "  run $run: C publisher $rc msg/s, mozdef-ship $r msg/s" >&2
done
ratio=$(python3 -c "print(round(100.0 * $best_ours / $best_c, 1))")
echo "| RabbitMQ, confirms on (window 1000), $N events | mozdef-ship | C librabbitmq publisher | ours/C |"
echo "|---|---:|---:|---:|"
echo "| msg/s (best of 3) | $best_ours | $best_c | $ratio% |"
echo "| mozdef-ship CPU per event | $(printf '%.1f' "$cpu_ours") µs | | |"
if python3 -c "import sys; sys.exit(0 if $best_ours >= 0.9 * $best_c else 1)"; then
    echo "PASS  RabbitMQ rate: $ratio% of the C publisher (target >= 90%)"
else
    echo "MISS  RabbitMQ rate: $ratio% of the C publisher (target >= 90%)"
fi
