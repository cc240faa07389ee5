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
    run --separate-stderr flock "$DEV/a.tsv" "$TSV_PARSER" -d "$DATA" --output "$OUT"
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
