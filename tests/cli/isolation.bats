#!/usr/bin/env bats
# Tenant isolation in Grafana, against the stand-ins (tests/servers/grafana.py
# follows Grafana 12 OSS at the organization boundary; influx2.py answers the
# Flux queries Grafana forwards): two companies, acme and bertin, provisioned
# by the playbooks, then acme's default user (its password from the secrets
# folder) tries to read what is bertin's.
#
#   org tenancy (the default): nothing of bertin can be read, listed or queried;
#   team tenancy: bertin's folder and dashboards stay hidden, but its datasource
#     can be read and queried (POST /api/ds/query): Grafana OSS has no
#     datasource permissions, every member of the shared organization may
#     query every datasource of it. This is what the test shows;
#   migrate_company_to_org.yml: acme moved out of a team deployment is
#     isolated again; the old resources go only with confirm_delete=yes.

# shellcheck disable=SC2030,SC2031  # each test exports its own GRAFANA_TENANCY
load playbooks

# as LOGIN METHOD PATH [JSON [ORG]]: calls Grafana as LOGIN, whose password is
# in the secrets folder (given to curl in a config file, never on its command
# line), with X-Grafana-Org-Id: ORG when given; STATUS = the HTTP status, the
# body in $BODY
as() {
    local login=$1 method=$2 path=$3 data=${4:-} org=${5:-}
    BODY="$BATS_TEST_TMPDIR/body.json"
    (
        umask 077
        printf 'user = "%s:%s"\n' "$login" "$(cat "$SECRETS/$login.password")"
        if [ -n "$org" ]; then printf 'header = "X-Grafana-Org-Id: %s"\n' "$org"; fi
    ) >"$BATS_TEST_TMPDIR/user.curlrc"
    local args=(-sS -o "$BODY" -w '%{http_code}' -X "$method" -K "$BATS_TEST_TMPDIR/user.curlrc")
    if [ -n "$data" ]; then args+=(-H 'Content-Type: application/json' --data-binary "$data"); fi
    STATUS=$(curl "${args[@]}" "$GRAFANA_URL$path")
}

# body PYTHON-EXPR: prints the expression on the last answer's JSON (as j)
body() {
    py -c 'import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if isinstance(v, str) else json.dumps(v))' "$BODY" "$1"
}

