# shellcheck shell=bash
# The Grafana HTTP API stand-in (tests/servers/grafana.py) for the CLI tests.
#
#   start_grafana DIR [ARGS...]  start it on a free loopback port (ARGS go to
#                     grafana.py, e.g. --sa-role Editor); its port file and
#                     log are in DIR. Exports GRAFANA_URL, GRAFANA_USERNAME
#                     (admin), GRAFANA_PASSWORD (random) and GRAFANA_API_TOKEN
#                     (a service-account token of org 1, accepted as Bearer).
#   stop_grafana      stop it
#   grafana_api METHOD PATH [JSON]
#                     call the API as the admin (basic auth); prints the body,
#                     sets GRAFANA_STATUS, returns 1 unless the status is 2xx
#   grafana_sa METHOD PATH [JSON]
#                     the same with the service-account token
#   grafana_control METHOD PATH [JSON]
#                     the control API (/__test/...: requests, reset, state,
#                     faults); prints the body, returns 1 unless 2xx
#   grafana_state PYTHON-EXPR
#                     evaluates a Python expression on GET /__test/state (as s)
#                     and prints it (JSON for lists, dicts and booleans)

GRAFANA_PID=
GRAFANA_STATUS=

# _grafana_rand N: N random letters and digits
_grafana_rand() {
    local s=
    while [ "${#s}" -lt "$1" ]; do
        s+=$(head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    done
    printf '%s' "${s:0:$1}"
}

start_grafana() {
    local dir=$1 n=200
    shift
    mkdir -p "$dir"
    rm -f "$dir/port"
    export GRAFANA_USERNAME=admin
    GRAFANA_PASSWORD="pw-$(_grafana_rand 20)"
    GRAFANA_API_TOKEN="glsa_$(_grafana_rand 32)_$(_grafana_rand 8 | od -An -tx1 | tr -d ' \n' | head -c 8)"
    export GRAFANA_PASSWORD GRAFANA_API_TOKEN
    GRAFANA_TEST_ADMIN_PASSWORD=$GRAFANA_PASSWORD GRAFANA_TEST_SA_TOKEN=$GRAFANA_API_TOKEN \
        "${PYTHON:-python3}" "$(dirname "${BASH_SOURCE[0]}")/grafana.py" --port 0 \
        --port-file "$dir/port" --admin-user "$GRAFANA_USERNAME" --log "$dir/grafana.log" "$@" &
    GRAFANA_PID=$!
    while [ ! -s "$dir/port" ] && [ "$n" -gt 0 ]; do
        if ! kill -0 "$GRAFANA_PID" 2>/dev/null; then
            break
        fi
        sleep 0.05
        n=$((n - 1))
    done
    if [ ! -s "$dir/port" ]; then
        echo "grafana.py did not start" >&2
        stop_grafana
        return 1
    fi
    GRAFANA_URL="http://127.0.0.1:$(cat "$dir/port")"
    export GRAFANA_URL
}

stop_grafana() {
    if [ -n "$GRAFANA_PID" ]; then
        kill "$GRAFANA_PID" 2>/dev/null || true
        wait "$GRAFANA_PID" 2>/dev/null || true
    fi
    GRAFANA_PID=
}

# _grafana_call AUTH-ARGS-COUNT AUTH-ARGS... METHOD PATH [JSON]
_grafana_call() {
    local nauth=$1 out rc
    shift
    local auth=("${@:1:nauth}")
    shift "$nauth"
    local method=$1 path=$2
    out=$(mktemp)
    if [ $# -ge 3 ]; then
        GRAFANA_STATUS=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "${auth[@]}" \
            -H 'Content-Type: application/json' --data-binary "$3" "$GRAFANA_URL$path")
    else
        GRAFANA_STATUS=$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "${auth[@]}" \
            "$GRAFANA_URL$path")
    fi
    rc=$?
    cat "$out"
    rm -f "$out"
    [ "$rc" -eq 0 ] && [ "${GRAFANA_STATUS:0:1}" = 2 ]
}

grafana_api() {
    # the password goes to curl through a config on stdin, not its command line
    _grafana_call 2 -K - "$@" <<<"user = \"$GRAFANA_USERNAME:$GRAFANA_PASSWORD\""
}

grafana_sa() {
    _grafana_call 2 -K - "$@" <<<"header = \"Authorization: Bearer $GRAFANA_API_TOKEN\""
}

grafana_control() {
    _grafana_call 0 "$@"
}

grafana_state() {
    curl -fsS "$GRAFANA_URL/__test/state" |
        "${PYTHON:-python3}" -c '
import json, sys
s = json.load(sys.stdin)
v = eval(sys.argv[1])
print(json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else v)' "$1"
}
