# shellcheck shell=bash
# Shared by the bench scripts that need a server: a temporary folder and the
# servers started in it, all gone on exit.
#
#   bench_tmp NAME      sets tmp, a new folder removed on exit
#   bench_stop_on_exit PID   a process killed on exit
#   bench_free_port     prints a free loopback port
#   bench_vm [ARGS...]  VictoriaMetrics on a free loopback port, data in
#                       $tmp/vm, 100y retention, 1ms dedup; sets url
#   bench_days N DIR    N daily files of one logger (144 rows x 30 channels,
#                       4320 points each) in DIR, from 01/01/16: all in the
#                       past (VictoriaMetrics drops samples more than 2 days
#                       ahead)
#   bench_influx1       Debian's influxd (1.x) on a free loopback port, data,
#                       config and log (every request: INFLUX1_HTTP_LOG=true)
#                       in $tmp/influx1, no auth; sets url. The tests' own
#                       start_influx1 (tests/servers/servers.bash), sourced here.

# shellcheck source=tests/servers/servers.bash
. "$(dirname "${BASH_SOURCE[0]}")/../tests/servers/servers.bash"

bench_pids=()

bench_cleanup() {
	local pid
	for pid in "${bench_pids[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	rm -rf "$tmp"
}

bench_tmp() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	trap bench_cleanup EXIT
}

bench_stop_on_exit() {
	bench_pids+=("$1")
}

bench_free_port() {
	free_port
}

bench_vm() {
	local port
	command -v victoria-metrics >/dev/null || { echo "apt-get install victoria-metrics" >&2; exit 1; }
	port=$(bench_free_port)
	victoria-metrics -httpListenAddr="127.0.0.1:$port" -storageDataPath="$tmp/vm" -retentionPeriod=100y \
		-dedup.minScrapeInterval=1ms -loggerLevel=ERROR "$@" >"$tmp/vm.log" 2>&1 &
	bench_stop_on_exit $!
	url="http://127.0.0.1:$port"
	for _ in $(seq 100); do curl -fsS -o /dev/null "$url/health" 2>/dev/null && break; sleep 0.1; done
}

bench_influx1() {
	local pid rc=0
	INFLUX1_HTTP_LOG=true start_influx1 "$tmp/influx1" || rc=$?
	for pid in "${SERVER_PIDS[@]}"; do
		bench_stop_on_exit "$pid"
	done
	[ "$rc" -eq 0 ] || { cat "$tmp/influx1/influxd.log" >&2; exit 1; }
	url=$INFLUX1_URL
}

# N days of one logger, cut from one generated series (10-minute rows from
# 01/01/24), moved 8 years back (leap years stay leap years)
bench_days() {
	python3 "$(dirname "${BASH_SOURCE[0]}")/gen-big.py" --rows $(($1 * 144)) --out "$tmp/all.tsv" >/dev/null 2>&1
	python3 - "$tmp/all.tsv" "$2" "$1" <<'PY'
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
	rm -f "$tmp/all.tsv"
}
