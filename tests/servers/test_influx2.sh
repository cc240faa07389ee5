#!/usr/bin/env bash
# Self-test of tests/servers/influx2.py: starts it on a free loopback port,
# checks its answers with curl, stops it. Last line: "N passed, M failed";
# exit status 1 on any failure.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/selftest.bash"

TOKEN="adm_$(head -c 24 /dev/urandom | base64 | tr '+/=' '-_x')"

# api METHOD PATH [CURL ARGS...]: req with the admin token
api() {
    local method=$1 path=$2
    shift 2
    req "$method" "$path" -H "Authorization: Token $TOKEN" "$@"
}
flux() { # flux QUERY: POST it as application/vnd.flux
    api POST "/api/v2/query?orgID=$ORG_ID" -H 'Content-Type: application/vnd.flux' --data-binary "$1"
}

# ---- start
start_server influx2.py --token "$TOKEN" --org acme

# ---- health, auth
req GET /health
check "health 200" status_is 200
check "health pass" json_is 'j["status"]' pass
check "health is JSON" header_is Content-Type 'application/json; charset=utf-8'

req GET /api/v2/buckets
check "no token: 401" status_is 401
check "no token: message" json_is 'j["code"] + "/" + j["message"]' 'unauthorized/unauthorized access'
req GET /api/v2/buckets -H 'Authorization: Token nope'
check "bad token: 401" status_is 401
req GET /api/v2/orgs -H "Authorization: Bearer $TOKEN"
check "Bearer accepted" status_is 200

# ---- orgs
api GET '/api/v2/orgs?org=acme'
check "org lookup 200" status_is 200
check "org name" json_is 'j["orgs"][0]["name"]' acme
ORG_ID=$(jq_py 'j["orgs"][0]["id"]')
check "org id is 16 hex" grep -Eq '^[0-9a-f]{16}$' <<<"$ORG_ID"
api GET '/api/v2/orgs?org=nope'
check "unknown org 404" status_is 404
check "unknown org message" json_is 'j["message"]' 'organization name "nope" not found'

# ---- bucket pagination: 45 user buckets + _monitoring + _tasks, pages of 20
req POST /__test/buckets --data-binary "{\"names\": [$(seq -f '"pg%02g"' -s, 1 45)]}"
check "bulk buckets" json_is 'j["created"]' 45
path="/api/v2/buckets?orgID=$ORG_ID&limit=20"
total=0
pages=0
while [ -n "$path" ] && [ "$pages" -lt 10 ]; do
    api GET "$path"
    [ "$STATUS" = 200 ] || break
    n=$(jq_py 'len(j["buckets"])')
    total=$((total + n))
    pages=$((pages + 1))
    path=$(jq_py 'j["links"].get("next", "")')
done
check "pagination: 47 buckets" [ "$total" = 47 ]
check "pagination: 3 pages" [ "$pages" = 3 ]
api GET "/api/v2/buckets?orgID=$ORG_ID&limit=101"
check "limit 101: 400" status_is 400
check "limit 101: message" json_is 'j["message"]' 'limit must be between 1 and 100'
api GET "/api/v2/buckets?orgID=$ORG_ID&limit=100"
check "system buckets listed" json_is '[b["name"] for b in j["buckets"] if b["type"] == "system"]' \
    '["_monitoring", "_tasks"]'

# ---- buckets: missing, create, duplicate, invalid
api GET "/api/v2/buckets?orgID=$ORG_ID&name=missing"
check "missing bucket 404" status_is 404
check "missing bucket message" json_is 'j["message"]' 'bucket "missing" not found'
api POST /api/v2/buckets -H 'Content-Type: application/json' \
    --data-binary "{\"orgID\":\"$ORG_ID\",\"name\":\"powerview\",\"retentionRules\":[]}"
check "create 201" status_is 201
check "create answer" json_is 'j["name"] + " " + j["type"]' 'powerview user'
BUCKET_ID=$(jq_py 'j["id"]')
api POST /api/v2/buckets -H 'Content-Type: application/json' \
    --data-binary "{\"orgID\":\"$ORG_ID\",\"name\":\"powerview\",\"retentionRules\":[]}"
