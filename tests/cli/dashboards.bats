#!/usr/bin/env bats
# The Grafana dashboard templates of dashboards/ (campaign.json.j2,
# parser-monitoring.json.j2), rendered and checked by
# tests/dashboards/render.py against what tsv_parser really writes for
# examples/data: its -o output (electrical points) and the run summaries it
# sends to the InfluxDB 2 stand-in (powerview_meta). The checker itself is
# tested too: broken copies of the templates must be refused, clearly.

load helpers

RENDER="$BATS_TEST_DIRNAME/../dashboards/render.py"
DASH="$BATS_TEST_DIRNAME/../../dashboards"

setup_file() {
    if [ ! -x "$TSV_PARSER" ]; then
        echo "tsv_parser binary not found or not executable: $TSV_PARSER" >&2
        return 1
    fi
    "$PYTHON" -I -c 'import jinja2' || { echo "render.py needs python3-jinja2" >&2; return 1; }
    # what tsv_parser writes, collected once for the file
    "$PYTHON" -I "$RENDER" facts --tsv-parser "$TSV_PARSER" -o "$BATS_FILE_TMPDIR/facts.json"
}

setup() {
    FACTS="$BATS_FILE_TMPDIR/facts.json"
    OUTJ="$BATS_TEST_TMPDIR/dashboard.json"
}

# check TEMPLATE ARGS...: render.py check with the shared facts; status,
# output (stdout) and stderr as bats' run sets them
check() {
    local t=$1
    shift
    run --separate-stderr "$PYTHON" -I "$RENDER" check "$t" --facts "$FACTS" -o "$OUTJ" "$@"
}

# campaign_vars COMPANY CAMPAIGN: the variables the playbook passes
campaign_args() {
    CARGS=(--var "company_name=$1" --var "campaign_name=$2" --var "dashboard_uid=${3:-powerview_test}"
        --var "datasource_uid=${4:-P951FEA4DE68E13C5}")
}

# dq EXPR: Python expression on the rendered dashboard (d); q(n) is the
# Flux query of panel n, v(name) the query of template variable name
dq() {
    "$PYTHON" -I -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
def q(n):
    return [p for p in d["panels"] if p["id"] == n][0]["targets"][0]["query"]
def v(name):
    return [x for x in d["templating"]["list"] if x["name"] == name][0]["query"]
r = eval(sys.argv[2])
print(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False))' "$OUTJ" "$1"
}

# fails_with MESSAGE: the last check exited 1 and said MESSAGE on stderr
fails_with() {
    if [ "$status" -ne 1 ]; then
        echo "expected exit status 1, got $status" >&2
        printf 'stdout: %s\nstderr: %s\n' "$output" "$stderr" >&2
        return 1
    fi
    assert_contains "$stderr" "$1" "stderr"
}

# broken NAME SED: a copy of dashboards/NAME changed by the sed script SED,
# in $BATS_TEST_TMPDIR/broken/NAME (the change must happen)
broken() {
    mkdir -p "$BATS_TEST_TMPDIR/broken"
    BROKEN="$BATS_TEST_TMPDIR/broken/$1"
    sed "$2" "$DASH/$1" >"$BROKEN"
    if cmp -s "$DASH/$1" "$BROKEN"; then
        echo "the sed script changed nothing: $2" >&2
        return 1
    fi
}

# ---- the facts are real

@test "facts: tsv_parser's electrical points and run summaries for examples/data" {
    run "$PYTHON" -I -c '
import json, sys
f = json.load(open(sys.argv[1]))
e = f["electrical"]
m = f["buckets"]["powerview_meta"]
print(len(e) > 1000, any(",channel_unit=V," in l for l in e), any(",channel_unit=W," in l for l in e),
      all(l.startswith("electrical,") for l in e),
      any(l.startswith("tsv_parser_run,") for l in m), any(l.startswith("tsv_parser_file,") for l in m),
      any(",status=error " in l for l in m), sorted(f["buckets"]))' "$FACTS"
    assert_status 0
    # each company's raw bucket and its downsampled ones (the levels' defaults)
    assert_eq "$output" "True True True True True True True ['acme', 'acme_1d', 'acme_1h', 'acme_1w', 'bertin', 'bertin_1d', 'bertin_1h', 'bertin_1w', 'powerview_meta']"
}

