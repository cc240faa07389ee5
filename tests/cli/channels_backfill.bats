#!/usr/bin/env bats
# `tsv_parser channels --bucket B` (v0.4.1's backfill_known_channels): the
# channels already stored in a bucket, one POST per campaign to
# CONFIG_API_URL/buckets/<bucket, encoded>/channels. Against Debian's
# InfluxDB 1.x (influxd), the InfluxDB 2 stand-in (tests/servers/influx2.py),
# VictoriaMetrics (Debian's victoria-metrics), the config API
# tests/servers/recorder.py, which records every request.

# shellcheck disable=SC2154  # stderr is set by bats' run --separate-stderr

load helpers
load ../servers/servers

# a company folder (bucket) name with what a URL path cannot carry as it is
HOSTILE='a b?c#d%e&f+é'
HOSTILE_ENC='a%20b%3Fc%23d%25e%26f%2B%C3%A9'
CAMP_A='été <1>'
# line protocol escapes all three in a tag value: the series keys carry them escaped
CAMP_B='camp, b=2'

setup_file() {
    start_influx2 "$BATS_FILE_TMPDIR/influx2"
    start_if_installed influxd start_influx1 "$BATS_FILE_TMPDIR/influx1"
    start_if_installed victoria-metrics start_vm "$BATS_FILE_TMPDIR/vm"
}

setup() {
    common_setup
    unset INFLUXDB_API INFLUXDB_URL INFLUXDB_HOST INFLUXDB_ORG INFLUXDB_ADMIN_TOKEN
    export TSV_RETRY_BUDGET=3 TSV_RETRY_AFTER_MAX=1 TSV_HTTP_TIMEOUT=5
    # campaign A: master U1 (V) and a slave column (W); campaign B: U1 (V) and a column without a unit
    mkfile "$DATA/$HOSTILE/$CAMP_A/$SN/T302_260105_001000.tsv" '02001171\t02001171\t04000466' \
        'MV_T302_V002\tPh 1 V\tVoie2 W' '05/01/26 00:00:00\t230.5\t7' '05/01/26 00:10:00\t231\t8'
    mkfile "$DATA/$HOSTILE/$CAMP_B/$SN/T302_260106_001000.tsv" '02001171\t02001171\t02001171' \
        'MV_T302_V002\tPh 1 V\tVoie1' '06/01/26 00:00:00\t229\t1'
}

teardown() {
    stop_recorder
}

use_v1() {
    command -v influxd >/dev/null || skip "influxd (InfluxDB 1.x) is not installed"
    export INFLUXDB_API=v1 INFLUXDB_HOST="$INFLUX1_URL"
    # one database per test: the hostile name with the test's number
    BUCKET="$HOSTILE$BATS_TEST_NUMBER"
    BUCKET_ENC="$HOSTILE_ENC$BATS_TEST_NUMBER"
    rename_company
}

use_vm() {
    command -v victoria-metrics >/dev/null || skip "victoria-metrics is not installed"
    export INFLUXDB_API=vm INFLUXDB_HOST="$VM_URL"
    BUCKET="$HOSTILE$BATS_TEST_NUMBER"
    BUCKET_ENC="$HOSTILE_ENC$BATS_TEST_NUMBER"
    rename_company
}

use_v2() {
    influx2 POST /__test/reset >/dev/null
    export INFLUXDB_HOST="$INFLUX2_URL" INFLUXDB_ORG="$INFLUX2_ORG" INFLUXDB_ADMIN_TOKEN="$INFLUX2_TOKEN"
    BUCKET=$HOSTILE
    BUCKET_ENC=$HOSTILE_ENC
}

rename_company() {
    if [ "$BUCKET" != "$HOSTILE" ]; then
        mv "$DATA/$HOSTILE" "$DATA/$BUCKET"
    fi
}

# ingest: the two files into the database, nothing published on the way; the
# stand-in's request log cleared after it
ingest() {
    CONFIG_API_URL='' run_parser -d "$DATA"
    assert_status 0
    [ "${INFLUXDB_API:-}" = v1 ] || influx2 DELETE /__test/requests >/dev/null
}

recorder() {
    start_recorder "$BATS_TEST_TMPDIR/recorder" "$@"
    export CONFIG_API_URL="$RECORDER_URL"
}


