#!/usr/bin/env bats
# The InfluxDB 2 sink (INFLUXDB_API=v2, the default) against
# tests/servers/influx2.py, the InfluxDB 2 stand-in: buckets, writes,
# retries, faults, verification by Flux, the run summary, .env settings.
# One stand-in for the file; every test starts from POST /__test/reset.

load helpers
load ../servers/servers

setup_file() {
    start_influx2 "$BATS_FILE_TMPDIR/influx2"
    export INFLUX2_LOG="$BATS_FILE_TMPDIR/influx2/influx2.log"
}

setup() {
    common_setup
    influx2 POST /__test/reset >/dev/null
    unset INFLUXDB_API INFLUXDB_URL TSV_META_BUCKET INFLUXDB_BUCKET_RETENTION TSV_BATCH_LINES \
        TSV_BATCH_BYTES TSV_GZIP TSV_HTTP_CONNECT_TIMEOUT TSV_HTTP_ANSWER_TIMEOUT
    export INFLUXDB_HOST="$INFLUX2_URL" INFLUXDB_ORG="$INFLUX2_ORG" INFLUXDB_ADMIN_TOKEN="$INFLUX2_TOKEN"
    export TSV_RETRY_BUDGET=3 TSV_RETRY_AFTER_MAX=1 TSV_HTTP_TIMEOUT=2
}

# ---- helpers

examples() {
    cp -R "$BATS_TEST_DIRNAME/../../examples/data/." "$DATA/"
}

# mkseries PATH N: a mono master file (one channel, U1) of N rows, one a
# minute from 05/01/26 00:00:00 (Europe/Paris, winter), values 0..N-1.
mkseries() {
    mkdir -p "$(dirname "$1")"
    py -c '
import datetime, sys
t = datetime.datetime(2026, 1, 5)
out = ["02001171\t02001171", "MV_T302_V002\tPh 1 V"]
for i in range(int(sys.argv[2])):
    out.append((t + datetime.timedelta(minutes=i)).strftime("%d/%m/%y %H:%M:%S") + "\t%d" % i)
open(sys.argv[1], "w").write("\n".join(out) + "\n")
' "$1" "$2"
}

# pts BUCKET: points the stand-in holds in BUCKET ("no bucket" when absent)
pts() {
    curl -sS "$INFLUX2_URL/__test/points?bucket=$1" |
        py -c 'import json,sys; j = json.load(sys.stdin); print(j["count"] if "count" in j else "no bucket")'
}