# ---- campaign.json.j2

@test "campaign: example values give a valid dashboard whose every query selects real points" {
    campaign_args acme north-site powerview_acme_north-site
    check campaign "${CARGS[@]}" --require-data
    assert_status 0
    assert_contains "$output" "campaign.json.j2: OK"
    assert_eq "$(dq 'd["uid"]')" powerview_acme_north-site
    assert_eq "$(dq 'd["title"]')" "acme — north-site"
    assert_eq "$(dq 'd["tags"]')" '["powerview", "acme"]'
    assert_eq "$(dq 'd["schemaVersion"]')" 39
    assert_eq "$(dq '[x["name"] for x in d["templating"]["list"]]')" '["device", "channel"]'
    assert_eq "$(dq 'sorted({p["datasource"]["uid"] for p in d["panels"]})')" '["P951FEA4DE68E13C5"]'
    assert_contains "$(dq 'q(1)')" 'r.campaign == "north-site" and r.device_master_sn =~ /^${device:regex}$/'
    assert_contains "$(dq 'q(1)')" '|> group(columns: ["channel_id"])'
    assert_contains "$(dq 'v("device")')" 'tag: "device_master_sn"'
}

@test "campaign: a campaign name with a space, and another company" {
    campaign_args acme "south site"
    check campaign "${CARGS[@]}" --require-data -v
    assert_status 0
    assert_contains "$output" "panel 1 (Voltages per phase (V)): 41 rows in 1 series"
    campaign_args bertin plant-1
    check campaign "${CARGS[@]}" --require-data -v
    assert_status 0
    # three V channels, one curve each although the campaign has several files
    assert_contains "$output" "panel 1 (Voltages per phase (V)): 90 rows in 3 series (group key: channel_id)"
}

@test "campaign: hostile names stay valid JSON and the Flux literals decode back to them" {
    campaign_args 'a"b\c ${x}' "c'amp é"
    check campaign "${CARGS[@]}"
    assert_status 0
    assert_eq "$(dq 'd["title"]')" "a\"b\\c \${x} — c'amp é"
    assert_eq "$(dq 'd["tags"][1]')" 'a"b\c ${x}'
    # escaped for Flux: \" \\ and $ as \x24, so Grafana sees no ${x}
    assert_contains "$(dq 'q(4)')" 'from(bucket: "a\"b\\c \x24{x}")'
    assert_contains "$(dq 'q(1)')" 'then "a\"b\\c \x24{x}_1w" else'
    assert_contains "$(dq 'q(1)')" 'else "a\"b\\c \x24{x}"'
    assert_contains "$(dq 'q(1)')" "r.campaign == \"c'amp é\""
    assert_contains "$(dq 'v("channel")')" 'bucket: "a\"b\\c \x24{x}"'
}

@test "campaign: names Grafana would interpolate or rewrite are escaped too" {
    printf '%s' '{"company_name": "v.bucket $device [[channel]] ${__interval}", "campaign_name": "r.bucket\\\\\"\ttab\nnl",
        "dashboard_uid": "pv_x", "datasource_uid": "d"}' >"$BATS_TEST_TMPDIR/vars.json"
    check campaign --vars "$BATS_TEST_TMPDIR/vars.json"
    assert_status 0
    assert_eq "$(dq 'd["tags"][1]')" 'v.bucket $device [[channel]] ${__interval}'
    assert_contains "$(dq 'q(4)')" 'from(bucket: "v\x2ebucket \x24device \x5b\x5bchannel]] \x24{__interval}")'
    assert_contains "$(dq 'q(2)')" 'then "v\x2ebucket \x24device \x5b\x5bchannel]] \x24{__interval}_1h" else'
    assert_contains "$(dq 'q(2)')" 'r.campaign == "r\x2ebucket\\\\\"'
    assert_eq "$(dq 'd["title"]')" "v.bucket \$device [[channel]] \${__interval} — r.bucket\\\\\"$(printf '\ttab\nnl')"
}

