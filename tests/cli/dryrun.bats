#!/usr/bin/env bats
# --dry-run: nothing written, moved or created; stdout is only the JSON report.
# --dry-run -o: the same, plus the line protocol a real run would write (a preview).

load helpers

setup() {
    common_setup
    # no TSV_REPORT_DIR: the default <data>/../logs/reports must not appear either
    unset TSV_REPORT_DIR
    # everything the parser could touch lives under $ROOT (bats keeps its own
    # temporary files in $BATS_TEST_TMPDIR)
    mkdir -p "$BATS_TEST_TMPDIR/root/data"
    ROOT=$(cd "$BATS_TEST_TMPDIR/root" && pwd -P)
    DATA="$ROOT/data"
    DEV="$DATA/acme/camp1/$SN"
}

ok() { mkfile "$1" "$HDR_MONO_SN" "$HDR_MONO_FMT" "05/01/26 10:00:00\t${2:-1}"; }

@test "dry run leaves the tree byte-for-byte untouched, no logs/ folder" {
    ok "$DEV/a.tsv"
    mkfile "$DEV/b.tsv"
    ok "$DATA/acme/wrongdepth.tsv"
    ok "$DEV/parsed/old.tsv"
    ok "$DATA/other/camp/02000800/c.tsv" 2
    touch -d '2020-01-01 00:00:00' "$DEV/a.tsv"
    before=$(tree_snapshot "$ROOT")
    run_parser -d "$DATA" --dry-run
    assert_status 65
    assert_eq "$(tree_snapshot "$ROOT")" "$before"
    assert_no_file "$ROOT/logs"
}

@test "dry run with -t: file not moved, tree untouched" {
    ok "$DEV/a.tsv"
    before=$(tree_snapshot "$ROOT")
    run_parser -d "$DATA" -t "$DEV/a.tsv" --dry-run
    assert_status 0
    assert_eq "$(jget '[r["dry_run"], r["nb_files_total"], f["status"], f["nb_points"]]' <<<"$output")" '[true, 1, "success", 1]'
    assert_eq "$(tree_snapshot "$ROOT")" "$before"
}

@test "dry run stdout is exactly one JSON document with dry_run true" {
    ok "$DEV/a.tsv" 230.5
    mkfile "$DEV/b.tsv"
    run_parser -d "$DATA" --dry-run
    assert_status 65
    # whole stdout parses as one strict JSON value
    assert_eq "$(jget 'type(r).__name__' <<<"$output")" dict
    assert_eq "$(jget 'r["dry_run"]' <<<"$output")" true
    assert_eq "$(jget 'list(r)' <<<"$output")" '["run_id", "start_time", "base_folder", "dry_run", "files", "end_time", "duration_s", "nb_files_total", "nb_files_success", "nb_files_failed", "nb_points_total", "status", "skipped_folders", "not_taken"]'
    assert_eq "$(jget 'r["nb_files_total"]' <<<"$output")" 2
    assert_eq "$(jget 'r["nb_files_success"]' <<<"$output")" 1
    assert_eq "$(jget 'r["nb_files_failed"]' <<<"$output")" 1
    assert_eq "$(jget 'r["status"]' <<<"$output")" partial_failure
    assert_eq "$(jget '[(x["status"], x["destination"]) for x in r["files"]]' <<<"$output")" \
        '[["success", null], ["error", null]]'
    assert_contains "$(jget 'r["files"][1]["error"]' <<<"$output")" "empty file"
    assert_eq "$(jget 'f["nb_points"]' <<<"$output")" 1
    assert_eq "$(jget 'f["channels"]["M02001171_U1_M02001171"]["max"]' <<<"$output")" 230.5
}

@test "dry run: exit 0 when every file would succeed" {
    ok "$DEV/a.tsv"
    ok "$DEV/b.tsv"
    run_parser -d "$DATA" --dry-run
    assert_status 0
    assert_eq "$(jget 'r["status"]' <<<"$output")" success
    assert_eq "$(jget 'r["nb_points_total"]' <<<"$output")" 2
}