# rlog EXPR: Python expression on the stand-in's request log. R: every
# request; W: the POST /api/v2/write to bucket acme; Q: the POST /api/v2/query.
rlog() {
    influx2 GET /__test/requests | py -c '
import json, sys
R = json.load(sys.stdin)
W = [x for x in R if x["method"] == "POST" and x["path"] == "/api/v2/write" and x["query"].get("bucket") == "acme"]
Q = [x for x in R if x["path"] == "/api/v2/query" and not x.get("to")]  # counts
D = [x for x in R if x["path"] == "/api/v2/query" and x.get("to")]      # downsampling
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# tagset BUCKET TAG...: the distinct values (as written, escaped) of these
# tags over the points of BUCKET, as a sorted JSON list of lists
tagset() {
    local b=$1
    shift
    influx2 GET "/__test/points?bucket=$b" | py -c '
import json, re, sys
seen = set()
for line in json.load(sys.stdin)["lines"]:
    key = re.split(r"(?<!\\) ", line)[0]
    tags = dict(p.split("=", 1) for p in re.split(r"(?<!\\),", key)[1:])
    seen.add(tuple(tags.get(t) for t in sys.argv[1:]))
print(json.dumps(sorted(seen)))' "$@"
}

# fault JSON: queue fault rule(s)
fault() {
    influx2 POST /__test/faults "$1" >/dev/null
}

# lp_of FILE: the line protocol tsv_parser makes of FILE (a copy under
# $BATS_TEST_TMPDIR/lp, same company/campaign/device/name), on stdout
lp_of() {
    local rel=${1#"$DATA"/} d="$BATS_TEST_TMPDIR/lp"
    mkdir -p "$d/$(dirname "$rel")"
    cp "$1" "$d/$rel"
    "$TSV_PARSER" -d "$d" -t "$d/$rel" --output "$BATS_TEST_TMPDIR/lp.out" 2>/dev/null >/dev/null
    cat "$BATS_TEST_TMPDIR/lp.out"
    rm -rf "$d" "$BATS_TEST_TMPDIR/lp.out"
}

# assert_kept FILE: FILE is still in place; no parsed/ nor error/ beside it
assert_kept() {
    assert_file "$1"
    assert_no_file "$(dirname "$1")/parsed"
    assert_no_file "$(dirname "$1")/error"
}

# ---- the whole example set

@test "v2: every example file lands in its company's bucket, verified, and the run summary goes to powerview_meta" {
    examples
    run_parser -d "$DATA"
    assert_status 65
    assert_eq "$(rq 'r["nb_points_total"]')" 5717
    assert_eq "$(rq '[x["status"] for x in r["files"]]')" \
        '["success", "success", "success", "error", "error", "success"]'
    assert_eq "$(rq '[(x["nb_points"], x["nb_points_expected"], x["nb_points_in_influx"]) for x in r["files"] if x["status"] == "success"]')" \
        '[[2700, 2700, 2700], [2592, 2592, 2592], [246, 246, 246], [179, 179, 179]]'
    assert_eq "$(pts acme)" 5538
    assert_eq "$(pts bertin)" 179
    # every file moved, the report says where
    assert_eq "$(rq '[x["destination"].split("/")[-2] for x in r["files"]]')" \
        '["parsed", "parsed", "parsed", "error", "error", "parsed"]'
    assert_eq "$(find "$DATA" -name '*.tsv' -not -path '*/parsed/*' -not -path '*/error/*' | wc -l)" 0
    assert_eq "$(find "$DATA" -path '*/parsed/*.tsv' | wc -l)" 4
    assert_eq "$(find "$DATA" -path '*/error/*.tsv' | wc -l)" 2
    # the run summary: one tsv_parser_run line and one tsv_parser_file line per file, one write
    assert_eq "$(rlog '[x["lines"] for x in R if x["path"] == "/api/v2/write" and x["query"].get("bucket") == "powerview_meta"]')" '[7]'
    local summary
    summary=$(influx2 GET '/__test/points?bucket=powerview_meta' | py -c '
import json, re, sys
report = json.load(open(sys.argv[1]))
groups = {}
for line in json.load(sys.stdin)["lines"]:
    key, field, ts = re.split(r"(?<!\\) ", line)
    parts = re.split(r"(?<!\\),", key)
    tags = dict(p.split("=", 1) for p in parts[1:])
    k, v = field.split("=", 1)
    g = groups.setdefault((parts[0], tuple(sorted(tags.items())), ts), {"tags": tags, "fields": {}})
    g["fields"][k] = v
runs = [g for (m, _, _), g in groups.items() if m == "tsv_parser_run"]
files = [g for (m, _, _), g in groups.items() if m == "tsv_parser_file"]
print(len(runs), len(files))
run = runs[0]
print(run["tags"]["status"], " ".join("%s=%s" % kv for kv in sorted(run["fields"].items()) if kv[0] not in ("duration_s",)))
exp = sorted((x["file_path"].split("/")[-1], x["bucket"], x["status"], "%di" % x["nb_points"],
              "%di" % x["nb_rows"], "%di" % x["nb_channels"], "%di" % x["nb_invalid_timestamps"],
              "%di" % x["nb_invalid_values"], "%di" % x["nb_malformed_rows"]) for x in report["files"])
got = sorted((g["tags"]["file_name"], g["tags"]["bucket"], g["tags"]["status"], g["fields"]["nb_points"],
              g["fields"]["nb_rows"], g["fields"]["nb_channels"], g["fields"]["nb_invalid_timestamps"],
              g["fields"]["nb_invalid_values"], g["fields"]["nb_malformed_rows"]) for g in files)
print("files match" if exp == got else "files differ: %r != %r" % (got, exp))
' "$(report_path)")
    assert_eq "$summary" "1 6
partial_failure base_folder=\"$DATA\" nb_files_failed=2i nb_files_pending=0i nb_files_success=4i nb_files_total=6i nb_points_total=5717i
files match"
}

# ---- buckets

@test "v2: a bucket the run creates gets its InfluxQL mapping; a refused mapping is a warning, the file still lands" {
    mkseries "$DATA/acme/camp/$SN/a.tsv" 3
    mkseries "$DATA/bertin/camp/$SN/b.tsv" 2
    # the mapping of the first bucket made (acme, in path order) is refused once
    fault '{"path": "/api/v2/dbrps", "method": "POST", "status": 403, "body": {"code": "forbidden", "message": "boom"}}'
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(pts acme)" 3
    assert_eq "$(pts bertin)" 2
    assert_contains "$stderr" "[WARNING] tsv_parser: bucket acme: no InfluxQL mapping: DBRP mapping creation: HTTP 403"
    assert_contains "$stderr" "created the InfluxQL mapping of bucket bertin"
    local oid
    oid=$(influx2 GET /__test/requests >/dev/null; curl -fsS -H "Authorization: Token $INFLUX2_TOKEN" \
        "$INFLUX2_URL/api/v2/orgs?org=$INFLUX2_ORG" | py -c 'import json,sys; print(json.load(sys.stdin)["orgs"][0]["id"])')
    # physical mappings: bertin, the downsampled buckets (issue 14) and the meta bucket,
    # never acme's (refused), nothing else
    assert_eq "$(curl -fsS -H "Authorization: Token $INFLUX2_TOKEN" "$INFLUX2_URL/api/v2/dbrps?orgID=$oid" |
        py -c 'import json,sys; print(sorted((m["database"], m["retention_policy"], m["default"]) for m in json.load(sys.stdin)["content"] if not m["virtual"]))')" \
        "[('acme_1d', 'autogen', True), ('acme_1h', 'autogen', True), ('acme_1w', 'autogen', True), ('bertin', 'autogen', True), ('bertin_1d', 'autogen', True), ('bertin_1h', 'autogen', True), ('bertin_1w', 'autogen', True), ('powerview_meta', 'autogen', True)]"
}

@test "v2: a company whose files are all broken gets no bucket" {
    mkfile "$DATA/junk/camp1/$SN/empty.tsv"
    mkfile "$DATA/junk/camp1/$SN/t202.tsv" "$HDR_MONO_SN" 'MV_T202_V002\tPh 1 V' '05/01/26 10:00:00\t1'
    run_parser -d "$DATA"
    assert_status 65
    assert_eq "$(rq '[x["status"] for x in r["files"]]')" '["error", "error"]'
    assert_eq "$(influx2 GET /__test/buckets | py -c 'import json,sys; print(json.load(sys.stdin))')" "['powerview_meta']"
    assert_eq "$(rlog '[x["query"].get("name") for x in R if x["path"] == "/api/v2/buckets"]')" '["powerview_meta", null]'
}

@test "v2: among 45 existing buckets the company's is found: only its downsampled buckets are created" {
    influx2 POST /__test/buckets "$(py -c '
import json
names = ["a-%02d" % i for i in range(21)] + ["acme"] + ["b-%02d" % i for i in range(22)] + ["powerview_meta"]
assert len(names) == 45
print(json.dumps({"names": names}))')" >/dev/null
    mkseries "$DEV/a.tsv" 30
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rlog 'len([x for x in R if x["method"] == "POST" and x["path"] == "/api/v2/buckets"])')" 3
    assert_eq "$(influx2 GET /__test/buckets | py -c 'import json,sys; print(sorted(set(json.load(sys.stdin)) - {"a-%02d" % i for i in range(21)} - {"b-%02d" % i for i in range(22)}))')" \
        "['acme', 'acme_1d', 'acme_1h', 'acme_1w', 'powerview_meta']"
    assert_eq "$(pts acme)" 30
    assert_eq "$(rq 'f["nb_points_in_influx"]')" 30
    assert_eq "$(influx2 GET /__test/buckets | py -c 'import json,sys; print(len(json.load(sys.stdin)))')" 48
}

# ---- retries

@test "v2: 503 with Retry-After twice, then the write goes through" {
    mkseries "$DEV/a.tsv" 50
    fault '{"path": "/api/v2/write", "method": "POST", "status": 503, "headers": {"Retry-After": "1"}, "times": 2}'
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(pts acme)" 50
    assert_eq "$(rq 'f["nb_points_in_influx"]')" 50
    assert_eq "$(rlog '[x["status"] for x in W]')" '[503, 503, 204]'
    assert_file "$DEV/parsed/a.tsv"
}

@test "v2: 429, 500, 502 and 504 once each on a write are all retried" {
    export TSV_RETRY_BUDGET=10
    mkseries "$DEV/a.tsv" 50
    fault '[{"path": "/api/v2/write", "status": 429}, {"path": "/api/v2/write", "status": 500},
            {"path": "/api/v2/write", "status": 502}, {"path": "/api/v2/write", "status": 504}]'
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rlog '[x["status"] for x in W]')" '[429, 500, 502, 504, 204]'
    assert_eq "$(pts acme)" 50
    assert_eq "$(rq 'f["nb_points_in_influx"]')" 50
}

