#!/usr/bin/env bats
# The Grafana playbooks of ansible/ against tests/servers/grafana.py (the
# Grafana API stand-in) and tests/servers/influx2.py (InfluxDB 2, for
# `tsv_parser token`), run the way hooks/on-upload.sh runs them: from the
# playbook's folder, the names as one JSON --extra-vars object.
#
# What Grafana holds is read from the stand-in's /__test/state; the expected
# uids are computed here again from the rule (the oracle in playbooks.bash), not taken
# from the playbooks.
# shellcheck disable=SC2016,SC2030,SC2031  # $1 belongs to the inner bash -c; each test sets its own GRAFANA_TENANCY
load playbooks

@test "the playbooks pass ansible-playbook --syntax-check" {
    local pb
    for pb in create_grafana_resources.yml delete_grafana_resources.yml add_grafana_user_to_team.yml \
        migrate_company_to_org.yml; do
        run bash -c 'cd "$1" && exec ansible-playbook --syntax-check "$2" 2>&1' _ "$ANSIBLE_DIR" "$pb"
        [ "$status" -eq 0 ] || { echo "$output"; return 1; }
    done
}

@test "ansible-lint finds nothing in ansible/" {
    command -v ansible-lint >/dev/null || skip "ansible-lint is not installed"
    # offline: no Galaxy; its caches go to the test's folder
    run env HOME="$BATS_TEST_TMPDIR" XDG_CACHE_HOME="$BATS_TEST_TMPDIR/cache" \
        bash -c 'cd "$1" && exec ansible-lint --offline --nocolor 2>&1' _ "$ANSIBLE_DIR"
    [ "$status" -eq 0 ] || { echo "$output"; return 1; }
}

