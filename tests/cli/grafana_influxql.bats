#!/usr/bin/env bats
# create_grafana_resources.yml with InfluxQL datasources (tasks/datasource.yml):
#   * INFLUXDB_API=v1, on Debian's real InfluxDB 1.x with authentication on,
#     the example data ingested by tsv_parser: the datasource reads database
#     acme as acme_read; every query of the dashboard Grafana then holds goes
#     through the Grafana stand-in's POST /api/ds/query as acme's default user
#     (which runs it on the real server with the datasource's credentials) and
#     shows the example data (tests/dashboards/influxql.py grafana: the series
#     per channel_id, the energy panel's kWh computed from the files); the
#     password is asked once, rotated when lost;
#   * INFLUXDB_API=v2 with grafana_query_language=influxql, against the
#     InfluxDB 2 stand-in: the datasource posted (the bucket's DBRP mapping,
#     the token as an Authorization header) passes Grafana's health check
#     (SHOW measurements through the stand-in's /query, the 1.x compatibility
#     API); the stand-in runs no other InfluxQL, so the dashboard's queries
#     are proven on InfluxDB 1.x only.

# shellcheck disable=SC2154,SC2153,SC2030,SC2031  # bats sets output/status, playbooks.bash the servers; each test sets its own settings
load playbooks

CHECK="$BATS_TEST_DIRNAME/../dashboards/influxql.py"
EXAMPLES="$BATS_TEST_DIRNAME/../../examples/data"

setup_file() {
    playbooks_setup_file
    [ -z "${PV_SKIP:-}" ] || return 0
    start_influx1 "$BATS_FILE_TMPDIR/influx1" --auth
    ingest_examples_v1 "$BATS_FILE_TMPDIR"
}

teardown_file() {
    playbooks_teardown_file
}

setup() {
    playbooks_setup
    record_parser_calls
}

# use_influx1: tsv_parser and Grafana's datasource on the InfluxDB 1.x, as its admin
use_influx1() {
    unset INFLUXDB_ORG INFLUXDB_ADMIN_TOKEN
    export INFLUXDB_API=v1 INFLUXDB_HOST="$INFLUX1_URL" INFLUXDB_USERNAME="$INFLUX1_ADMIN_USER" \
        INFLUXDB_PASSWORD="$INFLUX1_ADMIN_PASSWORD"
}

# influx1_admin STATEMENT: run as the InfluxDB 1.x admin
influx1_admin() {
    curl -fsS -u "$INFLUX1_ADMIN_USER:$INFLUX1_ADMIN_PASSWORD" -XPOST "$INFLUX1_URL/query" --data-urlencode "q=$1"
}

# ds_field EXPR: a Python expression on acme's datasource (d) in the stand-in's state
ds_field() {
    grafana_state "[$1 for d in s['datasources'] if d['name'] == 'influxdb_acme'][0]"
}

# health: Grafana's check of acme's datasource, as the admin in acme's organization
health() {
    _grafana_call 4 -K - -H "X-Grafana-Org-Id: $(ds_field 'd["orgId"]')" GET \
        "/api/datasources/uid/$(ds_field 'd["uid"]')/health" <<<"user = \"$GRAFANA_USERNAME:$GRAFANA_PASSWORD\""
}