@test "v2: retry budget exhausted: exit 75, file kept and pending; the rerun stores every point once" {
    export TSV_RETRY_BUDGET=1
    mkseries "$DEV/a.tsv" 120
    fault '{"path": "/api/v2/write", "status": 503, "times": -1}'
    run_parser -d "$DATA"
    assert_status 75
    assert_kept "$DEV/a.tsv"
    assert_eq "$(rq 'f["status"]')" pending
    assert_contains "$(rq 'f["error"]')" "unavailable"
    assert_eq "$(rq 'r["nb_files_success"]')" 0
    assert_eq "$(pts acme)" 0
    # the faults go; part of the file is already in the bucket (an earlier, cut run)
    influx2 POST /__test/reset >/dev/null
    influx2 POST /__test/buckets '{"names": ["acme"]}' >/dev/null
    lp_of "$DEV/a.tsv" | head -n 70 >"$BATS_TEST_TMPDIR/half.lp"
    curl -fsS -XPOST "$INFLUX2_URL/api/v2/write?org=$INFLUX2_ORG&bucket=acme&precision=s" \
        -H "Authorization: Token $INFLUX2_TOKEN" --data-binary @"$BATS_TEST_TMPDIR/half.lp"
    assert_eq "$(pts acme)" 70
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(pts acme)" 120
    assert_eq "$(rq '(f["status"], f["nb_points"], f["nb_points_in_influx"])')" '["success", 120, 120]'
    assert_file "$DEV/parsed/a.tsv"
}

