#!/usr/bin/env bats
# InfluxDB 1.x with authentication on (Debian's influxd, auth-enabled = true):
# `tsv_parser token` makes a database's read-only user, and the InfluxQL
# dashboards (dashboards/*.json.j2, query_language=influxql) run on the real
# server as that user, checked by tests/dashboards/influxql.py against what
# the example files hold (the energy panel's kWh computed from the files).

# shellcheck disable=SC2154  # stderr is set by bats' run --separate-stderr
load helpers
load ../servers/servers

CHECK="$BATS_TEST_DIRNAME/../dashboards/influxql.py"
EXAMPLES="$BATS_TEST_DIRNAME/../../examples/data"

setup_file() {
    "$PYTHON" -I -c 'import jinja2' || { echo "influxql.py needs python3-jinja2" >&2; return 1; }
    start_influx1 "$BATS_FILE_TMPDIR/influx1" --auth
    # the example data, ingested once as the admin: acme, bertin, powerview_meta
    ingest_examples_v1 "$BATS_FILE_TMPDIR"
}

setup() {
    common_setup
    export INFLUXDB_API=v1 INFLUXDB_HOST="$INFLUX1_URL" INFLUXDB_USERNAME="$INFLUX1_ADMIN_USER" \
        INFLUXDB_PASSWORD="$INFLUX1_ADMIN_PASSWORD" TSV_RETRY_BUDGET=1
}

# as USER PASSWORD DB STATEMENT: the server's answer (JSON) to a query as that user
as() {
    curl -sS -u "$1:$2" "$INFLUX1_URL/query?db=$(py -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$3")" \
        --data-urlencode "q=$4"
}

# admin STATEMENT: the answer to an admin's query
admin() {
    curl -sS -u "$INFLUX1_ADMIN_USER:$INFLUX1_ADMIN_PASSWORD" -XPOST "$INFLUX1_URL/query" --data-urlencode "q=$1"
}

# grants USER: "db=PRIVILEGE ..." as SHOW GRANTS says
grants() {
    admin "SHOW GRANTS FOR \"$1\"" | py -c '
import json, sys
r = json.load(sys.stdin)["results"][0]
print(" ".join(sorted("%s=%s" % tuple(v) for s in r.get("series", []) for v in s["values"])))'
}

# is_admin USER: true or false, as SHOW USERS says
is_admin() {
    admin "SHOW USERS" | py -c '
import json, sys
r = json.load(sys.stdin)["results"][0]
print(str([v[1] for s in r["series"] for v in s["values"] if v[0] == sys.argv[1]][0]).lower())' "$1"
}

# error_of JSON: the statement's error, or "none"
error_of() {
    py -c '
import json, sys
b = json.loads(sys.argv[1])
print(b.get("error") or b.get("results", [{}])[0].get("error") or "none")' "$1"
}

# password_ok: the last run printed one line of 32 letters and digits
password_ok() {
    assert_status 0
    [[ "$output" =~ ^[A-Za-z0-9]{32}$ ]] || { echo "not a 32-character password: '$output'" >&2; return 1; }
}

@test "token v1: the read-only user is made once, READ on its database and its downsampled ones only; later calls ask for --rotate" {
    run_parser token --bucket acme
    password_ok
    local pw=$output
    assert_contains "$stderr" "created user acme_read: READ on database acme and its _1h, _1d, _1w"
    [[ "$stderr" != *"$pw"* ]] || { echo "the password reached stderr" >&2; return 1; }
    assert_eq "$(grants acme_read)" "acme=READ acme_1d=READ acme_1h=READ acme_1w=READ"
    assert_eq "$(is_admin acme_read)" false
    # InfluxDB 1.x keeps only a hash: the password cannot be printed again
    run_parser token --bucket acme
    assert_status 78
    assert_eq "$output" ""
    assert_contains "$stderr" "user acme_read exists but InfluxDB 1.x keeps only a hash of its password"
    assert_contains "$stderr" "--rotate"
    # the first password still works
    assert_eq "$(error_of "$(as acme_read "$pw" acme 'SHOW MEASUREMENTS')")" none
    run_parser token --bucket acme --rotate
    password_ok
    local pw2=$output
    [ "$pw2" != "$pw" ]
    assert_contains "$stderr" "new password for user acme_read: READ on database acme"
    assert_contains "$(as acme_read "$pw" acme 'SHOW MEASUREMENTS')" "authorization failed"
    assert_eq "$(error_of "$(as acme_read "$pw2" acme 'SHOW MEASUREMENTS')")" none
    assert_eq "$(grants acme_read)" "acme=READ acme_1d=READ acme_1h=READ acme_1w=READ"
}