check "duplicate 422" status_is 422
check "duplicate message" json_is 'j["code"] + ": " + j["message"]' \
    'conflict: bucket with name powerview already exists'
api POST /api/v2/buckets --data-binary "{\"orgID\":\"$ORG_ID\",\"name\":\"_x\"}"
check "underscore name 400" status_is 400
api POST /api/v2/buckets --data-binary '{"orgID":'
check "bad JSON 400" status_is 400
api GET "/api/v2/buckets?orgID=$ORG_ID&name=powerview"
check "find created bucket" json_is 'j["buckets"][0]["id"]' "$BUCKET_ID"

# ---- gzip write, then count
printf '%s\n' '# comment' \
    'electrical,campaign=c1,device_master_sn=02001171,file_name=a.tsv U1=230.5,U2=231 1761355200' \
    '' \
    'electrical,campaign=c1,device_master_sn=02001171,file_name=a.tsv U1=230.7,U2=231.5 1761355260' \
    'electrical,campaign=c2,device_master_sn=02001171,file_name=b.tsv U1=1 1761355200' |
    gzip -c >"$TMP/w.gz"
api POST "/api/v2/write?orgID=$ORG_ID&bucket=powerview&precision=s" \
    -H 'Content-Encoding: gzip' -H 'Content-Type: text/plain; charset=utf-8' --data-binary @"$TMP/w.gz"
check "gzip write 204" status_is 204
req GET '/__test/points?bucket=powerview'
check "5 points stored" json_is 'j["count"]' 5
Q='from(bucket: "powerview")
  |> range(start: 2025-10-25T00:00:00Z, stop: 2025-10-26T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "electrical" and r.campaign == "c1" and r.device_master_sn == "02001171" and r.file_name == "a.tsv")
  |> group()
  |> count()'
api POST "/api/v2/query?orgID=$ORG_ID" -H 'Content-Type: application/json' \
    --data-binary "$("$PYTHON" -I -S -c 'import json, sys; print(json.dumps({"query": sys.argv[1], "type": "flux",
"dialect": {"annotations": ["datatype", "group", "default"]}}))' "$Q")"
check "query 200" status_is 200
check "query is CSV" header_is Content-Type 'text/csv; charset=utf-8'
check "annotated count" cmp -s "$TMP/body" <(printf '#datatype,string,long,long\r\n#group,false,false,false\r\n#default,_result,,\r\n,result,table,_value\r\n,,0,4\r\n\r\n')
flux "$Q"
check "plain CSV count" cmp -s "$TMP/body" <(printf ',result,table,_value\r\n,_result,0,4\r\n\r\n')
# counts by file name: a table per file, a name with a comma quoted as CSV does
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" \
    --data-binary 'electrical,campaign=c1,device_master_sn=02001171,file_name=x\,y\ "z".tsv U1=1,U2=2,U3=3 1761355300'
check "odd file name write 204" status_is 204
flux 'from(bucket: "powerview")
  |> range(start: 2025-10-25T00:00:00Z, stop: 2025-10-26T00:00:00Z)
  |> filter(fn: (r) => r._measurement == "electrical" and r.campaign == "c1" and r.device_master_sn == "02001171")
  |> group(columns: ["file_name"])
  |> count()'
check "count by file_name" cmp -s "$TMP/body" \
    <(printf ',result,table,file_name,_value\r\n,_result,0,a.tsv,4\r\n,_result,1,"x,y ""z"".tsv",3\r\n\r\n')
api POST "/api/v2/query?orgID=$ORG_ID" -H 'Content-Type: application/json' \
    --data-binary '{"query": "from(bucket: \"powerview\") |> range(start: 0) |> filter(fn: (r) => r.campaign == \"c2\") |> group(columns: [\"file_name\"]) |> count()", "dialect": {"annotations": ["datatype", "group", "default"]}}'
