#!/usr/bin/env bash
# A backfill into VictoriaMetrics: FILES daily files (144 rows x 30 channels,
# 4320 points each) of one device, taken by one run, verified (each file's
# points counted back) and with --no-verify, into a VictoriaMetrics on
# loopback. Target: verified <= 1.25x unverified.
#
#   bench/bench-backfill.sh [PATH_TO_TSV_PARSER]
#
# FILES (default 2000) and RUNS (default 1: one run of each, interleaved
# when more) from the environment. Each run gets its own campaign, so the
# database stores every run's points anew. Prints the figures; never fails
# on a missed target.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
parser=${1:-${TSV_PARSER:-$here/../build/tsv_parser}}
files=${FILES:-2000}
runs=${RUNS:-1}
# shellcheck source=bench/lib.bash
. "$here/lib.bash"
bench_tmp tsv_bench_backfill
# no latency offset: the points just written can be counted at once, as in the tests
bench_vm -search.latencyOffset=0s

bench_days "$files" "$tmp/days"

now() { date +%s.%N; }
export INFLUXDB_API=vm INFLUXDB_HOST="$url" TSV_REPORT_DIR="$tmp/reports" TSV_LOG_LEVEL=ERROR TSV_MIN_AGE=0
unset TSV_VERIFY TSV_OUTPUT

# one NAME [ARGS...]: one run over a fresh copy, in campaign NAME; prints its seconds
one() {
	local name=$1 d="$tmp/data/bench/$1/02001171" s e
	shift
	mkdir -p "$d"
	cp "$tmp/days"/*.tsv "$d/"
	s=$(now)
	"$parser" -d "$tmp/data" "$@" || echo "  ($name: exit $?)" >&2
	e=$(now)
	echo "$e - $s" | bc
}

echo "== $files files x 144 rows x 30 channels, VictoriaMetrics on loopback, $runs run(s) of each"
for i in $(seq "$runs"); do
	u=$(one "noverify$i" --no-verify)
	v=$(one "verify$i")
	echo "$u" >>"$tmp/u.times"
	echo "$v" >>"$tmp/v.times"
	r=$(find "$tmp/reports" -name 'tsv_parser_*.json' | sort | tail -n 1) # names sort by time
	exact=$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
ok = [f for f in r["files"] if f["status"] == "success"]
print("%d/%d files verified exact" % (sum(f["nb_points_expected"] == f["nb_points_in_influx"] for f in ok), len(ok)))' "$r")
	printf '  run %d: --no-verify %.2f s, verified %.2f s (%s)\n' "$i" "$u" "$v" "$exact"
done
best() { sort -g | head -n 1; }
u=$(best <"$tmp/u.times")
v=$(best <"$tmp/v.times")
printf 'best: --no-verify %.2f s, verified %.2f s, ratio %.2f (target <= 1.25)\n' "$u" "$v" "$(echo "$v / $u" | bc -l)"
