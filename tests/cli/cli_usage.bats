#!/usr/bin/env bats
# Command line, environment validation and exit codes.

load helpers

setup() {
    common_setup
    F="$DEV/T302_260105_100000.tsv"
    mkfile "$F" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t230.5'
}

# The input file is still where it was and nothing was moved or written.
assert_untouched() {
    assert_file "$F"
    assert_no_file "$DEV/parsed"
    assert_no_file "$DEV/error"
    assert_lp "$OUT"
}

@test "--help: usage on stdout, exit 0" {
    run_parser --help
    assert_status 0
    assert_contains "$(tr '[:upper:]' '[:lower:]' <<<"$output")" "usage"
    assert_contains "$output" "--dataFolder"
}

@test "-h is --help" {
    run_parser -h
    assert_status 0
    assert_contains "$(tr '[:upper:]' '[:lower:]' <<<"$output")" "usage"
}

@test "--version: 'tsv_parser <version>' on stdout, exit 0" {
    run_parser --version
    assert_status 0
    [[ "$output" =~ ^tsv_parser\ [^[:space:]]+$ ]] || { show_run; false; }
}

@test "no argument at all: usage error 64" {
    run_parser
    assert_status 64
}

@test "missing -d: usage error 64" {
    run_parser -t "$F" --output "$OUT"
    assert_status 64
    assert_untouched
}

@test "unknown option: usage error 64" {
    run_parser -d "$DATA" --output "$OUT" --bogus
    assert_status 64
    assert_untouched
}

@test "-d on a missing folder: 66" {
    run_parser -d "$BATS_TEST_TMPDIR/nope" --output "$OUT"
    assert_status 66
    assert_no_file "$BATS_TEST_TMPDIR/nope"
}

@test "-t on a missing file: 66" {
    run_parser -d "$DATA" -t "$DEV/nope.tsv" --output "$OUT"
    assert_status 66
    assert_untouched
}

@test "one of several -t files missing: 66" {
    run_parser -d "$DATA" -t "$F" -t "$DEV/nope.tsv" --output "$OUT"
    assert_status 66
}

@test "--dry-run together with --output: usage error 64" {
    run_parser -d "$DATA" --dry-run --output "$OUT"
    assert_status 64
    assert_untouched
}

@test "neither --dry-run nor --output: configuration error 78" {
    run_parser -d "$DATA"
    assert_status 78
    assert_untouched
}

@test "TSV_TIMEZONE=Mars/Olympus: configuration error 78, nothing touched" {
    TSV_TIMEZONE=Mars/Olympus run_parser -d "$DATA" --output "$OUT"
    assert_status 78
    assert_untouched
}

@test "TSV_TIMEZONE=Mars/Olympus is rejected in dry run too: 78" {
    TSV_TIMEZONE=Mars/Olympus run_parser -d "$DATA" --dry-run
    assert_status 78
    assert_untouched
}

@test "TSV_CHANNEL_ID_SCHEME=fancy: configuration error 78" {
    TSV_CHANNEL_ID_SCHEME=fancy run_parser -d "$DATA" --output "$OUT"
    assert_status 78
    assert_untouched
}

@test "TSV_FILE_NAME_TAG=2: configuration error 78" {
    TSV_FILE_NAME_TAG=2 run_parser -d "$DATA" --output "$OUT"
    assert_status 78
    assert_untouched
}

@test "empty data folder: nothing to do, exit 0" {
    rm -rf "${DATA:?}"/*
    run_parser -d "$DATA" --output "$OUT"
    assert_status 0
    assert_lp "$OUT"
}

@test "long options --dataFolder / --tsvFile work like -d / -t" {
    run_parser --dataFolder "$DATA" --tsvFile "$F" --output "$OUT"
    assert_status 0
    assert_file "$DEV/parsed/T302_260105_100000.tsv"
    assert_eq "$(wc -l <"$OUT")" 1
}

@test "logs go to stderr as '<UTC time>Z [LEVEL] tsv_parser: message'" {
    run_parser -d "$DATA" --output "$OUT"
    assert_status 0
    [ -n "$stderr" ]
    while IFS= read -r line; do
        [[ "$line" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\ \[(DEBUG|INFO|WARNING|ERROR)\]\ tsv_parser:\ . ]] ||
            { echo "bad log line: $line"; false; }
    done <<<"$stderr"
    assert_contains "$stderr" "[INFO]"
}

@test "TSV_LOG_LEVEL=ERROR: no INFO lines on a clean run" {
    TSV_LOG_LEVEL=ERROR run_parser -d "$DATA" --output "$OUT"
    assert_status 0
    assert_eq "$stderr" ""
    assert_file "$DEV/parsed/T302_260105_100000.tsv"
    assert_eq "$(wc -l <"$OUT")" 1
}

@test "unknown TSV_LOG_LEVEL: falls back to INFO with a warning, run proceeds" {
    TSV_LOG_LEVEL=LOUD run_parser -d "$DATA" --output "$OUT"
    assert_status 0
    assert_contains "$stderr" "[WARNING]"
    assert_contains "$stderr" "[INFO]"
    assert_file "$DEV/parsed/T302_260105_100000.tsv"
}
