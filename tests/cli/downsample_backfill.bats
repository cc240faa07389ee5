#!/usr/bin/env bats
# `tsv_parser downsample` (the backfill) and the chunked downsampling op.
# On Debian's influxd (1.x): data ingested with TSV_DOWNSAMPLE=0, then the
# backfill: every window of every level holds the independent mean
# (check_db), a rerun changes nothing, --bucket/--start/--end restrict, a
# file with rows in 2001 and 2030 is downsampled by the run chunk by chunk.
# On the InfluxDB 2 stand-in (tests/servers/influx2.py, GET /__test/flux):
# the chunks are contiguous, cover the range and are bounded; a dead server
# or SIGTERM stop it with exit 75 and a state file, and the same command
# resumes after the last chunk done. Usage errors and hostile names: 64.

load helpers
load ../servers/servers
load downsample_helpers

setup_file() {
    start_influx2 "$BATS_FILE_TMPDIR/influx2"
    start_if_installed influxd start_influx1 "$BATS_FILE_TMPDIR/influx1"
}

setup() {
    common_setup
    unset INFLUXDB_URL INFLUXDB_BUCKET_RETENTION TSV_DOWNSAMPLE TSV_DOWNSAMPLE_LEVELS TSV_OUTPUT
    export TSV_RETRY_BUDGET=2 TSV_RETRY_AFTER_MAX=1
    CO="co$BATS_TEST_NUMBER"
    STATE="$TSV_REPORT_DIR/downsample-state.json"
}

v1() {
    [ -n "${INFLUX1_URL:-}" ] || skip "influxd (InfluxDB 1.x) is not installed"
    export INFLUXDB_API=v1 INFLUXDB_HOST="$INFLUX1_URL"
}

v2() {
    influx2 POST /__test/reset >/dev/null
    export INFLUXDB_API=v2 INFLUXDB_HOST="$INFLUX2_URL" INFLUXDB_ORG="$INFLUX2_ORG" INFLUXDB_ADMIN_TOKEN="$INFLUX2_TOKEN"
}

# times DB LEVEL: the RFC 3339 timestamps of one level database, sorted, space-separated
times() {
    q "SELECT * FROM \"$1_$2\".\"autogen\".\"electrical\"" | py -c '
import json, sys
r = json.load(sys.stdin)["results"][0]
print(" ".join(sorted({v[0] for s in r.get("series", []) for v in s["values"]})))'
}

ds() {
    run_parser downsample "$@"
}

@test "backfill v1: data ingested without downsampling; every window of every level holds the independent mean; a rerun changes nothing" {
    v1
    local old before
    old=$(date -u -d '40 days ago' +%Y-%m-%dT00:00:00)
    gen_file "$DATA/$CO/camp/$SN/old.tsv" "$old" "$(date -u -d "$old 2 days" +%Y-%m-%dT%H:%M:%S)" 600
    gen_file "$DATA/$CO/camp/$SN/dst.tsv" 2026-10-23T00:00:00 2026-10-27T00:00:00 600
    # a folder the run would not take is not a bucket
    mkdir -p "$DATA/_skip" "$DATA/.hidden"
    TSV_DOWNSAMPLE=0 run_parser -d "$DATA"
    assert_status 0
    run q 'SHOW DATABASES'
    [[ "$output" != *"${CO}_1"* ]]
    ds -d "$DATA"
    assert_status 0
    assert_contains "$stderr" "downsample $CO 1h: "
    assert_contains "$stderr" "downsample $CO 1d: "
    assert_contains "$stderr" "downsample $CO 1w: "
    [[ "$stderr" != *_skip* && "$stderr" != *hidden* ]]
    assert_no_file "$STATE"
    run check_db "$CO"
    assert_status 0
    before=$(dump "$CO")
    ds -d "$DATA"
    assert_status 0
    assert_eq "$(dump "$CO")" "$before"
    assert_no_file "$STATE"
}