# the bodies expected, one JSON a line, campaigns sorted, channels sorted by id
expected_bodies() {
    py -c '
import json, sys
a, b = sys.argv[1], sys.argv[2]
def ch(i, u, l):
    return {"fieldId": i + "_" + u, "channelId": i, "channelUnit": u, "channelLabel": l,
            "deviceMasterSn": "02001171"}
for body in sorted([
        {"campaign": a, "channels": [ch("M02001171_U1_M02001171", "V", "U1"),
                                     ch("S04000466_Ch1_M02001171", "W", "Ch1")]},
        {"campaign": b, "channels": [ch("M02001171_U1_M02001171", "V", "U1")]}],
        key=lambda x: x["campaign"]):
    print(json.dumps(body, ensure_ascii=False, separators=(",", ":")))' "$CAMP_A" "$CAMP_B"
}

# recorded bodies, one a line, in the order sent
recorded_bodies() {
    reqs '"\n".join(r["body"] for r in R)'
}

# the same checks against either engine: two campaigns, two exact bodies, the path encoded
check_published() {
    recorder
    run_parser channels --bucket "$BUCKET"
    assert_status 0
    assert_eq "$(reqs 'len(R)')" 2 "requests"
    assert_eq "$(reqs '[r["method"] for r in R]')" '["POST", "POST"]'
    assert_eq "$(reqs 'sorted(set(r["path"] for r in R))')" "[\"/buckets/$BUCKET_ENC/channels\"]"
    assert_eq "$(reqs '[k for r in R for k, v in r["headers"] if k.lower() in ("authorization", "cookie")]')" '[]'
    assert_eq "$(recorded_bodies)" "$(expected_bodies)" "bodies"
    assert_contains "$stderr" "2 campaigns published"
}

@test "channels v1: the stored channels, one exact body per campaign, bucket encoded in the path" {
    use_v1
    ingest
    check_published
}

@test "channels v1: the bodies are those a run publishes, channels sorted" {
    use_v1
    recorder
    run_parser -d "$DATA"
    assert_status 0
    live=$(reqs '"\n".join(json.dumps(dict(b, channels=sorted(b["channels"], key=lambda c: c["channelId"])),
        ensure_ascii=False, separators=(",", ":")) for b in sorted((json.loads(r["body"]) for r in R), key=lambda b: b["campaign"]))')
    : >"$RECORDER_LOG"
    run_parser channels --bucket "$BUCKET"
    assert_status 0
    assert_eq "$(recorded_bodies)" "$live" "backfill vs live"
}

@test "channels v1: a dry run prints the bodies and sends nothing, CONFIG_API_URL unset or not" {
    use_v1
    ingest
    recorder
    run_parser channels --bucket "$BUCKET" --dry-run
    assert_status 0
    assert_eq "$output" "$(expected_bodies)" "printed bodies"
    unset CONFIG_API_URL
    run_parser channels -n -b "$BUCKET"
    assert_status 0
    assert_eq "$output" "$(expected_bodies)"
    assert_eq "$(reqs 'len(R)')" 0 "requests"
}

@test "channels v1: one campaign answered 500: said, exit 69, the other campaign still sent" {
    use_v1
    ingest
    recorder --fail-if "$CAMP_B"
    run_parser channels --bucket "$BUCKET"
    assert_status 69
    assert_eq "$(reqs 'len(R)')" 2 "requests: both campaigns tried"
    assert_contains "$stderr" "campaign '$CAMP_B': channels not published to the config API"
    assert_contains "$stderr" "HTTP 500"
    assert_contains "$stderr" "campaign '$CAMP_A': 2 channels published"
    # the failing one first (sorted campaigns: "camp, b=2" < "été <1>"): the next still goes
    assert_eq "$(reqs 'json.loads(R[1]["body"])["campaign"]')" "$CAMP_A"
}

@test "channels v1: a config API that refuses connections: exit 69, each campaign said" {
    use_v1
    ingest
    CONFIG_API_URL="http://127.0.0.1:$(free_port)" run_parser channels --bucket "$BUCKET"
    assert_status 69
    assert_contains "$stderr" "campaign '$CAMP_A': channels not published"
    assert_contains "$stderr" "campaign '$CAMP_B': channels not published"
}