@test "campaign: bucket and measurement variables" {
    campaign_args acme north-site
    check campaign "${CARGS[@]}" --var bucket=acme --var measurement=electrical --require-data
    assert_status 0
    campaign_args acme north-site
    check campaign "${CARGS[@]}" --var bucket=acme.fr
    assert_status 0
    assert_contains "$(dq 'q(4)')" 'from(bucket: "acme\x2efr")'
    assert_contains "$(dq 'q(3)')" 'then "acme\x2efr_1h" else "acme\x2efr"'
}

@test "campaign: grafana_datasource_type switches every reference to a custom plugin" {
    campaign_args acme north-site
    check campaign "${CARGS[@]}" --var grafana_datasource_type=influxdb-adecwatts-datasource \
        --expect-datasource-type influxdb-adecwatts-datasource --require-data
    assert_status 0
    assert_contains "$output" "datasource influxdb-adecwatts-datasource/P951FEA4DE68E13C5"
    assert_eq "$(dq 'sorted({x["datasource"]["type"] for x in d["panels"] + d["templating"]["list"]})')" \
        '["influxdb-adecwatts-datasource"]'
    assert_eq "$(dq 'sorted({t["datasource"]["type"] for p in d["panels"] for t in p["targets"]})')" \
        '["influxdb-adecwatts-datasource"]'
    # datasource_type, when given, wins
    check campaign "${CARGS[@]}" --var grafana_datasource_type=influxdb-adecwatts-datasource \
        --var datasource_type=influxdb
    assert_status 0
    assert_eq "$(dq 'd["panels"][0]["datasource"]')" '{"type": "influxdb", "uid": "P951FEA4DE68E13C5"}'
}

@test "campaign: a datasource type other than the expected one is reported per reference" {
    campaign_args acme north-site
    check campaign "${CARGS[@]}" --expect-datasource-type influxdb-adecwatts-datasource
    fails_with "panel 1 (Voltages per phase (V)): datasource type is 'influxdb', expected 'influxdb-adecwatts-datasource'"
    assert_contains "$stderr" "template variable device: datasource type is 'influxdb'"
}

@test "campaign: a missing variable or a bad uid is a clear error" {
    check campaign --var company_name=acme --var campaign_name=north-site --var dashboard_uid=x
    fails_with "cannot render"
    assert_contains "$stderr" "'datasource_uid' is undefined"
    campaign_args acme north-site powerview_acme_north-site_and_more_than_forty
    check campaign "${CARGS[@]}"
    fails_with "dashboard uid 'powerview_acme_north-site_and_more_than_forty' is not 1 to 40 characters of [A-Za-z0-9_-]"
    campaign_args acme north-site
    check campaign "${CARGS[@]}" --require-data --var campaign_name=nowhere
    fails_with "tag campaign value 'nowhere' is not written by tsv_parser"
}

# ---- resolution by time range (issue 14)

@test "campaign: curves read raw, _1h, _1d, _1w by time range; the energy no coarser than _1h" {
    campaign_args acme north-site
    check campaign "${CARGS[@]}" --require-data -v
    assert_status 0
    assert_contains "$output" "panel 1 (Voltages per phase (V)): buckets by time range: 1 day acme, 2 days acme, 30 days acme_1h, 62 days acme_1h, 1 year acme_1d, 2 years acme_1d, 5 years acme_1w"
    assert_contains "$output" "panel 2 (Power per channel (W)): buckets by time range: 1 day acme, 2 days acme, 30 days acme_1h, 62 days acme_1h, 1 year acme_1d, 2 years acme_1d, 5 years acme_1w"
    assert_contains "$output" "panel 3 (Energy over the selected range (kWh)): buckets by time range: 1 day acme, 2 days acme, 30 days acme_1h, 62 days acme_1h, 1 year acme_1h, 2 years acme_1h, 5 years acme_1h"
    # the span comes from Grafana's two time literals; the last data and the variables read raw
    assert_contains "$(dq 'q(1)')" 'pv_span = int(v: v.timeRangeStop) - int(v: v.timeRangeStart)'
    assert_contains "$(dq 'q(1)')" 'from(bucket: pv_bucket)'
    assert_contains "$(dq 'q(4)')" 'from(bucket: "acme")'
    assert_contains "$(dq 'v("device")')" 'bucket: "acme",'
}

