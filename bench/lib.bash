# shellcheck shell=bash
# Shared by the bench scripts that need a server: a temporary folder and the
# servers started in it, all gone on exit.
#
#   bench_tmp NAME      sets tmp, a new folder removed on exit
#   bench_stop_on_exit PID   a process killed on exit
#   bench_free_port     prints a free loopback port
#   bench_vm [ARGS...]  VictoriaMetrics on a free loopback port, data in
#                       $tmp/vm, 100y retention, 1ms dedup; sets url

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
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
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