# expect STATUS [PYTHON-EXPR VALUE]: the last answer's status (and a value of its body)
expect() {
    if [ "$STATUS" != "$1" ] || { [ $# -ge 3 ] && [ "$(body "$2")" != "$3" ]; }; then
        echo "expected $1${3:+ and $2 == $3}, got $STATUS: $(head -c 400 "$BODY")"
        return 1
    fi
}

# write_point BUCKET VOLTAGE: one point of measurement electrical into InfluxDB
write_point() {
    curl -fsS -X POST -H "Authorization: Token $INFLUX2_TOKEN" \
        --data-binary "electrical,channel_id=1,file_name=a.tsv voltage=$2 1767225600000000000" \
        "$INFLUX2_URL/api/v2/write?org=$INFLUX2_ORG&bucket=$1&precision=ns"
}

# flux_query UID BUCKET: the /api/ds/query body counting BUCKET's points through datasource UID
flux_query() {
    py -c 'import json, sys
print(json.dumps({"from": "0", "to": "1893456000000", "queries": [{"refId": "A", "datasource": {"uid": sys.argv[1]},
    "query": "from(bucket: %s) |> range(start: v.timeRangeStart, stop: v.timeRangeStop) |> filter(fn: (r) => r._measurement == \"electrical\") |> count()" % json.dumps(sys.argv[2])}]}))' "$1" "$2"
}

# ids COMPANY: "org ds_uid ds_id folder_uid dashboard_uid" of COMPANY from the
# stand-in's state (in its own organization while a migration left both)
ids() {
    C=$1 gcheck '
c = os.environ["C"]
dss = sorted((d for d in s["datasources"] if d["name"] == "influxdb_" + c), key=lambda d: d["orgId"] == 1)
ds = dss[0]
f = one("folders", title=c, orgId=ds["orgId"])
d = [x for x in s["dashboards"] if x["folderUid"] == f["uid"] and x["orgId"] == ds["orgId"]][0]
print(ds["orgId"], ds["uid"], ds["id"], f["uid"], d["uid"])'
}

provision() {
    play_ok create_grafana_resources.yml -e "$(names acme north)"
    play_ok create_grafana_resources.yml -e "$(names bertin south)"
    write_point acme 230.5
    write_point bertin 231.5
}

# acme_is_isolated ORG: acme's user, in its organization ORG ("" for its current
# one), reads and queries its own resources and nothing of bertin's
acme_is_isolated() {
    local org=$1
    # shellcheck disable=SC2046  # the ids are plain words
    set -- $(ids acme) && local a_ds=$2 a_dash=$5
    # shellcheck disable=SC2046
    set -- $(ids bertin) && local b_org=$1 b_ds=$2 b_id=$3 b_folder=$4 b_dash=$5

    # its own: readable, and its datasource answers with its data
    as acme GET "/api/datasources/uid/$a_ds" "" "$org"
    expect 200 'j["name"]' influxdb_acme
    as acme GET "/api/dashboards/uid/$a_dash" "" "$org"
    expect 200
    as acme POST /api/ds/query "$(flux_query "$a_ds" acme)" "$org"
    expect 200 'j["results"]["A"]["frames"][0]["data"]["values"][-1]' '[1]'

    # bertin's datasource: by uid, name, id, in the list, through /api/ds/query
    as acme GET "/api/datasources/uid/$b_ds" "" "$org"
    expect 404
    as acme GET /api/datasources/name/influxdb_bertin "" "$org"
    expect 404
    as acme GET "/api/datasources/$b_id" "" "$org"
    expect 404
    as acme GET /api/datasources/id/influxdb_bertin "" "$org"
    expect 404
    as acme GET /api/datasources "" "$org"
    expect 200 '[d["name"] for d in j]' '["influxdb_acme"]'
    as acme POST /api/ds/query "$(flux_query "$b_ds" bertin)" "$org"
    expect 404 'j["message"]' 'Data source not found'
    # bertin's folder and dashboards
    as acme GET "/api/folders/$b_folder" "" "$org"
    expect 404
    as acme GET "/api/dashboards/uid/$b_dash" "" "$org"
    expect 404
    as acme GET /api/search "" "$org"
    expect 200 '[h["uid"] for h in j if "bertin" in h["uid"] or "bertin" in h["title"]]' '[]'
}

# acme_is_outside_bertins_org: acme's user cannot name bertin's organization
# in X-Grafana-Org-Id nor switch to it
acme_is_outside_bertins_org() {
    # shellcheck disable=SC2046
    set -- $(ids bertin) && local b_org=$1 b_ds=$2 b_folder=$4
    as acme GET "/api/datasources/uid/$b_ds" "" "$b_org"
    expect 403
    as acme POST /api/ds/query "$(flux_query "$b_ds" bertin)" "$b_org"
    expect 403
    as acme GET "/api/folders/$b_folder" "" "$b_org"
    expect 403
    as acme POST "/api/user/using/$b_org"
    expect 401 'j["message"]' 'Not a valid organization'
}

@test "org tenancy (the default): acme's user reads and queries nothing of bertin; the admin's current organization never changes" {
    grafana_api GET /api/user >"$BATS_TEST_TMPDIR/before.json"
    provision
    grafana_api GET /api/user >"$BATS_TEST_TMPDIR/after.json"
    [ "$(py -c 'import json, sys; print(json.load(open(sys.argv[1]))["orgId"])' "$BATS_TEST_TMPDIR/before.json")" = 1 ]
    cmp "$BATS_TEST_TMPDIR/before.json" "$BATS_TEST_TMPDIR/after.json"
    gcheck '
a, b = one("orgs", name="acme")["id"], one("orgs", name="bertin")["id"]
assert len({1, a, b}) == 3
assert one("users", login="acme")["orgs"] == {str(a): "Viewer"}
assert one("users", login="bertin")["orgs"] == {str(b): "Viewer"}
'
    acme_is_isolated ""
    acme_is_outside_bertins_org
}

@test "team tenancy: bertin's folder and dashboards stay hidden from acme's user, but its datasource can be read and queried" {
    export GRAFANA_TENANCY=team
    provision
    # shellcheck disable=SC2046
    set -- $(ids bertin) && local b_org=$1 b_ds=$2 b_folder=$4 b_dash=$5
    [ "$b_org" = 1 ]
    as acme GET "/api/folders/$b_folder"
    expect 403
    as acme GET "/api/dashboards/uid/$b_dash"
    expect 403
    as acme GET /api/search
    expect 200 '[h["uid"] for h in j if "bertin" in h["uid"] or "bertin" in h["title"]]' '[]'
    # what team tenancy exposes: Grafana OSS gives every Viewer datasources:read
    # and datasources:query on every datasource of the organization
    as acme GET /api/datasources
    expect 200 'sorted(d["name"] for d in j)' '["influxdb_acme", "influxdb_bertin"]'
    as acme GET "/api/datasources/uid/$b_ds"
    expect 200 'j["jsonData"]["defaultBucket"]' bertin
    as acme POST /api/ds/query "$(flux_query "$b_ds" bertin)"
    expect 200 'j["results"]["A"]["frames"][0]["data"]["values"][-1]' '[1]'
}

@test "migrate_company_to_org.yml: acme leaves the shared organization, isolated; again: no change; the old resources go only with confirm_delete=yes; bertin untouched" {
    export GRAFANA_TENANCY=team
    provision
    gcheck 'json.dump([x for k in ("teams", "folders", "dashboards", "datasources") for x in s[k] if "bertin" in json.dumps(x)],
                      open(os.environ["BATS_TEST_TMPDIR"] + "/bertin.json", "w"), sort_keys=True)'
    # shellcheck disable=SC2046
    set -- $(ids acme) && local old_ds=$2 a_dash=$5
    export OLD_DS=$old_ds A_DASH=$a_dash
    TOKEN=$("$TSV_PARSER" token --bucket acme)
    export TOKEN

    # GRAFANA_TENANCY=team stays set: the playbook ignores it
    play_ok migrate_company_to_org.yml -e '{"company_name": "acme"}'
    [ "$CHANGED" -gt 0 ]
    [[ $output == *"Left in organization 1 until a run with confirm_delete=yes"* ]]
    [[ $output == *'[\"acme\"]'* ]] || { echo "$output"; false; }
    [[ $output != *"$TOKEN"* && $output != *"$GRAFANA_PASSWORD"* && $output != *"$(cat "$SECRETS/acme.password")"* ]]
    gcheck '
o = one("orgs", name="acme")["id"]
new = load(o)
ds = [d for d in new["datasources"] if d["name"] == "influxdb_acme"]
assert len(ds) == 1 and ds[0]["secret_for_tests"] == {"token": os.environ["TOKEN"]}, ds
assert ds[0]["jsonData"]["defaultBucket"] == "acme" and ds[0]["url"] == os.environ["INFLUX2_URL"], ds
old = [d for d in s["dashboards"] if d["uid"] == os.environ["A_DASH"] and d["orgId"] == 1][0]
d = [x for x in new["dashboards"] if x["uid"] == os.environ["A_DASH"]]
assert len(d) == 1 and d[0]["title"] == old["title"] and d[0]["folderUid"] == "powerview_acme", d
# the same panels and queries, on the new datasource
assert [(q["panel"], q["query"]) for q in d[0]["queries"]] == [(q["panel"], q["query"]) for q in old["queries"]]
got = {q["datasource"]["uid"] for q in d[0]["queries"]}
assert got == {ds[0]["uid"]} and ds[0]["uid"] != os.environ["OLD_DS"], (got, ds[0]["uid"], os.environ["OLD_DS"])
# the members of the old team (bar the admin that made it) are in the new one
assert "acme" in [m["login"] for m in one("teams", name="acme", orgId=o)["members"]]
u = one("users", login="acme")
assert u["orgs"] == {"1": "Viewer", str(o): "Viewer"}, u
assert u["password_sha256"] == sha256(open(os.environ["SECRETS"] + "/acme.password").read().strip())
# the old resources are still there
one("teams", name="acme", orgId=1); one("folders", uid="powerview_acme", orgId=1)
one("datasources", name="influxdb_acme", orgId=1); one("dashboards", uid=os.environ["A_DASH"], orgId=1)
'
    acme_is_isolated "$(gcheck 'print(one("orgs", name="acme")["id"])')"
    # still a member of the shared organization until confirm_delete=yes: there,
    # bertin's datasource is still within reach
    as acme POST /api/ds/query "$(flux_query "$(ids bertin | cut -d' ' -f2)" bertin)" 1
    expect 200

    play_ok migrate_company_to_org.yml -e '{"company_name": "acme"}'
    [ "$CHANGED" -eq 0 ] || { echo "$output"; false; }

    play_ok migrate_company_to_org.yml -e '{"company_name": "acme", "confirm_delete": "yes"}'
    [ "$CHANGED" -gt 0 ]
    gcheck '
o = one("orgs", name="acme")["id"]
main = load(1)
assert not [x for k in ("teams", "folders", "dashboards", "datasources") for x in main[k] if "acme" in json.dumps(x)], main
assert one("users", login="acme")["orgs"] == {str(o): "Viewer"}
assert one("users", login="acme")["currentOrgId"] == o
new = load(o)
assert [d["uid"] for d in new["dashboards"]] == [os.environ["A_DASH"]]
bertin = [x for k in ("teams", "folders", "dashboards", "datasources") for x in s[k] if "bertin" in json.dumps(x)]
assert json.loads(json.dumps(bertin, sort_keys=True)) == json.load(open(os.environ["BATS_TEST_TMPDIR"] + "/bertin.json")), "bertin changed"
'
    # acme's user now lands in its own organization, and is out of the shared one
    acme_is_isolated ""
    acme_is_outside_bertins_org
    play_ok migrate_company_to_org.yml -e '{"company_name": "acme", "confirm_delete": "yes"}'
    [ "$CHANGED" -eq 0 ] || { echo "$output"; false; }
}