@test "dry run on an empty data folder: exit 0" {
    run_parser -d "$DATA" --dry-run
    assert_status 0
    assert_eq "$(jget '[r["dry_run"], r["nb_files_total"], r["files"]]' <<<"$output")" '[true, 0, []]'
    assert_no_file "$ROOT/logs"
}

@test "dry run figures equal those of a real run on the same file" {
    mkfile "$DEV/a.tsv" \
        '02001171\t02001171\t02001171\t04000466' \
        'MV_T302_V002\tPh 1 V\tVoie1 W\tVoie1 A' \
        '05/01/26 10:00:00\t230\t1.5\tx' \
        '05/01/26 10:10:00\t232\t-0.5' \
        'garbage\t1\t2\t3' \
        '05/01/26 10:20:00\t234\t\tNaN\t9'
    run_parser -d "$DATA" --dry-run
    assert_status 0
    dry=$(jget '{k: f[k] for k in ("file_path", "bucket", "campaign", "device_master_sn", "status", "error", "nb_rows", "nb_channels", "nb_points", "nb_invalid_timestamps", "nb_invalid_values", "channels", "file_header_meta", "format", "timezone", "nb_malformed_rows", "warnings")}' <<<"$output")
    export TSV_REPORT_DIR="$BATS_TEST_TMPDIR/reports"
    run_parser -d "$DATA" --output "$OUT"
    assert_status 0
    real=$(rq '{k: f[k] for k in ("file_path", "bucket", "campaign", "device_master_sn", "status", "error", "nb_rows", "nb_channels", "nb_points", "nb_invalid_timestamps", "nb_invalid_values", "channels", "file_header_meta", "format", "timezone", "nb_malformed_rows", "warnings")}')
    assert_json "$dry" "$real"
    assert_eq "$(jget 'r["nb_points"]' <<<"$dry")" 5
    assert_eq "$(jget 'r["nb_malformed_rows"]' <<<"$dry")" 2
}

@test "dry run still validates the configuration: 78" {
    ok "$DEV/a.tsv"
    before=$(tree_snapshot "$ROOT")
    TSV_CHANNEL_ID_SCHEME=nope run_parser -d "$DATA" --dry-run
    assert_status 78
    assert_eq "$(tree_snapshot "$ROOT")" "$before"
}

@test "dry run: logs on stderr only" {
    ok "$DEV/a.tsv"
    run_parser -d "$DATA" --dry-run
    assert_status 0
    assert_contains "$stderr" "tsv_parser:"
    assert_eq "$(jget 'r["dry_run"]' <<<"$output")" true
}

# preview_tree: files of every kind under $DATA (success, error, another
# company, a parsed/ folder, a wrong depth), and a copy of $ROOT in $COPY.
preview_tree() {
    mkfile "$DEV/a.tsv" \
        '02001171\t02001171\t02001171\t04000466' \
        'MV_T302_V002\tPh 1 V\tVoie1 W\tVoie1 A' \
        '05/01/26 10:00:00\t230\t1.5\tx' \
        '05/01/26 10:10:00\t232\t-0.5\t2' \
        'garbage\t1\t2\t3'
    ok "$DEV/b.tsv" 231.25
    mkfile "$DEV/c.tsv"
    ok "$DEV/parsed/old.tsv"
    ok "$DATA/acme/wrongdepth.tsv"
    ok "$DATA/other/camp/02000800/d.tsv" 2
    touch -d '2020-01-01 00:00:00' "$DEV/a.tsv"
    COPY="$BATS_TEST_TMPDIR/copy"
    cp -a "$ROOT" "$COPY"
}

# real_lp FILE: a real run with -o FILE on the copy of the tree.
real_lp() {
    TSV_REPORT_DIR="$BATS_TEST_TMPDIR/reports" run_parser -d "$COPY/data" --output "$1"
    assert_status 65
    assert_file "$COPY/data/acme/camp1/$SN/parsed/a.tsv"
    assert_file "$COPY/data/acme/camp1/$SN/error/c.tsv"
}

