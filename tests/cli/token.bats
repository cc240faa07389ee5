#!/usr/bin/env bats
# `tsv_parser token --bucket NAME [--write] [--rotate]` against
# tests/servers/influx2.py, the InfluxDB 2 stand-in: the bucket's
# authorization (description powerview_token_for_bucket_<NAME>) is found
# or created, and only its token is printed.

load helpers
load ../servers/servers

setup_file() {
    start_influx2 "$BATS_FILE_TMPDIR/influx2"
}

setup() {
    common_setup
    influx2 POST /__test/reset >/dev/null
    unset INFLUXDB_API INFLUXDB_URL
    export INFLUXDB_HOST="$INFLUX2_URL" INFLUXDB_ORG="$INFLUX2_ORG" INFLUXDB_ADMIN_TOKEN="$INFLUX2_TOKEN"
    export TSV_RETRY_BUDGET=3 TSV_RETRY_AFTER_MAX=1 TSV_HTTP_TIMEOUT=2
    cd "$BATS_TEST_TMPDIR" # no ./.env around
}

# a second stand-in started by a test is stopped by it
teardown() {
    stop_servers
}

# token ARGS...: runs `tsv_parser token ARGS`; sets status, and TOUT/TERR
# (files holding stdout and stderr byte for byte)
token() {
    TOUT="$BATS_TEST_TMPDIR/token.out"
    TERR="$BATS_TEST_TMPDIR/token.err"
    status=0
    "$TSV_PARSER" token "$@" >"$TOUT" 2>"$TERR" || status=$?
    output=$(cat "$TOUT")
    stderr=$(cat "$TERR")
}

