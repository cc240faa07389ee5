#!/usr/bin/env bash
# Throughput and memory benchmark of tsv_parser.
#
#   bench/bench.sh [PATH_TO_TSV_PARSER]
#
# The binary is the first argument, else $TSV_PARSER, else build/tsv_parser.
# Generates 50 000-row and 200 000-row files (30 channels) with bench/gen-big.py,
# runs the parser on each with the file sink to /dev/null (best of 3, elapsed time
# and peak RSS from /usr/bin/time), compares with `cat` of the line protocol the
# parser produces, and times a typical daily file (143 rows x 30 channels) over 20
# runs. Prints a summary with the targets beside; never fails on a missed target.
# Everything happens in a temporary folder, removed on exit. Installs nothing.
set -euo pipefail
export LC_ALL=C

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd -- "$script_dir/.." && pwd)

BIN=${1:-${TSV_PARSER:-$repo_dir/build/tsv_parser}}
SIZES=(50000 200000)
RUNS=3
SMALL_ROWS=143
SMALL_RUNS=20

die() {
    echo "bench.sh: $*" >&2
    exit 1
}

[[ -x /usr/bin/time ]] || die "/usr/bin/time not found: apt-get install time"
command -v python3 >/dev/null || die "python3 not found"
[[ -f $BIN && -x $BIN ]] || die "parser binary not found or not executable: $BIN (build it first, or set TSV_PARSER)"
case $BIN in
    /*) ;;
    *) BIN=$PWD/$BIN ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tsv_bench.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

data=$tmp/data
dev_dir=$data/bench/run/02001171
target=$dev_dir/big.tsv

# Seconds since the epoch with microseconds (bash >= 5), else nanoseconds from date.
now() {
    if [[ -n ${EPOCHREALTIME:-} ]]; then
        printf '%s\n' "${EPOCHREALTIME/,/.}"
    else
        date +%s.%N
    fi
}

# calc EXPR: floating-point arithmetic with awk.
calc() {
    awk "BEGIN { printf \"%.6f\", $1 }"
}

# fresh_copy SRC: reset the data folder and put SRC at the device folder.
fresh_copy() {
    rm -rf -- "$data"
    mkdir -p -- "$dev_dir"
    cp -- "$1" "$target"
}

# report_field DIR KEY: KEY of the single run report written in DIR.
report_field() {
    python3 - "$1" "$2" <<'PY'
import glob, json, os, sys
files = glob.glob(os.path.join(sys.argv[1], "*.json"))
if len(files) != 1:
    sys.exit("expected one run report in %s, found %d" % (sys.argv[1], len(files)))
with open(files[0], encoding="utf-8") as f:
    print(json.load(f)[sys.argv[2]])
PY
}

# run_parser OUTPUT REPORT_DIR: one real run on $target; sets run_s, run_rss_kb.
run_parser() {
    local out=$1 reports=$2 t0 t1 rc=0
    mkdir -p -- "$reports"
    t0=$(now)
    TSV_REPORT_DIR=$reports /usr/bin/time -f '%e %M' -o "$tmp/time.txt" \
        "$BIN" -d "$data" -t "$target" --output "$out" >"$tmp/stdout.txt" 2>"$tmp/stderr.txt" || rc=$?
    t1=$(now)
    if ((rc != 0)); then
        echo "bench.sh: tsv_parser exited with code $rc; its stderr:" >&2
        tail -n 20 "$tmp/stderr.txt" >&2
        exit 1
    fi
    run_s=$(calc "$t1 - $t0")
    # The last line of the -o file holds '%e %M' (earlier lines: signal notes).
    run_rss_kb=$(tail -n 1 "$tmp/time.txt" | awk '{ print $2 }')
}

# time_cat FILE: best of 3 `cat FILE > /dev/null` after one warm-up; sets cat_s.
time_cat() {
    local i t0 t1 s
    cat -- "$1" >/dev/null
    cat_s=
    for ((i = 0; i < 3; i++)); do
        t0=$(now)
        cat -- "$1" >/dev/null
        t1=$(now)
        s=$(calc "$t1 - $t0")
        if [[ -z $cat_s ]] || (($(awk "BEGIN { print ($s < $cat_s) }"))); then
            cat_s=$s
        fi
    done
}

echo "tsv_parser: $BIN"
"$BIN" --version 2>/dev/null || true
echo "temporary folder: $tmp"
echo

declare -a sum_rows sum_points sum_secs sum_mpps sum_rss sum_ratio

for rows in "${SIZES[@]}"; do
    src=$tmp/src_$rows.tsv
    gen_msg=$(python3 "$script_dir/gen-big.py" --rows "$rows" --out "$src" 2>&1)
    expected_points=${gen_msg##*expected_points=}
    echo "== $rows rows x 30 channels ($(du -h -- "$src" | cut -f1)), $expected_points valid points expected"

    best_s=
    peak_kb=0
    points=
    for ((i = 1; i <= RUNS; i++)); do
        fresh_copy "$src"
        reports=$tmp/reports/${rows}_$i
        run_parser /dev/null "$reports"
        [[ $(report_field "$reports" status) == success ]] \
            || die "run report status is not success (see $reports)"
        points=$(report_field "$reports" nb_points_total)
        printf '  run %d: %.3f s, peak RSS %d KB, %s points\n' "$i" "$run_s" "$run_rss_kb" "$points"
        if [[ $points != "$expected_points" ]]; then
            echo "  WARNING: nb_points_total $points, expected $expected_points (TSV_TIMEZONE not Europe/Paris?)"
        fi
        if [[ -z $best_s ]] || (($(awk "BEGIN { print ($run_s < $best_s) }"))); then
            best_s=$run_s
        fi
        if ((run_rss_kb > peak_kb)); then
            peak_kb=$run_rss_kb
        fi
    done

    # Line protocol once to a real file, then cat of that file as the yardstick.
    fresh_copy "$src"
    rm -f -- "$tmp/out.lp"
    run_parser "$tmp/out.lp" "$tmp/reports/${rows}_lp"
    time_cat "$tmp/out.lp"
    ratio=$(calc "$best_s / $cat_s")
    printf '  line protocol: %s, cat best of 3: %.4f s, parser/cat = %.2f\n' \
        "$(du -h -- "$tmp/out.lp" | cut -f1)" "$cat_s" "$ratio"
    rm -f -- "$tmp/out.lp"

    sum_rows+=("$rows")
    sum_points+=("$points")
    sum_secs+=("$best_s")
    sum_mpps+=("$(calc "$points / $best_s / 1000000")")
    sum_rss+=("$(calc "$peak_kb / 1024")")
    sum_ratio+=("$ratio")
    echo
done

# Typical daily file.
small=$tmp/src_small.tsv
python3 "$script_dir/gen-big.py" --rows "$SMALL_ROWS" --out "$small" 2>/dev/null
small_size=$(wc -c <"$small")
total=0
for ((i = 1; i <= SMALL_RUNS; i++)); do
    fresh_copy "$small"
    reports=$tmp/reports/small_$i
    mkdir -p -- "$reports"
    t0=$(now)
    TSV_REPORT_DIR=$reports "$BIN" -d "$data" -t "$target" --output /dev/null \
        >"$tmp/stdout.txt" 2>"$tmp/stderr.txt" \
        || { tail -n 20 "$tmp/stderr.txt" >&2; die "tsv_parser failed on the small file"; }
    t1=$(now)
    total=$(calc "$total + $t1 - $t0")
done
small_ms=$(calc "$total / $SMALL_RUNS * 1000")
printf '== typical file: %d rows x 30 channels (%d bytes), %d runs: average %.2f ms\n\n' \
    "$SMALL_ROWS" "$small_size" "$SMALL_RUNS" "$small_ms"

ok() { # ok CONDITION -> "ok" or "MISSED"
    if (($(awk "BEGIN { print ($1) }"))); then echo ok; else echo MISSED; fi
}

echo "Summary (targets: >= 10 Mpoints/s, <= 3x cat, <= 16 MB peak RSS, a few ms for the typical file)"
printf '%-8s %-9s %-9s %-18s %-18s %-16s\n' rows points seconds "Mpoints/s (>=10)" "peak RSS MB (<=16)" "x cat (<=3)"
for idx in "${!sum_rows[@]}"; do
    printf '%-8s %-9s %-9.3f %-18s %-18s %-16s\n' \
        "${sum_rows[idx]}" "${sum_points[idx]}" "${sum_secs[idx]}" \
        "$(printf '%.1f %s' "${sum_mpps[idx]}" "$(ok "${sum_mpps[idx]} >= 10")")" \
        "$(printf '%.1f %s' "${sum_rss[idx]}" "$(ok "${sum_rss[idx]} <= 16")")" \
        "$(printf '%.2f %s' "${sum_ratio[idx]}" "$(ok "${sum_ratio[idx]} <= 3")")"
done
printf 'typical file (%d rows, %d bytes): %.2f ms average over %d runs (target: a few ms) %s\n' \
    "$SMALL_ROWS" "$small_size" "$small_ms" "$SMALL_RUNS" "$(ok "$small_ms <= 10")"
