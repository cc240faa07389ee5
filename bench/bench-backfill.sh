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

# FILES days of one logger, cut from one generated series (10-minute rows
# from 01/01/24), moved 8 years back (leap years stay leap years): all in
# the past, since VictoriaMetrics drops samples more than 2 days ahead
python3 "$here/gen-big.py" --rows $((files * 144)) --out "$tmp/all.tsv" >/dev/null 2>&1
python3 - "$tmp/all.tsv" "$tmp/days" "$files" <<'PY'
import datetime, os, sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
os.makedirs(out)
with open(src) as f:
    head = [f.readline(), f.readline()]
    day = datetime.date(2016, 1, 1)
    for i in range(n):
        rows = []
        for _ in range(144):
            line = f.readline()
            rows.append(line[:6] + "%02d" % (int(line[6:8]) - 8) + line[8:])
        with open("%s/T302_%s_000000.tsv" % (out, day.strftime("%y%m%d")), "w") as o:
            o.writelines(head + rows)
        day += datetime.timedelta(days=1)
PY

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