@test "InfluxDB 1.x: an InfluxQL datasource read as acme_read; every query of the dashboard Grafana holds, sent through /api/ds/query as acme's user, shows the example data; later runs leave it, a lost password is replaced" {
    use_influx1
    # a user left by another test would make tsv_parser refuse to print its password
    influx1_admin 'DROP USER "acme_read"' >/dev/null || true
    play_ok create_grafana_resources.yml -e "$(names acme north-site)"
    [ "$(cat "$CALLS")" = "token --bucket acme" ]
    # the datasource as docs/grafana.md gives it, with the password tsv_parser printed
    gcheck '
d = one("datasources", name="influxdb_acme")
assert (d["type"], d["access"], d["url"]) == ("influxdb", "proxy", os.environ["INFLUX1_URL"]), d
assert (d["database"], d["user"], d["basicAuth"]) == ("acme", "acme_read", False), d
assert d["jsonData"] == {"version": "InfluxQL", "dbName": "acme", "httpMode": "POST",
                         "powerviewDownsampled": True}, d["jsonData"]
assert list(d["secret_for_tests"]) == ["password"], list(d["secret_for_tests"])
assert re.fullmatch("[A-Za-z0-9]{32}", d["secret_for_tests"]["password"])
org = one("orgs", name="acme")
assert d["orgId"] == org["id"], (d["orgId"], org)
'
    local pw
    pw=$(ds_field 'd["secret_for_tests"]["password"]')
    [[ $output != *"$pw"* ]]
    # only READ on acme and its downsampled databases: InfluxDB says so
    [ "$(influx1_admin 'SHOW GRANTS FOR "acme_read"' | py -c 'import json, sys
print(sorted(v for s in json.load(sys.stdin)["results"][0]["series"] for v in s["values"]))')" = \
        "[['acme', 'READ'], ['acme_1d', 'READ'], ['acme_1h', 'READ'], ['acme_1w', 'READ']]" ]
    run health
    [ "$status" -eq 0 ] && [[ $output == *'"status":"OK"'* ]] || { echo "$output"; false; }

    # the dashboard Grafana holds, in InfluxQL, queried as acme's default user
    local org
    org=$(ds_field 'd["orgId"]')
    GRAFANA_USER_PASSWORD=$(cat "$SECRETS/acme.password") run "$PYTHON" -I "$CHECK" grafana \
        --grafana "$GRAFANA_URL" --user acme --org "$org" --dashboard powerview_acme_north-site \
        --company acme --campaign north-site --data "$EXAMPLES"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output != *FAIL* ]]
    assert_contains "$output" "ok   north-site: every query is raw InfluxQL"
    assert_contains "$output" "ok   north-site [All] panel 1 (Voltages per phase (V)): series ["
    assert_contains "$output" "ok   north-site [All]: energy of M02001171_Ch1_M02001171"
    assert_contains "$output" "ok   north-site [All]: panel 4 (last data)"
    # every W channel at All and at one device, then the two channels selected
    local want
    want=$("$PYTHON" -I "$CHECK" expect --data "$EXAMPLES" --company acme | py -c 'import json, sys
e = json.load(sys.stdin)["north-site"]
w = sorted(e["energy_kwh"])
one = sorted(e["last"])[0]
print(len(w) + len([c for c in w if e["device_of"][c] == one]) + 2)')
    assert_eq "$(grep -c '^ok   north-site .*: energy of ' <<<"$output")" "$want"

    # second run: nothing changes, the password is not asked for
    record_parser_calls
    play_ok create_grafana_resources.yml -e "$(names acme north-site)"
    [ "$CHANGED" -eq 0 ] || { echo "$output"; false; }
    [ ! -s "$CALLS" ]

    # the password changed behind Grafana's back: the check fails, InfluxDB
    # cannot print it (a hash), so a new one is set (--rotate) and given to Grafana
    influx1_admin "SET PASSWORD FOR \"acme_read\" = 'changed-by-hand'" >/dev/null
    run health
    [[ $output == *'"status":"ERROR"'* ]] || { echo "$output"; false; }
    record_parser_calls
    play_ok create_grafana_resources.yml -e "$(names acme north-site)"
    # changed: the password (InfluxDB) and the datasource (Grafana)
    [ "$CHANGED" -eq 2 ] || { echo "$output"; false; }
    [ "$(cat "$CALLS")" = "token --bucket acme
token --bucket acme --rotate" ]
    [ "$(ds_field 'd["secret_for_tests"]["password"]')" != "$pw" ]
    run health
    [[ $output == *'"status":"OK"'* ]] || { echo "$output"; false; }
}

@test "InfluxDB 2 with grafana_query_language=influxql: a Flux datasource becomes InfluxQL on the bucket's DBRP mapping, the read-only token as an Authorization header; its check passes, the next run changes nothing" {
    # first in Flux, as deployments are today
    play_ok create_grafana_resources.yml -e "$(names acme north-site)"
    [ "$(ds_field 'd["jsonData"]["version"]')" = Flux ]
    export GRAFANA_QUERY_LANGUAGE=influxql
    record_parser_calls
    play_ok create_grafana_resources.yml -e "$(names acme north-site)"
    # the Flux datasource passed its check, but its token is not where InfluxQL reads it
    [ "$(cat "$CALLS")" = "token --bucket acme" ]
    run health
    [ "$status" -eq 0 ] && [[ $output == *'"status":"OK"'* ]] || { echo "$output"; false; }
    record_parser_calls
    play_ok create_grafana_resources.yml -e "$(names acme north-site)"
    [ "$CHANGED" -eq 0 ] || { echo "$output"; false; }
    [ ! -s "$CALLS" ]
    gcheck '
d = one("datasources", name="influxdb_acme")
assert (d["type"], d["url"], d["database"], d["user"], d["basicAuth"]) == \
    ("influxdb", os.environ["INFLUX2_URL"], "acme", "", False), d
assert d["jsonData"] == {"version": "InfluxQL", "dbName": "acme", "httpMode": "POST",
                         "httpHeaderName1": "Authorization", "powerviewDownsampled": True}, d["jsonData"]
# Grafana keeps the Flux token it holds (secureJsonData is merged), unused now
assert sorted(d["secret_for_tests"]) == ["httpHeaderValue1", "token"], list(d["secret_for_tests"])
assert d["secret_for_tests"]["httpHeaderValue1"] == "Token " + d["secret_for_tests"]["token"], "not Token <token>"
'
    local header token
    header=$(ds_field 'd["secret_for_tests"]["httpHeaderValue1"]')
    token=${header#Token }
    [[ $output != *"$token"* ]]
    # the token tsv_parser gave: it reads bucket acme, and it cannot write
    [ "$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: $header" \
        "$INFLUX2_URL/api/v2/buckets?org=$INFLUX2_ORG&name=acme")" = 200 ]
    [ "$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: $header" -XPOST \
        "$INFLUX2_URL/api/v2/write?org=$INFLUX2_ORG&bucket=acme" --data-binary 'x,channel_id=a v=1')" != 204 ]
    # database acme maps to bucket acme (made by tsv_parser token)
    curl -fsS -H "Authorization: Token $INFLUX2_TOKEN" "$INFLUX2_URL/api/v2/buckets?org=$INFLUX2_ORG&name=acme" \
        >"$BATS_TEST_TMPDIR/bucket.json"
    curl -fsS -H "Authorization: Token $INFLUX2_TOKEN" "$INFLUX2_URL/api/v2/dbrps?org=$INFLUX2_ORG&db=acme" |
        py -c 'import json, sys
b = json.load(open(sys.argv[1]))["buckets"][0]["id"]
m = [x for x in json.load(sys.stdin)["content"] if x["database"] == "acme" and x["default"]]
assert len(m) == 1 and m[0]["bucketID"] == b, m' "$BATS_TEST_TMPDIR/bucket.json"
}

@test "grafana_query_language other than flux or influxql: refused before any Grafana call" {
    export GRAFANA_QUERY_LANGUAGE=sql
    play create_grafana_resources.yml -e "$(names acme north-site)"
    [ "$status" -ne 0 ]
    [[ $output == *"GRAFANA_QUERY_LANGUAGE is flux or influxql"* ]] || { echo "$output"; false; }
    [ ! -s "$CALLS" ]
    gcheck 'assert s["datasources"] == [] and [o["name"] for o in s["orgs"]] == ["Main Org."], s["orgs"]'
}
