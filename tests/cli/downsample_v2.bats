#!/usr/bin/env bats
# Downsampling on InfluxDB 2, against the stand-in tests/servers/influx2.py:
# `tsv_parser token` (read) creates the raw bucket's three downsampled buckets
# and one token reading the four; the Flux of each level
# (src/sink/downsample_flux.c, through tests/tools/pv_downsample_q) is taken
# by the stand-in (which checks its shape, that the token reads the source and
# writes the target) and recorded with the windows pv_windows() gives.
# The stand-in computes no means: the values are checked on InfluxDB 1.x
# (downsample_v1.bats); no real InfluxDB 2 here.

load helpers
load ../servers/servers

setup_file() {
    start_influx2 "$BATS_FILE_TMPDIR/influx2"
}

setup() {
    common_setup
    [ -x "${PV_DOWNSAMPLE_Q:-}" ] || { echo "PV_DOWNSAMPLE_Q: the test tool is not built" >&2; return 1; }
    influx2 POST /__test/reset >/dev/null
    unset INFLUXDB_API INFLUXDB_URL INFLUXDB_BUCKET_RETENTION
    export INFLUXDB_HOST="$INFLUX2_URL" INFLUXDB_ORG="$INFLUX2_ORG" INFLUXDB_ADMIN_TOKEN="$INFLUX2_TOKEN"
    export TSV_RETRY_BUDGET=3 TSV_RETRY_AFTER_MAX=1 TSV_HTTP_TIMEOUT=2
    cd "$BATS_TEST_TMPDIR"
}

# query TOKEN FILE: POST the Flux in FILE to /api/v2/query; the HTTP status on
# stdout, the answer in $BATS_TEST_TMPDIR/answer
query() {
    curl -sS -o "$BATS_TEST_TMPDIR/answer" -w '%{http_code}' -XPOST \
        -H "Authorization: Token $1" -H 'Content-Type: application/vnd.flux' \
        --data-binary "@$2" "$INFLUX2_URL/api/v2/query?org=$(py -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$INFLUX2_ORG")"
}

# flux EXPR: Python expression on the recorded downsampling queries (F)
flux() { influx2_eval /__test/flux F "$1"; }

# windows ZONE LEVEL TMIN TMAX: pv_windows as [[start, stop] RFC3339] JSON
windows() {
    "$PV_DOWNSAMPLE_Q" windows "$@" | py -c '
import json, sys, time
def t(ns):
    s, f = divmod(int(ns), 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + ("." + ("%09d" % f) if f else "") + "Z"
print(json.dumps([[t(a), t(b)] for a, b in (l.split() for l in sys.stdin)]))'
}

# 2026-03-27T10:00Z .. 2026-04-01T10:00Z: across the change of 2026-03-29 in Paris
TMIN=1774605600000000000
TMAX=1775037600000000000

@test "downsample v2: the read token reads the four buckets; each level's Flux is taken, recorded with its windows, and needs write on the target" {
    local tok lv
    "$TSV_PARSER" token --bucket "site one" >"$BATS_TEST_TMPDIR/tok" 2>"$BATS_TEST_TMPDIR/err"
    tok=$(cat "$BATS_TEST_TMPDIR/tok")
    assert_eq "$(influx2 GET /__test/buckets | py -c 'import json,sys; print(json.load(sys.stdin))')" \
        "['site one', 'site one_1d', 'site one_1h', 'site one_1w']"
    # the read token can read all four, write none
    assert_eq "$(curl -fsS -H "Authorization: Token $tok" "$INFLUX2_URL/api/v2/buckets?org=$INFLUX2_ORG" |
        py -c 'import json,sys; print(sorted(b["name"] for b in json.load(sys.stdin)["buckets"]))')" \
        "['site one', 'site one_1d', 'site one_1h', 'site one_1w']"
    for lv in 1h 1d 1w; do
        "$PV_DOWNSAMPLE_Q" flux Europe/Paris "$lv" "$TMIN" "$TMAX" "$INFLUX2_ORG" "site one" f g >"$BATS_TEST_TMPDIR/$lv.flux"
        # the read token cannot write the level's bucket: InfluxDB's "could not find bucket"
        assert_eq "$(query "$tok" "$BATS_TEST_TMPDIR/$lv.flux")" 404
        assert_contains "$(cat "$BATS_TEST_TMPDIR/answer")" "could not find bucket \\\"site one_$lv\\\""
        # the admin token: taken, answered as a to() query that wrote no row
        assert_eq "$(query "$INFLUX2_TOKEN" "$BATS_TEST_TMPDIR/$lv.flux")" 200
        assert_eq "$(od -An -c "$BATS_TEST_TMPDIR/answer" | tr -s ' ')" ' \r \n'
    done
    assert_eq "$(flux '[(x["from"], x["to"], x["org"], x["fields"]) for x in F]')" \
        "$(py -c 'import json,sys; o=sys.argv[1]; print(json.dumps([("site one", "site one_" + l, o, ["f", "g"]) for l in ("1h", "1d", "1w")]))' "$INFLUX2_ORG")"
    # hours and days: aggregateWindow in the zone over [first start, last end)
    assert_eq "$(flux '[(x["every"], x["zone"]) for x in F]')" '[["1h", "Europe/Paris"], ["1d", "Europe/Paris"], [null, null]]'
    assert_eq "$(flux 'F[0]["windows"]')" "$(windows Europe/Paris 1h "$TMIN" "$TMAX" | py -c 'import json,sys; w=json.load(sys.stdin); print(json.dumps([[w[0][0], w[-1][1]]]))')"
    assert_eq "$(flux 'F[1]["windows"]')" '[["2026-03-26T23:00:00Z", "2026-04-01T22:00:00Z"]]'
    # weeks: one range per ISO week, Monday 00:00 local (168 h, then 167 h across the change)
    assert_eq "$(flux 'F[2]["windows"]')" "$(windows Europe/Paris 1w "$TMIN" "$TMAX")"
    assert_eq "$(flux 'F[2]["windows"]')" '[["2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z"], ["2026-03-29T22:00:00Z", "2026-04-05T22:00:00Z"]]'
}