@test "campaign: a hostile company name is escaped in every bucket of the resolution" {
    campaign_args 'a"b\c ${x}.v' "c"
    check campaign "${CARGS[@]}" -v
    assert_status 0
    # render.py decodes each literal: the bucket names are the company's plus _1h, _1d, _1w
    assert_contains "$output" 'buckets by time range: 1 day a"b\c ${x}.v, 2 days a"b\c ${x}.v, 30 days a"b\c ${x}.v_1h, 62 days a"b\c ${x}.v_1h, 1 year a"b\c ${x}.v_1d, 2 years a"b\c ${x}.v_1d, 5 years a"b\c ${x}.v_1w'
    assert_contains "$(dq 'q(1)')" 'then "a\"b\\c \x24{x}\x2ev_1d" else'
}

@test "campaign: downsample_levels limits the buckets (the finest not finer than the range needs); empty reads raw only; unknown levels refused" {
    campaign_args acme north-site
    check campaign "${CARGS[@]}" --var downsample_levels=1h,1d -v
    assert_status 0
    assert_contains "$output" "panel 1 (Voltages per phase (V)): buckets by time range: 1 day acme, 2 days acme, 30 days acme_1h, 62 days acme_1h, 1 year acme_1d, 2 years acme_1d, 5 years acme_1d"
    printf '%s' '{"company_name": "acme", "campaign_name": "north-site", "dashboard_uid": "u", "datasource_uid": "d",
        "downsample_levels": ["1w", "1d"]}' >"$BATS_TEST_TMPDIR/vars.json"
    check campaign --vars "$BATS_TEST_TMPDIR/vars.json" -v
    assert_status 0
    # no 1h: a range of 30 days reads the finest level not finer than it needs (1d), never raw
    assert_contains "$output" "panel 1 (Voltages per phase (V)): buckets by time range: 1 day acme, 2 days acme, 30 days acme_1d, 62 days acme_1d, 1 year acme_1d, 2 years acme_1d, 5 years acme_1w"
    assert_contains "$output" "panel 3 (Energy over the selected range (kWh)): buckets by time range: 1 day acme, 2 days acme, 30 days acme, 62 days acme, 1 year acme, 2 years acme, 5 years acme"
    # 1d only: 1d beyond 2 days, never _1h or _1w; the energy reads raw (never coarser than 1h)
    check campaign "${CARGS[@]}" --var downsample_levels=1d -v
    assert_status 0
    assert_contains "$output" "panel 2 (Power per channel (W)): buckets by time range: 1 day acme, 2 days acme, 30 days acme_1d, 62 days acme_1d, 1 year acme_1d, 2 years acme_1d, 5 years acme_1d"
    assert_contains "$output" "panel 3 (Energy over the selected range (kWh)): buckets by time range: 1 day acme, 2 days acme, 30 days acme, 62 days acme, 1 year acme, 2 years acme, 5 years acme"
    assert_eq "$(dq 'q(2).splitlines()[1]')" 'pv_bucket = if pv_span > int(v: 2d) then "acme_1d" else "acme"'
    # 1h and 1w: a year needs 1d, reads 1w (not finer than the need); the energy 1h
    check campaign "${CARGS[@]}" --var downsample_levels=1w,1h -v
    assert_status 0
    assert_contains "$output" "panel 1 (Voltages per phase (V)): buckets by time range: 1 day acme, 2 days acme, 30 days acme_1h, 62 days acme_1h, 1 year acme_1w, 2 years acme_1w, 5 years acme_1w"
    assert_contains "$output" "panel 3 (Energy over the selected range (kWh)): buckets by time range: 1 day acme, 2 days acme, 30 days acme_1h, 62 days acme_1h, 1 year acme_1h, 2 years acme_1h, 5 years acme_1h"
    check campaign "${CARGS[@]}" --var downsample_levels= --require-data
    assert_status 0
    assert_eq "$(dq 'q(2).splitlines()[1]')" 'pv_bucket = "acme"'
    check campaign "${CARGS[@]}" --var downsample_levels=1h,1m
    fails_with "downsample_levels_must_be_1h_1d_1w"
}