@test "token v1: the read-only user reads, and cannot write, read another database, or change anything" {
    run_parser token --bucket bertin
    assert_status 0
    run_parser token --bucket acme --rotate
    password_ok
    local pw=$output
    assert_contains "$(as acme_read "$pw" acme 'SELECT count(*) FROM electrical')" '"series"'
    # its downsampled databases (the examples' run made them)
    local lv
    for lv in 1h 1d 1w; do
        assert_contains "$(as acme_read "$pw" "acme_$lv" 'SELECT count(*) FROM electrical')" '"series"'
    done
    # another company's databases
    assert_contains "$(error_of "$(as acme_read "$pw" bertin 'SELECT count(*) FROM electrical')")" "not authorized"
    assert_contains "$(error_of "$(as acme_read "$pw" bertin_1d 'SELECT count(*) FROM electrical')")" "not authorized"
    run curl -sS -o /dev/null -w '%{http_code}' -u "acme_read:$pw" -XPOST "$INFLUX1_URL/write?db=acme_1d" \
        --data-binary 'electrical,channel_id=x x_W=1 1700000000'
    assert_eq "$output" 403
    # writes
    run curl -sS -o /dev/null -w '%{http_code}' -u "acme_read:$pw" -XPOST "$INFLUX1_URL/write?db=acme" \
        --data-binary 'electrical,channel_id=x x_W=1 1700000000'
    assert_eq "$output" 403
    # schema and users
    local q
    for q in 'CREATE DATABASE other' 'DROP DATABASE acme' 'DROP MEASUREMENT electrical' \
        'GRANT ALL ON acme TO acme_read' 'CREATE USER x WITH PASSWORD '"'"'y'"'"''; do
        assert_contains "$(error_of "$(as acme_read "$pw" acme "$q")")" "not authorized"
    done
    assert_eq "$(grants acme_read)" "acme=READ acme_1d=READ acme_1h=READ acme_1w=READ"
}

@test "token v1 --write: <db>_write with ALL on its database only, never admin; the read user stays read-only" {
    run_parser token --bucket bertin --write
    password_ok
    local pw=$output
    assert_contains "$stderr" "created user bertin_write: ALL (read and write) on database bertin"
    assert_eq "$(grants bertin_write)" "bertin=ALL PRIVILEGES"
    assert_eq "$(is_admin bertin_write)" false
    run curl -sS -o /dev/null -w '%{http_code}' -u "bertin_write:$pw" -XPOST "$INFLUX1_URL/write?db=bertin" \
        --data-binary 'probe,channel_id=x x_W=1 1700000000'
    assert_eq "$output" 204
    run curl -sS -o /dev/null -w '%{http_code}' -u "bertin_write:$pw" -XPOST "$INFLUX1_URL/write?db=acme" \
        --data-binary 'probe,channel_id=x x_W=1 1700000000'
    assert_eq "$output" 403
    run_parser token --bucket bertin --rotate
    password_ok
    assert_eq "$(grants bertin_read)" "bertin=READ bertin_1d=READ bertin_1h=READ bertin_1w=READ"
}

@test "token v1: a privilege widened by hand is narrowed again by --rotate" {
    run_parser token --bucket acme --rotate
    assert_status 0
    admin 'GRANT ALL ON acme TO acme_read' >/dev/null
    assert_eq "$(grants acme_read)" "acme=ALL PRIVILEGES acme_1d=READ acme_1h=READ acme_1w=READ"
    run_parser token --bucket acme --rotate
    password_ok
    assert_eq "$(grants acme_read)" "acme=READ acme_1d=READ acme_1h=READ acme_1w=READ"
}

@test "token v1: database names with quotes and spaces stay quoted identifiers" {
    local db="it's a \"db\""
    run_parser token --bucket "o'dd db, \$x"
    password_ok
    local pw=$output
    assert_eq "$(grants "o'dd db, \$x_read")" "o'dd db, \$x=READ o'dd db, \$x_1d=READ o'dd db, \$x_1h=READ o'dd db, \$x_1w=READ"
    assert_eq "$(error_of "$(as "o'dd db, \$x_read" "$pw" "o'dd db, \$x" 'SHOW MEASUREMENTS')")" none
    # names tsv_parser refuses for a bucket are refused here too (a usage error)
    run_parser token --bucket "$db"
    assert_status 64
}