@test "v2: 503 with Retry-After: 0 for ever: the retry budget still ends the retries (exit 75)" {
    export TSV_RETRY_BUDGET=1
    mkseries "$DEV/a.tsv" 10
    fault '{"path": "/api/v2/write", "status": 503, "headers": {"Retry-After": "0"}, "times": -1}'
    # a budget of 1 s ends it; without one it would retry for ever: timeout(1)
    # answers 124 then (60 s: ample even under valgrind on a loaded machine)
    run --separate-stderr timeout 60 "$TSV_PARSER" -d "$DATA"
    stderr="$(printf '%s\n' "$stderr" | grep -c retrying) retry warnings, the last: $(printf '%s\n' "$stderr" | grep retrying | tail -n 1)"
    assert_status 75
    assert_kept "$DEV/a.tsv"
    assert_eq "$(rq 'f["status"]')" pending
}

@test "v2: a Retry-After above TSV_RETRY_AFTER_MAX waits TSV_RETRY_AFTER_MAX only" {
    mkseries "$DEV/a.tsv" 10
    fault '{"path": "/api/v2/write", "status": 503, "headers": {"Retry-After": "3600"}}'
    run_parser -d "$DATA"
    assert_status 0
    assert_contains "$stderr" "retrying in 1.0 s"
    assert_eq "$(rlog '[x["status"] for x in W]')" '[503, 204]'
    assert_eq "$(pts acme)" 10
}

@test "v2: database unreachable: exit 75, every file kept, only the first one waits out the budget" {
    examples
    INFLUXDB_HOST="http://127.0.0.1:$(free_port)" run_parser -d "$DATA"
    assert_status 75
    # the first file retried and gave up; the others were not even read
    assert_eq "$(rq '[x["status"] for x in r["files"]]')" \
        '["pending", "pending", "pending", "pending", "pending", "pending"]'
    assert_eq "$(find "$DATA" -path '*/parsed*' -o -path '*/error*' | wc -l)" 0
    assert_eq "$(find "$DATA" -name '*.tsv' | wc -l)" 6
    assert_contains "$stderr" "retrying"
    assert_contains "$(rq 'r["files"][0]["error"]')" "unavailable after"
    assert_eq "$(rq '[x["error"].startswith("database unavailable: not tried (GET http") for x in r["files"]]')" \
        '[false, true, true, true, true, true]'
    # the company of a file not read is still in the report
    assert_eq "$(rq 'sorted(set(x["bucket"] for x in r["files"]))')" '["acme", "bertin"]'
    assert_contains "$stderr" "cannot write the run summary to powerview_meta: database unavailable: not tried"
}

@test "v2: a refused port with the default budget: a few attempts, exit 75, files in place" {
    unset TSV_RETRY_BUDGET TSV_RETRY_AFTER_MAX TSV_HTTP_TIMEOUT
    mkmany "$DEV" 50
    INFLUXDB_HOST="http://127.0.0.1:$(free_port)" run_parser -d "$DATA"
    assert_status 75
    assert_eq "$(find "$DEV" -maxdepth 1 -name '*.tsv' | wc -l)" 50
    assert_no_file "$DEV/parsed"
    # nothing ever listened: no 120 s budget, a few seconds of attempts (here at most 5)
    assert_eq "$(rq 'r["files"][0]["error"].split(" attempts")[0].split(" ")[-1] in ("1", "2", "3", "4", "5")')" true
    assert_contains "$(rq 'r["files"][0]["error"]')" "connect"
    assert_eq "$(rq '[x["status"] for x in r["files"]] == ["pending"] * 50')" true
    assert_eq "$(rq 'sum(x["error"].startswith("database unavailable: not tried") for x in r["files"])')" 49
}

@test "v2: downsampled buckets refused: a warning each run, the file lands, exit 0; they have no expiry" {
    export INFLUXDB_BUCKET_RETENTION=86400
    influx2 POST /__test/buckets '{"names": ["acme", "powerview_meta"]}' >/dev/null
    fault '{"path": "/api/v2/buckets", "method": "POST", "status": 403, "times": 1, "body": {"code": "forbidden", "message": "nope"}}'
    mkseries "$DEV/a.tsv" 4
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(pts acme)" 4
    assert_contains "$stderr" "[WARNING] tsv_parser: bucket acme: downsampled buckets: bucket creation: HTTP 403"
    # the next run makes them, without the raw bucket's retention
    mkseries "$DEV/b.tsv" 2
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(influx2 GET /__test/buckets | py -c 'import json,sys; print(json.load(sys.stdin))')" \
        "['acme', 'acme_1d', 'acme_1h', 'acme_1w', 'powerview_meta']"
    local b
    for b in acme_1h acme_1d acme_1w; do
        assert_eq "$(curl -fsS -H "Authorization: Token $INFLUX2_TOKEN" "$INFLUX2_URL/api/v2/buckets?org=$INFLUX2_ORG&name=$b" |
            py -c 'import json,sys; print([r for r in json.load(sys.stdin)["buckets"][0]["retentionRules"] if r.get("everySeconds")])')" "[]"
    done
}