# The campaigns' names make uids too long (4 + 41 characters): shortened,
# stable from one run to the next, distinct although they differ at the end only.
@test "create: team, folder, member, datasource and dashboard; run again, nothing changes; a new campaign adds its dashboard only; add a user; delete" {
    # team tenancy, asked for (org is the default): the service-account token
    export GRAFANA_TENANCY=team
    export A=north-site-measurement-campaign-2026-09-a B=north-site-measurement-campaign-2026-09-b
    play_ok create_grafana_resources.yml -e "$(names acme "$A")"
    [ "$CHANGED" -gt 0 ]
    TOKEN=$("$TSV_PARSER" token --bucket acme)
    export TOKEN
    # no secret in what the hook logs
    [[ $output != *"$TOKEN"* && $output != *"$GRAFANA_API_TOKEN"* && $output != *"$GRAFANA_PASSWORD"* ]]
    [[ $output != *"$(cat "$SECRETS/acme.password")"* ]]
    gcheck '
t = one("teams", name="acme", orgId=1)
assert [m["login"] for m in t["members"]] == ["acme"], t
f = one("folders", uid="powerview_acme", title="acme", orgId=1)
# team tenancy: the team only (the service account that made the folder has no grant)
assert perms(f) == [("team", "acme", 1)], perms(f)
u = one("users", login="acme", email="acme@localhost")
assert u["orgs"] == {"1": "Viewer"} and u["teams"] == ["acme"], u
pw = open(os.environ["SECRETS"] + "/acme.password").read().strip()
assert len(pw) >= 20 and u["password_sha256"] == sha256(pw)
assert oct(os.stat(os.environ["SECRETS"] + "/acme.password").st_mode & 0o777) == "0o600"
ds = one("datasources", name="influxdb_acme", orgId=1)
assert ds["type"] == "influxdb" and ds["access"] == "proxy" and ds["url"] == os.environ["INFLUX2_URL"], ds
assert {k: ds["jsonData"][k] for k in ("version", "organization", "defaultBucket")} == \
    {"version": "Flux", "organization": "powerview", "defaultBucket": "acme"}, ds["jsonData"]
assert ds["secret_for_tests"] == {"token": os.environ["TOKEN"]}
assert "powerviewTokenSha256" not in ds["jsonData"], ds["jsonData"]
assert len(s["dashboards"]) == 1
d = one("dashboards", uid=uid("acme", os.environ["A"]), folderUid="powerview_acme")
assert d["uid"] == "pv_acme_north-site-measurement-_b7041f3e", d["uid"]
assert "acme" in d["title"] and os.environ["A"] in d["title"], d["title"]
assert d["permissions"] == [], d["permissions"]   # the folder gives the team View
assert all(q["datasource"]["uid"] == ds["uid"] for q in d["queries"]), d["queries"]
assert [v for v in d["variables"] if v["name"] == "powerview_hash"], d["variables"]
'
    # the same again: no change at all (the same uid)
    play_ok create_grafana_resources.yml -e "$(names acme "$A")"
    [ "$CHANGED" -eq 0 ] || { echo "$output"; false; }

    # a new campaign: its dashboard, nothing else
    play_ok create_grafana_resources.yml -e "$(names acme "$B")"
    [ "$CHANGED" -eq 1 ] || { echo "$output"; false; }
    [ "$(changed_tasks)" = "Post the dashboard" ]
    gcheck '
assert len(s["dashboards"]) == 2
a, b = uid("acme", os.environ["A"]), uid("acme", os.environ["B"])
assert a != b and a[:-8] == b[:-8] and len(b) == 40 and re.fullmatch(r"pv_[A-Za-z0-9_-]{28}_[0-9a-f]{8}", b), (a, b)
d = one("dashboards", uid=b, folderUid="powerview_acme")
assert os.environ["B"] in d["title"] and d["permissions"] == []
assert one("dashboards", uid=a)["version"] == 1
'

    # a user added to the team, with a generated password; again: no change
    play_ok add_grafana_user_to_team.yml \
        -e '{"team_name": "acme", "user_login_override": "jdoe", "user_email_override": "j.doe@acme.example"}'
    [ "$CHANGED" -eq 2 ] || { echo "$output"; false; }
    play_ok add_grafana_user_to_team.yml \
        -e '{"team_name": "acme", "user_login_override": "jdoe", "user_email_override": "j.doe@acme.example"}'
    [ "$CHANGED" -eq 0 ] || { echo "$output"; false; }
    gcheck '
u = one("users", login="jdoe", email="j.doe@acme.example")
assert u["orgs"] == {"1": "Viewer"} and u["teams"] == ["acme"], u
assert u["password_sha256"] == sha256(open(os.environ["SECRETS"] + "/jdoe.password").read().strip())
assert sorted(m["login"] for m in one("teams", name="acme")["members"]) == ["acme", "jdoe"]
'

    # delete: refused without confirm_delete=yes, nothing touched
    play delete_grafana_resources.yml -e '{"company_name": "acme"}'
    [ "$status" -ne 0 ]
    [[ $output == *"Deletion cancelled by user"* ]]
    gcheck 'assert len(s["dashboards"]) == 2 and len(s["teams"]) == 1 and len(s["datasources"]) == 1'

    play_ok delete_grafana_resources.yml -e '{"company_name": "acme", "confirm_delete": "yes"}'
    gcheck '
assert s["dashboards"] == [] and s["folders"] == [] and s["teams"] == [] and s["datasources"] == [], s
logins = sorted(u["login"] for u in s["users"])
assert logins == ["admin", "jdoe", "sa-ansible"], logins
'
    # InfluxDB keeps the bucket and its token
    [ "$("$TSV_PARSER" token --bucket acme)" = "$TOKEN" ]
    run influx2 GET /__test/buckets
    [[ $output == *'"acme"'* ]]

    # again, for another user: nothing else to do, no failure
    play_ok delete_grafana_resources.yml -e '{"company_name": "acme", "confirm_delete": "yes", "user_name": "jdoe"}'
    [ "$(changed_tasks)" = "Delete the user" ]
    gcheck 'assert sorted(u["login"] for u in s["users"]) == ["admin", "sa-ansible"]'
}

