#!/usr/bin/env bats
# Paths, folder scan, moves to parsed/ and error/, the run report file and
# exit codes (contract §1, §6; design "Moves", "Reports").

load helpers

setup() {
    common_setup
    F="$DEV/f.tsv"
}

# ok FILE [VALUE]: a valid one-point file.
ok() { mkfile "$1" "$HDR_MONO_SN" "$HDR_MONO_FMT" "05/01/26 10:00:00\t${2:-1}"; }

RUN_ID_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?\+00:00$'

@test "success: file moved to parsed/ (created), destination in the report, exit 0" {
    ok "$F"
    cp "$F" "$BATS_TEST_TMPDIR/orig"
    parse_file "$F"
    assert_status 0
    assert_no_file "$F"
    assert_file "$DEV/parsed/f.tsv"
    cmp "$BATS_TEST_TMPDIR/orig" "$DEV/parsed/f.tsv"
    assert_no_file "$DEV/error"
    assert_eq "$(rq 'f["status"]')" success
    assert_eq "$(rq 'f["destination"]')" "$DEV/parsed/f.tsv"
    assert_eq "$(rq 'f["file_path"]')" "$F"
}

@test "error: file moved to error/ (created), exit 65" {
    mkfile "$F"
    parse_file "$F"
    assert_failed_file "$F" "empty file"
    assert_no_file "$DEV/parsed"
}

@test "collision in parsed/: name.1.tsv then name.2.tsv, existing files untouched" {
    mkfile "$DEV/parsed/f.tsv" 'already parsed earlier'
    before=$(sha256sum <"$DEV/parsed/f.tsv")
    ok "$F" 1
    cp "$F" "$BATS_TEST_TMPDIR/orig1"
    parse_file "$F"
    assert_status 0
    assert_file "$DEV/parsed/f.1.tsv"
    cmp "$BATS_TEST_TMPDIR/orig1" "$DEV/parsed/f.1.tsv"
    assert_eq "$(sha256sum <"$DEV/parsed/f.tsv")" "$before"
    assert_eq "$(rq 'f["destination"]')" "$DEV/parsed/f.1.tsv"
    rm -rf "$TSV_REPORT_DIR"

    ok "$F" 2
    cp "$F" "$BATS_TEST_TMPDIR/orig2"
    parse_file "$F"
    assert_status 0
    assert_file "$DEV/parsed/f.2.tsv"
    cmp "$BATS_TEST_TMPDIR/orig2" "$DEV/parsed/f.2.tsv"
    cmp "$BATS_TEST_TMPDIR/orig1" "$DEV/parsed/f.1.tsv"
    assert_eq "$(sha256sum <"$DEV/parsed/f.tsv")" "$before"
    assert_eq "$(rq 'f["destination"]')" "$DEV/parsed/f.2.tsv"
    assert_no_file "$F"
}

@test "collision in error/: name.1.tsv, existing file untouched" {
    mkfile "$DEV/error/f.tsv" 'failed earlier'
    before=$(sha256sum <"$DEV/error/f.tsv")
    mkfile "$F"
    parse_file "$F"
    assert_status 65
    assert_file "$DEV/error/f.1.tsv"
    assert_eq "$(wc -c <"$DEV/error/f.1.tsv")" 0
    assert_eq "$(sha256sum <"$DEV/error/f.tsv")" "$before"
    assert_eq "$(rq 'f["destination"]')" "$DEV/error/f.1.tsv"
}

@test "run report file: name from run_id, valid JSON, figures of the run" {
    ok "$DEV/a.tsv"
    mkfile "$DEV/b.tsv"
    parse_data
    assert_status 65
    p=$(report_path)
    run_id=$(rq 'r["run_id"]')
    [[ "$run_id" =~ $RUN_ID_RE ]] || { echo "bad run_id: $run_id"; false; }
    assert_eq "$(basename "$p")" "tsv_parser_${run_id//:/-}.json"
    # one report, no temporary file left behind
    assert_eq "$(find "$TSV_REPORT_DIR" -mindepth 1 | wc -l)" 1
    assert_eq "$(rq 'list(r)')" '["run_id", "start_time", "base_folder", "dry_run", "files", "end_time", "duration_s", "nb_files_total", "nb_files_success", "nb_files_failed", "nb_points_total", "status", "skipped_folders", "not_taken"]'
    [[ "$(rq 'r["start_time"]')" =~ $RUN_ID_RE ]]
    [[ "$(rq 'r["end_time"]')" =~ $RUN_ID_RE ]]
    assert_eq "$(rq 'isinstance(r["duration_s"], (int, float)) and 0 <= r["duration_s"] < 60')" true
    assert_eq "$(rq 'r["base_folder"]')" "$DATA"
    assert_eq "$(rq 'r["nb_files_total"]')" 2
    assert_eq "$(rq 'r["nb_files_success"]')" 1
    assert_eq "$(rq 'r["nb_files_failed"]')" 1
    assert_eq "$(rq 'r["nb_points_total"]')" 1
    assert_eq "$(rq 'r["status"]')" partial_failure
    assert_eq "$(rq 'r["dry_run"]')" false
    assert_eq "$(rq '[(x["file_path"], x["status"], x["destination"]) for x in r["files"]]')" \
        "[[\"$DEV/a.tsv\", \"success\", \"$DEV/parsed/a.tsv\"], [\"$DEV/b.tsv\", \"error\", \"$DEV/error/b.tsv\"]]"
    assert_eq "$(wc -l <"$OUT")" 1
    assert_file "$DEV/parsed/a.tsv"
    assert_file "$DEV/error/b.tsv"
}

