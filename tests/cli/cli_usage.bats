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

# assert_usage_error CMD: the last run printed on stderr one line, then
# "try 'CMD --help'", nothing on stdout, and exited 64.
assert_usage_error() {
    assert_status 64
    assert_eq "$output" "" "stdout"
    assert_eq "$(wc -l <<<"$stderr")" 2 "lines on stderr: $stderr"
    assert_eq "$(sed -n 2p <<<"$stderr")" "try '$1 --help'"
}

@test "--help: usage on stdout, exit 0" {
    run_parser --help
    assert_status 0
    assert_eq "$stderr" ""
    assert_contains "$(tr '[:upper:]' '[:lower:]' <<<"$output")" "usage"
    assert_contains "$output" "--data-folder"
    assert_contains "$output" "--dataFolder"
    assert_contains "$output" "'tsv_parser COMMAND --help'"
}

@test "COMMAND --help and -h: that command's usage on stdout, exit 0" {
    for cmd in token channels config status; do
        for h in --help -h; do
            run_parser "$cmd" "$h"
            assert_status 0
            assert_eq "$stderr" ""
            assert_eq "$(head -n 1 <<<"$output")" "$(grep "^usage: tsv_parser $cmd " <<<"$output")" "$cmd $h"
            assert_contains "$output" "usage: tsv_parser $cmd "
            [[ "$output" != *"tsv_parser -d dir"* ]] || { echo "$cmd $h shows the run's usage" >&2; false; }
        done
    done
    run_parser token --help
    assert_contains "$output" "--bucket name"
    run_parser status --help
    assert_contains "$output" "--data-folder dir"
    assert_contains "$output" "--json"
    run_parser config --help
    assert_contains "$output" "--no-verify"
}