@test "basic auth and names with spaces, quotes and '=': the main organization whatever the admin's current one; the folder of the original playbooks kept; default role grants go; a password given; a new token and a dashboard edited in Grafana are put right, nothing else" {
    unset GRAFANA_API_TOKEN
    export GRAFANA_TENANCY=team       # org is the default
    company="o'Brien & Co = x ltd"   # no '"' in a bucket name
    campaign='site "A" = north'
    # the company's folder as the original playbooks made it: another uid
    grafana_api POST /api/folders "$(py -c 'import json, sys; print(json.dumps({"title": sys.argv[1], "uid": "oldfolder1"}))' "$company")" >/dev/null
    # the admin last looked at another organization in Grafana's menu
    grafana_api POST /api/orgs '{"name": "other"}' >/dev/null
    grafana_api POST /api/user/using/2 >/dev/null
    # ... and the default member's password given (taken as is, never templated)
    play_ok create_grafana_resources.yml -e "$(names "$company" "$campaign")" \
        -e '{"powerview_user_password": "s3cret {{ x }} pw"}'
    export COMPANY=$company CAMPAIGN=$campaign
    gcheck '
c, p = os.environ["COMPANY"], os.environ["CAMPAIGN"]
assert all(x["orgId"] == 1 for k in ("teams", "folders", "dashboards", "datasources") for x in s[k]), s
assert one("users", login="admin")["currentOrgId"] == 2
assert one("users", login=c)["orgs"] == {"1": "Viewer"}
assert [f["uid"] for f in s["folders"]] == ["oldfolder1"], s["folders"]   # taken as it is
f = one("folders", title=c)
assert uid(c).startswith("pv_") and len(uid(c)) <= 40   # what a new folder would have had
# made with basic auth: Grafana gave the admin Admin, Editor Edit and Viewer View;
# the two role grants are gone, the team has View
assert perms(f) == [("team", c, 1), ("user", "admin", 4)], perms(f)
d = one("dashboards", uid=uid(c, p), folderUid=f["uid"])
assert c in d["title"] and p in d["title"]
assert perms(d) == [("user", "admin", 4)], perms(d)     # the creator; the team sees it from the folder
one("datasources", name="influxdb_" + c)
u = one("users", login=c)
assert u["teams"] == [c] and re.fullmatch(r"[A-Za-z0-9._+-]+@localhost", u["email"]), u
assert u["password_sha256"] == sha256("s3cret {{ x }} pw") and not os.path.exists(os.environ["SECRETS"]), u
'
    # a new token, and the dashboard edited by hand: both put right
    NEW_TOKEN=$("$TSV_PARSER" token --bucket "$company" --rotate)
    export NEW_TOKEN
    DASH_UID=$(gcheck 'print(uid(os.environ["COMPANY"], os.environ["CAMPAIGN"]))')
    grafana_api POST /api/user/using/1 >/dev/null
    grafana_api GET "/api/dashboards/uid/$DASH_UID" |
        py -c 'import json, sys; d = json.load(sys.stdin); d["dashboard"]["title"] = "edited"; print(json.dumps({"dashboard": d["dashboard"], "folderUid": d["meta"]["folderUid"], "overwrite": True}))' \
            >"$BATS_TEST_TMPDIR/edited.json"
    grafana_api POST /api/dashboards/db "$(cat "$BATS_TEST_TMPDIR/edited.json")" >/dev/null
    play_ok create_grafana_resources.yml -e "$(names "$company" "$campaign")"
    [ "$CHANGED" -eq 2 ] || { echo "$output"; false; }
    [ "$(changed_tasks | sort | tr '\n' ,)" = "Post the dashboard,Update the datasource," ]
    gcheck '
c, p = os.environ["COMPANY"], os.environ["CAMPAIGN"]
ds = one("datasources", name="influxdb_" + c)
assert ds["secret_for_tests"]["token"] == os.environ["NEW_TOKEN"]
assert "powerviewTokenSha256" not in ds["jsonData"], ds["jsonData"]
d = one("dashboards", uid=uid(c, p))
assert d["title"] != "edited" and d["version"] == 3, d
'
}

