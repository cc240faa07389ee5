#!/usr/bin/env bats
# The summary line that ends every run, at INFO on standard error:
#   [dry run: ]N files: A ingested, B to error/, C pending, D skipped; P points in T s
#   [; K not taken (run stopped)][; Y left for a later run (modified in the last S s)]
# and, for a run that found no file, "0 files: no TSV files found to process in DIR".

load helpers
load ../servers/servers

ok() { mkfile "$1" "$HDR_MONO_SN" "$HDR_MONO_FMT" "05/01/26 10:00:00\t${2:-1}" "05/01/26 10:10:00\t${2:-1}"; }

LOG_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z \[INFO\] tsv_parser: '

setup() {
    common_setup
}

teardown() {
    stop_servers
}

# assert_summary REGEX: the last line on stderr is the summary, its message matching REGEX (anchored).
assert_summary() {
    local last
    last=$(tail -n 1 <<<"$stderr")
    [[ "$last" =~ $LOG_RE$1$ ]] || {
        printf 'last line of stderr:\n  %s\ndoes not match:\n  %s\n' "$last" "$1" >&2
        show_run >&2
        return 1
    }
}

@test "summary: files ingested, to error/, points and duration, the run's last line" {
    ok "$DEV/a.tsv" 1
    ok "$DEV/b.tsv" 2
    mkfile "$DEV/c.tsv"
    run_parser -d "$DATA" --output "$OUT"
    assert_status 65
    assert_summary '3 files: 2 ingested, 1 to error/, 0 pending, 0 skipped; 4 points in [0-9]+\.[0-9] s'
    # after the report's own line
    assert_contains "$(tail -n 2 <<<"$stderr" | head -n 1)" "run report written to"
    # the figures are the report's
    assert_eq "$(rq '[r["nb_files_success"], r["nb_files_failed"], r["nb_points_total"]]')" '[2, 1, 4]'
}

@test "summary: one file, one point: singular words" {
    mkfile "$DEV/a.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1'
    run_parser -d "$DATA" -t "$DEV/a.tsv" --output "$OUT"
    assert_status 0
    assert_summary '1 file: 1 ingested, 0 to error/, 0 pending, 0 skipped; 1 point in [0-9]+\.[0-9] s'
}

@test "summary: pending (the output failed) and skipped (another run holds the file)" {
    ok "$DEV/a.tsv"
    run_parser -d "$DATA" --output /dev/full
    assert_status 75
    assert_summary '1 file: 0 ingested, 0 to error/, 1 pending, 0 skipped; 0 points in [0-9]+\.[0-9] s'
    ok "$DEV/b.tsv"
    # -t: the files themselves (a scan would take a.tsv's spool copy, left by the run above)
    run --separate-stderr flock "$DEV/a.tsv" "$TSV_PARSER" -d "$DATA" -t "$DEV/a.tsv" -t "$DEV/b.tsv" --output "$OUT"
    assert_status 0
    assert_summary '2 files: 1 ingested, 0 to error/, 0 pending, 1 skipped; 2 points in [0-9]+\.[0-9] s'
}

@test "summary: a run that found nothing says so" {
    run_parser -d "$DATA" --output "$OUT"
    assert_status 0
    assert_summary "0 files: no TSV files found to process in $DATA"
    run_parser -d "$DATA" --dry-run
    assert_status 0
    assert_summary "dry run: 0 files: no TSV files found to process in $DATA"
}

@test "summary: files too recent for a scan are counted as left for a later run" {
    ok "$DEV/a.tsv"
    ok "$DEV/b.tsv"
    TSV_MIN_AGE=3600 run_parser -d "$DATA" --output "$OUT"
    assert_status 0
    assert_summary "0 files: no TSV files found to process in $DATA; 2 left for a later run \\(modified in the last 3600 s\\)"
    assert_file "$DEV/a.tsv"
    touch -d '2020-01-01 00:00:00' "$DEV/a.tsv"
    TSV_MIN_AGE=3600 run_parser -d "$DATA" --output "$OUT"
    assert_status 0
    assert_summary '1 file: 1 ingested, 0 to error/, 0 pending, 0 skipped; 2 points in [0-9]+\.[0-9] s; 1 left for a later run \(modified in the last 3600 s\)'
}