@test "usage and man page agree: each command's long options, both ways" {
    man=$BATS_TEST_DIRNAME/../../docs/tsv_parser.1
    all=
    for cmd in "" token channels config status; do
        # shellcheck disable=SC2086
        run_parser $cmd --help
        assert_status 0
        for opt in $(grep -oE -- '--[a-zA-Z][a-zA-Z-]+' <<<"$output" | sort -u); do
            grep -q -- "Fl -${opt#--}\b" "$man" || { echo "'${cmd:-run} --help' has $opt, the man page not" >&2; false; }
        done
        all+=$output
        assert_eq "$(awk 'length > 80' <<<"$output")" "" "'${cmd:-run} --help' lines past 80 columns"
    done
    for opt in $(grep -oE -- 'Fl -[a-zA-Z][a-zA-Z-]+' "$man" | sed 's/^Fl -/--/' | sort -u); do
        assert_contains "$all" "$opt" "an option of the man page in the usage"
    done
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

@test "usage errors: one line saying what is wrong, then where to look, nothing else" {
    run_parser -d "$DATA" --output "$OUT" --bogus
    assert_usage_error tsv_parser
    assert_eq "$(head -n 1 <<<"$stderr")" "tsv_parser: unrecognized option '--bogus'"
    run_parser -t "$F" --output "$OUT"
    assert_usage_error tsv_parser
    assert_eq "$(head -n 1 <<<"$stderr")" "tsv_parser: -d (--data-folder) is required"
    run_parser -d "$DATA" --output "$OUT" extra
    assert_usage_error tsv_parser
    assert_eq "$(head -n 1 <<<"$stderr")" "tsv_parser: unexpected argument 'extra'"
    run_parser -d
    assert_usage_error tsv_parser
    run_parser status --bogus
    assert_usage_error "tsv_parser status"
    assert_eq "$(head -n 1 <<<"$stderr")" "tsv_parser status: unrecognized option '--bogus'"
    run_parser status -d "$DATA" extra
    assert_usage_error "tsv_parser status"
    assert_eq "$(head -n 1 <<<"$stderr")" "tsv_parser status: unexpected argument 'extra'"
    run_parser config --bogus
    assert_usage_error "tsv_parser config"
    run_parser token
    assert_usage_error "tsv_parser token"
    assert_eq "$(head -n 1 <<<"$stderr")" "tsv_parser token: --bucket is required"
    run_parser token --bucket _x
    assert_usage_error "tsv_parser token"
    assert_untouched
}

@test "a mistyped command: 'did you mean', exit 64, nothing done" {
    for typo in stauts:status statsu:status stat:status Status:status confg:config conifg:config tokn:token toekn:token; do
        run_parser "${typo%%:*}" -d "$DATA"
        assert_usage_error tsv_parser
        assert_eq "$(head -n 1 <<<"$stderr")" "tsv_parser: unknown command '${typo%%:*}'; did you mean '${typo#*:}'?"
    done
    # further than two edits from every command: an argument the run does not take
    run_parser ingest -d "$DATA" --output "$OUT"
    assert_usage_error tsv_parser
    assert_eq "$(head -n 1 <<<"$stderr")" "tsv_parser: unexpected argument 'ingest'"
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

@test "long options --data-folder / --tsv-file work like -d / -t, also mixed with the old names" {
    run_parser --data-folder "$DATA" --tsv-file "$F" --output "$OUT"
    assert_status 0
    assert_file "$DEV/parsed/T302_260105_100000.tsv"
    assert_eq "$(wc -l <"$OUT")" 1
    G="$DEV/T302_260105_110000.tsv"
    H="$DEV/T302_260105_120000.tsv"
    mkfile "$G" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 11:00:00\t231'
    mkfile "$H" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 12:00:00\t232'
    run_parser --data-folder="$DATA" --tsvFile "$G" --tsv-file="$H" --output "$OUT"
    assert_status 0
    assert_file "$DEV/parsed/T302_260105_110000.tsv"
    assert_file "$DEV/parsed/T302_260105_120000.tsv"
    assert_eq "$(wc -l <"$OUT")" 3
}

@test "status --data-folder / --dataFolder work like -d" {
    run_parser status -d "$DATA" --json
    assert_status 0
    for opt in --data-folder --dataFolder; do
        run_parser status "$opt" "$DATA" --json
        assert_status 0
        assert_eq "$(jget 'r["data_dir"]' <<<"$output")" "$DATA" "$opt"
        assert_eq "$(jget '[w["file_path"] for w in r["waiting"]]' <<<"$output")" "[\"$F\"]" "$opt"
    done
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

@test "-q: warnings and errors only, -qq: errors only, over TSV_LOG_LEVEL" {
    # a last row cut off is a warning, an empty file an error
    mkraw "$DEV/T302_260105_110000.tsv" "$HDR_MONO_SN\\n$HDR_MONO_FMT\\n05/01/26 11:00:00\\t231\\n05/01/26 11:10:00\\t2"
    mkfile "$DEV/T302_260105_120000.tsv"
    TSV_LOG_LEVEL=DEBUG run_parser -d "$DATA" --output "$OUT" -q
    assert_status 65
    assert_contains "$stderr" "[WARNING]"
    assert_contains "$stderr" "[ERROR]"
    [[ "$stderr" != *"[INFO]"* && "$stderr" != *"[DEBUG]"* ]] || { show_run; false; }
    # a last row cut off is a warning, an empty file an error
    mkraw "$DEV/T302_260105_110000.tsv" "$HDR_MONO_SN\\n$HDR_MONO_FMT\\n05/01/26 11:00:00\\t231\\n05/01/26 11:10:00\\t2"
    mkfile "$DEV/T302_260105_120000.tsv"
    run_parser -d "$DATA" --output "$OUT" --quiet --quiet
    assert_status 65
    assert_contains "$stderr" "[ERROR]"
    [[ "$stderr" != *"[INFO]"* && "$stderr" != *"[WARNING]"* ]] || { show_run; false; }
}

@test "-v: debug messages too, over TSV_LOG_LEVEL; config shows the level with the source flag" {
    mkfile "$F" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t230.5' 'garbage\t1'
    TSV_LOG_LEVEL=ERROR run_parser -d "$DATA" --output "$OUT" -v
    assert_status 0
    assert_contains "$stderr" "[DEBUG]"
    assert_contains "$stderr" "invalid timestamp, row skipped"
    assert_contains "$stderr" "[INFO]"
    TSV_LOG_LEVEL=ERROR run_parser config --verbose
    assert_status 0
    assert_contains "$output" "log.level = DEBUG  (flag)"
    TSV_LOG_LEVEL=DEBUG run_parser config -q
    assert_contains "$output" "log.level = WARNING  (flag)"
    run_parser config -qqq
    assert_contains "$output" "log.level = ERROR  (flag)"
    TSV_LOG_LEVEL=ERROR run_parser config
    assert_contains "$output" "log.level = ERROR  (env TSV_LOG_LEVEL)"
}

@test "unknown TSV_LOG_LEVEL: falls back to INFO with a warning, run proceeds" {
    TSV_LOG_LEVEL=LOUD run_parser -d "$DATA" --output "$OUT"
    assert_status 0
    assert_contains "$stderr" "[WARNING]"
    assert_contains "$stderr" "[INFO]"
    assert_file "$DEV/parsed/T302_260105_100000.tsv"
}
