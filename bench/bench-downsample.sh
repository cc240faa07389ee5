#!/usr/bin/env bash
# What downsampling costs, on Debian's influxd (1.x) on loopback: FILES
# daily files (144 rows x 30 channels, 4320 points each) of one device, all
# in the past.
#  (a) one run with TSV_DOWNSAMPLE=0, one with downsampling after each file
#      (the default levels), each into its own company (database): elapsed,
#      peak RSS, the cost per file of downsampling;
#  (b) `tsv_parser downsample --bucket` over the undownsampled company:
#      elapsed, peak RSS, chunks, requests, windows written per level;
#  (c) the same backfill over FILES x 4 days (LONG=0: skipped): its RSS.
# Targets: downsampling adds at most 2x the undownsampled run's time; the
# backfill's peak RSS flat in the range.
#
#   bench/bench-downsample.sh [PATH_TO_TSV_PARSER]
#
# FILES (default 90) and LONG (default 1) from the environment. Prints the
# figures; never fails on a missed target; exit 0 without influxd.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
parser=${1:-${TSV_PARSER:-$here/../build/tsv_parser}}
files=${FILES:-90}
long=${LONG:-1}
command -v influxd >/dev/null || { echo "influxd (InfluxDB 1.x) is not installed: skipped (apt-get install influxdb)"; exit 0; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is not installed (apt-get install time)" >&2; exit 1; }
# shellcheck source=bench/lib.bash
. "$here/lib.bash"
bench_tmp tsv_bench_downsample
bench_influx1
log="$tmp/influx1/influxd.log"

days=$files
[ "$long" = 0 ] || days=$((files * 4))
bench_days "$days" "$tmp/days"

export INFLUXDB_API=v1 INFLUXDB_HOST="$url" TSV_MIN_AGE=0
unset TSV_OUTPUT TSV_DOWNSAMPLE_LEVELS INFLUXDB_USERNAME INFLUXDB_PASSWORD

# timed NAME CMD...: CMD under /usr/bin/time, its log in $tmp/NAME.log;
# sets secs and rss (MiB)
timed() {
	local name=$1
	shift
	/usr/bin/time -f '%e %M' -o "$tmp/$name.time" "$@" 2>"$tmp/$name.log" ||
		{ echo "  ($name: exit $?)" >&2; tail -n 5 "$tmp/$name.log" >&2; }
	# the last line: a failed command adds "Command exited with non-zero status N" before
	read -r secs rss < <(tail -n 1 "$tmp/$name.time")
	rss=$(echo "scale=1; $rss / 1024" | bc)
}

# the server's requests so far
requests() {
	grep -c '\] "[A-Z]* /' "$log" || true
}

# ingest NAME N DOWNSAMPLE: the first N days into company NAME (its own data,
# spool and report folders); sets secs, rss, reqs
ingest() {
	local d="$tmp/data-$1/$1/bench/02001171" r0
	mkdir -p "$d"
	find "$tmp/days" -name '*.tsv' | sort | head -n "$2" | xargs cp -t "$d"
	r0=$(requests)
	TSV_SPOOL_DIR="$tmp/spool-$1" TSV_REPORT_DIR="$tmp/reports-$1" TSV_DOWNSAMPLE=$3 TSV_LOG_LEVEL=ERROR \
		timed "ingest-$1" "$parser" -q -d "$tmp/data-$1"
	reqs=$(($(requests) - r0))
}


# backfill NAME: tsv_parser downsample over company NAME; sets secs, rss,
# chunks, reqs, windows (per level)
backfill() {
	local r0
	r0=$(requests)
	TSV_SPOOL_DIR="$tmp/spool-$1" TSV_REPORT_DIR="$tmp/reports-$1" TSV_LOG_LEVEL=DEBUG \
		timed "backfill-$1" "$parser" downsample -d "$tmp/data-$1" --bucket "$1"
	reqs=$(($(requests) - r0))
	chunks=$(grep -c "downsample $1 [0-9a-z]*: chunk " "$tmp/backfill-$1.log" || true)
	windows=$(sed -n "s/.*downsample $1 \([0-9a-z]*\): \([0-9]*\) windows written.*/\1 \2/p" \
		"$tmp/backfill-$1.log" | paste -sd ' ' -)
}

# report_windows FILE...: the windows written per level after each file, summed from the reports
report_windows() {
	python3 - "$@" <<'PY'
import collections, json, sys
n = collections.OrderedDict()
for p in sys.argv[1:]:
    for f in json.load(open(p)).get("files", []):
        for k, v in (f.get("downsample") or {}).items():
            n[k] = n.get(k, 0) + v
print(" ".join("%s %d" % kv for kv in n.items()) or "none")
PY
}

echo "== $files files x 144 rows x 30 channels, influxd $(influxd version 2>/dev/null | cut -d' ' -f2) on loopback"
ingest off "$files" 0
off_s=$secs off_rss=$rss off_reqs=$reqs
ingest on "$files" 1
on_s=$secs on_rss=$rss on_reqs=$reqs
on_windows=$(report_windows "$tmp/reports-on"/tsv_parser_*.json)
backfill off
bf_s=$secs bf_rss=$rss bf_chunks=$chunks bf_reqs=$reqs bf_windows=$windows

printf '\n(a) one run of %d files\n' "$files"
printf '| %-16s | %9s | %12s | %8s |\n' run seconds "peak RSS MiB" requests
printf '| %-16s | %9.2f | %12s | %8s |\n' "TSV_DOWNSAMPLE=0" "$off_s" "$off_rss" "$off_reqs" \
	"downsampling on" "$on_s" "$on_rss" "$on_reqs"
printf 'downsampling: +%.3f s a file, adds %.2fx the undownsampled time (target <= 2); windows written: %s\n' \
	"$(echo "($on_s - $off_s) / $files" | bc -l)" "$(echo "($on_s - $off_s) / $off_s" | bc -l)" "$on_windows"

printf '\n(b) tsv_parser downsample --bucket off, %d days\n' "$files"
printf '| %-6s | %9s | %12s | %6s | %8s | %-28s |\n' days seconds "peak RSS MiB" chunks requests "windows written"
printf '| %-6s | %9.2f | %12s | %6s | %8s | %-28s |\n' "$files" "$bf_s" "$bf_rss" "$bf_chunks" "$bf_reqs" "$bf_windows"
if [ "$long" != 0 ]; then
	ingest long "$days" 0
	backfill long
	printf '| %-6s | %9.2f | %12s | %6s | %8s | %-28s |\n' "$days" "$secs" "$rss" "$chunks" "$reqs" "$windows"
	printf '(c) backfill peak RSS over %d days / %d days: %.2f (target: flat, ~1)\n' "$days" "$files" \
		"$(echo "$rss / $bf_rss" | bc -l)"
fi
