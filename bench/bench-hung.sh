#!/usr/bin/env bash
# How long a run takes when the database is not there, with the default
# timeouts and retry budget: 50 small files against
#   1. a server that takes connections and requests and never answers
#      (tests/servers/influx2.py with a "hang" fault on every request);
#   2. a loopback port nobody listens on (connection refused).
# Targets: 1. under 2 minutes, 2. under 5 s; both exit 75 with every file
# still in place. Prints the figures; never fails on a missed target.
#
#   bench/bench-hung.sh [PATH_TO_TSV_PARSER]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
parser=${1:-${TSV_PARSER:-$here/../build/tsv_parser}}
files=${FILES:-50}

# shellcheck source=bench/lib.bash
. "$here/lib.bash"
bench_tmp tsv_bench_hung

# the default timeouts and budget, whatever the caller's environment says
for v in TSV_HTTP_CONNECT_TIMEOUT TSV_HTTP_ANSWER_TIMEOUT TSV_HTTP_TIMEOUT TSV_RETRY_BUDGET \
	TSV_RETRY_AFTER_MAX INFLUXDB_URL INFLUXDB_API TSV_OUTPUT TSV_VERIFY; do
	unset "$v"
done
export TSV_MIN_AGE=0 TSV_LOG_LEVEL=WARNING TSV_REPORT_DIR="$tmp/reports"

token=bench-token-$RANDOM
python3 "$here/../tests/servers/influx2.py" --port 0 --port-file "$tmp/port" --token "$token" \
	--org powerview --log "$tmp/influx2.log" &
bench_stop_on_exit $!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$tmp/port")"

# run NAME URL: one run over $files fresh files; prints the figures
run() {
	local name=$1 host=$2 data="$tmp/data-$1" s e rc left
	mkdir -p "$data/acme/camp1/02001171"
	python3 - "$data/acme/camp1/02001171" "$files" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open("%s/f%04d.tsv" % (d, i), "w") as f:
        f.write("02001171\t02001171\nMV_T302_V002\tPh 1 V\n05/01/26 %02d:%02d:00\t%d\n" % (i // 60, i % 60, i))
PY
	s=$(date +%s.%N)
	rc=0
	# each data folder its own spool
	INFLUXDB_HOST=$host INFLUXDB_ORG=powerview INFLUXDB_ADMIN_TOKEN=$token TSV_SPOOL_DIR="$tmp/spool-$name" \
		"$parser" -d "$data" 2>"$tmp/$name.err" || rc=$?
	e=$(date +%s.%N)
	left=$(find "$data/acme/camp1/02001171" -maxdepth 1 -name '*.tsv' | wc -l)
	printf '%-8s %7.2f s  exit %d  files in place %d/%d\n' "$name" "$(echo "$e - $s" | bc)" "$rc" "$left" "$files"
	grep -m 1 'pending' "$tmp/$name.err" | sed 's/^[^ ]* /         first file: /' || true
}

echo "== $files files, default settings (connect 10 s, answer 60 s, attempt 120 s, budget 120 s)"
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' \
	--data-binary '{"action": "hang", "times": -1}' "$url/__test/faults"
run hung "$url"
echo "         requests the hung server saw: $(curl -fsS "$url/__test/requests" |
	python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
run refused "http://127.0.0.1:$(bench_free_port)"
echo "targets: hung < 120 s, refused < 5 s, both exit 75 with every file in place"
