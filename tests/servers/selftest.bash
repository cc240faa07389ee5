# shellcheck shell=bash
# The plumbing of the stand-ins' self-tests (test_influx2.sh, test_grafana.sh),
# sourced by them: a scratch folder removed on exit, the pass/fail counts,
# requests with curl and checks on their answers.
#
#   check DESCRIPTION COMMAND...  counts COMMAND's success or failure
#   req METHOD PATH [CURL ARGS...]  no credentials; sets STATUS and CURL_RC;
#                     body in $TMP/body, headers in $TMP/headers
#   jq_py EXPR        a Python expression on the JSON body (as j)
#   start_server SCRIPT [ARGS...]  $HERE/SCRIPT --port 0 ... ARGS; sets URL,
#                     SERVER_PID; exits "0 passed, 1 failed" when it does not start

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

PASS=0
FAIL=0

ok() { PASS=$((PASS + 1)); }
fail() {
    FAIL=$((FAIL + 1))
    echo "FAIL: $*" >&2
    if [ -s "$TMP/body" ]; then echo "  status ${STATUS:-}, body: $(head -c 600 "$TMP/body")" >&2; fi
}
check() { # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then ok; else fail "$what"; fi
}

req() {
    local method=$1 path=$2
    shift 2
    STATUS=$(curl -sS -o "$TMP/body" -D "$TMP/headers" -w '%{http_code}' -X "$method" \
        "$URL$path" "$@" 2>"$TMP/curl.err")
    # shellcheck disable=SC2034  # read by test_influx2.sh
    CURL_RC=$?
}
jq_py() {
    "$PYTHON" -I -S -c 'import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if not isinstance(v, (dict, list, bool)) and v is not None else json.dumps(v))' "$TMP/body" "$1"
}
status_is() { [ "$STATUS" = "$1" ]; }
body_has() { grep -qF -- "$1" "$TMP/body"; }
json_is() { [ "$(jq_py "$1")" = "$2" ]; }
header_is() { grep -qi "^$1: $2"$'\r'"\?$" "$TMP/headers"; }
no_header() { ! grep -qi "^$1:" "$TMP/headers"; }

start_server() {
    local script=$1
    shift
    "$PYTHON" "$HERE/$script" --port 0 --port-file "$TMP/port" --log "$TMP/server.log" "$@" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        [ -s "$TMP/port" ] && break
        sleep 0.05
    done
    if [ ! -s "$TMP/port" ]; then
        echo "server did not start" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    URL="http://127.0.0.1:$(cat "$TMP/port")"
}