@test "channels v1: series of many files, past one page of SHOW SERIES, give each tuple once" {
    use_v1
    ingest
    # 2500 more series: three channels of campaign B in 2500 other files (one per file_name)
    py -c '
import sys
for i in range(2500):
    for cid, unit, label in (("M02001171_U1_M02001171", "V", "U1"), ("M02001171_U2_M02001171", "V", "U2"),
                             ("M02001171_Ch1_M02001171", "", "Ch1")):
        tags = "campaign=camp\\,\\ b\\=2,channel_id=%s,channel_label=%s%s,device_master_sn=02001171,file_name=g%04d.tsv" % (
            cid, label, ",channel_unit=" + unit if unit else "", i)
        print("electrical,%s %s%s=1 %d" % (tags, cid, "_" + unit if unit else "", 1767657600 + i))
' >"$BATS_TEST_TMPDIR/more.lp"
    curl -fsS -XPOST "$INFLUX1_URL/write?precision=s&db=$BUCKET_ENC" --data-binary @"$BATS_TEST_TMPDIR/more.lp"
    run_parser channels --bucket "$BUCKET" --dry-run
    assert_status 0
    assert_eq "$(printf '%s\n' "$output" | wc -l)" 2 "bodies"
    assert_eq "$(printf '%s\n' "$output" | py -c '
import json, sys
for l in sys.stdin:
    b = json.loads(l)
    print(b["campaign"], [c["channelId"] for c in b["channels"]])')" \
        "$CAMP_B ['M02001171_U1_M02001171', 'M02001171_U2_M02001171']
$CAMP_A ['M02001171_U1_M02001171', 'S04000466_Ch1_M02001171']"
}

@test "channels v1: --all: every company's database, not _internal, the meta one or the _1h/_1d/_1w ones" {
    use_v1
    ingest
    for db in "${BUCKET}_1h" "${BUCKET}_1d" "${BUCKET}_1w"; do
        curl -fsS -XPOST "$INFLUX1_URL/query" --data-urlencode "q=CREATE DATABASE \"$db\"" >/dev/null
    done
    run_parser channels --all --dry-run
    assert_status 0
    # other tests' databases are on this server too: only this one's lines are counted
    assert_eq "$(printf '%s\n' "$output" | py -c '
import json, sys
L = [json.loads(l) for l in sys.stdin]
print(sum(1 for l in L if l["bucket"] == sys.argv[1]),
      sorted(set(b for b in (l["bucket"] for l in L) if b.startswith("_") or b == "powerview_meta" or b[-3:] in ("_1h", "_1d", "_1w"))),
      sorted(set(l["body"]["campaign"] for l in L if l["bucket"] == sys.argv[1])) == sorted([sys.argv[2], sys.argv[3]]))' \
        "$BUCKET" "$CAMP_A" "$CAMP_B")" "2 [] True"
    # the meta database exists (the run's summaries) and is not listed
    curl -fsS "$INFLUX1_URL/query" --data-urlencode 'q=SHOW DATABASES' | grep -q powerview_meta
}

@test "channels v1: an unknown database is a clear error (66), nothing sent" {
    use_v1
    recorder
    run_parser channels --bucket "nobody-$BATS_TEST_NUMBER"
    assert_status 66
    assert_contains "$stderr" "database nobody-$BATS_TEST_NUMBER not found"
    assert_eq "$(reqs 'len(R)')" 0
}

@test "channels v2: the stored channels, one exact body per campaign, bucket encoded in the path" {
    use_v2
    ingest
    check_published
    # one Flux query (a page), a bucket lookup, nothing created
    assert_eq "$(influx2 GET /__test/requests | py -c '
import json, sys
print([r["method"] + " " + r["path"] for r in json.load(sys.stdin)])')" \
        "['GET /api/v2/orgs', 'GET /api/v2/buckets', 'POST /api/v2/query']"
}

@test "channels v2: a dry run prints the bodies, sends nothing; 500 for one campaign: 69, the other sent" {
    use_v2
    ingest
    recorder --fail-if "$CAMP_B"
    run_parser channels --bucket "$BUCKET" --dry-run
    assert_status 0
    assert_eq "$output" "$(expected_bodies)" "printed bodies"
    assert_eq "$(reqs 'len(R)')" 0 "requests of the dry run"
    run_parser channels --bucket "$BUCKET"
    assert_status 69
    assert_eq "$(reqs 'len(R)')" 2 "requests"
    assert_contains "$stderr" "campaign '$CAMP_B': channels not published to the config API"
}

@test "channels v2: past one page of the Flux answer, each tuple once" {
    use_v2
    ingest
    py -c '
for i in range(2100):
    print("electrical,campaign=c%04d,channel_id=X,channel_unit=V,device_master_sn=1,file_name=f%d X_V=1 %d"
          % (i, i, 1767657600 + i))' >"$BATS_TEST_TMPDIR/more.lp"
    curl -fsS -XPOST -H "Authorization: Token $INFLUX2_TOKEN" --data-binary @"$BATS_TEST_TMPDIR/more.lp" \
        "$INFLUX2_URL/api/v2/write?org=$INFLUX2_ORG&precision=s&bucket=$(py -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$BUCKET")"
    run_parser channels --bucket "$BUCKET" --dry-run
    assert_status 0
    assert_eq "$(printf '%s\n' "$output" | wc -l)" 2102 "bodies: one per campaign"
    # 2103 tuples: pages of 1000, 1000 and 103 rows
    assert_eq "$(influx2 GET /__test/requests | py -c '