check "annotated count by file_name" cmp -s "$TMP/body" \
    <(printf '#datatype,string,long,string,long\r\n#group,false,false,true,false\r\n#default,_result,,,\r\n,result,table,file_name,_value\r\n,,0,b.tsv,1\r\n\r\n')
flux 'from(bucket: "powerview") |> range(start: 0) |> filter(fn: (r) => r._measurement == "electrical") |> count()'
check "one table per series" [ "$(grep -c ',_result,' "$TMP/body")" = 6 ]
flux 'from(bucket: "powerview") |> range(start: 0) |> filter(fn: (r) => r.campaign == "none") |> group() |> count()'
check "empty result" cmp -s "$TMP/body" <(printf '\r\n')
# the distinct tag tuples of `tsv_parser channels`: a row per tuple, sorted, paged, a missing tag empty
D='from(bucket: "powerview") |> range(start: 0) |> filter(fn: (r) => r._measurement == "electrical")
  |> first() |> keep(columns: ["campaign", "file_name", "nope"]) |> group(columns: ["campaign", "file_name", "nope"])
  |> limit(n: 1) |> group() |> sort(columns: ["campaign", "file_name", "nope"])'
flux "$D |> limit(n: 10, offset: 0)"
check "distinct tuples" cmp -s "$TMP/body" <(printf '%s\r\n' ',result,table,campaign,file_name,nope' \
    ',_result,0,c1,a.tsv,' ',_result,0,c1,"x,y ""z"".tsv",' ',_result,0,c2,b.tsv,' '')
flux "$D |> limit(n: 1, offset: 1)"
check "distinct tuples paged" cmp -s "$TMP/body" \
    <(printf ',result,table,campaign,file_name,nope\r\n,_result,0,c1,"x,y ""z"".tsv",\r\n\r\n')
flux "$D |> limit(n: 1, offset: 3)"
check "distinct tuples past the end" cmp -s "$TMP/body" <(printf '\r\n')
flux "${D%% |> sort*} |> limit(n: 1)"
check "distinct tuples without sort: 400" status_is 400
flux 'from(bucket: "powerview") |> range(start: 0) |> mean()'
check "unsupported Flux 400" status_is 400
check "compilation failed" json_is 'j["message"].startswith("compilation failed: ")' true
flux 'from(bucket: "nope") |> range(start: 0) |> count()'
check "query unknown bucket 404" status_is 404

# ---- bad line: 400 with its line number
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" \
    --data-binary $'m v=1 1\n\nm v= 2\nm v=3 3\n'
check "bad line 400" status_is 400
check "bad line number" json_is 'j["line"]' 3
check "bad line message" json_is 'j["message"]' "unable to parse 'm v= 2': missing field value"
req GET '/__test/points?bucket=powerview&measurement=m'
check "bad batch not stored" json_is 'j["count"]' 0

# ---- field type conflict: 422 partial write
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" --data-binary $'t v=1.5 1\n'
check "float write 204" status_is 204
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" --data-binary $'t v=2i 2\nt v=3.5 3\n'
check "conflict 422" status_is 422
check "conflict message" json_is 'j["message"]' \
    'failure writing points to database: partial write: field type conflict: input field "v" on measurement "t" is type integer, already exists as type float dropped=1'
req GET '/__test/points?bucket=powerview&measurement=t'
check "partial write kept the good point" json_is 'j["lines"]' '["t v=1.5 1000000000", "t v=3.5 3000000000"]'

# ---- faults: two 503 with Retry-After, then success; drop
req POST /__test/faults \
    --data-binary '[{"path":"/api/v2/write","status":503,"headers":{"Retry-After":"1"},"times":2}]'
check "fault queued" status_is 200
for i in 1 2; do
    api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" --data-binary $'f v=1 1\n'
    check "fault $i: 503" status_is 503
    check "fault $i: Retry-After" header_is Retry-After 1