@test "campaign (InfluxQL): a resolution variable names the curves' database; names it cannot carry read raw only" {
    campaign_args acme north-site
    # render.py checks Flux only: render it, the InfluxQL queries run in influxql.bats
    run "$PYTHON" -I -c '
import json, sys
sys.path.insert(0, sys.argv[1])
import render
for company, levels in (("acme", None), ("acme", "1d"), ("acme", ""), ("a$b", None), ("a,b", None), ("a\"b", None)):
    v = {"company_name": company, "campaign_name": "c", "dashboard_uid": "u", "datasource_uid": "d",
         "query_language": "influxql"}
    if levels is not None:
        v["downsample_levels"] = levels
    d = json.loads(render.render_jinja(sys.argv[2], v))
    r = [x for x in d["templating"]["list"] if x["name"] == "resolution"]
    q = [p["targets"][0]["query"] for p in d["panels"]]
    print(company, repr(levels), r and r[0]["query"], r and r[0]["current"]["value"],
          [x.split(" WHERE ")[0].split(" FROM ")[1] for x in q])' "$BATS_TEST_DIRNAME/../dashboards" "$DASH/campaign.json.j2"
    assert_status 0
    assert_eq "${lines[0]}" "acme None raw : acme,1h : acme_1h,1d : acme_1d,1w : acme_1w acme ['\"\${resolution:raw}\"../^electrical\$/', '\"\${resolution:raw}\"../^electrical\$/', '/^electrical\$/', '/^electrical\$/']"
    assert_eq "${lines[1]}" "acme '1d' raw : acme,1d : acme_1d acme ['\"\${resolution:raw}\"../^electrical\$/', '\"\${resolution:raw}\"../^electrical\$/', '/^electrical\$/', '/^electrical\$/']"
    assert_eq "${lines[2]}" "acme '' [] [] ['/^electrical\$/', '/^electrical\$/', '/^electrical\$/', '/^electrical\$/']"
    assert_eq "${lines[3]}" "a\$b None [] [] ['/^electrical\$/', '/^electrical\$/', '/^electrical\$/', '/^electrical\$/']"
    assert_eq "${lines[4]}" "a,b None [] [] ['/^electrical\$/', '/^electrical\$/', '/^electrical\$/', '/^electrical\$/']"
    assert_eq "${lines[5]}" "a\"b None [] [] ['/^electrical\$/', '/^electrical\$/', '/^electrical\$/', '/^electrical\$/']"
}

@test "checker: a wrong resolution threshold or a fixed bucket on a curve is refused" {
    broken campaign.json.j2 "s/'1d': 62,/'1d': 30,/"
    campaign_args acme north-site
    check "$BROKEN" "${CARGS[@]}"
    fails_with "panel 1 (Voltages per phase (V)): for a time range of 62 days the query reads bucket 'acme_1d', expected 'acme_1h'"
    broken campaign.json.j2 "s/{{ source(\['1h'\]) }}/{{ source_raw }}/"
    check "$BROKEN" "${CARGS[@]}"
    fails_with "panel 3 (Energy over the selected range (kWh)): a bargauge panel must read the bucket of the time range's resolution (raw, 1h), not always 'acme'"
    broken campaign.json.j2 "s/{{ source(\['1h'\]) }}/{{ source() }}/"
    check "$BROKEN" "${CARGS[@]}"
    fails_with "panel 3 (Energy over the selected range (kWh)): for a time range of 1 year the query reads bucket 'acme_1d', expected 'acme_1h'"
    broken campaign.json.j2 's/int(v: v.timeRangeStop) - int(v: v.timeRangeStart)/v.timeRangeStop - v.timeRangeStart/'
    check "$BROKEN" "${CARGS[@]}"
    fails_with "- on a time or a duration: convert it with int(v: ...)"
}

# ---- parser-monitoring.json.j2