@test "token v1: an admin of that name is refused, its password left alone" {
    admin "CREATE USER \"boss_read\" WITH PASSWORD 'keep-me' WITH ALL PRIVILEGES" >/dev/null
    run_parser token --bucket boss --rotate
    assert_status 78
    assert_eq "$output" ""
    assert_contains "$stderr" "user boss_read exists and is an admin: refusing"
    assert_eq "$(error_of "$(as boss_read keep-me '' 'SHOW DATABASES')")" none
}

@test "token v1: without the admin's credentials: 78 and the server's reason, nothing printed" {
    INFLUXDB_PASSWORD=wrong run_parser token --bucket acme --rotate
    assert_status 78
    assert_eq "$output" ""
    assert_contains "$stderr" "HTTP 401"
    run_parser token --bucket acme --rotate
    password_ok
    local pw=$output
    INFLUXDB_USERNAME=acme_read INFLUXDB_PASSWORD="$pw" run_parser token --bucket acme --rotate
    assert_status 78
    assert_contains "$stderr" "not authorized"
}

@test "token vm: refused plainly" {
    INFLUXDB_API=vm run_parser token --bucket acme
    assert_status 78
    assert_contains "$stderr" "VictoriaMetrics has no per-database credentials"
}

@test "InfluxQL dashboards on InfluxDB 1.x: every query, as acme's read-only user, shows the example data" {
    run_parser token --bucket acme --rotate
    password_ok
    local pw=$output
    run_parser token --bucket powerview_meta --rotate
    password_ok
    local meta_pw=$output
    INFLUXQL_PASSWORD=$pw INFLUXQL_META_PASSWORD=$meta_pw run "$PYTHON" -I "$CHECK" check \
        --url "$INFLUX1_URL" --user acme_read --company acme --data "$EXAMPLES" \
        --meta-database powerview_meta --meta-user powerview_meta_read --companies acme,bertin
    echo "$output"
    assert_status 0
    # both campaigns, the energy of every W channel (15 + 5, at All and at one device, then 2 + 2
    # selected channels), and the monitoring panels were checked
    assert_contains "$output" "ok   north-site [All]: energy of M02001171_Ch1_M02001171"
    assert_contains "$output" "ok   south site [All]: energy of M02000800_Ch1_M02000800"
    assert_eq "$(grep -c '^ok  .*: energy of ' <<<"$output")" 44
    assert_eq "$(grep -c '^ok   monitoring panel' <<<"$output")" 8
    [[ "$output" != *FAIL* ]]
}

@test "InfluxQL dashboards: the checks fail on a dashboard that splits curves by file_name or is read by another company" {
    run_parser token --bucket acme --rotate
    password_ok
    local pw=$output
    mkdir -p "$BATS_TEST_TMPDIR/dash"
    # shellcheck disable=SC2016
    sed 's/GROUP BY time(\$__interval), "channel_id"/GROUP BY time($__interval), "channel_id", "file_name"/' \
        "$BATS_TEST_DIRNAME/../../dashboards/campaign.json.j2" >"$BATS_TEST_TMPDIR/dash/campaign.json.j2"
    if cmp -s "$BATS_TEST_DIRNAME/../../dashboards/campaign.json.j2" "$BATS_TEST_TMPDIR/dash/campaign.json.j2"; then
        echo "the sed script changed nothing" >&2
        return 1
    fi
    INFLUXQL_PASSWORD=$pw run "$PYTHON" -I "$CHECK" check --url "$INFLUX1_URL" --user acme_read --company acme \
        --data "$EXAMPLES" --dashboards "$BATS_TEST_TMPDIR/dash"
    assert_status 1
    assert_contains "$output" "FAIL north-site [All] panel 1 (Voltages per phase (V)): grouped by channel_id only (no file_name)"
    # bertin's dashboards as acme's user: refused by the server
    mkdir -p "$BATS_TEST_TMPDIR/bertin"
    cp -R "$EXAMPLES/bertin" "$BATS_TEST_TMPDIR/bertin/"
    INFLUXQL_PASSWORD=$pw run "$PYTHON" -I "$CHECK" check --url "$INFLUX1_URL" --user acme_read --company bertin \
        --data "$BATS_TEST_TMPDIR/bertin"
    assert_status 1
    assert_contains "$output" "not authorized"
}