done
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" --data-binary $'f v=1 1\n'
check "after faults: 204" status_is 204
req POST /__test/faults --data-binary '{"path":"/api/v2/write","action":"drop"}'
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" --data-binary $'f v=2 2\n'
check "drop: empty reply (curl 52)" [ "$CURL_RC" = 52 ]
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" --data-binary $'f v=2 2\n'
check "after drop: 204" status_is 204
req POST /__test/faults --data-binary '{"path":"/api/v2/write","status":400,"line":2}'
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" --data-binary $'f v=1 1\nf v=9 9\n'
check "injected bad line" json_is 'j["line"], j["message"]' \
    "(2, \"unable to parse 'f v=9 9': invalid field format\")"

# ---- a very large answer (8 MiB), with Content-Length or chunked, streamed
req POST /__test/faults --data-binary '{"path":"/api/v2/write","status":200,"big_body":8388608}'
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" --data-binary $'f v=3 3\n'
check "big_body: 200" status_is 200
check "big_body: 8 MiB" [ "$(stat -c %s "$TMP/body")" = 8388608 ]
check "big_body: Content-Length" header_is Content-Length 8388608
check "big_body: JSON" json_is 'len(j["message"])' $((8388608 - 15))
req POST /__test/faults --data-binary '{"path":"/api/v2/write","status":500,"big_body":8388608,"chunked":true}'
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" --data-binary $'f v=3 3\n'
check "big_body chunked: 500" status_is 500
check "big_body chunked: 8 MiB" [ "$(stat -c %s "$TMP/body")" = 8388608 ]
check "big_body chunked: no Content-Length" no_header Content-Length
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" --data-binary $'f v=3 3\n'
check "after big_body: 204" status_is 204

# ---- Flux string escapes: \" \\ and \${ (single quotes on purpose)
# shellcheck disable=SC2016
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" \
    --data-binary 'electrical,campaign=c"q,device_master_sn=x\y,file_name=${f}.tsv U1=1,U2=2 1761355200'
check "odd tags write 204" status_is 204
# shellcheck disable=SC2016
flux 'from(bucket: "powerview") |> range(start: 0) |> filter(fn: (r) => r.campaign == "c\"q" and r.device_master_sn == "x\\y" and r.file_name == "\${f}.tsv") |> group() |> count()'
check "escaped literal query" cmp -s "$TMP/body" <(printf ',result,table,_value\r\n,_result,0,2\r\n\r\n')
# shellcheck disable=SC2016
flux 'from(bucket: "powerview") |> range(start: 0) |> filter(fn: (r) => r.file_name == "${f}.tsv") |> group() |> count()'
check "raw \${ refused" status_is 400

# ---- tokens: a write-only token for one bucket
api POST /api/v2/authorizations -H 'Content-Type: application/json' --data-binary \
    "{\"orgID\":\"$ORG_ID\",\"description\":\"w\",\"permissions\":[{\"action\":\"write\",\"resource\":{\"type\":\"buckets\",\"id\":\"$BUCKET_ID\",\"orgID\":\"$ORG_ID\"}}]}"
check "authorization 201" status_is 201
WTOKEN=$(jq_py 'j["token"]')
check "token is 88 chars" [ "${#WTOKEN}" = 88 ]
req POST "/api/v2/write?org=acme&bucket=powerview&precision=s" -H "Authorization: Token $WTOKEN" \
    --data-binary $'w v=1 1\n'
check "write-only token writes" status_is 204
req POST "/api/v2/write?org=acme&bucket=pg01&precision=s" -H "Authorization: Token $WTOKEN" \
    --data-binary $'w v=1 1\n'
check "other bucket: 403" status_is 403
check "403 message" json_is 'j["message"]' 'insufficient permissions for write'
req POST "/api/v2/query?org=acme" -H "Authorization: Token $WTOKEN" \
    -H 'Content-Type: application/vnd.flux' --data-binary 'from(bucket: "powerview") |> range(start: 0) |> count()'
check "write-only token cannot query" status_is 404
api POST /api/v2/authorizations --data-binary \
    "{\"orgID\":\"$ORG_ID\",\"permissions\":[{\"action\":\"read\",\"resource\":{\"type\":\"buckets\",\"id\":\"0123456789abcdef\"}}]}"
