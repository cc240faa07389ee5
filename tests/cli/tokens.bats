#!/usr/bin/env bats
# The datasource's read-only token across runs of create_grafana_resources.yml,
# against InfluxDB stand-ins with and without token hashing (influx2.py
# --hash-tokens: a token is shown once, when made). The stored token is judged
# by Grafana's datasource health check, which the Grafana stand-in makes for
# real against InfluxDB: a working datasource is left alone and `tsv_parser
# token` is not called; a lost or wrong token is replaced.
#
# tsv_parser_bin is a wrapper that records each call before running the real
# tsv_parser, and InfluxDB's request log shows every authorization request.

load helpers
load ../servers/servers
load ../servers/grafana

ANSIBLE_DIR="$(cd "$BATS_TEST_DIRNAME/../../ansible" && pwd)"

setup_file() {
    # (bats 1.8 cannot skip from setup_file: setup skips each test)
    if ! command -v ansible-playbook >/dev/null; then
        export PV_SKIP="ansible-playbook is not installed"
        return 0
    fi
    if [ -n "${TSV_PARSER_REAL:-}" ]; then
        export PV_SKIP="the playbooks do not change under valgrind"
        return 0
    fi
    start_grafana "$BATS_FILE_TMPDIR/grafana"
    start_influx2 "$BATS_FILE_TMPDIR/hashed" --hash-tokens
    export HASHED_URL=$INFLUX2_URL HASHED_TOKEN=$INFLUX2_TOKEN
    start_influx2 "$BATS_FILE_TMPDIR/plain"
    export PLAIN_URL=$INFLUX2_URL PLAIN_TOKEN=$INFLUX2_TOKEN INFLUX2_ORG GRAFANA_PID
}

teardown_file() {
    stop_grafana
    stop_servers
}

setup() {
    [ -z "${PV_SKIP:-}" ] || skip "$PV_SKIP"
    common_setup
    grafana_control POST /__test/reset >/dev/null
    INFLUX2_URL=$HASHED_URL influx2 POST /__test/reset >/dev/null
    INFLUX2_URL=$PLAIN_URL influx2 POST /__test/reset >/dev/null
    unset INFLUXDB_URL INFLUXDB_API POWERVIEW_ENV_FILE POWERVIEW_SECRETS_DIR GRAFANA_INFLUXDB_URL GRAFANA_TENANCY \
        GRAFANA_ORG_ID GRAFANA_DATASOURCE_TYPE GRAFANA_QUERY_LANGUAGE http_proxy https_proxy HTTP_PROXY HTTPS_PROXY
    export ANSIBLE_CONFIG="$ANSIBLE_DIR/ansible.cfg" ANSIBLE_HOME="$BATS_TEST_TMPDIR/ansible-home"
    export ANSIBLE_LOCAL_TEMP="$BATS_TEST_TMPDIR/ansible-tmp" ANSIBLE_REMOTE_TEMP="$BATS_TEST_TMPDIR/ansible-tmp"
    export ANSIBLE_NOCOLOR=1
    CALLS="$BATS_TEST_TMPDIR/tsv_parser.calls"
    : >"$CALLS"
    # records its arguments (never a token: tsv_parser takes none), then runs tsv_parser
    WRAPPER="$BATS_TEST_TMPDIR/tsv_parser_wrap"
    printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>%q\nexec %q "$@"\n' "$CALLS" "$TSV_PARSER" >"$WRAPPER"
    chmod +x "$WRAPPER"
    set_vars
    cd "$BATS_TEST_TMPDIR" || return 1
}

