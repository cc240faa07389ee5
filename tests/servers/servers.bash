# shellcheck shell=bash
# Real and test servers for the CLI tests, each on a free loopback port,
# started and stopped by the tests themselves.
#
# A start_* function sets and exports the variables it names (a test file's
# setup_file calls it once; the tests read them); the teardown_file below
# stops what it started, unless the test file defines its own.
#
#   start_vm DIR      VictoriaMetrics (Debian's victoria-metrics); sets VM_URL
#   start_influx1 DIR [--auth]  InfluxDB 1.x (Debian's influxd); sets INFLUX1_URL;
#                     --auth: auth-enabled = true and an admin user, in
#                     INFLUX1_ADMIN_USER, INFLUX1_ADMIN_PASSWORD; INFLUX1_HTTP_LOG=true:
#                     every request logged in DIR/influxd.log
#   ingest_examples_v1 DIR  examples/data ingested into that server by $TSV_PARSER
#   start_influx2 DIR [ARGS...]  tests/servers/influx2.py, the InfluxDB 2 stand-in;
#                     sets INFLUX2_URL, INFLUX2_TOKEN, INFLUX2_ORG
#   start_hung DIR    a port that accepts connections and never answers (a hung
#                     database); sets HUNG_URL
#   start_recorder DIR [ARGS...]  tests/servers/recorder.py, a server that
#                     records every request (the config API of channel
#                     publication); sets RECORDER_URL, RECORDER_LOG, RECORDER_PID
#   reqs EXPR [ARGS...]  a Python expression on the requests it recorded (R:
#                     the list, ARGS in sys.argv[3:]): a string as is, else JSON
#   stop_recorder     stops it (from a test's teardown: SERVER_PIDS set in a
#                     test does not reach teardown_file)
#   start_if_installed TOOL START DIR [ARGS...]  START DIR ARGS... when TOOL is
#                     installed (the tests that need it skip on TOOL themselves)
#   influx2_eval PATH NAME EXPR  a Python expression on the JSON of GET PATH
#                     (the stand-in's /__test/flux, /__test/requests) as NAME
#   stop_servers      kills whatever these started

SERVER_PIDS=()

free_port() {
    "${PYTHON:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL [SECONDS]: until URL answers 2xx
wait_http() {
    local url=$1 n=$((${2:-20} * 10))
    while [ "$n" -gt 0 ]; do
        curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
        sleep 0.1
        n=$((n - 1))
    done
    echo "server at $url did not start" >&2
    return 1
}

start_vm() {
    local dir=$1 port
    command -v victoria-metrics >/dev/null || { echo "victoria-metrics is not installed" >&2; return 1; }
    port=$(free_port)
    mkdir -p "$dir"
    # 100y retention and 1ms dedup: old points are kept, a repeated series+time counts once;
    # no latency offset: points of the last 30 s are searchable at once
    victoria-metrics -httpListenAddr="127.0.0.1:$port" -storageDataPath="$dir/vm" \
        -retentionPeriod=100y -dedup.minScrapeInterval=1ms -search.latencyOffset=0s -loggerLevel=ERROR \
        >"$dir/vm.log" 2>&1 &
    SERVER_PIDS+=($!)
    export VM_URL="http://127.0.0.1:$port"
    wait_http "$VM_URL/health"
}

start_influx1() {
    local dir=$1 auth=false port rpc
    [ "${2:-}" = --auth ] && auth=true
    command -v influxd >/dev/null || { echo "influxd (InfluxDB 1.x) is not installed" >&2; return 1; }
    port=$(free_port)
    rpc=$(free_port)
    mkdir -p "$dir"
    cat >"$dir/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = ${INFLUX1_HTTP_LOG:-false}
  auth-enabled = $auth
[monitor]
  store-enabled = false
CONF
    influxd -config "$dir/influxdb.conf" >"$dir/influxd.log" 2>&1 &
    SERVER_PIDS+=($!)
    export INFLUX1_URL="http://127.0.0.1:$port"
    wait_http "$INFLUX1_URL/ping" || return 1
    if [ "$auth" = true ]; then
        # with auth on and no user yet, InfluxDB 1.x accepts only the creation of the first admin
        export INFLUX1_ADMIN_USER="admin" INFLUX1_ADMIN_PASSWORD="adm-$RANDOM$RANDOM$RANDOM"
        curl -fsS -XPOST "$INFLUX1_URL/query" --data-urlencode \
            "q=CREATE USER admin WITH PASSWORD '$INFLUX1_ADMIN_PASSWORD' WITH ALL PRIVILEGES" >/dev/null
    fi
}

# ingest_examples_v1 DIR: examples/data copied into DIR/data and ingested by
# $TSV_PARSER into the InfluxDB 1.x of start_influx1, as its admin (acme,
# bertin, powerview_meta); the log in DIR/ingest.log
ingest_examples_v1() {
    local dir=$1 rc=0
    mkdir -p "$dir/data"
    cp -R "$(dirname "${BASH_SOURCE[0]}")/../../examples/data/." "$dir/data/"
    INFLUXDB_API=v1 INFLUXDB_HOST="$INFLUX1_URL" INFLUXDB_USERNAME="$INFLUX1_ADMIN_USER" \
        INFLUXDB_PASSWORD="$INFLUX1_ADMIN_PASSWORD" TSV_MIN_AGE=0 TSV_REPORT_DIR="$dir/reports" \
        "$TSV_PARSER" -q -d "$dir/data" 2>"$dir/ingest.log" || rc=$?
    # 65: two example files are meant to go to error/
    [ "$rc" -eq 65 ] || { cat "$dir/ingest.log" >&2; return 1; }
}

# wait_port_file FILE WHAT: until the server WHAT wrote its port to FILE (5 s at most)
wait_port_file() {
    local n=100
    while [ ! -s "$1" ] && [ "$n" -gt 0 ]; do
        sleep 0.05
        n=$((n - 1))
    done
    [ -s "$1" ] || { echo "$2 did not start" >&2; return 1; }
}

start_influx2() {
    local dir=$1
    shift
    mkdir -p "$dir"
    rm -f "$dir/port"
    export INFLUX2_TOKEN="test-admin-token-$RANDOM$RANDOM" INFLUX2_ORG=powerview
    "${PYTHON:-python3}" "$(dirname "${BASH_SOURCE[0]}")/influx2.py" --port 0 --port-file "$dir/port" \
        --token "$INFLUX2_TOKEN" --org "$INFLUX2_ORG" --log "$dir/influx2.log" "$@" &
    SERVER_PIDS+=($!)
    wait_port_file "$dir/port" influx2.py || return 1
    INFLUX2_URL="http://127.0.0.1:$(cat "$dir/port")"
    export INFLUX2_URL
}

start_recorder() {
    local dir=$1
    shift
    mkdir -p "$dir"
    rm -f "$dir/recorder.port"
    RECORDER_LOG="$dir/requests.jsonl"
    : >"$RECORDER_LOG"
    "${PYTHON:-python3}" "$(dirname "${BASH_SOURCE[0]}")/recorder.py" --port 0 \
        --port-file "$dir/recorder.port" --log "$RECORDER_LOG" "$@" &
    # shellcheck disable=SC2034  # read by the tests
    RECORDER_PID=$!
    SERVER_PIDS+=($!)
    wait_port_file "$dir/recorder.port" recorder.py || return 1
    # shellcheck disable=SC2034  # read by the tests
    RECORDER_URL="http://127.0.0.1:$(cat "$dir/recorder.port")"
}

reqs() {
    "${PYTHON:-python3}" -I -S -c '
import json, sys
R = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))' "$RECORDER_LOG" "$@"
}

