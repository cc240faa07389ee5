#!/usr/bin/env bats
# Downsampling against real InfluxDB 1.x (Debian's influxd): the windows of
# src/map/windows.c and the InfluxQL built for them (tests/tools/pv_downsample_q)
# write, for every touched window and series, the mean an independent query
# computes from the raw points; local days last 23/24/25 hours around the
# DST changes; running the statements again changes nothing.

load helpers
load ../servers/servers

setup_file() {
    start_influx1 "$BATS_FILE_TMPDIR/influx1"
}

setup() {
    common_setup
    [ -x "${PV_DOWNSAMPLE_Q:-}" ] || { echo "PV_DOWNSAMPLE_Q: the test tool is not built" >&2; return 1; }
}

# q STATEMENTS: POST to /query, the JSON answer on stdout; fails on an error in it
q() {
    curl -fsS -XPOST "$INFLUX1_URL/query" --data-urlencode "q=$1" |
        tee "$BATS_TEST_TMPDIR/answer.json" | python3 -c '
import json, sys
a = json.load(sys.stdin)
bad = [r["error"] for r in a.get("results", []) if "error" in r]
sys.exit("query error: %s" % bad if bad else 0)'
}

# raw points: two series (a tag value with a space and a quote), fields f and
# "p f", every 10 minutes from 2026-03-27 to 2026-04-01 and 2026-10-23 to 2026-10-28 UTC
write_raw() {
    python3 - "$1" <<'PY' >"$BATS_TEST_TMPDIR/raw.lp"
import datetime as d, sys
for a, b in (((2026, 3, 27), (2026, 4, 1)), ((2026, 10, 23), (2026, 10, 28))):
    t = int(d.datetime(*a, tzinfo=d.timezone.utc).timestamp())
    te = int(d.datetime(*b, tzinfo=d.timezone.utc).timestamp())
    while t < te:
        for k, dev in enumerate(("A", 'B\\ "q')):
            v = (t * 7919 + k * 104729) % 1000 / 10.0
            # two files share each series: the mean is over both, and has no file_name
            fn = ("a.tsv", "b.tsv")[t // 600 % 2]
            print(f'electrical,device={dev},campaign=c1,file_name={fn} f={v},p\\ f={v * 2 + 1} {t}000000000')
        t += 600
PY
    curl -fsS -XPOST "$INFLUX1_URL/write?db=$1" --data-binary "@$BATS_TEST_TMPDIR/raw.lp"
}

# check DB LEVEL TMIN TMAX: builds and runs the statements, then compares every
# window and series with an independent mean of the raw points
check_level() {
    local db=$1 lv=$2 tmin=$3 tmax=$4 stmts
    "$PV_DOWNSAMPLE_Q" windows Europe/Paris "$lv" "$tmin" "$tmax" >"$BATS_TEST_TMPDIR/windows.$lv"
    stmts=$("$PV_DOWNSAMPLE_Q" influxql Europe/Paris "$lv" "$tmin" "$tmax" "$db" f "p f" -- campaign device)
    q "$stmts"
    python3 - "$INFLUX1_URL" "$db" "$lv" "$BATS_TEST_TMPDIR/windows.$lv" <<'PY'
import json, sys, urllib.parse, urllib.request
url, db, lv, wfile = sys.argv[1:]
def query(s):
    body = urllib.parse.urlencode({"q": s, "epoch": "ns"}).encode()
    r = json.load(urllib.request.urlopen(url + "/query", body))["results"][0]
    assert "error" not in r, r
    return r.get("series", [])
wins = [tuple(map(int, l.split())) for l in open(wfile)]
# every downsampled point, by (device, time)
down = {}
n = 0
for s in query(f'SELECT "f", "p f" FROM "{db}_{lv}"."autogen"."electrical" GROUP BY "device"'):
    for t, f, pf in s["values"]:
        down[(s["tags"]["device"], t)] = (f, pf)
        n += 1
assert n == len(down), (lv, "several points a series and window", n, len(down))
keys = [v[0] for s in query(f'SHOW TAG KEYS ON "{db}_{lv}"') for v in s["values"]]
assert sorted(keys) == ["campaign", "device"], keys
expected = {}
for a, b in wins:
    for s in query(f'SELECT mean("f"), mean("p f"), count("f") FROM "{db}"."autogen"."electrical" '
                   f'WHERE time >= {a} AND time < {b} GROUP BY "device"'):
        _, f, pf, n = s["values"][0]
        if n:
            expected[(s["tags"]["device"], a)] = (f, pf)
assert set(down) == set(expected), (lv, sorted(set(down) ^ set(expected))[:6])
for k, (f, pf) in expected.items():
    g = down[k]
    assert abs(g[0] - f) < 1e-9 and abs(g[1] - pf) < 1e-9, (lv, k, g, (f, pf))
print(lv, len(wins), "windows,", len(down), "points checked")
PY
}

@test "v1 downsampling: every touched window holds the independent mean; days of 23/25 h; idempotent" {
    local db="ds co" tmin tmax lv
    tmin=$(date -d 2026-03-27T00:00Z +%s)000000000
    tmax=$(date -d 2026-10-27T23:50Z +%s)000000000
    for lv in "" _1h _1d _1w; do
        q "CREATE DATABASE \"$db$lv\""
    done
    write_raw "$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$db")"
    # hours and days over the spring change only (keeps the 1h check short), weeks over both
    check_level "$db" 1h "$tmin" "$(date -d 2026-03-31T23:50Z +%s)000000000"
    check_level "$db" 1d "$tmin" "$tmax"
    check_level "$db" 1w "$tmin" "$tmax"
    # local days of 23 and 25 hours, starting at local midnight
    run python3 -c '
import sys
w = dict(map(int, l.split()) for l in open(sys.argv[1]))
print(*((w[int(t) * 10**9] - int(t) * 10**9) // 3600 // 10**9 for t in sys.argv[2:]))' \
        "$BATS_TEST_TMPDIR/windows.1d" "$(date -d 2026-03-27T23:00Z +%s)" "$(date -d 2026-03-28T23:00Z +%s)" \
        "$(date -d 2026-10-24T22:00Z +%s)" "$(date -d 2026-10-25T23:00Z +%s)"
    assert_eq "$output" "24 23 25 24"
    # the repeated hour: two 1-hour windows in a row
    run "$PV_DOWNSAMPLE_Q" windows Europe/Paris 1h \
        "$(date -d 2026-10-25T00:30Z +%s)000000000" "$(date -d 2026-10-25T01:30Z +%s)000000000"
    assert_eq "$output" "$(date -d 2026-10-25T00:00Z +%s)000000000 $(date -d 2026-10-25T01:00Z +%s)000000000
$(date -d 2026-10-25T01:00Z +%s)000000000 $(date -d 2026-10-25T02:00Z +%s)000000000"
    # again: same series and timestamps, nothing added
    local before after
    q "SELECT count(\"f\") FROM \"${db}_1d\".\"autogen\".\"electrical\""
    before=$(cat "$BATS_TEST_TMPDIR/answer.json")
    check_level "$db" 1d "$tmin" "$tmax"
    q "SELECT count(\"f\") FROM \"${db}_1d\".\"autogen\".\"electrical\""
    after=$(cat "$BATS_TEST_TMPDIR/answer.json")
    assert_eq "$after" "$before"
    [[ "$after" == *'"count"],"values":[["1970-01-01T00:00:00Z",24]]'* ]]
}