check "permission on unknown bucket: 400" status_is 400

# ---- the request log never holds a token; SIGTERM ends the server cleanly
no_tokens_in() { ! grep -qF -e "$TOKEN" -e "$WTOKEN" "$1"; }
req GET /__test/requests
check "request log auth kinds" json_is 'sorted(set(r["auth"] for r in j))' '["admin", "bad", "none", "token"]'
check "request log: gzip lines" json_is \
    '[r["lines"] for r in j if r["content_encoding"] == "gzip"]' '[3]'
check "no token in request log" no_tokens_in "$TMP/body"
check "no token in log file" no_tokens_in "$TMP/server.log"
# ---- last, as it clears the request log and, with a reset, everything
# hang: the request is read and logged, no answer ever comes; the client gives up
req DELETE /__test/requests
req POST /__test/faults --data-binary '{"path":"/api/v2/write","action":"hang"}'
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" --data-binary $'f v=4 4\n' --max-time 1
check "hang: no answer, the client times out (curl 28)" [ "$CURL_RC" = 28 ]
req GET /__test/requests
check "hang: in the log at once, status null" json_is '[(r["path"], r["status"], r.get("fault")) for r in j]' \
    '[["/api/v2/write", null, "hang"]]'
# with a delay, closed without answer after it; a reset ends a hang at once
req POST /__test/faults --data-binary '{"path":"/api/v2/write","action":"hang","delay":0.3}'
api POST "/api/v2/write?org=acme&bucket=powerview&precision=s" --data-binary $'f v=4 4\n' --max-time 5
check "hang with delay: empty reply (curl 52)" [ "$CURL_RC" = 52 ]
req POST /__test/faults --data-binary '{"path":"/api/v2/write","action":"hang"}'
curl -sS -o /dev/null -H "Authorization: Token $TOKEN" --max-time 20 --data-binary $'f v=4 4\n' \
    "$URL/api/v2/write?org=acme&bucket=powerview&precision=s" 2>/dev/null &
HUNG=$!
for _ in $(seq 100); do
    req GET /__test/requests
    [ "$(jq_py 'len([r for r in j if r.get("fault") == "hang"])')" = 3 ] && break
    sleep 0.05
done
req POST /__test/reset
wait "$HUNG"
check "hang ended by a reset: empty reply (curl 52)" [ "$?" = 52 ]
req GET /__test/faults
check "after the reset: no rule left, the server answers" json_is 'j' '[]'
# ---- DBRP mappings
api POST /api/v2/buckets --data-binary "{\"orgID\":\"$ORG_ID\",\"name\":\"dbrp one\"}"
DB_BID=$(jq_py 'j["id"]')
api GET "/api/v2/dbrps"
check "dbrps without org: 400" status_is 400
check "dbrps without org: message" json_is 'j["code"] + "/" + j["message"]' \
    "invalid/either 'org' or 'orgID' must be provided"
api GET "/api/v2/dbrps?orgID=xyz"
check "dbrps bad orgID: 400" status_is 400
api GET "/api/v2/dbrps?org=nope"
check "dbrps unknown org: 404" status_is 404
api GET "/api/v2/dbrps?orgID=$ORG_ID&db=dbrp%20one"
check "virtual mapping listed" json_is \
    '[(m["database"], m["retention_policy"], m["default"], m["virtual"], m["bucketID"]) for m in j["content"]]' \
    "[[\"dbrp one\", \"autogen\", true, true, \"$DB_BID\"]]"
api POST /api/v2/dbrps --data-binary "{\"orgID\":\"$ORG_ID\",\"bucketID\":\"$DB_BID\",\"database\":\"dbrp one\",\"retention_policy\":\"autogen\",\"default\":true}"
check "dbrp created: 201" status_is 201
check "dbrp shape" json_is \
    '[sorted(j), j["database"], j["retention_policy"], j["default"], j["virtual"], j["bucketID"] == "'"$DB_BID"'"]' \
    '[["bucketID", "database", "default", "id", "orgID", "retention_policy", "virtual"], "dbrp one", "autogen", true, false, true]'