@test "preview, --dry-run -o -: stdout is the line protocol of a real -o run, byte for byte; the tree untouched" {
    preview_tree
    before=$(tree_snapshot "$ROOT")
    run --separate-stderr sh -c 'exec "$@" >"$0"' "$BATS_TEST_TMPDIR/preview.lp" \
        "$TSV_PARSER" -d "$DATA" --dry-run -o -
    assert_status 65
    assert_eq "$(tree_snapshot "$ROOT")" "$before"
    assert_no_file "$ROOT/logs"
    real_lp "$BATS_TEST_TMPDIR/real.lp"
    [ "$(wc -l <"$BATS_TEST_TMPDIR/real.lp")" -eq 7 ] || { cat "$BATS_TEST_TMPDIR/real.lp"; false; }
    cmp "$BATS_TEST_TMPDIR/preview.lp" "$BATS_TEST_TMPDIR/real.lp"
    # no JSON report: standard output is only line protocol
    if grep -v '^electrical,' "$BATS_TEST_TMPDIR/preview.lp"; then false; fi
    assert_contains "$stderr" "a.tsv: success, 5 points"
    assert_contains "$stderr" "c.tsv: error: empty file"
}

@test "preview, --dry-run -o FILE: FILE gets the line protocol of a real run, stdout the JSON report; the tree untouched" {
    preview_tree
    before=$(tree_snapshot "$ROOT")
    run_parser -d "$DATA" --dry-run -o "$OUT"
    assert_status 65
    assert_eq "$(tree_snapshot "$ROOT")" "$before"
    assert_no_file "$ROOT/logs"
    assert_eq "$(jget '[r["dry_run"], r["nb_files_total"], r["nb_files_success"], r["nb_points_total"]]' <<<"$output")" '[true, 5, 3, 7]'
    assert_eq "$(jget '[x["destination"] for x in r["files"]]' <<<"$output")" '[null, null, null, null, null]'
    real_lp "$BATS_TEST_TMPDIR/real.lp"
    cmp "$OUT" "$BATS_TEST_TMPDIR/real.lp"
}

@test "preview with -t: only that file, no lock taken (a file another run holds is read), nothing moved" {
    ok "$DEV/a.tsv" 7
    before=$(tree_snapshot "$ROOT")
    # a real run skips a file another run holds locked ...
    TSV_REPORT_DIR="$BATS_TEST_TMPDIR/reports" run flock "$DEV/a.tsv" "$TSV_PARSER" -d "$DATA" -t "$DEV/a.tsv" -o "$OUT"
    assert_status 0
    assert_contains "$output" "skipped: $DEV/a.tsv is being ingested by another run"
    assert_lp "$OUT"
    # ... a preview reads it all the same
    run --separate-stderr flock "$DEV/a.tsv" "$TSV_PARSER" -d "$DATA" -t "$DEV/a.tsv" --dry-run -o -
    assert_status 0
    assert_contains "$output" "M02001171_U1_M02001171_V=7 1767603600"
    assert_eq "$(wc -l <<<"$output")" 1
    assert_eq "$(tree_snapshot "$ROOT")" "$before"
}

@test "preview on an empty data folder: exit 0, no output file, stdout empty with -o -" {
    run_parser -d "$DATA" --dry-run -o "$OUT"
    assert_status 0
    assert_eq "$(jget '[r["dry_run"], r["nb_files_total"]]' <<<"$output")" '[true, 0]'
    assert_no_file "$OUT"
    run_parser -d "$DATA" --dry-run -o -
    assert_status 0
    assert_eq "$output" ""
}

@test "a dry run without -o ignores TSV_OUTPUT: no line protocol anywhere" {
    ok "$DEV/a.tsv"
    TSV_OUTPUT="$OUT" run_parser -d "$DATA" --dry-run
    assert_status 0
    assert_eq "$(jget 'r["dry_run"]' <<<"$output")" true
    assert_no_file "$OUT"
    assert_file "$DEV/a.tsv"
}