@test "monitoring: defaults, and every query selects the run summaries tsv_parser wrote" {
    check parser-monitoring --var datasource_uid=meta-ds -v
    assert_status 0
    assert_contains "$output" "parser-monitoring.json.j2: OK"
    assert_eq "$(dq 'd["uid"]')" powerview_parser_monitoring
    assert_eq "$(dq 'd["title"]')" "PowerView — parser monitoring"
    assert_contains "$(dq 'q(1)')" 'from(bucket: "powerview_meta")'
    assert_contains "$(dq 'q(6)')" 'r._measurement == "tsv_parser_file" and r.status == "error"'
    # the two example files that fail are in the failures table
    assert_contains "$output" "panel 6 (Failed files): 2 rows in 1 series"
    assert_contains "$output" "template variable company: 2 values (acme, bertin)"
}

@test "monitoring: meta bucket, uid, title and datasource type from the variables" {
    check parser-monitoring --var datasource_uid=m --var meta_bucket='pv.meta$x' --var dashboard_uid=pv_mon \
        --var dashboard_title='Parser "runs"' --var grafana_datasource_type=influxdb-adecwatts-datasource \
        --expect-datasource-type influxdb-adecwatts-datasource
    assert_status 0
    assert_eq "$(dq 'd["uid"]')" pv_mon
    assert_eq "$(dq 'd["title"]')" 'Parser "runs"'
    assert_contains "$(dq 'q(7)')" 'from(bucket: "pv\x2emeta\x24x")'
}

# ---- through Ansible's template lookup

@test "ansible: the template lookup renders the same dashboards as jinja2 (hostile names)" {
    command -v ansible-playbook >/dev/null || { echo "ansible-playbook is not installed" >&2; return 1; }
    campaign_args 'a"b\c ${x}' "c'amp é"
    check campaign "${CARGS[@]}" --engine ansible --var grafana_datasource_type=influxdb-adecwatts-datasource \
        --expect-datasource-type influxdb-adecwatts-datasource
    assert_status 0
    assert_contains "$(dq 'q(4)')" 'from(bucket: "a\"b\\c \x24{x}")'
    assert_contains "$(dq 'q(1)')" 'then "a\"b\\c \x24{x}_1w" else'
    check parser-monitoring --var datasource_uid=m --engine ansible
    assert_status 0
}

# ---- the checker refuses broken templates

@test "checker: a curve grouped or aggregated per file is refused" {
    broken campaign.json.j2 's/group(columns: \["channel_id"\])/group(columns: ["channel_id", "file_name"])/'
    campaign_args acme north-site
    check "$BROKEN" "${CARGS[@]}"
    fails_with "panel 1 (Voltages per phase (V)): groups by file_name: one series per file would split the curves"
    broken campaign.json.j2 '/channel_unit == "W"/{n;/group/d}'
    check "$BROKEN" "${CARGS[@]}"
    fails_with "panel 2 (Power per channel (W)): aggregateWindow() runs while file_name is in the group key"
    assert_contains "$stderr" "panel 3 (Energy over the selected range (kWh)): integral() runs while file_name is in the group key"
}

@test "checker: names tsv_parser does not write are refused, with the real ones" {
    broken campaign.json.j2 's/r.channel_unit == "V"/r.unit == "V"/'
    campaign_args acme north-site
    check "$BROKEN" "${CARGS[@]}"
    fails_with "panel 1 (Voltages per phase (V)): tag 'unit' is not written by tsv_parser"
    assert_contains "$stderr" "its tags: campaign, channel_id, channel_label, channel_name, channel_unit"
    broken campaign.json.j2 's/r.channel_unit == "W"/r.channel_unit == "kW"/'
    check "$BROKEN" "${CARGS[@]}"
    fails_with "tag channel_unit value 'kW' is not written by tsv_parser"
    broken parser-monitoring.json.j2 's/"nb_points"/"nb_points_ingested"/'
    check "$BROKEN" --var datasource_uid=m
    fails_with "field 'nb_points_ingested' is not written by tsv_parser"
    broken parser-monitoring.json.j2 's/"tsv_parser_run"/"tsv_parser_runs"/'
    check "$BROKEN" --var datasource_uid=m
    fails_with "measurement 'tsv_parser_runs' is not written by tsv_parser"
    # a real field of the other measurement selects nothing
    broken parser-monitoring.json.j2 's/r._field == "duration_s"/r._field == "nb_rows"/'
    check "$BROKEN" --var datasource_uid=m
    fails_with "panel 5 (Run duration (s)): selects nothing from the points tsv_parser wrote"
}