@test "backfill v1: --bucket, --start and --end restrict; windows outside the range are untouched" {
    v1
    gen_file "$DATA/$CO/camp/$SN/a.tsv" 2026-10-20T00:00:00 2026-10-29T00:00:00 600
    gen_file "$DATA/${CO}b/camp/$SN/a.tsv" 2026-10-20T00:00:00 2026-10-21T00:00:00 600
    TSV_DOWNSAMPLE=0 run_parser -d "$DATA"
    assert_status 0
    # local days 24 and 25 (25 h) of Europe/Paris
    ds -d "$DATA" --bucket "$CO" --start 2026-10-24 --end 2026-10-26
    assert_status 0
    assert_eq "$(times "$CO" 1d)" "2026-10-23T22:00:00Z 2026-10-24T22:00:00Z"
    assert_eq "$(times "$CO" 1h | wc -w)" 49
    assert_eq "$(times "$CO" 1w)" "2026-10-18T22:00:00Z"
    run q 'SHOW DATABASES'
    [[ "$output" != *"${CO}b_1"* ]]
    # RFC 3339 with an offset: one hour, the 1h window 12:00+02:00 and its day and week
    ds -d "$DATA" --bucket "$CO" --start 2026-10-21T12:00:00+02:00 --end 2026-10-21T10:30:00Z
    assert_status 0
    assert_eq "$(times "$CO" 1d)" "2026-10-20T22:00:00Z 2026-10-23T22:00:00Z 2026-10-24T22:00:00Z"
    [[ " $(times "$CO" 1h) " == *" 2026-10-21T10:00:00Z "* ]]
    [[ " $(times "$CO" 1h) " != *" 2026-10-21T09:00:00Z "* ]]
    # then the rest: the same as a full backfill
    ds -d "$DATA"
    assert_status 0
    run check_db "$CO"
    assert_status 0
    run check_db "${CO}b"
    assert_status 0
}

@test "backfill v1: a file with rows in 2001 and 2030 is downsampled by the run, chunk by chunk" {
    v1
    mkfile "$DATA/$CO/camp/$SN/wide.tsv" "$HDR_MONO_SN" 'MV_T302_V002\tPh 1 V' \
        '01/01/01 12:00:00\t1.5' '01/01/01 12:30:00\t2.5' '01/06/30 12:00:00\t7'
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rq 'f["status"]')" success
    # every window between is recomputed (empty), the figure counts them all
    assert_eq "$(rq 'f["downsample"]["1d"]')" 10744
    assert_eq "$(times "$CO" 1h)" "2001-01-01T11:00:00Z 2030-06-01T10:00:00Z"
    run check_db "$CO"
    assert_status 0
}

@test "backfill v1: a bucket missing from the server is skipped (exit 66); an empty one has nothing to downsample" {
    v1
    mkdir -p "$DATA/$CO" "$DATA/${CO}e"
    q "CREATE DATABASE ${CO}e" >/dev/null
    ds -d "$DATA"
    assert_status 66
    assert_contains "$stderr" "downsample $CO: database $CO does not exist: skipped"
    assert_contains "$stderr" "downsample ${CO}e: nothing stored, nothing to downsample"
    ds -d "$DATA" --bucket "${CO}e"
    assert_status 0
}

@test "backfill: off, VictoriaMetrics, a file output, usage errors and hostile bucket names" {
    v2
    TSV_DOWNSAMPLE=0 ds -d "$DATA"
    assert_status 78
    assert_contains "$stderr" "downsampling is off"
    INFLUXDB_API=vm INFLUXDB_HOST=http://127.0.0.1:9 ds -d "$DATA"
    assert_status 0
    assert_contains "$stderr" "VictoriaMetrics keeps no downsampled copies"
    TSV_OUTPUT="$OUT" ds -d "$DATA"
    assert_status 0
    assert_contains "$stderr" "keeps no downsampled copies"
    ds -d "$DATA" --start yesterday
    assert_status 64
    assert_contains "$stderr" "--start: 'yesterday' is not an RFC 3339 time"
    ds -d "$DATA" --end 2026-02-30
    assert_status 64
    ds -d "$DATA" --start 2026-03-01T00:00:00 # no zone
    assert_status 64
    ds -d "$DATA" --start 2026-03-02 --end 2026-03-01T23:00:00Z
    assert_status 64
    assert_contains "$stderr" "is not before --end"
    ds -d "$DATA" --frobnicate
    assert_status 64
    assert_contains "$stderr" "try 'tsv_parser downsample --help'"
    ds --bucket acme
    assert_status 64
    ds -d "$DATA" extra
    assert_status 64
    local bad
    for bad in '_sys' 'a"b' 'a\b' "$(printf 'a\tb')" ''; do
        ds -d "$DATA" --bucket "$bad"
        assert_status 64
        assert_contains "$stderr" "bucket name"
    done
    ds -d "$BATS_TEST_TMPDIR/nowhere"
    assert_status 66
    ds --help
    assert_status 0
    assert_contains "$output" "usage: tsv_parser downsample -d dir"
    # nothing was asked of the server
    assert_eq "$(influx2 GET /__test/flux)" "[]"
}

# ---- InfluxDB 2 stand-in ----