@test "v2: a server that takes requests and never answers: 50 files, exit 75, all kept, a bounded number of writes" {
    export TSV_HTTP_ANSWER_TIMEOUT=1 TSV_RETRY_BUDGET=3
    mkmany "$DEV" 50
    fault '{"path": "/api/v2/write", "action": "hang", "times": -1}'
    run_parser -d "$DATA"
    assert_status 75
    assert_eq "$(find "$DEV" -maxdepth 1 -name '*.tsv' | wc -l)" 50
    assert_no_file "$DEV/parsed"
    assert_no_file "$DEV/error"
    assert_eq "$(rq '[x["status"] for x in r["files"]] == ["pending"] * 50')" true
    assert_contains "$(rq 'r["files"][0]["error"]')" "no answer within 1 s"
    assert_eq "$(rq 'sum(x["error"].startswith("database unavailable: not tried") for x in r["files"])')" 49
    # one budget for the run: the first file's write, tried again while the budget
    # allowed; nothing after it, not even the run summary
    assert_eq "$(rlog '0 < len(W) <= 3')" true
    assert_eq "$(rlog '[x["path"] for x in R if x["path"] != "/api/v2/write"]')" \
        "$(py -c 'import json; print(json.dumps(["/api/v2/orgs"] + ["/api/v2/buckets", "/api/v2/buckets", "/api/v2/dbrps", "/api/v2/dbrps"] * 4))')"
    assert_eq "$(rlog 'len([x for x in R if x["path"] == "/api/v2/write"]) == len(W)')" true
    assert_contains "$stderr" "cannot write the run summary to powerview_meta: database unavailable: not tried"
    # the server back: the next run takes all 50 files
    influx2 POST /__test/reset >/dev/null
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(find "$DEV/parsed" -name '*.tsv' | wc -l)" 50
    assert_eq "$(pts acme)" 100
}

# ---- splitting and refusals

@test "v2: 413 on a write: the batch is split in halves and every point lands" {
    mkseries "$DEV/a.tsv" 246
    fault '{"path": "/api/v2/write", "status": 413}'
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rlog '[(x["status"], x["lines"]) for x in W]')" '[[413, null], [204, 123], [204, 123]]'
    assert_eq "$(pts acme)" 246
    assert_eq "$(rq 'f["nb_points_in_influx"]')" 246

    # the same, plain text; a 413 on the first half too: quarters
    influx2 POST /__test/reset >/dev/null
    mkseries "$DEV/b.tsv" 246
    fault '[{"path": "/api/v2/write", "status": 413, "times": 2}]'
    TSV_GZIP=0 run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rlog '[(x["status"], x["lines"], x["content_encoding"]) for x in W]')" \
        '[[413, null, null], [413, null, null], [204, 61, null], [204, 62, null], [204, 123, null]]'
    assert_eq "$(pts acme)" 246
    assert_eq "$(rq 'f["nb_points_in_influx"]')" 246
}

@test "v2: 400 quoting line 2: the file goes to error/ with the server's message" {
    mkseries "$DEV/a.tsv" 5
    local line2
    line2=$(lp_of "$DEV/a.tsv" | sed -n 2p)
    [ -n "$line2" ]
    fault '{"path": "/api/v2/write", "status": 400, "line": 2}'
    run_parser -d "$DATA"
    assert_status 65
    assert_eq "$(rq 'f["status"]')" error
    assert_contains "$(rq 'f["error"]')" "HTTP 400"
    assert_contains "$(rq 'f["error"]')" "unable to parse '$line2': invalid field format"
    assert_no_file "$DEV/a.tsv"
    assert_file "$DEV/error/a.tsv"
    assert_eq "$(rlog 'len(W)')" 1
}

@test "v2: 422 field type conflict: the file goes to error/ with the server's reason" {
    influx2 POST /__test/buckets '{"names": ["acme"]}' >/dev/null
    curl -fsS -XPOST "$INFLUX2_URL/api/v2/write?org=$INFLUX2_ORG&bucket=acme&precision=s" \
        -H "Authorization: Token $INFLUX2_TOKEN" --data-binary 'electrical M02001171_U1_M02001171_V="text" 1767600000'
    mkseries "$DEV/a.tsv" 5
    run_parser -d "$DATA"
    assert_status 65
    assert_eq "$(rq 'f["status"]')" error
    assert_contains "$(rq 'f["error"]')" "HTTP 422"
    assert_contains "$(rq 'f["error"]')" 'field type conflict: input field "M02001171_U1_M02001171_V" on measurement "electrical" is type float, already exists as type string'
    assert_file "$DEV/error/a.tsv"
    assert_eq "$(pts acme)" 1
}

# ---- configuration errors

@test "v2: a wrong token: exit 78, nothing moved, nothing reported as stored" {
    examples
    INFLUXDB_ADMIN_TOKEN=not-the-token run_parser -d "$DATA"
    assert_status 78
    assert_contains "$stderr" "401"
    assert_eq "$(find "$DATA" -path '*/parsed*' -o -path '*/error*' | wc -l)" 0
    assert_eq "$(find "$DATA" -name '*.tsv' | wc -l)" 6
    assert_eq "$(rq '(r["nb_files_success"], r["nb_points_total"], [x["status"] for x in r["files"]])')" '[0, 0, ["pending"]]'
    assert_eq "$(rlog '[(x["path"], x["status"], x["auth"]) for x in R]')" '[["/api/v2/orgs", 401, "bad"]]'
}