@test "checker: names left unescaped for Flux or Grafana are refused" {
    broken campaign.json.j2 's/^"{{ value | string | .*/"{{ value }}"/'
    campaign_args 'a"b\c ${x}' "c'amp é"
    check "$BROKEN" "${CARGS[@]}"
    fails_with "unexpected character '\\\\' in the Flux query"
    broken campaign.json.j2 "s/ | replace('\\$', '\\\\\\\\x24')//"
    check "$BROKEN" "${CARGS[@]}"
    fails_with "string interpolation \${...} in the Flux literal"
    broken campaign.json.j2 "s/ | replace('.', '\\\\\\\\x2e')//"
    campaign_args acme x.bucket
    check "$BROKEN" "${CARGS[@]}"
    fails_with 'holds text Grafana would interpolate ($, [[ or word.word)'
    broken parser-monitoring.json.j2 's/r\["bucket"\]/r.bucket/'
    check "$BROKEN" --var datasource_uid=m
    fails_with 'r.bucket: Grafana rewrites <word>.bucket in Flux (before 11.3); write r["bucket"]'
}

@test "checker: datasource ids, foreign variables and bad JSON are refused" {
    broken campaign.json.j2 's/{"type": {{ ds_type | string | tojson }}, /{"id": 25, "type": {{ ds_type | string | tojson }}, /'
    campaign_args acme north-site
    check "$BROKEN" "${CARGS[@]}"
    fails_with "datasource has a numeric id 25"
    broken campaign.json.j2 's/r.channel_id =~ \/^${channel:regex}/r.channel_id =~ \/^${device:regex}/'
    check "$BROKEN" "${CARGS[@]}"
    fails_with "r.channel_id is filtered with variable device, whose query lists tag 'device_master_sn'"
    broken campaign.json.j2 's/\${channel:regex}/${channel}/'
    check "$BROKEN" "${CARGS[@]}"
    fails_with 'variable channel in a regex must be written ${channel:regex}'
    broken parser-monitoring.json.j2 's/"schemaVersion": 39,/"schemaVersion": 39/'
    check "$BROKEN" --var datasource_uid=m
    fails_with "the rendered dashboard is not valid JSON"
}

@test "checker: a panel whose query does not give what it shows is refused" {
    broken campaign.json.j2 's/keep(columns: \["_time", "_value", "channel_id"\])/keep(columns: ["_value", "channel_id"])/'
    campaign_args acme north-site
    check "$BROKEN" "${CARGS[@]}"
    fails_with "panel 1 (Voltages per phase (V)): a timeseries panel needs column(s) _time in the query result"
    broken parser-monitoring.json.j2 's/keep(columns: \["_time", "_value", "bucket"\])/keep(columns: ["_time", "_value"])/'
    check "$BROKEN" --var datasource_uid=m
    fails_with "panel 7 (Points ingested per company): displayName uses the label bucket, which is not a column of the result"
}

# ---- command line

@test "render.py: collects its own facts when none are given; usage errors" {
    run --separate-stderr "$PYTHON" -I "$RENDER" check campaign --tsv-parser "$TSV_PARSER" \
        --var company_name=bertin --var campaign_name=plant-1 --var dashboard_uid=u --var datasource_uid=d --require-data
    assert_status 0
    assert_contains "$output" "campaign.json.j2: OK"
    run --separate-stderr "$PYTHON" -I "$RENDER"
    assert_status 2
    run --separate-stderr "$PYTHON" -I "$RENDER" check campaign --facts "$FACTS" --var company_name
    assert_status 1
    assert_contains "$stderr" "--var 'company_name': expected NAME=VALUE"
    run --separate-stderr "$PYTHON" -I "$RENDER" check nosuch --facts "$FACTS"
    assert_status 1
    assert_contains "$stderr" "no template"
}