api POST /api/v2/dbrps --data-binary "{\"org\":\"acme\",\"bucketID\":\"$DB_BID\",\"database\":\"dbrp one\",\"retention_policy\":\"autogen\"}"
check "same org, db, rp: conflict (422)" status_is 422
check "conflict message" json_is 'j["code"] + "/" + j["message"]' \
    'conflict/another DBRP mapping with same orgID, db, and rp exists'
api GET "/api/v2/dbrps?orgID=$ORG_ID&db=dbrp%20one&rp=autogen"
check "physical default, virtual no longer default" json_is \
    'sorted((m["virtual"], m["default"]) for m in j["content"])' '[[false, true], [true, false]]'
api POST /api/v2/dbrps --data-binary "{\"orgID\":\"$ORG_ID\",\"bucketID\":\"0123456789abcdef\",\"database\":\"x\",\"retention_policy\":\"autogen\"}"
check "unknown bucket: 404" status_is 404
api POST /api/v2/dbrps --data-binary "{\"orgID\":\"$ORG_ID\",\"bucketID\":\"nope\",\"database\":\"x\",\"retention_policy\":\"autogen\"}"
check "bad bucket ID: 400" json_is 'j["message"]' 'invalid bucket ID "nope"'
api POST /api/v2/dbrps --data-binary "{\"orgID\":\"$ORG_ID\",\"bucketID\":\"$DB_BID\",\"database\":\"a/b\",\"retention_policy\":\"autogen\"}"
check "database with '/': 400" status_is 400
api POST /api/v2/dbrps --data-binary '[1]'
check "not an object: 400 invalid json structure" json_is 'j["message"]' 'invalid json structure'
# a token that only reads the bucket can list its mappings, not create one
api POST /api/v2/authorizations --data-binary "{\"orgID\":\"$ORG_ID\",\"permissions\":[{\"action\":\"read\",\"resource\":{\"type\":\"buckets\",\"id\":\"$DB_BID\",\"orgID\":\"$ORG_ID\"}}]}"
RO=$(jq_py 'j["token"]')
req POST /api/v2/dbrps -H "Authorization: Token $RO" --data-binary "{\"orgID\":\"$ORG_ID\",\"bucketID\":\"$DB_BID\",\"database\":\"other\",\"retention_policy\":\"autogen\"}"
check "read-only token: 401" status_is 401
req GET "/api/v2/dbrps?orgID=$ORG_ID" -H "Authorization: Token $RO"
check "read-only token lists its bucket's mappings only" json_is \
    'sorted(set(m["bucketID"] for m in j["content"]))' "[\"$DB_BID\"]"

# /query, the 1.x compatibility API, as Grafana's InfluxQL health check uses it
api POST "/api/v2/write?orgID=$ORG_ID&bucket=$DB_BID&precision=s" --data-binary 'electrical,channel_id=a v=1 1700000000'
req POST /query -H "Authorization: Token $RO" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-urlencode 'db=dbrp one' --data-urlencode 'q=SHOW measurements'
check "/query SHOW measurements through the mapping" json_is \
    '[s["values"] for s in j["results"][0]["series"]]' '[[["electrical"]]]'
req GET "/query?db=other&q=SHOW%20measurements" -H "Authorization: Token $RO"
check "/query of a database the token cannot read" json_is 'j["results"][0]["error"]' 'database not found: other'
req GET "/query?db=dbrp%20one&q=SELECT%20*%20FROM%20electrical" -H "Authorization: Token $RO"
check "/query runs SHOW MEASUREMENTS only" json_is '"error" in j["results"][0]' true
req GET "/query?db=dbrp%20one&q=SHOW%20measurements"
check "/query without a token: 401" status_is 401

kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
rc=$?
SERVER_PID=
check "SIGTERM: exit 0" [ "$rc" = 0 ]

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
