#!/usr/bin/env bash
# Throughput / memory benchmark for `mozdef-ship convert --format syslog`.
#
# Compares mozdef-ship against benchmarks/floor.c (read lines, JSON-escape,
# write: the least work any converter must do) on generated RFC 3164 and
# RFC 5424 inputs, and checks the project's performance targets.
#
# Environment:
#   MOZDEF_SHIP  path to a mozdef-ship binary (skips `swift build`)
#   BENCH_RUNS   runs per program and input, best CPU time is kept (default 5)
#   BENCH_LINES  lines per generated input (default 1000000)
#   CC           C compiler for the helpers (default cc)
#
# Exit status is 0 even when a target is missed (this is a report); it is
# non-zero if a command fails or an output's line count differs from its input.
set -euo pipefail

# A relative MOZDEF_SHIP means relative to the caller's directory, not ours.
if [[ -n ${MOZDEF_SHIP:-} && $MOZDEF_SHIP != /* ]]; then
    MOZDEF_SHIP=$PWD/$MOZDEF_SHIP
fi
cd "$(dirname "$0")/.."        # run from the repository root

RUNS=${BENCH_RUNS:-5}
LINES=${BENCH_LINES:-1000000}
CC=${CC:-cc}
DATA_DIR=.build/bench-data

# Targets (records per CPU-second, peak RSS).
TARGET_RATE_rfc3164=800000
TARGET_RATE_rfc5424=350000
TARGET_RSS_MIB=32

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }

count_lines() { local n; n=$(wc -l <"$1"); echo $((n)); }   # strips BSD wc padding

TMP=$(mktemp -d "${TMPDIR:-/tmp}/mozdef-bench.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# --- build ------------------------------------------------------------------
if [[ -n ${MOZDEF_SHIP:-} ]]; then
    SHIP=$MOZDEF_SHIP
else
    log "building mozdef-ship (release)..."
    swift build -c release --product mozdef-ship >&2
    SHIP="$(swift build -c release --show-bin-path)/mozdef-ship"
fi
[[ -x $SHIP ]] || die "mozdef-ship binary not found or not executable: $SHIP"

"$CC" -O2 -Wall -Wextra -o "$TMP/floor" benchmarks/floor.c
"$CC" -O2 -Wall -Wextra -o "$TMP/measure" benchmarks/measure.c

# --- inputs -----------------------------------------------------------------
# Cached across runs; the key includes gen.py's hash so editing the generator
# invalidates old data.  Generated in the temp dir, then moved into place, so
# an interrupted run never leaves a truncated cache file.
mkdir -p "$DATA_DIR"
GEN_HASH=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest()[:12])' benchmarks/gen.py)

input_path() { echo "$DATA_DIR/$1-$LINES-$GEN_HASH.log"; }

for fmt in rfc3164 rfc5424; do
    path=$(input_path "$fmt")
    if [[ -f $path ]]; then
        log "reusing $path"
    else
        log "generating $path..."
        python3 benchmarks/gen.py "$fmt" "$LINES" "$TMP/$fmt.log"
        mv "$TMP/$fmt.log" "$path"
    fi
    n=$(count_lines "$path")
    [[ $n -eq $LINES ]] || die "$path has $n lines, expected $LINES"
done

# --- measurement --------------------------------------------------------------
# bench NAME INPUT CMD...  (CMD must write to $TMP/out)
# Runs CMD $RUNS times; sets BEST_CPU (min user+sys seconds) and PEAK_KIB
# (max ru_maxrss over the runs: the RSS target is a ceiling, so be strict).
bench() {
    local name=$1 input=$2; shift 2
    local i u s m cpu n
    BEST_CPU= PEAK_KIB=0
    for ((i = 1; i <= RUNS; i++)); do
        rm -f "$TMP/out"
        "$TMP/measure" "$TMP/rusage" "$@" || die "$name failed (exit $?): $*"
        read -r u s m <"$TMP/rusage"
        cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.6f", u + s }')
        n=$(count_lines "$TMP/out")
        [[ $n -eq $LINES ]] || die "$name on $input wrote $n lines, expected $LINES"
        log "  $name run $i/$RUNS: user ${u}s sys ${s}s, peak RSS ${m} KiB"
        if [[ -z $BEST_CPU ]] || awk -v a="$cpu" -v b="$BEST_CPU" 'BEGIN { exit !(a < b) }'; then
            BEST_CPU=$cpu
        fi
        if ((m > PEAK_KIB)); then PEAK_KIB=$m; fi
    done
    rm -f "$TMP/out"
}

rate() { awk -v n="$LINES" -v c="$1" 'BEGIN { printf "%.0f", (c > 0 ? n / c : 0) }'; }
mib()  { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

ROWS=() CHECKS=()
for fmt in rfc3164 rfc5424; do
    input=$(input_path "$fmt")
    log "$fmt ($LINES lines, $(($(wc -c <"$input") / 1048576)) MiB):"

    bench floor "$fmt" "$TMP/floor" -o "$TMP/out" "$input"
    floor_cpu=$BEST_CPU floor_kib=$PEAK_KIB

    bench mozdef-ship "$fmt" "$SHIP" convert --format syslog --output "$TMP/out" "$input"
    ship_cpu=$BEST_CPU ship_kib=$PEAK_KIB

    ship_rate=$(rate "$ship_cpu") floor_rate=$(rate "$floor_cpu")
    ratio=$(awk -v f="$floor_rate" -v o="$ship_rate" 'BEGIN { printf "%.2f", (o > 0 ? f / o : 0) }')
    ROWS+=("| $fmt | $LINES | $ship_rate | $floor_rate | $ratio | $(mib "$ship_kib") | $(mib "$floor_kib") |")

    target_var=TARGET_RATE_$fmt
    target=${!target_var}
    verdict=MISS; if ((ship_rate >= target)); then verdict=PASS; fi
    CHECKS+=("$verdict  $fmt throughput: $ship_rate records/CPU-s (target >= $target)")
    verdict=MISS; if ((ship_kib <= TARGET_RSS_MIB * 1024)); then verdict=PASS; fi
    CHECKS+=("$verdict  $fmt peak RSS: $(mib "$ship_kib") MiB (target <= $TARGET_RSS_MIB MiB)")
done

# --- report ---------------------------------------------------------------------
echo
echo "Best of $RUNS runs; CPU = user+sys of the child; peak RSS = ru_maxrss (max over runs)."
echo
echo "| input | records | mozdef-ship records/CPU-s | floor records/CPU-s | ratio floor/ours | mozdef-ship peak RSS MiB | floor peak RSS MiB |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${ROWS[@]}"
echo
printf '%s\n' "${CHECKS[@]}"
