#!/usr/bin/env bats
# The InfluxDB sink against a real time-series database: VictoriaMetrics
# behind /api/v2/write (INFLUXDB_API=vm), started on a free loopback port.

load helpers
load ../servers/servers

setup_file() {
    start_vm "$BATS_FILE_TMPDIR/vm"
}

setup() {
    common_setup
    export INFLUXDB_API=vm INFLUXDB_HOST="$VM_URL" TSV_RETRY_BUDGET=1
    # every test has its own campaign: counts do not mix
    CAMP="c$BATS_TEST_NUMBER"
}

examples() {
    mkdir -p "$DATA"
    cp -R "$BATS_TEST_DIRNAME/../../examples/data/." "$DATA/"
    # the examples' campaigns, renamed for this test
    for d in "$DATA"/*/*/; do
        mv "$d" "$(dirname "$d")/$CAMP-$(basename "$d")"
    done
}

@test "vm: every example file lands, point for point, and each file is verified" {
    examples
    run_parser -d "$DATA"
    assert_status 65
    assert_eq "$(rq 'r["nb_points_total"]')" 5717
    assert_eq "$(rq '[(x["status"], x["nb_points_expected"] == x["nb_points_in_influx"]) for x in r["files"] if x["status"] == "success"]')" \
        '[["success", true], ["success", true], ["success", true], ["success", true]]'
    assert_eq "$(vm_count "{__name__=~\"electrical_.+\",campaign=~\"$CAMP-.+\"}")" 5717
    assert_eq "$(vm_count "{__name__=~\"electrical_.+\",campaign=\"$CAMP-south site\"}")" 246
    # the company travels as the label db
    assert_eq "$(vm_count "{__name__=~\"electrical_.+\",db=\"bertin\",campaign=~\"$CAMP-.+\"}")" 179
}

@test "vm: a file sent twice is stored once (same series and second)" {
    mkfile "$DATA/acme/$CAMP/$SN/a.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1' '05/01/26 10:10:00\t2'
    cp "$DATA/acme/$CAMP/$SN/a.tsv" "$BATS_TEST_TMPDIR/a.tsv"
    run_parser -d "$DATA"
    assert_status 0
    cp "$BATS_TEST_TMPDIR/a.tsv" "$DATA/acme/$CAMP/$SN/a.tsv"
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(vm_count "{__name__=~\"electrical_.+\",campaign=\"$CAMP\"}")" 2
    assert_file "$DATA/acme/$CAMP/$SN/parsed/a.1.tsv"
}

@test "vm: database down: exit 75, files kept in place; back up: the rerun lands everything" {
    examples
    INFLUXDB_HOST="http://127.0.0.1:$(free_port)" run_parser -d "$DATA"
    assert_status 75
    # the first file gave up, the others were not read: even the broken ones wait
    assert_eq "$(rq '[x["status"] for x in r["files"]]')" \
        '["pending", "pending", "pending", "pending", "pending", "pending"]'
    assert_eq "$(rq '[x["error"].startswith("database unavailable: not tried") for x in r["files"]]')" \
        '[false, true, true, true, true, true]'
    assert_eq "$(find "$DATA" -path '*/parsed/*' -o -path '*/error/*' | wc -l)" 0
    run_parser -d "$DATA"
    assert_status 65
    assert_eq "$(rq 'r["nb_points_total"]')" 5717
    assert_eq "$(vm_count "{__name__=~\"electrical_.+\",campaign=~\"$CAMP-.+\"}")" 5717
}

@test "vm: 233 files of two campaigns counted back by file name, a query per 100 files: every figure exact" {
    mkmany "$DATA/acme/$CAMP/$SN" 230 3
    mkfile "$DATA/acme/$CAMP/$SN/f0100.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 01:40:00\t1' '05/01/26 01:40:00\t2'
    mkmany "$DATA/acme/$CAMP-b/$SN" 3 2
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rq 'len(r["files"])')" 233
    assert_eq "$(rq '[(x["file_path"].split("/")[-1], x["nb_points_expected"], x["nb_points_in_influx"]) for x in r["files"]
        if x["nb_points_expected"] != x["nb_points_in_influx"]]')" '[["f0100.tsv", 2, 1]]'
    assert_eq "$(rq 'sorted(set((x["nb_points_expected"], x["nb_points_in_influx"]) for x in r["files"]))')" \
        '[[2, 1], [2, 2], [3, 3]]'
    assert_eq "$(rq 'sum(x["nb_points_in_influx"] for x in r["files"])')" $((229 * 3 + 1 + 3 * 2))
    assert_eq "$(vm_count "{__name__=~\"electrical_.+\",campaign=~\"$CAMP.*\"}")" $((229 * 3 + 1 + 3 * 2))
    # without the file_name tag: one file a query, the same figures
    mkmany "$DATA/acme/$CAMP-c/$SN" 4 3
    TSV_FILE_NAME_TAG=0 run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(rq '[(x["nb_points_expected"], x["nb_points_in_influx"]) for x in r["files"]]')" \
        '[[3, 3], [3, 3], [3, 3], [3, 3]]'
}