@test "downsample v2: a POSIX zone is one range per window; hostile names stay string literals" {
    local b='we "ird\ ${x}'
    influx2 POST /__test/buckets "$(py -c 'import json,sys; b=sys.argv[1]; print(json.dumps({"names": [b, b + "_1d"]}))' "$b")" >/dev/null
    "$PV_DOWNSAMPLE_Q" flux 'CET-1CEST,M3.5.0,M10.5.0/3' 1d "$TMIN" "$TMAX" "$INFLUX2_ORG" "$b" 'a"b' >"$BATS_TEST_TMPDIR/q.flux"
    assert_eq "$(query "$INFLUX2_TOKEN" "$BATS_TEST_TMPDIR/q.flux")" 200
    assert_eq "$(flux '[x["from"] for x in F] + [x["to"] for x in F] + F[0]["fields"]')" \
        "$(py -c 'import json,sys; b=sys.argv[1]; print(json.dumps([b, b + "_1d", "a\"b"]))' "$b")"
    assert_eq "$(flux '[x["every"] for x in F]')" '[null]'
    assert_eq "$(flux 'F[0]["windows"]')" "$(windows 'CET-1CEST,M3.5.0,M10.5.0/3' 1d "$TMIN" "$TMAX")"
    assert_eq "$(flux 'len(F[0]["windows"])')" 6
}

@test "downsample v2: the stand-in refuses another shape and a missing target bucket" {
    influx2 POST /__test/buckets '{"names": ["s"]}' >/dev/null
    "$PV_DOWNSAMPLE_Q" flux Europe/Paris 1d "$TMIN" "$TMAX" "$INFLUX2_ORG" s >"$BATS_TEST_TMPDIR/q.flux"
    # s_1d missing
    assert_eq "$(query "$INFLUX2_TOKEN" "$BATS_TEST_TMPDIR/q.flux")" 404
    influx2 POST /__test/buckets '{"names": ["s_1d"]}' >/dev/null
    sed 's/fn: mean/fn: max/' "$BATS_TEST_TMPDIR/q.flux" >"$BATS_TEST_TMPDIR/bad.flux"
    assert_eq "$(query "$INFLUX2_TOKEN" "$BATS_TEST_TMPDIR/bad.flux")" 400
    assert_eq "$(flux 'len(F)')" 0
    assert_eq "$(query "$INFLUX2_TOKEN" "$BATS_TEST_TMPDIR/q.flux")" 200
    assert_eq "$(flux 'len(F)')" 1
}

# a file of DEV, 10-minute rows (local time) from 2026-03-28 22:00 to 2026-03-29 04:00 Paris
dst_file() {
    local rows=() t
    for t in 28/03/26\ 22:00:00 28/03/26\ 23:00:00 29/03/26\ 00:00:00 29/03/26\ 01:00:00 \
        29/03/26\ 01:50:00 29/03/26\ 03:00:00 29/03/26\ 03:10:00; do
        rows+=("$t\t230.5")
    done
    mkfile "$1" "$HDR_MONO_SN" "MV_T302_V002\tPh 1 V" "${rows[@]}"
}