import json, sys
print(sum(r["path"] == "/api/v2/query" for r in json.load(sys.stdin)))')" 3 "queries"
}

@test "channels v2: --all publishes every company's bucket, each under its own path" {
    use_v2
    mkfile "$DATA/bertin/c/$SN/T302_260107_001000.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '07/01/26 00:00:00\t1'
    ingest
    # the downsampled buckets (the run made them) and an empty one beside them
    for b in empty; do
        curl -fsS -XPOST -H "Authorization: Token $INFLUX2_TOKEN" -H 'Content-Type: application/json' \
            --data-binary "{\"orgID\": \"$(curl -fsS -H "Authorization: Token $INFLUX2_TOKEN" \
                "$INFLUX2_URL/api/v2/orgs?org=$INFLUX2_ORG" | py -c 'import json, sys; print(json.load(sys.stdin)["orgs"][0]["id"])')\",
                \"name\": \"$b\", \"retentionRules\": []}" "$INFLUX2_URL/api/v2/buckets" >/dev/null
    done
    run_parser channels --all --dry-run
    assert_status 0
    assert_eq "$(printf '%s\n' "$output" | py -c '
import json, sys
print(sorted((l["bucket"], l["body"]["campaign"]) for l in map(json.loads, sys.stdin)))')" \
        "$(py -c 'import sys; print(sorted([(sys.argv[1], sys.argv[2]), (sys.argv[1], sys.argv[3]), ("bertin", "c")]))' \
            "$BUCKET" "$CAMP_A" "$CAMP_B")"
    recorder
    run_parser channels --all
    assert_status 0
    assert_eq "$(reqs 'sorted(r["path"] for r in R)')" \
        "[\"/buckets/$BUCKET_ENC/channels\", \"/buckets/$BUCKET_ENC/channels\", \"/buckets/bertin/channels\"]"
}

@test "channels v2: an unknown bucket is a clear error (66), not created" {
    use_v2
    recorder
    run_parser channels --bucket nobody
    assert_status 66
    assert_contains "$stderr" "bucket nobody not found"
    assert_eq "$(reqs 'len(R)')" 0
    run curl -sS -H "Authorization: Token $INFLUX2_TOKEN" "$INFLUX2_URL/api/v2/buckets?name=nobody&org=$INFLUX2_ORG"
    assert_eq "$(printf '%s' "$output" | py -c 'import json, sys; print(len(json.load(sys.stdin).get("buckets", [])))')" 0
}

@test "channels vm: the stored channels, one exact body per campaign, bucket encoded in the path" {
    use_vm
    ingest
    check_published
}

@test "channels vm: --all lists the db label's values; an unknown db is a clear error (66)" {
    use_vm
    ingest
    run_parser channels --all --dry-run
    assert_status 0
    assert_eq "$(printf '%s\n' "$output" | py -c '
import json, sys
L = [json.loads(l) for l in sys.stdin]
print(sorted(l["body"]["campaign"] for l in L if l["bucket"] == sys.argv[1]),
      [l["bucket"] for l in L if l["bucket"] == "powerview_meta"])' "$BUCKET")" \
        "$(py -c 'import sys; print(sorted(sys.argv[1:]), [])' "$CAMP_A" "$CAMP_B")"
    recorder
    run_parser channels --bucket "nobody-$BATS_TEST_NUMBER"
    assert_status 66
    assert_contains "$stderr" "no series with db=nobody-$BATS_TEST_NUMBER"
    assert_eq "$(reqs 'len(R)')" 0
}

@test "channels: CONFIG_API_URL unset is a configuration error (78); usage errors are 64" {
    use_v2
    run_parser channels --bucket "$BUCKET"
    assert_status 78
    assert_contains "$stderr" "CONFIG_API_URL (config_api.url) is not set"
    run_parser channels
    assert_status 64
    assert_contains "$stderr" "--bucket (or --all) is required"
    run_parser channels --bucket x --all
    assert_status 64
    assert_contains "$stderr" "--bucket or --all, not both"
    run_parser channels --bucket '_internal'
    assert_status 64
    assert_contains "$stderr" "bucket name starts with '_'"
    run_parser channels --bucket x extra
    assert_status 64
    run_parser channels --help
    assert_status 0
    assert_contains "$output" "usage: tsv_parser channels --bucket name"
}