@test "v2: an unknown organization: exit 78 naming the organization" {
    mkseries "$DEV/a.tsv" 5
    INFLUXDB_ORG=no-such-org run_parser -d "$DATA"
    assert_status 78
    assert_contains "$stderr" "organization no-such-org not found"
    assert_kept "$DEV/a.tsv"
    assert_eq "$(influx2 GET /__test/buckets)" "[]"
}

# ---- connection trouble

@test "v2: a connection dropped mid-request is retried" {
    mkseries "$DEV/a.tsv" 100
    fault '{"path": "/api/v2/write", "action": "drop_mid"}'
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rlog '[(x.get("fault"), x["status"]) for x in W]')" '[["drop_mid", null], [null, 204]]'
    assert_eq "$(pts acme)" 100
    assert_eq "$(rq 'f["nb_points_in_influx"]')" 100
}

@test "v2: a write met by silence is tried again while another silence fits in the budget" {
    export TSV_HTTP_ANSWER_TIMEOUT=1 TSV_RETRY_BUDGET=5
    mkseries "$DEV/a.tsv" 20
    fault '{"path": "/api/v2/write", "action": "hang"}'
    run_parser -d "$DATA"
    assert_status 0
    assert_contains "$stderr" "no answer within 1 s; retrying in"
    assert_eq "$(rlog '[(x.get("fault"), x["status"]) for x in W]')" '[["hang", null], [null, 204]]'
    assert_eq "$(rq '(f["status"], f["nb_points_in_influx"])')" '["success", 20]'
    # a budget with no room for a second silence: one attempt, given up
    influx2 POST /__test/reset >/dev/null
    mkseries "$DEV/b.tsv" 20
    fault '{"path": "/api/v2/write", "action": "hang"}'
    TSV_RETRY_BUDGET=1.5 run_parser -d "$DATA"
    assert_status 75
    assert_contains "$(rq 'f["error"]')" "unavailable after 1 attempts (no answer within 1 s)"
    assert_file "$DEV/b.tsv"
    assert_no_file "$DEV/parsed/b.tsv"
}

@test "v2: an answer slower than TSV_HTTP_TIMEOUT times out and is retried" {
    export TSV_HTTP_TIMEOUT=1
    mkseries "$DEV/a.tsv" 100
    fault '{"path": "/api/v2/write", "delay": 3}'
    run_parser -d "$DATA"
    assert_status 0
    assert_contains "$stderr" "timed out"
    assert_eq "$(rq '(f["status"], f["nb_points_in_influx"])')" '["success", 100]'
    # the slow request ends on the server side 3 s after it began
    local n=50
    while [ "$(rlog 'len(W)')" -lt 2 ] && [ "$n" -gt 0 ]; do
        sleep 0.1
        n=$((n - 1))
    done
    assert_eq "$(rlog '[x.get("fault") for x in W]')" '[null, "delay"]'
    assert_eq "$(rlog 'W[0]["status"]')" 204
    assert_eq "$(pts acme)" 100
}

@test "v2: an answer larger than 1 MiB (128 MiB, with Content-Length or chunked): exit 75, file kept, memory bounded" {
    mkseries "$DEV/a.tsv" 10
    local chunked peak
    for chunked in false true; do
        influx2 POST /__test/reset >/dev/null
        fault "{\"path\": \"/api/v2/write\", \"status\": 200, \"big_body\": 134217728, \"chunked\": $chunked, \"times\": -1}"
        run_parser -d "$DATA"
        assert_status 75
        assert_kept "$DEV/a.tsv"
        assert_contains "$stderr" "a.tsv: pending: POST $INFLUX2_URL/api/v2/write?org=$INFLUX2_ORG&bucket=acme&precision=s: HTTP 200 with an answer larger than 1048576 bytes: not read"
        assert_eq "$(rq '(f["status"], r["nb_files_success"])')" '["pending", 0]'
        # a failed request, not retried: one write to acme
        assert_eq "$(rlog 'len(W)')" 1
        # the peak memory of tsv_parser itself (not valgrind's), well below the answer's 128 MiB
        run --separate-stderr /usr/bin/time -f 'peak %M KiB' "${TSV_PARSER_REAL:-$TSV_PARSER}" -d "$DATA"
        assert_status 75
        peak=$(printf '%s\n' "$stderr" | sed -n 's/^peak \([0-9]*\) KiB$/\1/p')
        [ -n "$peak" ] && [ "$peak" -lt 49152 ] || { echo "chunked=$chunked: peak RSS ${peak:-?} KiB" >&2; return 1; }
        assert_kept "$DEV/a.tsv"
    done
}

# ---- batching and compression