# points BUCKET NS...: one raw point at each instant, written directly
points() {
    local b=$1 t body=
    shift
    for t in "$@"; do
        body+="electrical,campaign=c,device_master_sn=$SN f=1 $t"$'\n'
    done
    influx2 POST /__test/buckets "$(py -c 'import json,sys; print(json.dumps({"names": sys.argv[1:]}))' "$b")" >/dev/null
    curl -fsS -XPOST -H "Authorization: Token $INFLUX2_TOKEN" --data-binary "$body" \
        "$INFLUX2_URL/api/v2/write?org=$INFLUX2_ORG&bucket=$(py -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$b")&precision=ns"
}

# flux EXPR: Python expression on the recorded downsampling queries (F)
flux() { influx2_eval /__test/flux F "$1"; }

# 2025-01-01T00:00:00Z and 2026-03-15T12:00:00Z: 15 chunks of 1h, 15 of 1d, 13 of 1w
T0=1735689600000000000
T1=1773576000000000000

# check_chunks: per level, the records are contiguous, cover [T0, T1] and are bounded
check_chunks() {
    influx2 GET /__test/flux >"$BATS_TEST_TMPDIR/flux.json"
    py - "$BATS_TEST_TMPDIR/flux.json" "$T0" "$T1" <<'PY'
import calendar, json, sys, time
F = json.load(open(sys.argv[1]))
t0, t1 = int(sys.argv[2]) // 10**9, int(sys.argv[3]) // 10**9
def s(x):
    return calendar.timegm(time.strptime(x[:19], "%Y-%m-%dT%H:%M:%S"))
out = []
for lv, most in (("1h", 721 * 3600), ("1d", 32 * 86400), ("1w", 5)):
    recs = [r for r in F if r["to"].endswith("_" + lv)]
    assert recs, lv
    for a, b in zip(recs, recs[1:]):
        assert a["windows"][-1][1] == b["windows"][0][0], (lv, a["windows"][-1], b["windows"][0])
    assert s(recs[0]["windows"][0][0]) <= t0 < s(recs[0]["windows"][0][1]), lv
    assert s(recs[-1]["windows"][-1][0]) <= t1 < s(recs[-1]["windows"][-1][1]), lv
    for r in recs:
        if lv == "1w":
            assert r["every"] is None and len(r["windows"]) <= most, len(r["windows"])
        else:
            assert r["every"] == lv and s(r["windows"][-1][1]) - s(r["windows"][0][0]) <= most
    out.append("%s %d" % (lv, len(recs)))
print(", ".join(out))
PY
}

@test "backfill v2: the chunks are contiguous, cover the range, are bounded; hostile names escaped; a rerun does it again" {
    v2
    local b='acme ${x} it'"'"'s'
    mkdir -p "$DATA/$b" "$DATA/_skip"
    points "$b" "$T0" 1760000000000000000 "$T1"
    ds -d "$DATA"
    assert_status 0
    run check_chunks
    assert_status 0
    assert_eq "$output" "1h 15, 1d 15, 1w 13"
    assert_contains "$stderr" "downsample $b 1d: 439 windows written (2025-01-01 .. 2026-03-15)"
    # no progress line in a pipe
    [[ "$stderr" != *$'\r'* && "$stderr" != *"chunks"* ]]
    assert_no_file "$STATE"
    ds -d "$DATA" --bucket "$b"
    assert_status 0
    assert_eq "$(flux 'len(F)')" 86
}

@test "backfill v2: on a terminal, a progress line per chunk, drawn in place with \\r" {
    v2
    mkdir -p "$DATA/acme"
    points acme "$T0" "$T1"
    on_tty downsample -d "$DATA"
    assert_status 0
    local tty
    tty=$(cat "$BATS_TEST_TMPDIR/tty")
    assert_contains "$tty" $'\r''downsample: acme 1h 2025-01-01 .. 2025-01-31, 1/15 chunks'
    assert_contains "$tty" $'\r''downsample: acme 1h 2026-02-25 .. 2026-03-15, 15/15 chunks'
    assert_contains "$tty" 'downsample: acme 1w 2024-12-30 .. 2025-02-02, 1/13 chunks'
    assert_contains "$tty" "[INFO] tsv_parser: downsample acme 1w: 63 windows written"
    # -q: none
    on_tty downsample -q -d "$DATA"
    assert_status 0
    [[ "$(cat "$BATS_TEST_TMPDIR/tty")" != *chunks* ]]
}