stop_recorder() {
    if [ -n "${RECORDER_PID:-}" ]; then
        kill "$RECORDER_PID" 2>/dev/null || true
        wait "$RECORDER_PID" 2>/dev/null || true
    fi
}

start_hung() {
    local dir=$1
    mkdir -p "$dir"
    rm -f "$dir/hung.port"
    "${PYTHON:-python3}" -c '
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    held.append(s.accept()[0])  # read nothing, answer nothing
' "$dir/hung.port" &
    SERVER_PIDS+=($!)
    wait_port_file "$dir/hung.port" "the hung server" || return 1
    # shellcheck disable=SC2034  # read by the tests
    HUNG_URL="http://127.0.0.1:$(cat "$dir/hung.port")"
}

# influx2 METHOD PATH [JSON]: the stand-in's control API (/__test/...)
influx2() {
    if [ $# -ge 3 ]; then
        curl -fsS -X "$1" -H 'Content-Type: application/json' --data-binary "$3" "$INFLUX2_URL$2"
    else
        curl -fsS -X "$1" "$INFLUX2_URL$2"
    fi
}

# influx2_eval PATH NAME EXPR: a Python expression on the JSON the stand-in
# answers to GET PATH (as NAME): a string as is, else JSON
influx2_eval() {
    influx2 GET "$1" | "${PYTHON:-python3}" -I -S -c '
import json, sys
globals()[sys.argv[1]] = json.load(sys.stdin)
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$2" "$3"
}

stop_servers() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${SERVER_PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    SERVER_PIDS=()
}

start_if_installed() {
    command -v "$1" >/dev/null || return 0
    shift
    "$@"
}

teardown_file() {
    stop_servers
}

# vm_count SELECTOR: samples stored in VictoriaMetrics for a series selector
vm_count() {
    curl -fsS "$VM_URL/internal/force_flush" >/dev/null
    curl -fsS "$VM_URL/api/v1/query" --data-urlencode "query=sum(count_over_time($1[50y]))" \
        --data-urlencode "time=$(($(date +%s) + 60))" |
        "${PYTHON:-python3}" -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'
}

# influx1_count DB [WHERE]: points of measurement electrical in an InfluxDB 1.x database
influx1_count() {
    curl -fsS "$INFLUX1_URL/query?db=$1" --data-urlencode "q=SELECT count(*) FROM electrical ${2:-}" |
        "${PYTHON:-python3}" -c '
import json, sys
total = 0
for res in json.load(sys.stdin)["results"]:
    for s in res.get("series", []):
        for row in s["values"]:
            total += sum(v for v in row[1:] if v)
print(total)'
}
