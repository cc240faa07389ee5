#!/usr/bin/env bats
# Channel publication (CONFIG_API_URL, v0.4.1's _publish_channels_to_config_api):
# after each file that succeeded in a real run, POST <url>/buckets/<bucket,
# percent-encoded>/channels with the file's channels; a failure is a warning.
# The database is tests/servers/influx2.py, the config API
# tests/servers/recorder.py, which records every request.

# shellcheck disable=SC2154  # stderr is set by bats' run --separate-stderr

load helpers
load ../servers/servers

# a company folder name with what a URL path cannot carry as it is
HOSTILE='a b?c#d%e&f+é'
HOSTILE_ENC='a%20b%3Fc%23d%25e%26f%2B%C3%A9'
CAMP='été <1>'

setup_file() {
    start_influx2 "$BATS_FILE_TMPDIR/influx2"
}

setup() {
    common_setup
    influx2 POST /__test/reset >/dev/null
    unset INFLUXDB_API INFLUXDB_URL CONFIG_API_URL
    export INFLUXDB_HOST="$INFLUX2_URL" INFLUXDB_ORG="$INFLUX2_ORG" INFLUXDB_ADMIN_TOKEN="$INFLUX2_TOKEN"
    export TSV_RETRY_BUDGET=3 TSV_RETRY_AFTER_MAX=1 TSV_HTTP_TIMEOUT=5
    F="$DATA/$HOSTILE/$CAMP/$SN/T302_260105_001000.tsv"
    # master U1 (V), a master column without a unit, a slave column with a unit and no point
    mkfile "$F" '02001171\t02001171\t02001171\t04000466' 'MV_T302_V002\tPh 1 V\tVoie1\tVoie2 W' \
        '05/01/26 00:00:00\t230.5\t1\t' '05/01/26 00:10:00\t231\t2\t'
}


teardown() {
    stop_recorder
}

# recorder [ARGS...]: a fresh recording server for this test (stopped by teardown)
recorder() {
    start_recorder "$BATS_TEST_TMPDIR/recorder" "$@"
    export CONFIG_API_URL="$RECORDER_URL"
}