@test "org tenancy (the default): everything in the company's own organization, nothing in the main one" {
    export C="Acme & Sons"     # its folder uid is the shortened one
    # no grafana_tenancy given: org is the default
    play_ok create_grafana_resources.yml -e "$(names "$C" north-site)"
    gcheck '
c = os.environ["C"]
o = one("orgs", name=c)
assert o["id"] != 1
main = load(1)
assert main["teams"] == [] and main["folders"] == [] and main["dashboards"] == [] and main["datasources"] == []
s = load(o["id"])
t = one("teams", name=c, orgId=o["id"])
assert c in [m["login"] for m in t["members"]], t
f = one("folders", uid=uid(c), title=c, orgId=o["id"])
assert f["uid"] == "pv_Acme_Sons_" + sha1(c)[:8], f["uid"]
# in its own organization the folder keeps the role grants: all its users are the client
assert ("team", c, 1) in perms(f), perms(f)
one("datasources", name="influxdb_" + c, orgId=o["id"])
one("dashboards", uid=uid(c, "north-site"), orgId=o["id"], folderUid=f["uid"])
s = load()
u = one("users", login=c)
assert u["orgs"] == {str(o["id"]): "Viewer"}, u    # not in the main organization
admin = one("users", login="admin")
assert admin["currentOrgId"] == 1, admin            # the current org of the admin never switched
r = requests()
assert not [x for x in r if x["path"].startswith("/api/user/using")]
assert not [x for x in r if x["auth"] == "bearer"]
scoped = [x for x in r if re.match(r"/api/(teams|folders|datasources|dashboards|org/)", x["path"])]
assert scoped and all(x["org"] == o["id"] and x["orgHeader"] == str(o["id"]) for x in scoped), scoped
'
    play_ok create_grafana_resources.yml -e "$(names "$C" north-site)" -e grafana_tenancy=org
    [ "$CHANGED" -eq 0 ] || { echo "$output"; false; }

    # the mode from the environment this time
    GRAFANA_TENANCY=org play_ok delete_grafana_resources.yml \
        -e "$(py -c 'import json, sys; print(json.dumps({"company_name": sys.argv[1], "confirm_delete": "yes"}))' "$C")"
    gcheck '
o = one("orgs", name=os.environ["C"])
left = load(o["id"])
assert left["teams"] == [] and left["folders"] == [] and left["dashboards"] == [] and left["datasources"] == []
assert os.environ["C"] not in [u["login"] for u in s["users"]]
'
}

@test "names with Jinja markers, and missing settings, are refused before any call" {
    grafana_control DELETE /__test/requests >/dev/null
    play create_grafana_resources.yml -e '{"company_name": "{{ 7 * 7 }}", "campaign_name": "x"}'
    [ "$status" -ne 0 ]
    [[ $output == *"company_name: must be given"* ]]
    play create_grafana_resources.yml -e '{"company_name": "acme", "campaign_name": "a{% if true %}b{% endif %}"}'
    [ "$status" -ne 0 ]
    [[ $output == *"campaign_name: must be given"* ]]
    GRAFANA_URL='' play create_grafana_resources.yml -e "$(names acme x)"
    [ "$status" -ne 0 ]
    [[ $output == *"Set GRAFANA_URL"* ]]
    run grafana_control GET /__test/requests
    [ "$output" = "[]" ]
}

@test "INFLUXDB_API=vm: create stops before any call, saying to add a Prometheus datasource by hand" {
    grafana_control DELETE /__test/requests >/dev/null
    INFLUXDB_API=vm play create_grafana_resources.yml -e "$(names acme x)"
    [ "$status" -ne 0 ]
    [[ $output == *"INFLUXDB_API=vm: this playbook makes no Grafana resources for VictoriaMetrics"* ]]
    [[ $output == *"Prometheus-type datasource by hand"* ]]
    [[ $output == *"no isolation between companies"* ]]
    [[ $output != *"Check the InfluxDB settings"* ]]
    run grafana_control GET /__test/requests
    [ "$output" = "[]" ]
}