@test "v2: writes are gzip by default, plain with TSV_GZIP=0 or auto (loopback); TSV_BATCH_LINES=100 makes 10 writes of 1000 points" {
    mkseries "$DEV/a.tsv" 1000
    TSV_BATCH_LINES=100 run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rlog '[[x["content_encoding"], x["lines"], x["status"]] for x in W] == [["gzip", 100, 204]] * 10')" true
    assert_eq "$(rlog 'sorted(set(x["content_encoding"] for x in R if x["path"] == "/api/v2/write"))')" '["gzip"]'
    assert_eq "$(pts acme)" 1000
    assert_eq "$(rq 'f["nb_points_in_influx"]')" 1000

    influx2 POST /__test/reset >/dev/null
    mkseries "$DEV/b.tsv" 1000
    TSV_GZIP=0 run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rlog '[(x["content_encoding"], x["lines"]) for x in W]')" '[[null, 1000]]'
    assert_eq "$(rlog 'sorted(set(str(x["content_encoding"]) for x in R if x["path"] == "/api/v2/write"))')" '["None"]'
    assert_eq "$(pts acme)" 1000

    # auto: no compression to a loopback server (127.0.0.1 here)
    influx2 POST /__test/reset >/dev/null
    mkseries "$DEV/c.tsv" 1000
    TSV_GZIP=auto run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rlog '[(x["content_encoding"], x["lines"]) for x in W]')" '[[null, 1000]]'
    assert_eq "$(pts acme)" 1000
}

# ---- the token stays secret

@test "v2: the token appears nowhere: output, report, server log; with DEBUG logs and on a 401" {
    examples
    TSV_LOG_LEVEL=DEBUG run_parser -d "$DATA"
    assert_status 65
    local where
    for where in "$output" "$stderr" "$(cat "$(report_path)")" "$(cat "$INFLUX2_LOG")"; do
        case "$where" in
        *"$INFLUX2_TOKEN"*) echo "the token leaked: $where" >&2; return 1 ;;
        esac
    done
    assert_contains "$stderr" "[DEBUG]"
    rm -rf "$TSV_REPORT_DIR"

    mkseries "$DEV/a.tsv" 5
    fault '{"path": "/api/v2/write", "status": 401}'
    TSV_LOG_LEVEL=DEBUG run_parser -d "$DATA"
    assert_status 78
    assert_contains "$stderr" "HTTP 401"
    grep -rF -- "$INFLUX2_TOKEN" "$TSV_REPORT_DIR" "$INFLUX2_LOG" && return 1
    for where in "$output" "$stderr"; do
        case "$where" in
        *"$INFLUX2_TOKEN"*) echo "the token leaked: $where" >&2; return 1 ;;
        esac
    done
    # a wrong token is not shown either
    INFLUXDB_ADMIN_TOKEN=wrong-secret-4711 TSV_LOG_LEVEL=DEBUG run_parser -d "$DATA"
    assert_status 78
    case "$output$stderr" in
    *wrong-secret-4711*) echo "the wrong token leaked: $stderr" >&2; return 1 ;;
    esac
    grep -rF -- wrong-secret-4711 "$TSV_REPORT_DIR" "$INFLUX2_LOG" && return 1
    true
}

# ---- verification

@test "v2: verification escapes Flux strings: campaign \`cost \${x} 'q'\`, a file name with spaces" {
    local camp="cost \${x} 'q'"
    mkseries "$DATA/acme/$camp/$SN/my file 1.tsv" 40
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rq '(f["campaign"], f["nb_points"], f["nb_points_in_influx"], f["warnings"])')" \
        "[\"$camp\", 40, 40, []]"
    assert_eq "$(rlog '[x["status"] for x in Q]')" '[200]'
    assert_eq "$(tagset acme campaign file_name)" "[[\"cost\\\\ \${x}\\\\ 'q'\", \"my\\\\ file\\\\ 1.tsv\"]]"
    assert_file "$DATA/acme/$camp/$SN/parsed/my file 1.tsv"

    # without the file_name tag: campaign, master serial and time range
    influx2 POST /__test/reset >/dev/null
    mkseries "$DATA/acme/$camp/$SN/other file.tsv" 25
    TSV_FILE_NAME_TAG=0 run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rq '(f["nb_points"], f["nb_points_in_influx"], f["warnings"])')" '[25, 25, []]'
    assert_eq "$(pts acme)" 25
}