@test "all files succeed: run status success, exit 0" {
    ok "$DEV/a.tsv"
    ok "$DEV/b.tsv"
    parse_data
    assert_status 0
    assert_eq "$(rq 'r["status"]')" success
    assert_eq "$(rq 'r["nb_files_success"]')" 2
    assert_eq "$(rq 'r["nb_points_total"]')" 2
}

@test "every file fails: run status partial_failure, exit 65" {
    mkfile "$DEV/a.tsv"
    mkfile "$DEV/b.tsv"
    parse_data
    assert_status 65
    assert_eq "$(rq 'r["status"]')" partial_failure
    assert_eq "$(rq 'r["nb_files_failed"]')" 2
}

@test "default report dir is <data>/../logs/reports" {
    unset TSV_REPORT_DIR
    ok "$F"
    parse_file "$F"
    assert_status 0
    TSV_REPORT_DIR="$(dirname "$DATA")/logs/reports"
    assert_eq "$(rq 'f["destination"]')" "$DEV/parsed/f.tsv"
}

@test "TSV_REPORT_DIR is created with its parents" {
    export TSV_REPORT_DIR="$BATS_TEST_TMPDIR/x/y/z"
    ok "$F"
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'f["status"]')" success
}

@test "report cannot be written: exit 73 when otherwise 0, file still moved" {
    : >"$BATS_TEST_TMPDIR/plainfile"
    export TSV_REPORT_DIR="$BATS_TEST_TMPDIR/plainfile/reports"
    ok "$F"
    parse_file "$F"
    assert_status 73
    assert_file "$DEV/parsed/f.tsv"
}

@test "report cannot be written and a file failed: 65 wins over 73" {
    : >"$BATS_TEST_TMPDIR/plainfile"
    export TSV_REPORT_DIR="$BATS_TEST_TMPDIR/plainfile/reports"
    mkfile "$F"
    parse_file "$F"
    assert_status 65
    assert_file "$DEV/error/f.tsv"
}

@test "scan: skips parsed/ and error/ folders, non-.tsv names and symlinks" {
    ok "$DEV/b.tsv"
    ok "$DEV/a.tsv"
    ok "$DEV/parsed/old.tsv"
    ok "$DEV/error/bad.tsv"
    ok "$DATA/acme/error/02001171/x.tsv"
    ok "$DATA/parsed/camp1/02001171/y.tsv"
    ok "$DATA/acme/errors/02001171/e.tsv"
    ok "$DEV/notes.txt"
    ok "$DEV/c.TSV"
    ok "$DEV/d.tsv.bak"
    ok "$DEV/tsv"
    ok "$BATS_TEST_TMPDIR/outside/camp9/02001171/o.tsv"
    ok "$BATS_TEST_TMPDIR/target.tsv"
    ln -s "$BATS_TEST_TMPDIR/target.tsv" "$DEV/link.tsv"
    ln -s "$BATS_TEST_TMPDIR/outside" "$DATA/linkedcompany"
    ln -s "$BATS_TEST_TMPDIR/outside/camp9" "$DATA/acme/linkedcamp"
    before=$(tree_snapshot "$BATS_TEST_TMPDIR/outside"; sha256sum "$BATS_TEST_TMPDIR/target.tsv")

    parse_data
    assert_status 0
    assert_eq "$(rq '[x["file_path"] for x in r["files"]]')" \
        "[\"$DEV/a.tsv\", \"$DEV/b.tsv\", \"$DATA/acme/errors/02001171/e.tsv\"]"
    assert_eq "$(wc -l <"$OUT")" 3
    assert_file "$DEV/parsed/a.tsv"
    assert_file "$DEV/parsed/b.tsv"
    assert_file "$DATA/acme/errors/02001171/parsed/e.tsv"
    for p in "$DEV/parsed/old.tsv" "$DEV/error/bad.tsv" "$DATA/acme/error/02001171/x.tsv" \
        "$DATA/parsed/camp1/02001171/y.tsv" "$DEV/notes.txt" "$DEV/c.TSV" "$DEV/d.tsv.bak" "$DEV/tsv"; do
        assert_file "$p"
    done
    assert_no_file "$DEV/parsed/old.1.tsv"
    [ -L "$DEV/link.tsv" ]
    [ -L "$DATA/linkedcompany" ]
    [ -L "$DATA/acme/linkedcamp" ]
    assert_eq "$(tree_snapshot "$BATS_TEST_TMPDIR/outside"; sha256sum "$BATS_TEST_TMPDIR/target.tsv")" "$before"
}

