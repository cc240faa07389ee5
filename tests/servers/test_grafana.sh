#!/usr/bin/env bash
# Self-test of tests/servers/grafana.py: starts it on a free loopback port,
# checks its answers with curl, stops it. Last line: "N passed, M failed";
# exit status 1 on any failure.
set -u

. "$(dirname "${BASH_SOURCE[0]}")/selftest.bash"

PASSWORD="pw_$(head -c 18 /dev/urandom | base64 | tr '+/=' 'xyz')"
TOKEN="glsa_$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32)_0a1b2c3d"

# with WHO METHOD PATH [JSON [CURL ARGS...]]: req with the credentials of
# $TMP/WHO.curlrc (they reach curl through a config file, not its command
# line). An empty JSON sends no body (to pass curl arguments to a GET)
with() {
    local rc="$TMP/$1.curlrc" method=$2 path=$3
    shift 3
    if [ -n "${1:-}" ]; then
        local data=$1
        shift
        req "$method" "$path" -K "$rc" -H 'Content-Type: application/json' --data-binary "$data" "$@"
    else
        shift $(($# > 0))
        req "$method" "$path" -K "$rc" "$@"
    fi
}
# api METHOD PATH [JSON [CURL ARGS...]]: as the admin (basic auth)
api() { with admin "$@"; }
# sa METHOD PATH [JSON [CURL ARGS...]]: with the service-account token
sa() { with sa "$@"; }
# as LOGIN PASSWORD METHOD PATH [JSON]: basic auth as another user
as() {
    local login=$1 password=$2 method=$3 path=$4
    shift 4
    printf 'user = "%s:%s"\n' "$login" "$password" >"$TMP/user.curlrc"
    if [ $# -ge 1 ]; then
        req "$method" "$path" -K "$TMP/user.curlrc" -H 'Content-Type: application/json' --data-binary "$1"
    else
        req "$method" "$path" -K "$TMP/user.curlrc"
    fi
}
# state EXPR: a Python expression on GET /__test/state (as s)
state() {
    curl -sS "$URL/__test/state" >"$TMP/state" &&
        "$PYTHON" -I -S -c 'import json, sys
s = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(v if not isinstance(v, (dict, list, bool)) and v is not None else json.dumps(v))' "$TMP/state" "$1"
}
state_is() { [ "$(state "$1")" = "$2" ]; }

# ---- start
GRAFANA_TEST_ADMIN_PASSWORD=$PASSWORD GRAFANA_TEST_SA_TOKEN=$TOKEN start_server grafana.py
printf 'user = "admin:%s"\n' "$PASSWORD" >"$TMP/admin.curlrc"
printf 'header = "Authorization: Bearer %s"\n' "$TOKEN" >"$TMP/sa.curlrc"

# ---- health, auth
req GET /api/health
check "health 200" status_is 200
check "health version" json_is 'j["version"] + " " + j["database"]' '12.4.5 ok'
check "health is JSON" header_is Content-Type 'application/json'
check "health has commit" json_is '"commit" in j' true
req GET /api/teams/search
check "no auth: 401" status_is 401
check "no auth: message" json_is 'j["message"]' Unauthorized
req GET /api/teams/search -u admin:wrong
check "bad password: 401" status_is 401
check "bad password: message" json_is 'j["message"]' 'Invalid username or password'
req GET /api/teams/search -H 'Authorization: Bearer glsa_nope'
check "bad token: 401" status_is 401
sa GET /api/teams/search
check "service-account token as Bearer" status_is 200
req GET /api/teams/search -u "api_key:$TOKEN"
check "token as basic-auth api_key" status_is 200
api GET /api/user
check "current user" json_is 'j["login"] + " " + str(j["isGrafanaAdmin"]) + " " + str(j["orgId"])' 'admin True 1'
api GET /api/frontend/settings
check "frontend settings version" json_is 'j["buildInfo"]["version"]' 12.4.5
api GET /api/nope
check "unknown route 404" status_is 404

# ---- teams
api POST /api/teams '{"name":"acme","email":"acme@example.com"}'
check "team created" json_is 'j["message"]' 'Team created'
TEAM=$(jq_py 'j["teamId"]')
api POST /api/teams '{"name":"acme"}'
check "team name taken: 409" status_is 409
check "team name taken: message" json_is 'j["message"]' 'Team name taken'
api POST /api/teams '{"email":"x@example.com"}'
check "team without name: 400" status_is 400
api GET "/api/teams/$TEAM"
check "get team" json_is 'j["name"] + " " + j["email"]' 'acme acme@example.com'
api GET /api/teams/search?name=acme
check "search by name" json_is '[t["name"] for t in j["teams"]]' '["acme"]'
check "search shape" json_is 'sorted(j["teams"][0])' \
    '["accessControl", "avatarUrl", "email", "id", "memberCount", "name", "orgId", "permission", "uid"]'
check "creator (basic auth) is an admin member" json_is 'j["teams"][0]["memberCount"]' 1
api GET /api/teams/search?name=acm
check "name is exact" json_is 'j["totalCount"]' 0
for i in 1 2 3 4 5; do sa POST /api/teams "{\"name\":\"page-$i\"}"; done
check "team by service account" status_is 200
sa GET "/api/teams/$(jq_py 'j["teamId"]')/members"
check "service account is not made a member" json_is 'len(j)' 0
api GET '/api/teams/search?query=page&perpage=2&page=1'
check "page 1" json_is '[j["totalCount"], j["page"], j["perPage"], [t["name"] for t in j["teams"]]]' \
    '[5, 1, 2, ["page-1", "page-2"]]'
api GET '/api/teams/search?query=PAGE&perpage=2&page=3'
check "page 3, query case-insensitive" json_is '[t["name"] for t in j["teams"]]' '["page-5"]'
api GET '/api/teams/search?query=page&perpage=2&page=4'
check "page past the end" json_is '[j["totalCount"], j["teams"]]' '[5, []]'
api GET /api/teams/search
check "all teams, default perPage" json_is '[j["totalCount"], j["perPage"]]' '[6, 1000]'

# ---- users
api POST /api/admin/users '{"name":"acme Default","email":"acme@example.com","login":"acme","password":"s3cret-1","OrgId":1}'
check "user created" json_is 'j["message"]' 'User created'
USER=$(jq_py 'j["id"]')
api POST /api/admin/users '{"name":"again","email":"other@example.com","login":"acme","password":"s3cret-1"}'
check "user exists: 412" status_is 412
check "user exists: message" json_is 'j["message"]' "User with email 'other@example.com' or username 'acme' already exists"
api POST /api/admin/users '{"login":"short","password":"abc"}'
check "short password: 400" status_is 400
api GET '/api/users/lookup?loginOrEmail=acme'
check "lookup by login" json_is '[j["id"], j["login"], j["email"], j["isGrafanaAdmin"], j["orgId"]]' \
    "[$USER, \"acme\", \"acme@example.com\", false, 1]"
api GET '/api/users/lookup?loginOrEmail=ACME@example.com'
check "lookup by email, any case" json_is 'j["id"]' "$USER"
api GET '/api/users/lookup?loginOrEmail=nobody'
check "lookup unknown: 404" status_is 404
check "lookup unknown: message" json_is 'j["message"]' 'user not found'
sa GET '/api/users/lookup?loginOrEmail=acme'
check "lookup needs a server admin: 403" status_is 403
check "403 shape" json_is 'j["title"] + " " + j["accessErrorId"][:3]' 'Access denied ACE'
api GET '/api/users/search?perpage=1&page=2&query='
check "users search page 2 (by login)" json_is '[j["totalCount"], [u["login"] for u in j["users"]]]' '[2, ["admin"]]'
check "password is not shown, only its hash" state_is \
    "[[u['password_set'], u['password_sha256'] == __import__('hashlib').sha256(b's3cret-1').hexdigest()] for u in s['users'] if u['login'] == 'acme'][0]" \
    '[true, true]'
api PUT "/api/admin/users/$USER/password" '{"password":"n3w-secret"}'
check "password updated" json_is 'j["message"]' 'User password updated'
as acme n3w-secret GET /api/user
check "new password works" json_is 'j["login"]' acme
api PUT "/api/users/$USER" '{"email":"acme@example.com","name":"acme Default","login":"acme"}'
check "user updated" json_is 'j["message"]' 'User updated'

# ---- team members
api POST "/api/teams/$TEAM/members" "{\"userId\":$USER}"
check "member added" json_is 'j["message"]' 'Member added to Team'
api POST "/api/teams/$TEAM/members" "{\"userId\":$USER}"
check "member again: 400" status_is 400
check "member again: message" json_is 'j["message"]' 'User is already added to this team'
api POST "/api/teams/$TEAM/members" "{\"userId\":\"$USER\"}"
check "userId as a string: 400 bad request data" json_is "[$STATUS, j['message']]" '[400, "bad request data"]'
api GET "/api/teams/$TEAM/members"
check "members" json_is '[(m["login"], m["permission"]) for m in j]' '[["admin", 4], ["acme", 0]]'
check "member shape" json_is 'sorted(j[1])' \
    '["auth_module", "avatarUrl", "email", "labels", "login", "name", "orgId", "permission", "teamId", "teamUID", "userId"]'
api DELETE "/api/teams/$TEAM/members/1"
check "remove the creator" json_is 'j["message"]' 'Team Member removed'
api DELETE "/api/teams/$TEAM/members/1"
check "remove again: 404" status_is 404

# ---- folders
api POST /api/folders '{"uid":"powerview_acme","title":"acme"}'
check "folder created" json_is '[j["uid"], j["title"], j["version"], j["url"]]' \
    '["powerview_acme", "acme", 1, "/dashboards/f/powerview_acme/acme"]'
FOLDER_ID=$(jq_py 'j["id"]')
check "folder shape" json_is 'all(k in j for k in ["id", "uid", "title", "url", "hasAcl", "canSave", "canEdit", "canAdmin", "version", "created", "updated"])' true
api POST /api/folders '{"uid":"powerview_acme","title":"other"}'
check "folder uid taken: 409" json_is "[$STATUS, j['message']]" '[409, "a folder/dashboard with the same uid already exists"]'
api POST /api/folders '{"uid":"other","title":"acme"}'
check "folder title taken: 409" json_is "[$STATUS, j['message']]" \
    '[409, "a folder or dashboard in the general folder with the same name already exists"]'
api POST /api/folders "{\"uid\":\"$(printf 'x%.0s' $(seq 41))\",\"title\":\"long\"}"
check "folder uid > 40: 400" json_is "[$STATUS, j['message']]" '[400, "uid too long, max 40 characters"]'
api GET /api/folders/powerview_acme
check "get folder" json_is 'j["title"]' acme
api GET /api/folders/missing
check "missing folder: 404" json_is "[$STATUS, j]" '[404, {"message": "folder not found", "status": "not-found"}]'
api GET /api/folders
check "list folders" json_is 'j' "[{\"id\": $FOLDER_ID, \"uid\": \"powerview_acme\", \"title\": \"acme\"}]"
api PUT /api/folders/powerview_acme '{"title":"acme renamed"}'
check "update without version: 412" json_is "[$STATUS, j['status']]" '[412, "version-mismatch"]'
api PUT /api/folders/powerview_acme '{"title":"acme renamed","version":1}'
check "update with version" json_is '[j["title"], j["version"]]' '["acme renamed", 2]'
api PUT /api/folders/powerview_acme '{"title":"acme","overwrite":true}'
check "update with overwrite" json_is '[j["title"], j["version"]]' '["acme", 3]'

# ---- folder permissions: defaults, then replaced
api GET /api/folders/powerview_acme/permissions
check "default folder grants" json_is \
    'sorted((p.get("role") or p["userLogin"], p["permission"], p["permissionName"]) for p in j)' \
    '[["Editor", 2, "Edit"], ["Viewer", 1, "View"], ["admin", 4, "Admin"]]'
check "grant shape" json_is 'all(k in p for p in j for k in ["folderId", "userId", "teamId", "permission", "permissionName", "uid", "title", "isFolder", "url", "inherited", "created", "updated", "userLogin", "team"])' true
api POST /api/folders/powerview_acme/permissions "{\"items\":[{\"teamId\":$TEAM,\"permission\":1}]}"
check "permissions updated" json_is 'j["message"]' 'Folder permissions updated'
api GET /api/folders/powerview_acme/permissions
check "replaced by the team alone" json_is '[(p["teamId"], p["team"], p["permission"], p.get("role")) for p in j]' \
    "[[$TEAM, \"acme\", 1, null]]"
check "state: folder grants" state_is "[f['permissions'] for f in s['folders']][0]" \
    "[{\"teamId\": $TEAM, \"team\": \"acme\", \"permission\": 1, \"permissionName\": \"View\"}]"
api POST /api/folders/powerview_acme/permissions "{\"items\":[{\"teamId\":\"$TEAM\",\"permission\":\"1\"}]}"
check "numbers as strings: 400" json_is "[$STATUS, j['message']]" '[400, "bad request data"]'
api POST /api/folders/powerview_acme/permissions "{\"items\":[{\"teamId\":$TEAM,\"role\":\"Viewer\",\"permission\":1}]}"
check "team and role: 400" status_is 400
api POST /api/folders/powerview_acme/permissions '{"items":[{"teamId":999,"permission":1}]}'
check "unknown team: 500" status_is 500
api GET /api/folders/powerview_acme/permissions
check "failed update changed nothing" json_is 'len(j)' 1

# ---- datasources
DS='{"name":"influxdb_acme","type":"influxdb","access":"proxy","url":"http://influxdb:8086","jsonData":{"version":"Flux","organization":"powerview","defaultBucket":"acme"},"secureJsonData":{"token":"tok-one"}}'
api POST /api/datasources "$DS"
check "datasource added" json_is '[j["message"], j["name"], j["datasource"]["secureJsonFields"]]' \
    '["Datasource added", "influxdb_acme", {"token": true}]'
DS_ID=$(jq_py 'j["id"]')
DS_UID=$(jq_py 'j["datasource"]["uid"]')
check "token never returned" json_is '"tok-one" in json.dumps(j)' false
api POST /api/datasources "$DS"
check "same name: 409" json_is "[$STATUS, j['message']]" '[409, "data source with the same name already exists"]'
api GET /api/datasources/name/influxdb_acme
check "by name" json_is '[j["id"], j["type"], j["jsonData"]["defaultBucket"], j["version"], j["readOnly"]]' \
    "[$DS_ID, \"influxdb\", \"acme\", 1, false]"
check "by name: the keys community.grafana deletes are there" json_is \
    'all(k in j for k in ["typeLogoUrl", "id", "basicAuth", "basicAuthUser", "version", "readOnly", "secureJsonFields"])' true
api GET /api/datasources/name/nope
check "unknown name: 404" json_is "[$STATUS, j['message']]" '[404, "Data source not found"]'
api GET "/api/datasources/uid/$DS_UID"
check "by uid" json_is 'j["name"]' influxdb_acme
api GET /api/datasources
check "list" json_is '[(d["name"], d["typeName"]) for d in j]' '[["influxdb_acme", "InfluxDB"]]'
check "state: token hash and value" state_is \
    "[[d['secret_for_tests']['token'], d['secure_sha256']['token'] == __import__('hashlib').sha256(b'tok-one').hexdigest()] for d in s['datasources']][0]" \
    '["tok-one", true]'
api PUT "/api/datasources/uid/$DS_UID" '{"name":"influxdb_acme","type":"influxdb","access":"proxy","url":"http://influxdb:8086","jsonData":{"version":"Flux"}}'
check "update without secureJsonData" json_is '[j["message"], j["datasource"]["secureJsonFields"]]' \
    '["Datasource updated", {"token": true}]'
check "token kept" state_is "s['datasources'][0]['secret_for_tests']" '{"token": "tok-one"}'
api PUT "/api/datasources/$DS_ID" '{"name":"influxdb_acme","type":"influxdb","access":"proxy","url":"http://influxdb:8086","jsonData":{"version":"Flux"},"secureJsonData":{"token":"tok-two"},"version":1}'
check "update by id with a new token" json_is 'j["message"]' 'Datasource updated'
check "new token stored" state_is "s['datasources'][0]['secret_for_tests']" '{"token": "tok-two"}'
api PUT "/api/datasources/$DS_ID" '{"name":"influxdb_acme","type":"influxdb","access":"proxy","version":1}'
check "stale version: 409" status_is 409
api POST /api/datasources '{"name":"other","type":"influxdb","access":"proxy","secureJsonData":{"token":123}}'
check "non-string secure value: 400" status_is 400
api POST /api/datasources '{"name":"gone","type":"influxdb-adecwatts-datasource","access":"proxy","uid":"gone_ds"}'
check "custom plugin type" json_is 'j["datasource"]["typeLogoUrl"]' public/img/icn-datasource.svg
api DELETE /api/datasources/uid/gone_ds
check "delete by uid" json_is 'j["message"]' 'Data source deleted'
api POST /api/datasources '{"name":"gone2","type":"influxdb","access":"proxy"}'
api DELETE /api/datasources/name/gone2
check "delete by name" json_is 'j["message"]' 'Data source deleted'
api DELETE /api/datasources/name/gone2
check "delete missing: 404" status_is 404

# ---- dashboards
dash() { # dash UID TITLE [EXTRA-TOP-LEVEL-JSON]
    printf '{"dashboard":{"uid":"%s","title":"%s","id":null,"panels":[{"id":1,"title":"P","targets":[{"refId":"A","query":"from(bucket: \\"acme\\") |> range(start: -1h)"}]}]}%s}' "$1" "$2" "${3:-}"
}
api POST /api/dashboards/db "$(dash powerview_acme_c1 'acme / c1' ',"folderUid":"powerview_acme","overwrite":true')"
check "dashboard saved" json_is '[j["status"], j["uid"], j["version"], j["slug"], j["url"]]' \
    '["success", "powerview_acme_c1", 1, "acme-c1", "/d/powerview_acme_c1/acme-c1"]'
DASH_ID=$(jq_py 'j["id"]')
check "state: dashboard queries" state_is \
    "[q['query'] for d in s['dashboards'] if d['uid'] == 'powerview_acme_c1' for q in d['queries']]" \
    '["from(bucket: \"acme\") |> range(start: -1h)"]'
api POST /api/dashboards/db "$(dash powerview_acme_c1 'acme / c1' ',"folderUid":"powerview_acme","overwrite":true')"
check "overwrite: version 2, same id" json_is '[j["version"], j["id"]]' "[2, $DASH_ID]"
api POST /api/dashboards/db "$(dash powerview_acme_c1 'acme / c1' ',"folderUid":"powerview_acme"')"
check "existing uid, no overwrite, no version: 412" json_is "[$STATUS, j]" \
    '[412, {"message": "The dashboard has been changed by someone else", "status": "version-mismatch"}]'
api POST /api/dashboards/db '{"dashboard":{"uid":"powerview_acme_c1","title":"acme / c1","version":2},"folderUid":"powerview_acme"}'
check "matching version, no overwrite: saved" json_is '[j["status"], j["version"]]' '["success", 3]'
api POST /api/dashboards/db '{"dashboard":{"uid":"powerview_acme_c1","title":"acme / c1","version":1},"folderUid":"powerview_acme"}'
check "stale version: 412" json_is "[$STATUS, j['status']]" '[412, "version-mismatch"]'
api POST /api/dashboards/db "$(dash other_uid 'acme / c1' ',"folderUid":"powerview_acme"')"
check "same title in folder: 412" json_is "[$STATUS, j]" \
    '[412, {"message": "A dashboard with the same name in the folder already exists", "status": "name-exists"}]'
api POST /api/dashboards/db "$(dash other_uid 'acme / c1' ',"overwrite":true')"
check "same title in another folder: saved" json_is 'j["uid"]' other_uid
api POST /api/dashboards/db "$(dash other2 'ACME' ',"folderUid":"powerview_acme"')"
check "title of a folder: 400" json_is "[$STATUS, j['message']]" '[400, "Dashboard name cannot be the same as folder"]'
api POST /api/dashboards/db "$(dash "$(printf 'u%.0s' $(seq 41))" 'long uid')"
check "uid > 40: 400" json_is "[$STATUS, j['message']]" '[400, "uid too long, max 40 characters"]'
api POST /api/dashboards/db "$(dash 'bad uid!' 'bad uid')"
check "uid with bad characters: 400" json_is "[$STATUS, j['message']]" '[400, "uid contains illegal characters"]'
api POST /api/dashboards/db "$(dash fine_uid 'x' ',"folderUid":"missing"')"
check "unknown folderUid: 400" json_is "[$STATUS, j['message']]" '[400, "Folder not found"]'
api POST /api/dashboards/db "$(dash fine_uid 'x' ',"overwrite":"true"')"
check "overwrite as a string: 400" status_is 400
api POST /api/dashboards/db "$(dash by_folder_id 'by id' ",\"folderId\":$FOLDER_ID")"
check "save by folderId" status_is 200
api GET /api/dashboards/uid/powerview_acme_c1
check "get dashboard" json_is '[j["dashboard"]["uid"], j["dashboard"]["id"], j["dashboard"]["version"], j["dashboard"]["title"]]' \
    "[\"powerview_acme_c1\", $DASH_ID, 3, \"acme / c1\"]"
check "dashboard meta" json_is '[j["meta"][k] for k in ("folderUid", "folderId", "folderTitle", "version", "slug", "url")]' \
    "[\"powerview_acme\", $FOLDER_ID, \"acme\", 3, \"acme-c1\", \"/d/powerview_acme_c1/acme-c1\"]"
api GET /api/dashboards/uid/nope
check "missing dashboard: 404" json_is "[$STATUS, j['message']]" '[404, "Dashboard not found"]'
api GET "/api/search?type=dash-db&folderUIDs=powerview_acme"
check "search in folder" json_is 'sorted(h["uid"] for h in j)' '["by_folder_id", "powerview_acme_c1"]'
check "hit shape" json_is '[j[0][k] for k in ("type", "folderUid", "folderTitle")]' '["dash-db", "powerview_acme", "acme"]'
api GET "/api/search?type=dash-db&folderIds=$FOLDER_ID&query=C1"
check "search by folderIds and query" json_is '[h["uid"] for h in j]' '["powerview_acme_c1"]'
api GET "/api/search?type=dash-folder&query=acme"
check "search folders" json_is '[(h["uid"], h["type"]) for h in j]' '[["powerview_acme", "dash-folder"]]'
api GET "/api/search?type=dash-db&folderIds=0"
check "search the General folder" json_is '[h["uid"] for h in j]' '["other_uid"]'

# ---- dashboard permissions
api GET /api/dashboards/uid/powerview_acme_c1/permissions
check "dashboard grants: creator + inherited folder team" json_is \
    '[(p["inherited"], p.get("role") or p["userLogin"] or p["team"], p["permission"]) for p in j]' \
    '[[false, "admin", 4], [true, "acme", 1]]'
api POST /api/dashboards/uid/powerview_acme_c1/permissions "{\"items\":[{\"teamId\":$TEAM,\"permission\":1},{\"userId\":$USER,\"permission\":2}]}"
check "dashboard permissions updated" json_is 'j["message"]' 'Dashboard permissions updated'
api GET /api/dashboards/uid/powerview_acme_c1/permissions
check "dashboard grants replaced" json_is \
    '[(p["inherited"], p["teamId"], p["userId"], p["permission"]) for p in j]' \
    "[[false, $TEAM, 0, 1], [false, 0, $USER, 2], [true, $TEAM, 0, 1]]"
api GET /api/dashboards/uid/other_uid/permissions
check "General dashboard gets the role grants" json_is 'sorted(p.get("role", "") for p in j)' '["", "Editor", "Viewer"]'

# ---- what a team member (org Viewer) sees
as acme n3w-secret GET "/api/search?type=dash-db"
check "member sees the team's dashboards and General ones" json_is 'sorted(h["uid"] for h in j)' \
    '["by_folder_id", "other_uid", "powerview_acme_c1"]'
api POST /api/teams '{"name":"other"}'
OTHER_TEAM=$(jq_py 'j["teamId"]')
api POST /api/folders/powerview_acme/permissions "{\"items\":[{\"teamId\":$OTHER_TEAM,\"permission\":1}]}"
as acme n3w-secret GET "/api/search?type=dash-db&folderUIDs=powerview_acme"
check "dashboard-level grant still shows it" json_is '[h["uid"] for h in j]' '["powerview_acme_c1"]'
as acme n3w-secret GET /api/folders/powerview_acme
check "folder hidden from a non-member: 403" status_is 403
as acme n3w-secret POST /api/teams '{"name":"nope"}'
check "viewer cannot create a team: 403" status_is 403

# ---- orgs and org switching
api POST /api/orgs '{"name":"client-org"}'
check "org created" json_is 'j["message"]' 'Organization created'
ORG=$(jq_py 'j["orgId"]')
api POST /api/orgs '{"name":"client-org"}'
check "org name taken: 409" json_is "[$STATUS, j['message']]" '[409, "Organization name taken"]'
api GET /api/orgs/name/client-org
check "org by name" json_is '[j["id"], j["name"]]' "[$ORG, \"client-org\"]"
api GET /api/orgs/name/nope
check "unknown org: 404" status_is 404
api GET /api/orgs
check "list orgs" json_is '[o["name"] for o in j]' '["Main Org.", "client-org"]'
api GET "/api/orgs/$ORG/users"
check "creator is Admin of the new org" json_is '[(u["login"], u["role"]) for u in j]' '[["admin", "Admin"]]'
api POST "/api/orgs/$ORG/users" '{"loginOrEmail":"acme","role":"Viewer"}'
check "user added to org" json_is 'j["message"]' 'User added to organization'
api POST "/api/orgs/$ORG/users" '{"loginOrEmail":"acme","role":"Viewer"}'
check "already member: 409" status_is 409
api POST "/api/orgs/$ORG/users" '{"loginOrEmail":"nobody","role":"Viewer"}'
check "unknown user: 404" status_is 404
api POST /api/teams '{"name":"acme"}' -H "X-Grafana-Org-Id: $ORG"
check "X-Grafana-Org-Id: same team name in another org" status_is 200
check "teams are per org" state_is "sorted((t['orgId'], t['name']) for t in s['teams'] if t['name'] == 'acme')" \
    "[[1, \"acme\"], [$ORG, \"acme\"]]"
api GET /api/folders '' -H "X-Grafana-Org-Id: $ORG"
check "header org has no folders" json_is 'j' '[]'
api POST "/api/user/using/$ORG"
check "switch org" json_is 'j["message"]' 'Active organization changed'
api GET /api/folders
check "current org switched" json_is 'j' '[]'
api GET /api/org
check "current org" json_is 'j["name"]' client-org
sa GET /api/folders
check "service account stays in org 1" json_is '[f["uid"] for f in j]' '["powerview_acme"]'
sa GET /api/folders '' -H "X-Grafana-Org-Id: $ORG"
check "service account ignores X-Grafana-Org-Id" json_is '[f["uid"] for f in j]' '["powerview_acme"]'
sa POST /api/orgs '{"name":"sa-org"}'
check "service account cannot create orgs" status_is 403
api POST /api/user/using/999
check "switch to a foreign org: 401" status_is 401
api POST /api/user/using/1
api DELETE "/api/orgs/$ORG/users/$USER"
check "user removed from org" json_is 'j["message"]' 'User removed from organization'
api GET "/api/orgs/$ORG/users"
check "org users" json_is '[u["login"] for u in j]' '["admin"]'
api POST /api/admin/users "{\"login\":\"solo\",\"password\":\"solo-pw\",\"OrgId\":$ORG}"
SOLO=$(jq_py 'j["id"]')
check "user created in an org" state_is "[u['orgs'] for u in s['users'] if u['login'] == 'solo'][0]" "{\"$ORG\": \"Viewer\"}"
api DELETE "/api/orgs/$ORG/users/$SOLO"
check "removed from its last org: deleted" json_is 'j["message"]' 'User deleted'

# ---- the organization boundary (Grafana 12 OSS): datasource reads and
# POST /api/ds/query. A one-file InfluxDB 1.x /query fake records what
# Grafana's InfluxQL plugin sends (db, epoch, q, basic auth) and answers one
# series.
cat >"$TMP/influx1.py" <<'PY'
import base64, json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit
class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def do_GET(self):
        q = parse_qs(urlsplit(self.path).query)
        auth = base64.b64decode(self.headers.get("Authorization", "Basic ")[6:]).decode()
        with open(sys.argv[2], "a") as f:
            f.write(json.dumps({"path": urlsplit(self.path).path, "q": q, "auth": auth}) + "\n")
        if auth != "reader:r34d":
            body, code = {"error": "authorization failed"}, 401
        else:
            body, code = {"results": [{"statement_id": 0, "series": [{"name": "electrical",
                    "tags": {"channel_id": "1"}, "columns": ["time", "mean"],
                    "values": [[1000, 230.5], [2000, 231]]}]}]}, 200
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
s = HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
__import__("os").replace(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
PY
"$PYTHON" "$TMP/influx1.py" "$TMP/influx1.port" "$TMP/influx1.log" &
INFLUX1_PID=$!
for _ in $(seq 100); do
    [ -s "$TMP/influx1.port" ] && break
    sleep 0.05
done
INFLUX1="http://127.0.0.1:$(cat "$TMP/influx1.port")"
api POST /api/datasources "{\"name\":\"iql\",\"uid\":\"iql_acme\",\"type\":\"influxdb\",\"access\":\"proxy\",\"url\":\"$INFLUX1\",\"database\":\"acme\",\"user\":\"reader\",\"secureJsonData\":{\"password\":\"r34d\"}}"
check "InfluxQL datasource added" status_is 200
as acme n3w-secret GET /api/datasources/uid/iql_acme
check "a Viewer reads a datasource of its org (OSS: datasources:read)" json_is '[j["name"], "password" in json.dumps(j["secureJsonFields"]), "r34d" in json.dumps(j)]' '["iql", true, false]'
as acme n3w-secret GET /api/datasources
check "a Viewer lists the datasources of its org" json_is 'sorted(d["name"] for d in j)' '["influxdb_acme", "iql"]'
as acme n3w-secret GET /api/datasources/id/iql
check "a Viewer reads a datasource id" status_is 200
# shellcheck disable=SC2016  # Grafana's macros, not shell variables
QUERY='{"from":"1000","to":"5000","queries":[{"refId":"A","datasource":{"uid":"iql_acme"},"rawQuery":true,"query":"SELECT mean(\"voltage\") FROM \"electrical\" WHERE $timeFilter GROUP BY time($__interval)","intervalMs":60000}]}'
as acme n3w-secret POST /api/ds/query "$QUERY"
check "ds/query by a Viewer: 200" status_is 200
check "ds/query frames: the series' rows" json_is \
    '[j["results"]["A"]["status"], [f["name"] for f in j["results"]["A"]["frames"][0]["schema"]["fields"]], j["results"]["A"]["frames"][0]["data"]["values"], j["results"]["A"]["frames"][0]["schema"]["fields"][1]["labels"]]' \
    '[200, ["Time", "mean"], [[1000, 2000], [230.5, 231]], {"channel_id": "1"}]'
check "InfluxQL sent as Grafana does: db, epoch=ms, macros replaced, basic auth" \
    "$PYTHON" -c 'import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert r["path"] == "/query" and r["auth"] == "reader:r34d", r
assert r["q"]["db"] == ["acme"] and r["q"]["epoch"] == ["ms"], r
assert r["q"]["q"] == ["SELECT mean(\"voltage\") FROM \"electrical\" WHERE time >= 1000ms and time <= 5000ms GROUP BY time(1m)"], r' "$TMP/influx1.log"
api PUT /api/datasources/uid/iql_acme "{\"name\":\"iql\",\"type\":\"influxdb\",\"access\":\"proxy\",\"url\":\"$INFLUX1\",\"database\":\"acme\",\"user\":\"reader\",\"secureJsonData\":{\"password\":\"wrong\"}}"
as acme n3w-secret POST /api/ds/query "$QUERY"
check "a refused InfluxDB login: 400, the error in the result" json_is \
    "[$STATUS, j['results']['A']['status'], 'authorization failed' in j['results']['A']['error']]" '[400, 401, true]'
as acme n3w-secret POST /api/ds/query '{"queries":[]}'
check "no queries: 400" json_is "[$STATUS, j['message'], j['messageId']]" '[400, "No queries found", "query.noQueries"]'
as acme n3w-secret POST /api/ds/query '{"queries":[{"refId":"B","query":"x"}]}'
check "no datasource: 400" json_is "[$STATUS, j['message']]" '[400, "Query B is missing datasource information"]'
api POST /api/orgs '{"name":"boundary"}'
BORG=$(jq_py 'j["orgId"]')
api POST /api/datasources '{"name":"b_ds","uid":"b_ds","type":"influxdb","access":"proxy","url":"http://127.0.0.1:9"}' -H "X-Grafana-Org-Id: $BORG"
check "datasource in another org" status_is 200
api POST /api/ds/query '{"queries":[{"refId":"A","datasource":{"uid":"b_ds"},"query":"SELECT 1"}]}'
check "ds/query: another org's uid is 404 (even for the server admin)" json_is "[$STATUS, j['message']]" '[404, "Data source not found"]'
as acme n3w-secret POST /api/ds/query '{"queries":[{"refId":"A","datasource":{"uid":"b_ds"},"query":"SELECT 1"}]}'
check "ds/query: another org's uid, a Viewer: 404" json_is "[$STATUS, j['message']]" '[404, "Data source not found"]'
as acme n3w-secret GET /api/datasources/uid/b_ds
check "another org's datasource by uid: 404" status_is 404
printf 'user = "acme:n3w-secret"\nheader = "X-Grafana-Org-Id: %s"\n' "$BORG" >"$TMP/user.curlrc"
req GET /api/datasources/uid/b_ds -K "$TMP/user.curlrc"
check "X-Grafana-Org-Id of an org the user is not in: 403" json_is "[$STATUS, j['message']]" \
    "[403, \"You'll need additional permissions to perform this action. Permissions needed: datasources:read\"]"
req POST /api/ds/query -K "$TMP/user.curlrc" -H 'Content-Type: application/json' \
    --data-binary '{"queries":[{"refId":"A","datasource":{"uid":"b_ds"},"query":"SELECT 1"}]}'
check "ds/query into an org the user is not in: 403" status_is 403
req GET /api/user -K "$TMP/user.curlrc"
check "a user outside the org asked for has org -1" json_is 'j["orgId"]' -1
as acme n3w-secret POST "/api/user/using/$BORG"
check "switching to an org the user is not in: 401" json_is "[$STATUS, j['message']]" '[401, "Not a valid organization"]'
api DELETE "/api/orgs/$BORG"
api DELETE /api/datasources/uid/iql_acme
kill "$INFLUX1_PID" 2>/dev/null
wait "$INFLUX1_PID" 2>/dev/null

# ---- deletes
api DELETE /api/dashboards/uid/other_uid
check "dashboard deleted" json_is '[j["title"], j["message"]]' '["acme / c1", "Dashboard acme / c1 deleted"]'
api DELETE /api/dashboards/uid/other_uid
check "delete missing dashboard: 404" status_is 404
api DELETE /api/folders/powerview_acme
check "folder deleted" json_is 'j["message"]' 'Folder deleted'
check "its dashboards went with it" state_is '[d["uid"] for d in s["dashboards"]]' '[]'
api DELETE "/api/teams/$TEAM"
check "team deleted" json_is 'j["message"]' 'Team deleted'
api DELETE "/api/teams/$TEAM"
check "delete missing team: 404" status_is 404
api DELETE "/api/admin/users/$USER"
check "user deleted" json_is 'j["message"]' 'User deleted'
api GET '/api/users/lookup?loginOrEmail=acme'
check "deleted user is gone" status_is 404
api DELETE "/api/orgs/$ORG"
check "org deleted" json_is 'j["message"]' 'Organization deleted'
check "its team went with it" state_is "[t['orgId'] for t in s['teams'] if t['name'] == 'acme']" '[]'

# ---- control API: request log without secrets, faults, reset
req GET /__test/requests
check "request log" json_is 'all(k in r for r in j for k in ("method", "path", "query", "status", "org", "auth"))' true
check "log records auth kinds" json_is 'sorted({r["auth"] for r in j if r["auth"]})' '["basic", "bearer", "invalid", "none"]'
# shellcheck disable=SC2016 # $1.. expand in the inner bash
for secret in "$PASSWORD" "$TOKEN" tok-one tok-two s3cret-1 n3w-secret solo-pw; do
    check "log never holds $secret" bash -c '! grep -qF -- "$1" "$2" "$3"' _ "$secret" "$TMP/body" "$TMP/server.log"
done
req POST /__test/faults -d '{"path":"/api/teams/search","status":503,"times":1}'
check "fault queued" json_is 'j["queued"]' 1
api GET /api/teams/search
check "fault answered" status_is 503
api GET /api/teams/search
check "fault used once" status_is 200
req DELETE /__test/requests
req GET /__test/requests
check "log cleared" json_is 'len(j)' 0
req POST /__test/reset
check "reset" state_is '[len(s["teams"]), len(s["folders"]), len(s["datasources"]), [u["login"] for u in s["users"]]]' \
    '[0, 0, 0, ["admin", "sa-ansible"]]'
api GET /api/user
check "admin password survives reset" status_is 200
sa GET /api/folders
check "token survives reset" status_is 200

echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