# set_vars [TENANCY]: the playbook's extra-vars (acme/north), in the default
# tenancy or the one given
set_vars() {
    VARS=$(py -c 'import json, sys
v = {"tsv_parser_bin": sys.argv[1], "powerview_secrets_dir": sys.argv[2], "company_name": "acme", "campaign_name": "north"}
if sys.argv[3]:
    v["grafana_tenancy"] = sys.argv[3]
print(json.dumps(v))' "$WRAPPER" "$BATS_TEST_TMPDIR/secrets" "${1:-}")
}

# use_influx hashed|plain: the InfluxDB the parser and Grafana's datasource use
use_influx() {
    if [ "$1" = hashed ]; then
        export INFLUX2_URL=$HASHED_URL INFLUXDB_ADMIN_TOKEN=$HASHED_TOKEN
    else
        export INFLUX2_URL=$PLAIN_URL INFLUXDB_ADMIN_TOKEN=$PLAIN_TOKEN
    fi
    export INFLUXDB_HOST=$INFLUX2_URL INFLUXDB_ORG=$INFLUX2_ORG
}

# play: create_grafana_resources.yml for acme/north, run as the hook runs it;
# sets status and output, CHANGED = the recap's changed count; fails the test
# when the playbook fails or prints the token Grafana holds
play() {
    run bash -c 'cd "$1" && exec ansible-playbook create_grafana_resources.yml -e "$2" </dev/null 2>&1' _ \
        "$ANSIBLE_DIR" "$VARS"
    CHANGED=$(sed -n 's/^localhost .* changed=\([0-9]*\) .*/\1/p' <<<"$output" | tail -n 1)
    if [ "$status" -ne 0 ] || [ -z "$CHANGED" ]; then
        printf '%s\n' "$output"
        echo "ansible-playbook failed with status $status"
        return 1
    fi
    local t
    t=$(ds_token)
    [ -n "$t" ] && [[ $output != *"$t"* ]]
}

# ds_token: the token Grafana's datasource holds (the stand-in's test view)
ds_token() {
    grafana_state '[d["secret_for_tests"].get("token", "") for d in s["datasources"] if d["name"] == "influxdb_acme"][0]'
}

# ds_api METHOD PATH-AFTER-UID [JSON]: the admin's call on the datasource
# (/api/datasources/uid/<uid>PATH), in the organization that holds it
ds_api() {
    local uid org
    uid=$(grafana_state '[d["uid"] for d in s["datasources"] if d["name"] == "influxdb_acme"][0]')
    org=$(grafana_state '[d["orgId"] for d in s["datasources"] if d["name"] == "influxdb_acme"][0]')
    _grafana_call 4 -K - -H "X-Grafana-Org-Id: $org" "$1" "/api/datasources/uid/$uid$2" "${@:3}" \
        <<<"user = \"$GRAFANA_USERNAME:$GRAFANA_PASSWORD\""
}

# healthy: Grafana's own check of the datasource passes
healthy() {
    local body
    body=$(ds_api GET /health) || { echo "health: HTTP $GRAFANA_STATUS $body"; return 1; }
    [[ $body == *'"status":"OK"'* ]] || { echo "health: $body"; return 1; }
}

# influx_log PYTHON: evaluated on InfluxDB's request log (R), printed
influx_log() {
    influx2 GET /__test/requests | py -c 'import json, sys; R = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# auth_ids: ids of the authorizations InfluxDB holds for the bucket acme
auth_ids() {
    curl -fsS -H "Authorization: Token $INFLUXDB_ADMIN_TOKEN" "$INFLUX2_URL/api/v2/authorizations" |
        py -c 'import json, sys
print(" ".join(a["id"] for a in json.load(sys.stdin)["authorizations"]
               if a["description"] == "powerview_token_for_bucket_acme"))'
}

# put_ds_token TOKEN: an operator types a wrong token into the datasource
put_ds_token() {
    local body
    body=$(ds_api GET "" | py -c 'import json, sys
d = json.load(sys.stdin)
d["secureJsonData"] = {"token": sys.argv[1]}
print(json.dumps(d))' "$1")
    ds_api PUT "" "$body" >/dev/null
}

@test "hashed tokens (org tenancy): the first run makes a working datasource; the next leaves it and never asks for the token; a deleted or wrong token is replaced" {
    use_influx hashed
    set_vars org
    play
    [ "$(cat "$CALLS")" = "token --bucket acme" ]
    healthy
    local first
    first=$(ds_token)
    [ ${#first} -ge 40 ]
    # InfluxDB shows it no more: only the datasource knows it
    [ "$(influx_log 'len([a for a in R if a["path"] == "/api/v2/authorizations" and a["method"] == "POST"])')" = 1 ]
    run "$TSV_PARSER" token --bucket acme
    [ "$status" -eq 78 ]

    # second run: nothing changes, tsv_parser is not called, InfluxDB sees no
    # authorization request, only Grafana's health check (buckets())
    : >"$CALLS"
    influx2 DELETE /__test/requests >/dev/null
    play
    [ "$CHANGED" -eq 0 ] || { echo "$output"; false; }
    [ ! -s "$CALLS" ]
    [ "$(influx_log '[a["path"] for a in R if a["path"].startswith("/api/v2/authorizations")]')" = "[]" ]
    [ "$(influx_log 'len([a for a in R if a["path"] == "/api/v2/query" and a["auth"] == "token"]) > 0')" = True ]
    [ "$(ds_token)" = "$first" ]

    # the authorization deleted in InfluxDB: the check fails, a new token is made
    local id
    id=$(auth_ids)
    curl -fsS -X DELETE -H "Authorization: Token $INFLUXDB_ADMIN_TOKEN" "$INFLUX2_URL/api/v2/authorizations/$id"
    run healthy
    [ "$status" -ne 0 ]
    : >"$CALLS"
    play
    [ "$CHANGED" -eq 1 ] || { echo "$output"; false; }
    [ "$(cat "$CALLS")" = "token --bucket acme" ]
    healthy
    local second
    second=$(ds_token)
    [ "$second" != "$first" ]

    # a wrong token typed into Grafana: InfluxDB cannot show the right one, so
    # it is replaced (--rotate), the old authorization deleted
    id=$(auth_ids)
    put_ds_token "not-the-token-0123456789"
    run healthy
    [ "$status" -ne 0 ]
    : >"$CALLS"
    play
    [ "$(cat "$CALLS")" = "token --bucket acme
token --bucket acme --rotate" ]
    healthy
    [ "$(ds_token)" != "$second" ]
    [ -n "$(auth_ids)" ] && [ "$(auth_ids)" != "$id" ]
    [ "$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Token $second" "$INFLUX2_URL/api/v2/buckets?org=$INFLUX2_ORG&name=acme")" = 401 ]

    # and then: nothing to do again
    : >"$CALLS"
    play
    [ "$CHANGED" -eq 0 ] || { echo "$output"; false; }
    [ ! -s "$CALLS" ]
}

@test "plain tokens (team tenancy): the next run changes nothing and never asks for the token; a wrong token gets InfluxDB's, not a rotated one; a datasource of the old playbooks loses powerviewTokenSha256" {
    use_influx plain
    set_vars team
    play
    [ "$(cat "$CALLS")" = "token --bucket acme" ]
    healthy
    local first id
    first=$(ds_token)
    id=$(auth_ids)
    [ "$("$TSV_PARSER" token --bucket acme)" = "$first" ]

    : >"$CALLS"
    influx2 DELETE /__test/requests >/dev/null
    play
    [ "$CHANGED" -eq 0 ] || { echo "$output"; false; }
    [ ! -s "$CALLS" ]
    [ "$(influx_log '[a["path"] for a in R if a["path"].startswith("/api/v2/authorizations")]')" = "[]" ]

    # a wrong token: the one InfluxDB prints is put back, the authorization stays
    put_ds_token "not-the-token-0123456789"
    : >"$CALLS"
    play
    [ "$CHANGED" -eq 1 ] || { echo "$output"; false; }
    [ "$(cat "$CALLS")" = "token --bucket acme" ]
    [ "$(ds_token)" = "$first" ] && [ "$(auth_ids)" = "$id" ]
    healthy

    # the datasource as the previous playbooks left it (the token's sha256 in
    # jsonData): the key goes, the working token stays, tsv_parser not called
    local body
    body=$(ds_api GET "" | py -c 'import json, sys
d = json.load(sys.stdin)
d["jsonData"]["powerviewTokenSha256"] = "0" * 64
print(json.dumps(d))')
    ds_api PUT "" "$body" >/dev/null
    : >"$CALLS"
    play
    [ "$CHANGED" -eq 1 ] || { echo "$output"; false; }
    [ ! -s "$CALLS" ]
    [ "$(grafana_state '"powerviewTokenSha256" in s["datasources"][0]["jsonData"]')" = false ]
    [ "$(ds_token)" = "$first" ]
    healthy
}

@test "Grafana cannot reach InfluxDB at the datasource's URL: the run fails and says so, without the token" {
    use_influx plain
    local port
    port=$(free_port)
    export GRAFANA_INFLUXDB_URL="http://127.0.0.1:$port"
    run bash -c 'cd "$1" && exec ansible-playbook create_grafana_resources.yml -e "$2" </dev/null 2>&1' _ \
        "$ANSIBLE_DIR" "$VARS"
    [ "$status" -ne 0 ]
    # Grafana's message (Go's wording of a refused connection) and where to look
    [[ $output == *"influxdb_acme"*"fails (HTTP 400)"*"dial tcp 127.0.0.1:$port: connect: connection refused"* ]] ||
        { echo "$output"; false; }
    [[ $output == *"Grafana must reach InfluxDB at"*"http://127.0.0.1:$port"*"(GRAFANA_INFLUXDB_URL)"* ]]
    local t
    t=$(ds_token)
    [ -n "$t" ] && [[ $output != *"$t"* ]]
}

@test "a datasource from before downsampling: its token, reading the raw bucket only, is replaced once by one that reads the four buckets; then nothing changes" {
    use_influx plain
    set_vars org
    play
    healthy
    # as an earlier version left it: an authorization reading acme only, its
    # token in the datasource, no powerviewDownsampled in jsonData
    local org_id bucket_id old
    org_id=$(curl -fsS -H "Authorization: Token $INFLUXDB_ADMIN_TOKEN" "$INFLUX2_URL/api/v2/orgs?org=$INFLUX2_ORG" |
        py -c 'import json, sys; print(json.load(sys.stdin)["orgs"][0]["id"])')
    bucket_id=$(curl -fsS -H "Authorization: Token $INFLUXDB_ADMIN_TOKEN" "$INFLUX2_URL/api/v2/buckets?orgID=$org_id&name=acme" |
        py -c 'import json, sys; print(json.load(sys.stdin)["buckets"][0]["id"])')
    curl -fsS -X DELETE -H "Authorization: Token $INFLUXDB_ADMIN_TOKEN" "$INFLUX2_URL/api/v2/authorizations/$(auth_ids)"
    old=$(curl -fsS -XPOST -H "Authorization: Token $INFLUXDB_ADMIN_TOKEN" -H 'Content-Type: application/json' \
        --data-binary "{\"orgID\": \"$org_id\", \"description\": \"powerview_token_for_bucket_acme\",
            \"permissions\": [{\"action\": \"read\", \"resource\": {\"type\": \"buckets\", \"id\": \"$bucket_id\", \"orgID\": \"$org_id\"}}]}" \
        "$INFLUX2_URL/api/v2/authorizations" | py -c 'import json, sys; print(json.load(sys.stdin)["token"])')
    local body
    body=$(ds_api GET "" | py -c 'import json, sys
d = json.load(sys.stdin)
del d["jsonData"]["powerviewDownsampled"]
d["secureJsonData"] = {"token": sys.argv[1]}
print(json.dumps(d))' "$old")
    ds_api PUT "" "$body" >/dev/null
    healthy
    run "$TSV_PARSER" token --bucket acme
    [ "$status" -eq 78 ] && [[ $stderr$output == *"does not read the downsampled buckets"* ]]

    : >"$CALLS"
    play
    [ "$CHANGED" -ge 1 ] || { echo "$output"; false; }
    [ "$(cat "$CALLS")" = "token --bucket acme
token --bucket acme --rotate" ]
    healthy
    local new
    new=$(ds_token)
    [ "$new" != "$old" ]
    [ "$(curl -fsS -H "Authorization: Token $new" "$INFLUX2_URL/api/v2/buckets?orgID=$org_id" |
        py -c 'import json, sys; print(sorted(b["name"] for b in json.load(sys.stdin)["buckets"]))')" = \
        "['acme', 'acme_1d', 'acme_1h', 'acme_1w']" ]
    [ "$(grafana_state '[d["jsonData"].get("powerviewDownsampled") for d in s["datasources"] if d["name"] == "influxdb_acme"][0]')" = true ]

    : >"$CALLS"
    play
    [ "$CHANGED" -eq 0 ] || { echo "$output"; false; }
    [ ! -s "$CALLS" ]
}