@test "scan order: strcmp order of the full paths" {
    ok "$DATA/acme/k/02001171/a.tsv"
    ok "$DATA/acme/k/02001171/a_.tsv"
    ok "$DATA/acme/k/02001171/B.tsv"
    ok "$DATA/acme/k/02001171/a b.tsv"
    ok "$DATA/acme/k-2/02001171/a.tsv"
    parse_data
    assert_status 0
    assert_eq "$(rq '[x["file_path"][len(r["base_folder"]) + 1:] for x in r["files"]]')" \
        '["acme/k-2/02001171/a.tsv", "acme/k/02001171/B.tsv", "acme/k/02001171/a b.tsv", "acme/k/02001171/a.tsv", "acme/k/02001171/a_.tsv"]'
    assert_eq "$(grep -o 'campaign=[^,]*' "$OUT" | paste -sd' ')" \
        "campaign=k-2 campaign=k campaign=k campaign=k campaign=k"
    assert_eq "$(grep -oE 'file_name=([^\\ ]|\\.)*' "$OUT" | paste -sd' ')" \
        'file_name=a.tsv file_name=B.tsv file_name=a\ b.tsv file_name=a.tsv file_name=a_.tsv'
}

@test "wrong depth: 'invalid path structure', moved to error/ beside the file" {
    ok "$DATA/acme/x.tsv"
    ok "$DATA/y.tsv"
    ok "$DATA/acme/camp1/z.tsv"
    parse_data
    assert_status 65
    assert_eq "$(rq 'r["nb_files_failed"]')" 3
    assert_eq "$(rq 'all("invalid path structure" in (x["error"] or "").lower() for x in r["files"])')" true
    assert_file "$DATA/acme/error/x.tsv"
    assert_file "$DATA/error/y.tsv"
    assert_file "$DATA/acme/camp1/error/z.tsv"
    assert_lp "$OUT"
}

@test "deeper path: first three parts are used, moved beside the file" {
    F="$DEV/sub/dir/f.tsv"
    ok "$F"
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq '[f["bucket"], f["campaign"], f["device_master_sn"]]')" '["acme", "camp1", "02001171"]'
    assert_file "$DEV/sub/dir/parsed/f.tsv"
    assert_contains "$(cat "$OUT")" ",campaign=camp1,"
}

@test "-t file outside the data folder: error 'outside the data folder'" {
    G="$BATS_TEST_TMPDIR/elsewhere/acme/camp1/02001171/f.tsv"
    ok "$G"
    run_parser -d "$DATA" -t "$G" --output "$OUT"
    assert_status 65
    assert_contains "$(rq 'f["error"]')" "outside the data folder"
    assert_lp "$OUT"
}

@test "relative -d and -t paths" {
    ok "$F"
    cd "$BATS_TEST_TMPDIR"
    run_parser -d data -t data/acme/camp1/02001171/f.tsv --output "$OUT"
    assert_status 0
    assert_file "$DEV/parsed/f.tsv"
    assert_eq "$(rq '[f["bucket"], f["campaign"], f["device_master_sn"], f["status"]]')" '["acme", "camp1", "02001171", "success"]'
}