# api METHOD PATH [JSON]: the InfluxDB API with the admin token, JSON on stdout
api() {
    if [ $# -ge 3 ]; then
        curl -fsS -X "$1" -H "Authorization: Token $INFLUX2_TOKEN" -H 'Content-Type: application/json' \
            --data-binary "$3" "$INFLUX2_URL$2"
    else
        curl -fsS -X "$1" -H "Authorization: Token $INFLUX2_TOKEN" "$INFLUX2_URL$2"
    fi
}

org_id() {
    api GET "/api/v2/orgs?org=$INFLUX2_ORG" | py -c 'import json,sys; print(json.load(sys.stdin)["orgs"][0]["id"])'
}

bucket_id() {
    api GET "/api/v2/buckets?org=$INFLUX2_ORG&name=$1" | py -c 'import json,sys; print(json.load(sys.stdin)["buckets"][0]["id"])'
}

# auths EXPR: Python expression on every authorization (A: list, all pages;
# M: those described powerview_token_for_bucket_$BUCKET)
auths() {
    py -c '
import json, sys, urllib.request
url, token, bucket, expr = sys.argv[1:]
A, path = [], "/api/v2/authorizations?limit=100"
while path:
    req = urllib.request.Request(url + path, headers={"Authorization": "Token " + token})
    j = json.load(urllib.request.urlopen(req))
    A += j["authorizations"]
    path = j["links"].get("next")
M = [a for a in A if a["description"] == "powerview_token_for_bucket_" + bucket]
v = eval(expr)
print(v if isinstance(v, str) else json.dumps(v))' "$INFLUX2_URL" "$INFLUX2_TOKEN" "$BUCKET" "$1"
}

# perms: the permissions of the bucket's one authorization as
# [[action, type, id, orgID]]
perms() {
    auths '[[p["action"], p["resource"]["type"], p["resource"].get("id"), p["resource"].get("orgID")] for a in M for p in a["permissions"]]'
}

# rlog EXPR: Python expression on the request log (R)
rlog() { influx2_eval /__test/requests R "$1"; }

# assert_token_out TOKEN: stdout is exactly TOKEN and a newline
assert_token_out() {
    assert_eq "$(py -c 'import sys; print(repr(open(sys.argv[1], "rb").read()))' "$TOUT")" \
        "$(py -c 'import sys; print(repr(sys.argv[1].encode() + b"\n"))' "$1")" "stdout"
}

# assert_not_in FILE SECRET: SECRET is not in FILE
assert_not_in() {
    if grep -qF -- "$2" "$1"; then
        echo "secret found in $1:" >&2
        cat "$1" >&2
        return 1
    fi
}

@test "token: a new bucket gets the bucket and a read-only authorization; stdout is the token alone" {
    BUCKET=grafana1
    token --bucket "$BUCKET"
    assert_status 0
    # with its downsampled buckets (issue 14)
    assert_eq "$(influx2 GET /__test/buckets | py -c 'import json,sys; print(sorted(json.load(sys.stdin)))')" \
        "['grafana1', 'grafana1_1d', 'grafana1_1h', 'grafana1_1w']"
    local bid oid tok b1h b1d b1w
    bid=$(bucket_id "$BUCKET")
    b1h=$(bucket_id "${BUCKET}_1h")
    b1d=$(bucket_id "${BUCKET}_1d")
    b1w=$(bucket_id "${BUCKET}_1w")
    oid=$(org_id)
    assert_eq "$(auths 'len(M)')" 1
    # read on the raw bucket and its three downsampled ones, nothing else
    assert_eq "$(perms)" "[[\"read\", \"buckets\", \"$bid\", \"$oid\"], [\"read\", \"buckets\", \"$b1h\", \"$oid\"], [\"read\", \"buckets\", \"$b1d\", \"$oid\"], [\"read\", \"buckets\", \"$b1w\", \"$oid\"]]"
    assert_eq "$(auths 'M[0]["status"]')" active
    tok=$(auths 'M[0]["token"]')
    [ ${#tok} -ge 40 ]
    assert_token_out "$tok"
    assert_not_in "$TERR" "$tok"
    assert_not_in "$TERR" "$INFLUX2_TOKEN"
    assert_not_in "$TOUT" "$INFLUX2_TOKEN"
    # the token reads the bucket and its downsampled ones, and only those
    assert_eq "$(curl -fsS -H "Authorization: Token $tok" "$INFLUX2_URL/api/v2/buckets?org=$INFLUX2_ORG" |
        py -c 'import json,sys; print(sorted(b["name"] for b in json.load(sys.stdin)["buckets"]))')" \
        "['grafana1', 'grafana1_1d', 'grafana1_1h', 'grafana1_1w']"
}

@test "token: asked again, the same token is printed and nothing is created or deleted" {
    BUCKET=grafana2
    token --bucket "$BUCKET"
    assert_status 0
    local first
    first=$(cat "$TOUT")
    influx2 DELETE /__test/requests >/dev/null
    token --bucket "$BUCKET"
    assert_status 0
    assert_token_out "$first"
    assert_eq "$(rlog '[(x["method"], x["path"]) for x in R if x["method"] != "GET"]')" '[]'
    assert_eq "$(auths 'len(M)')" 1
    assert_eq "$(auths 'M[0]["token"]')" "$first"
}

@test "token: --write gives read and write on the bucket" {
    BUCKET=writer
    token --bucket "$BUCKET" --write
    assert_status 0
    local bid oid
    bid=$(bucket_id "$BUCKET")
    oid=$(org_id)
    assert_eq "$(perms)" "[[\"read\", \"buckets\", \"$bid\", \"$oid\"], [\"write\", \"buckets\", \"$bid\", \"$oid\"]]"
    assert_token_out "$(auths 'M[0]["token"]')"
}

@test "token: an existing bucket is used as is" {
    BUCKET=existing
    influx2 POST /__test/buckets '{"names": ["existing"]}' >/dev/null
    local bid
    bid=$(bucket_id existing)
    token --bucket "$BUCKET"
    assert_status 0
    # a bucket made before tsv_parser mapped its buckets gets its InfluxQL mapping here;
    # its downsampled buckets are created (each with its mapping)
    assert_eq "$(rlog '[(x["method"], x["path"]) for x in R if x["method"] == "POST"]')" \
        "$(py -c 'import json; print(json.dumps([["POST", "/api/v2/buckets"], ["POST", "/api/v2/dbrps"]] * 3 + [["POST", "/api/v2/dbrps"], ["POST", "/api/v2/authorizations"]]))')"
    assert_eq "$(auths '[p["resource"]["id"] for a in M for p in a["permissions"]]')" \
        "[\"$bid\", \"$(bucket_id existing_1h)\", \"$(bucket_id existing_1d)\", \"$(bucket_id existing_1w)\"]"
}

# dbrps BUCKET: the physical DBRP mappings of database BUCKET, as
# [database, retention_policy, default, bucketID] lists
dbrps() {
    api GET "/api/v2/dbrps?orgID=$(org_id)&db=$(py -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.argv[1]))' "$1")" |
        py -c 'import json,sys; print(json.dumps([[m["database"], m["retention_policy"], m["default"], m["bucketID"]] for m in json.load(sys.stdin)["content"] if not m["virtual"]]))'
}

@test "token: the bucket gets its InfluxQL mapping (database = bucket, autogen, default), once" {
    BUCKET="grafana ql"
    token --bucket "$BUCKET"
    assert_status 0
    assert_eq "$(dbrps "$BUCKET")" "[[\"$BUCKET\", \"autogen\", true, \"$(bucket_id "grafana%20ql")\"]]"
    assert_contains "$stderr" "created the InfluxQL mapping of bucket grafana ql"
    influx2 DELETE /__test/requests >/dev/null
    token --bucket "$BUCKET"
    assert_status 0
    assert_eq "$(rlog '[(x["method"], x["path"]) for x in R if x["method"] != "GET"]')" '[]'
    assert_eq "$(dbrps "$BUCKET")" "[[\"$BUCKET\", \"autogen\", true, \"$(bucket_id "grafana%20ql")\"]]"
}

@test "token: a database mapped to another bucket is left alone and refused (78), no token printed" {
    influx2 POST /__test/buckets '{"names": ["taken", "elsewhere"]}' >/dev/null
    api POST /api/v2/dbrps "{\"orgID\":\"$(org_id)\",\"bucketID\":\"$(bucket_id elsewhere)\",\"database\":\"taken\",\"retention_policy\":\"autogen\",\"default\":true}" >/dev/null
    token --bucket taken
    assert_status 78
    assert_eq "$(stat -c %s "$TOUT")" 0
    assert_contains "$stderr" "InfluxQL database taken (retention policy autogen) is mapped to another bucket"
    assert_eq "$(dbrps taken)" "[[\"taken\", \"autogen\", true, \"$(bucket_id elsewhere)\"]]"
    assert_eq "$(auths 'len(M)')" 0
}

@test "token: the server refusing the mapping is an error (no token printed)" {
    # five times: as the bucket and its three downsampled ones are created (warnings
    # there), once more for the token
    influx2 POST /__test/faults '{"path": "/api/v2/dbrps", "method": "POST", "status": 403, "times": 5, "body": {"code": "forbidden", "message": "no"}}' >/dev/null
    token --bucket refused
    assert_status 78
    assert_eq "$(stat -c %s "$TOUT")" 0
    assert_contains "$stderr" "bucket refused: no InfluxQL mapping: DBRP mapping creation: HTTP 403"
    assert_contains "$stderr" "token for bucket refused: DBRP mapping creation: HTTP 403"
    # asked again, the mapping is made and the token printed
    token --bucket refused
    assert_status 0
    assert_eq "$(dbrps refused)" "[[\"refused\", \"autogen\", true, \"$(bucket_id refused)\"]]"
    assert_eq "$(dbrps refused_1h)" "[[\"refused_1h\", \"autogen\", true, \"$(bucket_id refused_1h)\"]]"
}

@test "token: a read token made before the downsampled buckets is kept: 78 asking for --rotate; --rotate covers the four" {
    BUCKET=older
    influx2 POST /__test/buckets '{"names": ["older"]}' >/dev/null
    local bid oid old
    bid=$(bucket_id older)
    oid=$(org_id)
    # what v0.4.x made: read on the raw bucket only
    old=$(api POST /api/v2/authorizations "{\"orgID\":\"$oid\",\"description\":\"powerview_token_for_bucket_older\",\"permissions\":[{\"action\":\"read\",\"resource\":{\"type\":\"buckets\",\"id\":\"$bid\",\"orgID\":\"$oid\"}}]}" |
        py -c 'import json,sys; print(json.load(sys.stdin)["token"])')
    influx2 DELETE /__test/requests >/dev/null
    token --bucket older
    assert_status 78
    assert_eq "$(stat -c %s "$TOUT")" 0
    assert_contains "$stderr" "does not read the downsampled buckets older_1h, older_1d, older_1w"
    assert_contains "$stderr" "--rotate"
    assert_not_in "$TERR" "$old"
    # never deleted unasked (v0.4.1 rotated on every call)
    assert_eq "$(rlog '[x["method"] for x in R if x["path"].startswith("/api/v2/authorizations/")]')" '[]'
    assert_eq "$(auths '[a["token"] for a in M]')" "[\"$old\"]"
    # asked again: still the same answer, the same token kept
    token --bucket older
    assert_status 78
    assert_eq "$(auths '[a["token"] for a in M]')" "[\"$old\"]"
    token --bucket older --rotate
    assert_status 0
    assert_eq "$(auths 'len(M)')" 1
    assert_eq "$(auths '[p["resource"]["id"] for a in M for p in a["permissions"] if p["action"] == "read"]')" \
        "[\"$bid\", \"$(bucket_id older_1h)\", \"$(bucket_id older_1d)\", \"$(bucket_id older_1w)\"]"
    assert_token_out "$(auths 'M[0]["token"]')"
    [ "$(cat "$TOUT")" != "$old" ]
    # and from then on it is given as is
    token --bucket older
    assert_status 0
    assert_token_out "$(auths 'M[0]["token"]')"
}

@test "token: downsampled buckets keep data forever whatever INFLUXDB_BUCKET_RETENTION says (the raw bucket's)" {
    BUCKET=kept
    INFLUXDB_BUCKET_RETENTION=86400 token --bucket kept
    assert_status 0
    rules() {
        api GET "/api/v2/buckets?org=$INFLUX2_ORG&name=$1" |
            py -c 'import json,sys; print(json.dumps([(r["type"], r["everySeconds"]) for r in json.load(sys.stdin)["buckets"][0]["retentionRules"] if r.get("everySeconds")]))'
    }
    assert_eq "$(rules kept)" '[["expire", 86400]]'
    assert_eq "$(rules kept_1h)" '[]'
    assert_eq "$(rules kept_1d)" '[]'
    assert_eq "$(rules kept_1w)" '[]'
}

@test "token: the existing authorization is found behind more than a page of others" {
    BUCKET=paged
    influx2 POST /__test/buckets '{"names": ["paged", "other"]}' >/dev/null
    local oid other
    oid=$(org_id)
    other=$(bucket_id other)
    token --bucket "$BUCKET"
    assert_status 0
    local first
    first=$(cat "$TOUT")
    # 150 other authorizations; listed by id, the bucket's must come after
    # the first 100 (the largest page a client may ask for): when it does
    # not, it is made again (same description and permission, new id)
    py -c '
import json, sys, urllib.request
url, token, oid, other, bucket = sys.argv[1:]
def call(method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Authorization": "Token " + token, "Content-Type": "application/json"})
    data = urllib.request.urlopen(req).read()
    return json.loads(data) if data else None
def listing():
    out, path = [], "/api/v2/authorizations?limit=100"
    while path:
        j = call("GET", path)
        out += j["authorizations"]
        path = j["links"].get("next")
    return sorted(out, key=lambda a: a["id"])
for i in range(150):
    call("POST", "/api/v2/authorizations", {"orgID": oid, "description": "other %d" % i,
         "permissions": [{"action": "read", "resource": {"type": "buckets", "id": other, "orgID": oid}}]})
desc = "powerview_token_for_bucket_" + bucket
for _ in range(200):
    A = listing()
    pos = [i for i, a in enumerate(A) if a["description"] == desc]
    if pos[0] >= 100:
        break
    mine = A[pos[0]]
    call("DELETE", "/api/v2/authorizations/" + mine["id"])
    made = call("POST", "/api/v2/authorizations", {"orgID": oid, "description": desc,
                "permissions": [{"action": p["action"], "resource": {"type": "buckets", "id": p["resource"]["id"],
                                 "orgID": oid}} for p in mine["permissions"]]})
print(len(A), pos[0] >= 100)
' "$INFLUX2_URL" "$INFLUX2_TOKEN" "$oid" "$other" "$BUCKET" >"$BATS_TEST_TMPDIR/setup.out"
    assert_eq "$(cat "$BATS_TEST_TMPDIR/setup.out")" "152 True"
    local tok
    tok=$(auths 'M[0]["token"]')
    influx2 DELETE /__test/requests >/dev/null
    token --bucket "$BUCKET"
    assert_status 0
    assert_token_out "$tok"
    assert_eq "$(rlog '[(x["method"], x["path"]) for x in R if x["method"] != "GET"]')" '[]'
    # the first page (no offset), then links.next (offset 100), where it is
    assert_eq "$(rlog '[x["query"].get("offset") for x in R if x["path"] == "/api/v2/authorizations"]')" '[null, "100"]'
    assert_eq "$(auths 'len(M)')" 1
}

@test "token: more than 20 authorizations (the server's default page): still found" {
    BUCKET=twenty
    influx2 POST /__test/buckets '{"names": ["other"]}' >/dev/null
    local oid other i
    oid=$(org_id)
    other=$(bucket_id other)
    for i in $(seq 1 15); do
        api POST /api/v2/authorizations "{\"orgID\": \"$oid\", \"description\": \"before $i\", \"permissions\": [{\"action\": \"read\", \"resource\": {\"type\": \"buckets\", \"id\": \"$other\"}}]}" >/dev/null
    done
    token --bucket "$BUCKET"
    assert_status 0
    local first
    first=$(cat "$TOUT")
    for i in $(seq 1 15); do
        api POST /api/v2/authorizations "{\"orgID\": \"$oid\", \"description\": \"after $i\", \"permissions\": [{\"action\": \"read\", \"resource\": {\"type\": \"buckets\", \"id\": \"$other\"}}]}" >/dev/null
    done
    assert_eq "$(auths 'len(A)')" 32
    token --bucket "$BUCKET"
    assert_status 0
    assert_token_out "$first"
    assert_eq "$(auths 'len(M)')" 1
}

@test "token: with token hashing an existing authorization needs --rotate; --rotate replaces it" {
    start_influx2 "$BATS_TEST_TMPDIR/hashed" --hash-tokens
    export INFLUXDB_HOST="$INFLUX2_URL" INFLUXDB_ORG="$INFLUX2_ORG" INFLUXDB_ADMIN_TOKEN="$INFLUX2_TOKEN"
    BUCKET=hashed
    token --bucket "$BUCKET"
    assert_status 0
    local first old_id
    first=$(cat "$TOUT")
    [ ${#first} -ge 40 ]
    assert_eq "$(auths 'M[0]["token"]')" ""
    old_id=$(auths 'M[0]["id"]')

    token --bucket "$BUCKET"
    assert_status 78
    assert_eq "$(stat -c %s "$TOUT")" 0 "stdout size"
    assert_contains "$stderr" "--rotate"
    assert_not_in "$TERR" "$first"
    assert_eq "$(auths '[a["id"] for a in M]')" "[\"$old_id\"]"

    token --bucket "$BUCKET" --rotate
    assert_status 0
    local second
    second=$(cat "$TOUT")
    [ ${#second} -ge 40 ]
    [ "$second" != "$first" ]
    assert_token_out "$second"
    assert_eq "$(auths 'len(M)')" 1
    [ "$(auths 'M[0]["id"]')" != "$old_id" ]
    assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Token $INFLUX2_TOKEN" "$INFLUX2_URL/api/v2/authorizations/$old_id")" 404
    # the new token reads the bucket, the old one is gone
    assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Token $second" "$INFLUX2_URL/api/v2/buckets?org=$INFLUX2_ORG&name=hashed")" 200
    assert_eq "$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Token $first" "$INFLUX2_URL/api/v2/buckets?org=$INFLUX2_ORG&name=hashed")" 401
    assert_eq "$(rlog '[x["path"] for x in R if x["method"] == "DELETE"]')" "[\"/api/v2/authorizations/$old_id\"]"
}

@test "token: usage and refusals: no --bucket 64, a bad bucket name, a wrong token 78" {
    token
    assert_status 64
    assert_contains "$stderr" "--bucket"
    assert_eq "$(stat -c %s "$TOUT")" 0

    token --bucket _x
    [ "$status" -ne 0 ]
    assert_contains "$stderr" "bucket name starts with '_'"
    assert_eq "$(stat -c %s "$TOUT")" 0
    assert_eq "$(influx2 GET /__test/buckets)" "[]"

    INFLUXDB_ADMIN_TOKEN=wrong-secret-4711 token --bucket fine
    assert_status 78
    assert_eq "$(stat -c %s "$TOUT")" 0
    assert_not_in "$TERR" wrong-secret-4711
    assert_eq "$(influx2 GET /__test/buckets)" "[]"
}

@test "token: read-only asked where a read+write one exists: refused (78, names --rotate), never a broader token" {
    token --bucket acme --write
    assert_status 0
    token --bucket acme
    assert_status 78
    assert_eq "$output" ""
    assert_contains "$stderr" "read+write"
    assert_contains "$stderr" "--rotate"
    token --bucket acme --rotate
    assert_status 0
    token --bucket acme
    assert_status 0
}