@test "create: the dashboard reads only the downsampled buckets of downsample_levels (a list or a string; [] none; default 1h,1d,1w); other levels refused before any call" {
    export GRAFANA_TENANCY=team
    # lv(LEVELS...): the extra-vars of company lvco, campaign c1, with these levels
    lv() { py -c 'import json, sys; print(json.dumps({"company_name": "lvco", "campaign_name": "c1", "downsample_levels": json.loads(sys.argv[1])}))' "$1"; }
    # buckets PANELS_EXPECTED: the pv_bucket line of the power (2) and energy (3) panels, and every
    # downsampled bucket the dashboard names
    buckets() {
        gcheck '
d = one("dashboards", uid=uid("lvco", "c1"))["dashboard"]
q = {p["id"]: p["targets"][0]["query"] for p in d["panels"]}
line = lambda n: [l for l in q[n].splitlines() if l.startswith("pv_bucket = ")][0]
named = sorted(set(re.findall(r"lvco_1[hdw]", json.dumps(d))))
got = [line(2), line(3), named]
want = json.loads(os.environ["WANT"])
assert got == want, (got, want)
'
    }
    play_ok create_grafana_resources.yml -e "$(lv '["1d"]')"
    WANT='["pv_bucket = if pv_span > int(v: 2d) then \"lvco_1d\" else \"lvco\"", "pv_bucket = \"lvco\"", ["lvco_1d"]]' buckets
    # TSV_DOWNSAMPLE=0: the raw bucket at every range; the dashboard is posted again
    play_ok create_grafana_resources.yml -e "$(lv '[]')"
    [ "$(changed_tasks)" = "Post the dashboard" ] || { echo "$output"; false; }
    WANT='["pv_bucket = \"lvco\"", "pv_bucket = \"lvco\"", []]' buckets
    play_ok create_grafana_resources.yml -e "$(lv '""')"
    [ "$CHANGED" -eq 0 ] || { echo "$output"; false; }
    # a string, as -e key=value gives it
    play_ok create_grafana_resources.yml -e "$(names lvco c1)" -e 'downsample_levels=1w,1h'
    WANT='["pv_bucket = if pv_span > int(v: 62d) then \"lvco_1w\" else if pv_span > int(v: 2d) then \"lvco_1h\" else \"lvco\"", "pv_bucket = if pv_span > int(v: 2d) then \"lvco_1h\" else \"lvco\"", ["lvco_1h", "lvco_1w"]]' buckets
    # not given: tsv_parser's default, the three levels
    play_ok create_grafana_resources.yml -e "$(names lvco c1)"
    WANT='["pv_bucket = if pv_span > int(v: 731d) then \"lvco_1w\" else if pv_span > int(v: 62d) then \"lvco_1d\" else if pv_span > int(v: 2d) then \"lvco_1h\" else \"lvco\"", "pv_bucket = if pv_span > int(v: 2d) then \"lvco_1h\" else \"lvco\"", ["lvco_1d", "lvco_1h", "lvco_1w"]]' buckets

    # anything else: refused before any call, never templated
    grafana_control DELETE /__test/requests >/dev/null
    local v
    for v in '"1h,1m"' '["1h", "1M"]' '5' '{"1h": 1}' '[1]' '"{{ lookup(\"pipe\", \"touch pwned\") }}"' \
        '["{{ lookup(\"pipe\", \"touch pwned\") }}"]'; do
        play create_grafana_resources.yml -e "$(lv "$v")"
        [ "$status" -ne 0 ] || { echo "$v: $output"; false; }
        [[ $output == *"downsample_levels: a list, or a string separated by commas or spaces, of the levels 1h, 1d"* ]] ||
            { echo "$v: $output"; false; }
    done
    [ ! -e "$ANSIBLE_DIR/pwned" ] && [ ! -e pwned ]
    run grafana_control GET /__test/requests
    [ "$output" = "[]" ]
    play_ok delete_grafana_resources.yml -e '{"company_name": "lvco", "confirm_delete": "yes"}'
}