@test "company or campaign names InfluxDB would choke on: error naming the bad part" {
    ok "$DATA/_acme/camp1/02001171/a.tsv"
    ok "$DATA/acme/ca\"mp/02001171/b.tsv"
    ok "$DATA/acme/ca\\mp/02001171/c.tsv"
    ok "$DATA/acme/$(printf 'ca\001mp')/02001171/d.tsv"
    parse_data
    assert_status 65
    assert_eq "$(rq 'r["nb_files_failed"]')" 4
    assert_eq "$(rq '[x["status"] for x in r["files"]]')" '["error", "error", "error", "error"]'
    # each message names the bad part: the word company/bucket/campaign, or the name itself
    assert_eq "$(rq '[any(w in (x["error"] or "").lower() for w in ("company", "bucket", "campaign")) or x["file_path"].split("/")[-4] in (x["error"] or "") or x["file_path"].split("/")[-3] in (x["error"] or "") for x in r["files"]]')" \
        '[true, true, true, true]'
    assert_file "$DATA/_acme/camp1/02001171/error/a.tsv"
    assert_file "$DATA/acme/ca\"mp/02001171/error/b.tsv"
    assert_file "$DATA/acme/ca\\mp/02001171/error/c.tsv"
    assert_file "$DATA/acme/$(printf 'ca\001mp')/02001171/error/d.tsv"
    assert_lp "$OUT"
}

@test "-d with a trailing slash works the same" {
    ok "$F"
    run_parser -d "$DATA/" --output "$OUT"
    assert_status 0
    assert_eq "$(rq '[f["bucket"], f["campaign"], f["device_master_sn"], f["status"]]')" '["acme", "camp1", "02001171", "success"]'
    assert_file "$DEV/parsed/f.tsv"
}

@test "a sibling folder sharing the data folder's prefix is outside it (data2/ vs data/)" {
    G="${DATA}2/acme/camp1/02001171/f.tsv"
    ok "$G"
    run_parser -d "$DATA" -t "$G" --output "$OUT"
    assert_status 65
    assert_contains "$(rq 'f["error"]')" "outside the data folder"
    assert_lp "$OUT"
}

@test "several -t: processed in the order given" {
    ok "$DEV/b.tsv" 2
    ok "$DEV/a.tsv" 1
    run_parser -d "$DATA" -t "$DEV/b.tsv" -t "$DEV/a.tsv" --output "$OUT"
    assert_status 0
    assert_eq "$(rq '[x["file_path"] for x in r["files"]]')" "[\"$DEV/b.tsv\", \"$DEV/a.tsv\"]"
    assert_values 2 1
    assert_file "$DEV/parsed/a.tsv"
    assert_file "$DEV/parsed/b.tsv"
}

@test "-t file outside the data folder is left where it is" {
    G="$BATS_TEST_TMPDIR/elsewhere/acme/camp1/02001171/f.tsv"
    ok "$G"
    run_parser -d "$DATA" -t "$G" --output "$OUT"
    assert_status 65
    assert_file "$G"
    assert_no_file "$BATS_TEST_TMPDIR/elsewhere/acme/camp1/02001171/error"
    assert_eq "$(rq 'f["destination"]')" null
    assert_eq "$(rq 'f["warnings"]')" '["left in place: outside the data folder"]'
}

@test "-t naming a folder or a FIFO: exit 66, nothing moved" {
    mkdir -p "$DEV/adir.tsv"
    mkfifo "$DEV/pipe.tsv"
    run_parser -d "$DATA" -t "$DEV/adir.tsv" --output "$OUT"
    assert_status 66
    assert_contains "$stderr" "not a regular file"
    run_parser -d "$DATA" -t "$DEV/pipe.tsv" --output "$OUT"
    assert_status 66
    [ -d "$DEV/adir.tsv" ] && [ -p "$DEV/pipe.tsv" ]
    assert_no_file "$DEV/error"
}

@test "a file taken again from error/ goes to the sibling parsed/, not error/parsed/" {
    ok "$DEV/error/f.tsv"
    parse_file "$DEV/error/f.tsv"
    assert_status 0
    assert_file "$DEV/parsed/f.tsv"
    assert_no_file "$DEV/error/f.tsv"
    assert_no_file "$DEV/error/parsed"
    assert_eq "$(rq '[f["bucket"], f["campaign"], f["device_master_sn"]]')" '["acme", "camp1", "02001171"]'
}

@test "a run that finds no file writes no report" {
    run_parser -d "$DATA" --output "$OUT"
    assert_status 0
    assert_contains "$stderr" "no TSV files found"
    assert_no_file "$TSV_REPORT_DIR"
}

@test "a file taken again from parsed/ that succeeds again stays as it is" {
    ok "$DEV/parsed/f.tsv"
    cp "$DEV/parsed/f.tsv" "$BATS_TEST_TMPDIR/orig"
    parse_file "$DEV/parsed/f.tsv"
    assert_status 0
    cmp "$BATS_TEST_TMPDIR/orig" "$DEV/parsed/f.tsv"
    assert_no_file "$DEV/parsed/f.1.tsv"
    assert_eq "$(rq 'f["destination"]')" "$DEV/parsed/f.tsv"
}