@test "summary: a dry run and its preview say 'dry run:', the counts of a real run" {
    ok "$DEV/a.tsv"
    mkfile "$DEV/c.tsv"
    run_parser -d "$DATA" --dry-run
    assert_status 65
    assert_summary 'dry run: 2 files: 1 ingested, 1 to error/, 0 pending, 0 skipped; 2 points in [0-9]+\.[0-9] s'
    run_parser -d "$DATA" --dry-run -o -
    assert_status 65
    assert_summary 'dry run: 2 files: 1 ingested, 1 to error/, 0 pending, 0 skipped; 2 points in [0-9]+\.[0-9] s'
}

@test "summary: at INFO: -q leaves it out, TSV_LOG_LEVEL=DEBUG keeps it last" {
    ok "$DEV/a.tsv"
    mkfile "$DEV/b.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1' 'garbage\t1'
    TSV_LOG_LEVEL=DEBUG run_parser -d "$DATA" --dry-run
    assert_status 0
    assert_contains "$stderr" "[DEBUG]"
    assert_summary 'dry run: 2 files: 2 ingested, 0 to error/, 0 pending, 0 skipped; 3 points in [0-9]+\.[0-9] s'
    run_parser -d "$DATA" --output "$OUT" -q
    assert_status 0
    assert_eq "$stderr" ""
}

@test "summary: a run the database stopped (401) counts the files it did not take" {
    start_influx2 "$BATS_TEST_TMPDIR/influx2"
    for f in a b c; do ok "$DEV/$f.tsv"; done
    INFLUXDB_HOST="$INFLUX2_URL" INFLUXDB_ORG="$INFLUX2_ORG" INFLUXDB_ADMIN_TOKEN=not-the-token \
        run_parser -d "$DATA"
    assert_status 78
    assert_contains "$stderr" "run stopped"
    assert_summary '3 files: 0 ingested, 0 to error/, 1 pending, 0 skipped; 0 points in [0-9]+\.[0-9] s; 2 not taken \(run stopped\)'
}

@test "summary: a run stopped by SIGINT counts the files it did not take, after the interruption's warning" {
    local i pid st
    # 200 points a file: the FIFO's buffer fills within the second file
    mkdir -p "$DEV"
    for i in $(seq 1 20); do
        py -c '
import sys
rows = "".join("05/01/26 %02d:%02d:00\t%d\n" % (10 + m // 60, m % 60, m) for m in range(200))
open(sys.argv[1], "w").write("02001171\t02001171\nMV_T302_V002\tPh 1 V\n" + rows)
' "$DEV/f$i.tsv"
    done
    # a FIFO holds the run at its output until the signal has come
    mkfifo "$BATS_TEST_TMPDIR/pipe"
    "$TSV_PARSER" -d "$DATA" -o "$BATS_TEST_TMPDIR/pipe" 2>"$BATS_TEST_TMPDIR/stderr" &
    pid=$!
    exec 5<"$BATS_TEST_TMPDIR/pipe"
    sleep 0.3
    kill -INT "$pid"
    cat <&5 >/dev/null
    exec 5<&-
    st=0
    wait "$pid" || st=$?
    assert_eq "$st" 130
    stderr=$(cat "$BATS_TEST_TMPDIR/stderr")
    assert_contains "$(tail -n 2 <<<"$stderr" | head -n 1)" "run interrupted by signal 2"
    assert_summary '20 files: [0-9]+ ingested, 0 to error/, [0-9]+ pending, 0 skipped; [0-9]+ points in [0-9]+\.[0-9] s; [0-9]+ not taken \(run stopped\)'
    # the counts add up, and match the report
    py -c '
import re, sys
m = re.search(r"20 files: (\d+) ingested, 0 to error/, (\d+) pending, 0 skipped; (\d+) points? in [0-9.]+ s; (\d+) not taken", sys.argv[1])
ok, pending, points, left = map(int, m.groups())
assert ok + pending + left == 20 and left > 0 and points == 200 * ok, m.groups()
' "$(tail -n 1 <<<"$stderr")"
    assert_eq "$(rq 'r["nb_files_success"]')" "$(tail -n 1 <<<"$stderr" | sed -E 's/.*20 files: ([0-9]+) ingested.*/\1/')"
}