@test "vm: SIGTERM after a first count group: the group held is settled uncounted, the rest stays; the rerun lands every point once" {
    local pid st n=100
    mkmany "$DATA/acme/$CAMP/$SN" 1200 3
    # made before the run: the loop below must never read a file not there yet
    : >"$BATS_TEST_TMPDIR/stderr"
    "$TSV_PARSER" -d "$DATA" 2>"$BATS_TEST_TMPDIR/stderr" &
    pid=$!
    # the first group of 100 counted and settled, some files of the next one taken
    while [ "$(grep -c ': success' "$BATS_TEST_TMPDIR/stderr")" -lt 100 ] && [ "$n" -gt 0 ]; do
        sleep 0.05
        n=$((n - 1))
    done
    sleep 0.1
    kill -TERM "$pid"
    st=0
    wait "$pid" || st=$?
    # 143 from a run that took every file before the signal came reports a success
    [ "$st" -eq 0 ] || [ "$st" -eq 143 ] || { cat "$BATS_TEST_TMPDIR/stderr" >&2; return 1; }
    # every file settled was counted exactly, or not at all because of the stop
    assert_eq "$(rq '[x["file_path"] for x in r["files"] if x["status"] == "success" and not (
        x["nb_points_in_influx"] == 3 or (x["nb_points_in_influx"] is None and
        "could not count the points back: the run was stopped" in x["warnings"]))]')" '[]'
    assert_eq "$(rq 'len([x for x in r["files"] if x["status"] == "success"])')" \
        "$(find "$DATA" -path '*/parsed/*.tsv' | wc -l)"
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(find "$DATA" -path '*/parsed/*.tsv' | wc -l)" 1200
    assert_eq "$(vm_count "{__name__=~\"electrical_.+\",campaign=\"$CAMP\"}")" 3600
}

@test "vm: the database dies mid-run (the port refuses): one retry budget, the rest pending at once, nothing lost" {
    local pid st n=200 killed ended vm=$VM_URL dying
    mkmany "$DATA/acme/$CAMP/$SN" 300 3
    # a database of its own, killed once the first group of files is in
    start_vm "$BATS_TEST_TMPDIR/vm2"
    dying=$VM_URL
    VM_URL=$vm
    : >"$BATS_TEST_TMPDIR/stderr"
    INFLUXDB_HOST=$dying TSV_RETRY_BUDGET=3 "$TSV_PARSER" -d "$DATA" 2>"$BATS_TEST_TMPDIR/stderr" &
    pid=$!
    while [ "$(grep -c ': success' "$BATS_TEST_TMPDIR/stderr")" -lt 100 ] && [ "$n" -gt 0 ]; do
        sleep 0.05
        n=$((n - 1))
    done
    { kill -KILL "${SERVER_PIDS[-1]}" && wait "${SERVER_PIDS[-1]}"; } 2>/dev/null || true
    killed=$(date +%s%N)
    st=0
    wait "$pid" || st=$?
    ended=$(date +%s%N)
    [ "$st" -eq 75 ] || { cat "$BATS_TEST_TMPDIR/stderr" >&2; return 1; }
    # one budget (3 s) for the run, not one per file: it ends within seconds
    echo "ended $(((ended - killed) / 1000000)) ms after the kill" >&3
    [ $(((ended - killed) / 1000000)) -lt 8000 ]
    # one request waited out the budget (a file's write, or a group's count), the
    # files after it were not tried; none went to error/
    assert_eq "$(rq 'all(x["error"].split(": ", 1)[1].startswith("unavailable after ") for x in r["files"]
        if x["status"] == "pending" and not x["error"].startswith("database unavailable: not tried"))')" true
    assert_eq "$(rq 'sum(not x["error"].startswith("database unavailable: not tried") for x in r["files"]
        if x["status"] == "pending") <= 1')" true
    assert_eq "$(rq 'sorted(set(x["status"] for x in r["files"]))')" '["pending", "success"]'
    assert_no_file "$DATA/acme/$CAMP/$SN/error"
    assert_eq "$(rq 'r["nb_files_success"]')" "$(find "$DATA" -path '*/parsed/*.tsv' | wc -l)"
    pending=$(rq 'sum(x["status"] == "pending" for x in r["files"])')
    assert_eq "$pending" "$(find "$DATA/acme/$CAMP/$SN" -maxdepth 1 -name '*.tsv' | wc -l)"
    # the files left are taken by the next run, into the database that is up
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(find "$DATA" -path '*/parsed/*.tsv' | wc -l)" 300
    assert_eq "$(vm_count "{__name__=~\"electrical_.+\",campaign=\"$CAMP\"}")" "$((pending * 3))"
}

@test "vm: the run summary goes to the meta series" {
    mkfile "$DATA/acme/$CAMP/$SN/a.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1'
    run_parser -d "$DATA"
    assert_status 0
    assert_eq "$(vm_count "{__name__=\"tsv_parser_file_nb_points\",campaign=\"$CAMP\",file_name=\"a.tsv\",status=\"success\"}")" 1
}
