#!/usr/bin/env bash
# Throughput / memory benchmark for `mozdef-ship convert`.
#
# Compares mozdef-ship against benchmarks/floor.c (read lines, JSON-escape,
# write: the least work any converter must do) on generated RFC 3164, RFC 5424,
# CEF, Zeek (TSV conn.log), GELF and CloudTrail inputs, and checks the
# project's performance targets.
#
# Environment:
#   MOZDEF_SHIP   path to a mozdef-ship binary (skips `swift build`)
#   BENCH_RUNS    runs per program and input, best CPU time is kept (default 5)
#   BENCH_LINES   records per syslog, CEF and Zeek input (default 1000000);
#                 GELF gets a fifth of it, CloudTrail a tenth
#   BENCH_INPUTS  which inputs to run, space-separated (default: all of
#                 rfc3164 rfc5424 cef zeek gelf cloudtrail)
#   CC            C compiler for the helpers (default cc)
#
# Exit status is 0 even when a target is missed (this is a report); it is
# non-zero if a command fails or an output has the wrong number of lines
# (mozdef-ship: one event per record; floor: one line per input line).
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
ALL_INPUTS="rfc3164 rfc5424 cef zeek gelf cloudtrail"
INPUTS=${BENCH_INPUTS:-$ALL_INPUTS}

# Targets (records per CPU-second, peak RSS; TARGET_RSS_MIB_<input> overrides
# the common ceiling).
TARGET_RATE_rfc3164=800000
TARGET_RATE_rfc5424=350000
TARGET_RATE_cef=260000
TARGET_RATE_zeek=285000
TARGET_RATE_gelf=250000
TARGET_RATE_cloudtrail=130000
TARGET_RSS_MIB=32
TARGET_RSS_MIB_cloudtrail=64

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }

count_lines() { local n; n=$(wc -l <"$1"); echo $((n)); }   # strips BSD wc padding

for fmt in $INPUTS; do
    [[ " $ALL_INPUTS " == *" $fmt "* ]] || die "unknown input in BENCH_INPUTS: $fmt (known: $ALL_INPUTS)"
done

# Per input: records generated (syslog, CEF and Zeek get BENCH_LINES, GELF a
# fifth of it, CloudTrail a tenth: the sizes the targets are set for), the
# --format given to mozdef-ship, the generated file's line count (a Zeek log
# adds 8 header lines and #close; a CloudTrail file is one line), and the
# cache file's extension.
records_for() {
    local n
    case $1 in
        gelf) n=$((LINES / 5)) ;;
        cloudtrail) n=$((LINES / 10)) ;;
        *) n=$LINES ;;
    esac
    echo $((n > 0 ? n : 1))
}
ship_format() { case $1 in rfc3164 | rfc5424) echo syslog ;; *) echo "$1" ;; esac; }
input_lines() { case $1 in zeek) echo $(($2 + 9)) ;; cloudtrail) echo 1 ;; *) echo "$2" ;; esac; }
input_ext() { case $1 in cef) echo cef ;; gelf) echo gelf ;; cloudtrail) echo json ;; *) echo log ;; esac; }

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

input_path() { echo "$DATA_DIR/$1-$(records_for "$1")-$GEN_HASH.$(input_ext "$1")"; }

for fmt in $INPUTS; do
    path=$(input_path "$fmt") records=$(records_for "$fmt")
    if [[ -f $path ]]; then
        log "reusing $path"
    else
        log "generating $path..."
        python3 benchmarks/gen.py "$fmt" "$records" "$TMP/$fmt.in"
        mv "$TMP/$fmt.in" "$path"
    fi
    n=$(count_lines "$path") want=$(input_lines "$fmt" "$records")
    [[ $n -eq $want ]] || die "$path has $n lines, expected $want"
done

# --- measurement --------------------------------------------------------------
# bench NAME INPUT EXPECTED_LINES CMD...  (CMD must write to $TMP/out)
# Runs CMD $RUNS times; sets BEST_CPU (min user+sys seconds) and PEAK_KIB
# (max ru_maxrss over the runs: the RSS target is a ceiling, so be strict).
# An empty EXPECTED_LINES only requires a non-empty output.
bench() {
    local name=$1 input=$2 expected=$3; shift 3
    local i u s m cpu n
    BEST_CPU= PEAK_KIB=0
    for ((i = 1; i <= RUNS; i++)); do
        rm -f "$TMP/out"
        "$TMP/measure" "$TMP/rusage" "$@" || die "$name failed (exit $?): $*"
        read -r u s m <"$TMP/rusage"
        cpu=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.6f", u + s }')
        n=$(count_lines "$TMP/out")
        if [[ -n $expected ]]; then
            [[ $n -eq $expected ]] || die "$name on $input wrote $n lines, expected $expected"
        else
            [[ $n -gt 0 ]] || die "$name on $input wrote nothing"
        fi
        log "  $name run $i/$RUNS: user ${u}s sys ${s}s, peak RSS ${m} KiB"
        if [[ -z $BEST_CPU ]] || awk -v a="$cpu" -v b="$BEST_CPU" 'BEGIN { exit !(a < b) }'; then
            BEST_CPU=$cpu
        fi
        if ((m > PEAK_KIB)); then PEAK_KIB=$m; fi
    done
    rm -f "$TMP/out"
}

rate() { awk -v n="$1" -v c="$2" 'BEGIN { printf "%.0f", (c > 0 ? n / c : 0) }'; }   # rate RECORDS CPU_S
mib()  { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

ROWS=() CHECKS=()
for fmt in $INPUTS; do
    input=$(input_path "$fmt") records=$(records_for "$fmt")
    log "$fmt ($records records, $(($(wc -c <"$input") / 1048576)) MiB):"

    # The floor writes one line per input line, but splits lines over 1 MiB:
    # a CloudTrail file (one long line) only has to produce some output.
    floor_lines=$(input_lines "$fmt" "$records")
    if [[ $fmt == cloudtrail ]]; then floor_lines=; fi
    bench floor "$fmt" "$floor_lines" "$TMP/floor" -o "$TMP/out" "$input"
    floor_cpu=$BEST_CPU floor_kib=$PEAK_KIB

    # mozdef-ship writes one event per record (Zeek header lines give none).
    bench mozdef-ship "$fmt" "$records" "$SHIP" convert --format "$(ship_format "$fmt")" --output "$TMP/out" "$input"
    ship_cpu=$BEST_CPU ship_kib=$PEAK_KIB

    ship_rate=$(rate "$records" "$ship_cpu") floor_rate=$(rate "$records" "$floor_cpu")
    ratio=$(awk -v f="$floor_rate" -v o="$ship_rate" 'BEGIN { printf "%.2f", (o > 0 ? f / o : 0) }')
    ROWS+=("| $fmt | $records | $ship_rate | $floor_rate | $ratio | $(mib "$ship_kib") | $(mib "$floor_kib") |")

    target_var=TARGET_RATE_$fmt
    target=${!target_var}
    rss_var=TARGET_RSS_MIB_$fmt
    rss_target=${!rss_var:-$TARGET_RSS_MIB}
    verdict=MISS; if ((ship_rate >= target)); then verdict=PASS; fi
    CHECKS+=("$verdict  $fmt throughput: $ship_rate records/CPU-s (target >= $target)")
    verdict=MISS; if ((ship_kib <= rss_target * 1024)); then verdict=PASS; fi
    CHECKS+=("$verdict  $fmt peak RSS: $(mib "$ship_kib") MiB (target <= $rss_target MiB)")
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
