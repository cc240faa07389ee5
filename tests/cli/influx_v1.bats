#!/usr/bin/env bats
# The InfluxDB sink against real InfluxDB 1.x (Debian's influxd, v1 API:
# /write?db=, CREATE DATABASE, InfluxQL counts), on a free loopback port.

load helpers
load ../servers/servers

setup_file() {
    start_influx1 "$BATS_FILE_TMPDIR/influx1"
}

setup() {
    common_setup
    export INFLUXDB_API=v1 INFLUXDB_HOST="$INFLUX1_URL" TSV_RETRY_BUDGET=1
    CO="co$BATS_TEST_NUMBER"  # one database per test
}

@test "v1: every example file lands in its company's database, verified" {
    cp -R "$BATS_TEST_DIRNAME/../../examples/data/." "$DATA/"
    mv "$DATA/acme" "$DATA/$CO"
    run_parser -d "$DATA"
    assert_status 65
    assert_eq "$(rq 'r["nb_points_total"]')" 5717
    assert_eq "$(rq '[x["nb_points_in_influx"] for x in r["files"]]')" '[null, null, 179, 2700, 2592, 246]'
    assert_eq "$(influx1_count "$CO")" 5538
    assert_eq "$(influx1_count bertin)" 179
}

@test "v1: the same file twice overwrites: same series and second" {
    mkfile "$DATA/$CO/camp/$SN/a.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1' '05/01/26 10:10:00\t2'
    cp "$DATA/$CO/camp/$SN/a.tsv" "$BATS_TEST_TMPDIR/a.tsv"
    run_parser -d "$DATA"
    assert_status 0
    mkfile "$DATA/$CO/camp/$SN/a.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t7' '05/01/26 10:10:00\t2'
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(influx1_count "$CO")" 2
    assert_eq "$(curl -fsS "$INFLUX1_URL/query?db=$CO" --data-urlencode 'q=SELECT sum(*) FROM electrical' |
        py -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["series"][0]["values"][0][1])')" 9
}

@test "v1: a field type conflict is a data error: the file goes to error/ with the server's reason" {
    curl -fsS -XPOST "$INFLUX1_URL/query" --data-urlencode "q=CREATE DATABASE $CO" >/dev/null
    # the field already holds strings in that shard (the file's week)
    curl -fsS -XPOST "$INFLUX1_URL/write?db=$CO&precision=s" \
        --data-binary 'electrical M02001171_U1_M02001171_V="text" 1767600000' >/dev/null
    mkfile "$DATA/$CO/camp/$SN/a.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1'
    run_parser -d "$DATA"
    assert_status 65
    assert_eq "$(rq 'f["status"]')" error
    assert_contains "$(rq 'f["error"]')" "field type conflict"
    assert_file "$DATA/$CO/camp/$SN/error/a.tsv"
}

@test "v1: names with quotes and spaces reach the database and the count query" {
    mkfile "$DATA/$CO/it's a \"camp\"/$SN/a b.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1'
    run_parser -d "$DATA"
    assert_status 65
    # a campaign with '"' is refused by the contract; the same with a quote only passes
    assert_contains "$(rq 'f["error"]')" "campaign"
    mkfile "$DATA/$CO/it's a camp/$SN/a b.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1'
    run_parser -d "$DATA" -t "$DATA/$CO/it's a camp/$SN/a b.tsv"
    assert_status 0
    assert_eq "$(rq 'f["nb_points_in_influx"]')" 1
    assert_eq "$(influx1_count "$CO" "WHERE campaign = 'it\\'s a camp' AND file_name = 'a b.tsv'")" 1
}

@test "v1: 40 files counted back by file name in one query each 100: every figure exact" {
    mkmany "$DATA/$CO/camp/$SN" 40 3
    mkfile "$DATA/$CO/camp/$SN/f0010.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 00:10:00\t1' '05/01/26 00:10:00\t2'
    mkseries_quote="$DATA/$CO/camp/$SN/it's, \"odd\".tsv"
    mkfile "$mkseries_quote" "$HDR_MONO_SN" "$HDR_MONO_FMT" '06/01/26 10:00:00\t1' '06/01/26 10:01:00\t2'
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rq 'len(r["files"])')" 41
    assert_eq "$(rq '[(x["file_path"].split("/")[-1], x["nb_points_expected"], x["nb_points_in_influx"]) for x in r["files"]
        if x["nb_points_expected"] != x["nb_points_in_influx"]]')" '[["f0010.tsv", 2, 1]]'
    assert_eq "$(rq '[x["nb_points_in_influx"] for x in r["files"] if "odd" in x["file_path"]]')" '[2]'
    assert_eq "$(influx1_count "$CO")" $((39 * 3 + 1 + 2))
}