@test "v2: 126 files: a count query per group of files (100 at most, one campaign and serial), the same figures per file, in order" {
    mkmany "$DEV" 120 3
    # a broken file among them, a name CSV must quote, rows repeating a second
    mkfile "$DEV/f0050a.tsv"
    mkseries "$DEV/g,h \"q\".tsv" 4
    mkfile "$DEV/f0007.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 00:07:00\t1' '05/01/26 00:07:00\t2'
    mkmany "$DATA/acme/camp2/$SN" 5 2
    run_parser -d "$DATA"
    assert_status 65
    assert_eq "$(rq 'len(r["files"])')" 127
    assert_eq "$(rq '[x["file_path"] for x in r["files"]] == sorted(x["file_path"] for x in r["files"])')" true
    assert_eq "$(rq '[x["file_path"].split("/")[-1] for x in r["files"] if x["status"] != "success"]')" '["f0050a.tsv"]'
    # every file its own figures, as one query per file gave them
    assert_eq "$(rq '[(x["file_path"].split("/")[-1], x["nb_points_expected"], x["nb_points_in_influx"]) for x in r["files"]
        if x["status"] == "success" and x["nb_points_expected"] != x["nb_points_in_influx"]]')" '[["f0007.tsv", 2, 1]]'
    assert_eq "$(rq 'sorted(set((x["nb_points_expected"], x["nb_points_in_influx"]) for x in r["files"] if x["status"] == "success"))')" \
        '[[2, 1], [2, 2], [3, 3], [4, 4]]'
    assert_eq "$(rq '[x["nb_points_in_influx"] for x in r["files"] if "g,h" in x["file_path"]]')" '[4]'
    assert_contains "$(rq '[x["warnings"] for x in r["files"] if x["file_path"].endswith("f0007.tsv")][0][0]')" \
        "2 points written, 1 found in the database"
    # 100 files of camp1, the 21 others, the 5 of camp2: 3 queries for 126 files
    assert_eq "$(rlog 'len(Q)')" 3
    assert_eq "$(rlog '[x["status"] for x in Q]')" '[200, 200, 200]'
    assert_eq "$(pts acme)" $((119 * 3 + 1 + 4 + 5 * 2))
    assert_eq "$(find "$DATA" -path '*/parsed/*.tsv' | wc -l)" 126
}

@test "v2: count groups are bounded by the descriptors a run may open (ulimit -n 100: 12 files a group)" {
    mkmany "$DEV" 50
    run --separate-stderr bash -c 'ulimit -n 100 && exec "$@"' sh "${TSV_PARSER_REAL:-$TSV_PARSER}" -d "$DATA"
    assert_status 0
    assert_eq "$(rlog 'len(Q)')" 5
    assert_eq "$(rq '[x["nb_points_in_influx"] for x in r["files"]] == [2] * 50')" true
}

@test "v2: TSV_FILE_NAME_TAG=0: no name to count by, a count query per file" {
    mkmany "$DEV" 5 3
    TSV_FILE_NAME_TAG=0 run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rlog 'len(Q)')" 5
    assert_eq "$(rq '[(x["nb_points_expected"], x["nb_points_in_influx"]) for x in r["files"]]')" \
        '[[3, 3], [3, 3], [3, 3], [3, 3], [3, 3]]'
}

@test "v2: --no-verify: no count query, nb_points_in_influx null" {
    mkseries "$DEV/a.tsv" 10
    run_parser -d "$DATA" --no-verify
    assert_status 0
    assert_eq "$(rq '(f["status"], f["nb_points"], f["nb_points_in_influx"])')" '["success", 10, null]'
    assert_eq "$(rlog 'len(Q)')" 0
    assert_eq "$(pts acme)" 10
}

# ---- settings from .env

@test "v2: ./.env is read, the environment wins over it, --env-file names another, a missing one is exit 66" {
    local wd="$BATS_TEST_TMPDIR/wd"
    mkdir -p "$wd"
    unset INFLUXDB_HOST INFLUXDB_ORG INFLUXDB_ADMIN_TOKEN
    cat >"$wd/.env" <<EOF
# settings
INFLUXDB_HOST="$INFLUX2_URL"
INFLUXDB_ORG='$INFLUX2_ORG'
export INFLUXDB_ADMIN_TOKEN="$INFLUX2_TOKEN"   # admin
EOF
    mkseries "$DEV/a.tsv" 10
    cd "$wd"
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(pts acme)" 10

    # a variable of the environment wins over .env: here a wrong org would be refused
    mkseries "$DEV/b.tsv" 10
    INFLUXDB_ORG=no-such-org run_parser -d "$DATA"
    assert_status 78
    assert_contains "$stderr" "no-such-org"
    assert_file "$DEV/b.tsv"

    # --env-file PATH, from a folder without .env
    mkdir -p "$BATS_TEST_TMPDIR/elsewhere"
    mv "$wd/.env" "$BATS_TEST_TMPDIR/settings.env"
    cd "$BATS_TEST_TMPDIR/elsewhere"
    run_parser -d "$DATA" --env-file "$BATS_TEST_TMPDIR/settings.env"
    assert_status 0
    assert_file "$DEV/parsed/b.tsv"
    assert_eq "$(pts acme)" 20

    mkseries "$DEV/c.tsv" 10
    run_parser -d "$DATA" --env-file "$BATS_TEST_TMPDIR/missing.env"
    assert_status 66
    assert_contains "$stderr" "missing.env"
    assert_file "$DEV/c.tsv"

    # no .env and no INFLUXDB_HOST: configuration error
    run_parser -d "$DATA"
    assert_status 78
    assert_contains "$stderr" "INFLUXDB_HOST"
    assert_file "$DEV/c.tsv"

    # INFLUXDB_URL stands for INFLUXDB_HOST
    INFLUXDB_URL="$INFLUX2_URL" INFLUXDB_ORG="$INFLUX2_ORG" INFLUXDB_ADMIN_TOKEN="$INFLUX2_TOKEN" run_parser -d "$DATA"
    assert_status 0
    assert_file "$DEV/parsed/c.tsv"
    assert_eq "$(pts acme)" 30
}