@test "channels: one POST per file to /buckets/<bucket, encoded>/channels with v0.4.1's body, no token" {
    recorder
    run_parser -d "$DATA"
    assert_status 0
    assert_file "$(dirname "$F")/parsed/$(basename "$F")"
    assert_eq "$(reqs 'len(R)')" 1 "requests"
    assert_eq "$(reqs 'R[0]["method"]')" POST
    assert_eq "$(reqs 'R[0]["path"]')" "/buckets/$HOSTILE_ENC/channels"
    assert_eq "$(reqs '[v for k, v in R[0]["headers"] if k.lower() == "content-type"]')" '["application/json"]'
    # nothing of the database's credentials: no Authorization header, the token nowhere
    assert_eq "$(reqs '[k for k, v in R[0]["headers"] if k.lower() in ("authorization", "cookie")]')" '[]'
    assert_eq "$(reqs 'sys.argv[3] in json.dumps(R)' "$INFLUX2_TOKEN")" false "token sent"
    # the exact body: the unit-less column left out, the slave's 0-point column kept, column order
    assert_json "$(reqs 'R[0]["body"]')" "$(py -c '
import json, sys
print(json.dumps({"campaign": sys.argv[1], "channels": [
    {"fieldId": "M02001171_U1_M02001171_V", "channelId": "M02001171_U1_M02001171", "channelUnit": "V",
     "channelLabel": "U1", "deviceMasterSn": "02001171"},
    {"fieldId": "S04000466_Ch1_M02001171_W", "channelId": "S04000466_Ch1_M02001171", "channelUnit": "W",
     "channelLabel": "Ch1", "deviceMasterSn": "02001171"}]}))' "$CAMP")"
    # each fieldId that has points is the field key they were stored under
    keys=$(curl -fsS -G "$INFLUX2_URL/__test/points" --data-urlencode "bucket=$HOSTILE" | py -c '
import json, re, sys
keys = set()
for line in json.load(sys.stdin)["lines"]:
    fields = re.split(r"(?<!\\) ", line)[1]
    keys.update(f.split("=", 1)[0] for f in fields.split(","))
print(" ".join(sorted(keys)))')
    assert_contains " $keys " " M02001171_U1_M02001171_V " "stored field keys"
    assert_contains " $keys " " $(reqs 'json.loads(R[0]["body"])["channels"][0]["fieldId"]') "
    assert_eq "$(rq 'f["channels_published"]')" 2
    assert_eq "$(rq 'f["warnings"]')" '[]'
}

@test "channels: a trailing '/' of CONFIG_API_URL is dropped; config shows the URL without its password" {
    recorder
    CONFIG_API_URL="$RECORDER_URL//" run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(reqs 'R[0]["path"]')" "/buckets/$HOSTILE_ENC/channels"
    CONFIG_API_URL="http://pub:s3cret-pw@127.0.0.1:1/api/" run_parser config
    assert_status 0
    assert_contains "$output" "config_api.url = http://****@127.0.0.1:1/api"
    assert_not_printed s3cret-pw
}

@test "channels: config_api.url of powerview.yaml is the same setting" {
    recorder
    URL=$CONFIG_API_URL
    unset CONFIG_API_URL
    printf 'config_api:\n  url: %s\n' "$URL" >"$BATS_TEST_TMPDIR/pv.yaml"
    run_parser -d "$DATA" --config "$BATS_TEST_TMPDIR/pv.yaml"
    assert_status 0
    assert_eq "$(reqs 'len(R)')" 1 "requests"
    assert_eq "$(reqs 'R[0]["path"]')" "/buckets/$HOSTILE_ENC/channels"
}

@test "channels: unset or empty CONFIG_API_URL, a dry run and --output send nothing" {
    recorder
    URL=$CONFIG_API_URL
    unset CONFIG_API_URL
    run_parser -d "$DATA" --dry-run
    assert_status 0
    CONFIG_API_URL=$URL run_parser -d "$DATA" --dry-run
    assert_status 0
    CONFIG_API_URL=$URL run_parser -d "$DATA" -o "$OUT"
    assert_status 0
    assert_eq "$(reqs 'len(R)')" 0 "requests after dry runs and -o"
    rq 'f' >/dev/null
    assert_eq "$(rq '"channels_published" in f')" false "figure without a publication"
    mv "$(dirname "$F")/parsed/$(basename "$F")" "$F"
    CONFIG_API_URL='' run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(reqs 'len(R)')" 0 "requests with an empty URL"
    assert_eq "$(rq '"channels_published" in f')" false
}

@test "channels: a file without a channel that has a unit sends nothing" {
    recorder
    rm -f "$F"
    mkfile "$DEV/T302_260105_002000.tsv" '02001171\t02001171' 'MV_T302_V002\tVoie1' '05/01/26 00:00:00\t1'
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(reqs 'len(R)')" 0
    assert_eq "$(rq 'f["channels_published"]')" 0
}

@test "channels: HTTP 500 is a warning; the file is in parsed/ and the run exits 0" {
    recorder --status 500
    run_parser -d "$DATA"
    assert_status 0
    assert_file "$(dirname "$F")/parsed/$(basename "$F")"
    assert_eq "$(reqs 'len(R)')" 1
    assert_contains "$stderr" "channels not published to the config API"
    assert_contains "$stderr" "HTTP 500"
    assert_eq "$(rq 'f["status"]')" success
    assert_eq "$(rq 'f["channels_published"]')" null
    assert_contains "$(rq 'f["warnings"][0]')" "channels not published to the config API"
}

@test "channels: a 4xx answer is a warning too" {
    recorder --status 404
    run_parser -d "$DATA"
    assert_status 0
    assert_contains "$stderr" "HTTP 404"
    assert_eq "$(rq 'f["channels_published"]')" null
}

@test "channels: a refused connection is a warning" {
    CONFIG_API_URL="http://127.0.0.1:$(free_port)"
    export CONFIG_API_URL
    run_parser -d "$DATA"
    assert_status 0
    assert_file "$(dirname "$F")/parsed/$(basename "$F")"
    assert_contains "$stderr" "channels not published to the config API"
    assert_eq "$(rq 'f["channels_published"]')" null
}

@test "channels: a server that never answers holds the run 10 s, once, not once per file" {
    recorder --hang 60
    mkfile "$DEV/T302_260105_002000.tsv" '02001171\t02001171' 'MV_T302_V002\tPh 1 V' '05/01/26 00:20:00\t1'
    start=$(date +%s)
    run_parser -d "$DATA"
    took=$(($(date +%s) - start))
    assert_status 0
    # the 10 s limit cut the request (the server would hold it 60 s); under
    # valgrind or a loaded machine the rest of the run takes longer: no tighter bound
    [ "$took" -ge 9 ] && [ "$took" -lt 45 ] || { echo "took $took s" >&2; return 1; }
    assert_file "$(dirname "$F")/parsed/$(basename "$F")"
    assert_file "$DEV/parsed/T302_260105_002000.tsv"
    assert_eq "$(reqs 'len(R)')" 1 "requests (the second file is not tried)"
    assert_eq "$(rq '[x["channels_published"] for x in r["files"]]')" '[null, null]'
    assert_contains "$(rq 'r["files"][1]["warnings"][0]')" "not tried"
}