@test "backfill v2: a query refused (400) is exit 78, the state kept for a rerun (default: beside the run reports)" {
    v2
    unset TSV_REPORT_DIR
    STATE="$DATA/../logs/reports/downsample-state.json"
    mkdir -p "$DATA/acme"
    points acme "$T0" "$T1"
    influx2 POST /__test/faults '{"path": "/api/v2/query", "after": 3, "status": 400, "body": {"code": "invalid", "message": "refused"}}' >/dev/null
    ds -d "$DATA"
    assert_status 78
    assert_contains "$stderr" "HTTP 400"
    assert_file "$STATE"
    ds -d "$DATA"
    assert_status 0
    assert_contains "$stderr" "resuming"
    assert_no_file "$STATE"
}

@test "backfill v2: a dead server after the 2nd chunk: exit 75, state saved (0600); the same command resumes at the 3rd chunk and removes it" {
    v2
    mkdir -p "$DATA/acme"
    points acme "$T0" "$T1"
    # 2 queries for the first and last point, then 2 chunks, then 503s
    influx2 POST /__test/faults '{"path": "/api/v2/query", "after": 4, "status": 503, "times": -1}' >/dev/null
    ds -d "$DATA"
    assert_status 75
    assert_eq "$(flux 'len(F)')" 2
    assert_file "$STATE"
    assert_eq "$(stat -c %a "$STATE")" 600
    assert_eq "$(py -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["bucket"], d["level"])' "$STATE")" "acme 1h"
    influx2 DELETE /__test/faults >/dev/null
    ds -d "$DATA"
    assert_status 0
    assert_contains "$stderr" "resuming"
    # the 3rd chunk follows the 2nd: nothing redone
    assert_eq "$(flux 'F[2]["windows"][0][0] == F[1]["windows"][-1][1]')" true
    assert_eq "$(flux 'len([r for r in F if r["to"] == "acme_1h"])')" 15
    assert_no_file "$STATE"
    run check_chunks
    assert_status 0
    # another backfill's state (other arguments) is not trusted: all from the start
    influx2 POST /__test/faults '{"path": "/api/v2/query", "after": 4, "status": 503, "times": -1}' >/dev/null
    ds -d "$DATA" --bucket acme
    assert_status 75
    influx2 DELETE /__test/faults >/dev/null
    local n
    n=$(flux 'len(F)')
    ds -d "$DATA"
    assert_status 0
    assert_contains "$stderr" "another backfill's"
    assert_eq "$(flux 'F['"$n"']["windows"][0][0] == "2025-01-01T00:00:00Z"')" true
    # a malformed state, a link: ignored with a warning
    mkdir -p "$TSV_REPORT_DIR"
    echo '{"kind": "tsv_parser downsample state 1", "bucket": 3}' >"$STATE"
    ds -d "$DATA"
    assert_status 0
    assert_contains "$stderr" "malformed: ignored"
    ln -s /etc/passwd "$STATE"
    ds -d "$DATA"
    assert_status 0
    assert_contains "$stderr" "downsample state $STATE: "
    assert_no_file "$STATE"
}

@test "backfill v2: SIGTERM during a hung chunk: exit 75 after that chunk, a state the rerun resumes from" {
    v2
    mkdir -p "$DATA/acme"
    points acme "$T0" "$T1"
    influx2 POST /__test/faults '{"path": "/api/v2/query", "after": 4, "action": "hang", "delay": 4}' >/dev/null
    TSV_HTTP_TIMEOUT=30 "$TSV_PARSER" downsample -d "$DATA" 2>"$BATS_TEST_TMPDIR/err" &
    local pid=$! i done_ns
    # the hang rule taken: the 3rd chunk is waiting for its answer
    for i in $(seq 100); do
        [ "$(influx2 GET /__test/faults)" = "[]" ] && break
        sleep 0.1
    done
    assert_eq "$(influx2 GET /__test/faults)" "[]"
    kill -TERM "$pid"
    status=0
    wait "$pid" || status=$?
    assert_status 75
    assert_contains "$(cat "$BATS_TEST_TMPDIR/err")" "interrupted by signal 15"
    assert_file "$STATE"
    done_ns=$(py -c 'import json,sys; print(json.load(open(sys.argv[1]))["done"])' "$STATE")
    local n
    n=$(flux 'len(F)')
    ds -d "$DATA"
    assert_status 0
    assert_contains "$stderr" "resuming"
    # the rerun starts where the state says, the end of the last chunk recorded
    assert_eq "$(flux 'F['"$n"']["windows"][0][0] == F['"$n"' - 1]["windows"][-1][1]')" true
    assert_eq "$(py -c 'import sys,time; print(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(sys.argv[1]) // 10**9)))' "$done_ns")" \
        "$(flux 'F['"$n"']["windows"][0][0]')"
    assert_no_file "$STATE"
}