@test "downsample v2: a run recomputes each level over the file's windows, Flux to <bucket>_<level>; a failure is a warning" {
    dst_file "$DEV/a.tsv"
    run_parser -d "$DATA"
    assert_status 0
    assert_file "$DEV/parsed/a.tsv"
    # the file's points: 2026-03-28T21:00Z .. 2026-03-29T01:10Z (the 23-hour day)
    assert_eq "$(rq 'r["files"][0]["downsample"]')" '{"1h": 5, "1d": 2, "1w": 1}'
    assert_eq "$(flux '[(x["from"], x["to"], x["every"], x["zone"], x["fields"]) for x in F]')" \
        '[["acme", "acme_1h", "1h", "Europe/Paris", null], ["acme", "acme_1d", "1d", "Europe/Paris", null], ["acme", "acme_1w", null, null, null]]'
    assert_eq "$(flux '[x["windows"] for x in F]')" \
        '[[["2026-03-28T21:00:00Z", "2026-03-29T02:00:00Z"]], [["2026-03-27T23:00:00Z", "2026-03-29T22:00:00Z"]], [["2026-03-22T23:00:00Z", "2026-03-29T22:00:00Z"]]]'
    assert_eq "$(influx2 GET /__test/buckets | py -c 'import json,sys; print(json.load(sys.stdin)[:4])')" "['acme', 'acme_1d', 'acme_1h', 'acme_1w']"
    # TSV_TIMEZONE moves the windows; one level only
    influx2 POST /__test/reset >/dev/null
    dst_file "$DEV/b.tsv"
    TSV_TIMEZONE=UTC TSV_DOWNSAMPLE_LEVELS=1d run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(flux '[(x["to"], x["zone"], x["windows"]) for x in F]')" \
        '[["acme_1d", "UTC", [["2026-03-28T00:00:00Z", "2026-03-30T00:00:00Z"]]]]'
    # TSV_DOWNSAMPLE=0: no query, no figure
    influx2 POST /__test/reset >/dev/null
    dst_file "$DEV/c.tsv"
    TSV_DOWNSAMPLE=0 run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(flux 'len(F)')" 0
    assert_eq "$(rq '"downsample" in r["files"][0]')" false
    # the server refuses the query: a warning, the file still a success in parsed/
    influx2 POST /__test/reset >/dev/null
    influx2 POST /__test/faults '{"method": "POST", "path": "/api/v2/query", "status": 400, "times": 1}' >/dev/null
    dst_file "$DEV/d.tsv"
    run_parser -d "$DATA" --no-verify
    assert_status 0
    assert_file "$DEV/parsed/d.tsv"
    assert_eq "$(rq 'r["files"][0]["downsample"]')" null
    assert_contains "$(rq 'r["files"][0]["warnings"]')" "not downsampled: downsampling into acme_1h"
    assert_contains "$stderr" "not downsampled"
}

@test "downsample v2: an organization given by its ID: to(orgID:)" {
    local id
    id=$(curl -fsS -H "Authorization: Token $INFLUX2_TOKEN" "$INFLUX2_URL/api/v2/orgs?org=$INFLUX2_ORG" |
        py -c 'import json,sys; print(json.load(sys.stdin)["orgs"][0]["id"])')
    dst_file "$DEV/a.tsv"
    INFLUXDB_ORG=$id TSV_DOWNSAMPLE_LEVELS=1h run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rq 'r["files"][0]["downsample"]')" '{"1h": 5}'
    assert_eq "$(flux '[x["org"] for x in F]')" "[\"$id\"]"
    assert_contains "$(flux 'F[0]["query"]')" "orgID: \"$id\""
}

@test "downsample v2: the files of a run are downsampled together: 10 daily files, one query a level; each file keeps its own figure" {
    local d rows t
    for d in 01 02 03 04 05 06 07 08 09 10; do
        rows=()
        for t in 00:00 06:00 12:00 18:00 23:50; do
            rows+=("$d/06/26 $t:00\t230.5")
        done
        mkfile "$DEV/day$d.tsv" "$HDR_MONO_SN" "MV_T302_V002\tPh 1 V" "${rows[@]}"
    done
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(flux '[(x["to"], x["windows"][0][0], x["windows"][-1][1]) for x in F]')" \
        '[["acme_1h", "2026-05-31T22:00:00Z", "2026-06-10T22:00:00Z"], ["acme_1d", "2026-05-31T22:00:00Z", "2026-06-10T22:00:00Z"], ["acme_1w", "2026-05-31T22:00:00Z", "2026-06-14T22:00:00Z"]]'
    # each file: its own day's windows (24 hours: 00:00 .. 23:50 local)
    assert_eq "$(rq '[x["downsample"] for x in r["files"]] == [{"1h": 24, "1d": 1, "1w": 1}] * 10')" true
    # a stretch that fails: a warning on each of its files, all in parsed/
    # (the group's count query passes, the first downsampling query is refused)
    influx2 POST /__test/reset >/dev/null
    influx2 POST /__test/faults '{"method": "POST", "path": "/api/v2/query", "after": 1, "status": 400, "times": 1}' >/dev/null
    for d in 11 12; do
        mkfile "$DEV/day$d.tsv" "$HDR_MONO_SN" "MV_T302_V002\tPh 1 V" "$d/06/26 12:00:00\t1"
    done
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rq '[x["downsample"] for x in r["files"]]')" '[null, null]'
    assert_eq "$(rq '[w.startswith("not downsampled") for x in r["files"] for w in x["warnings"]]')" '[true, true]'
    assert_file "$DEV/parsed/day11.tsv"
    assert_file "$DEV/parsed/day12.tsv"
}
