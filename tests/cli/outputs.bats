#!/usr/bin/env bats
# The file sink: --output -, appending, rollback of failed files, sink errors.

load helpers

setup() {
    common_setup
    F="$DEV/f.tsv"
}

ok() { mkfile "$1" "$HDR_MONO_SN" "$HDR_MONO_FMT" "05/01/26 10:00:00\t${2:-1}"; }

LINE_F='electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_U1_M02001171_V=1 1767603600'

@test "--output - writes the line protocol (and only it) to stdout" {
    ok "$F"
    run_parser -d "$DATA" -t "$F" --output -
    assert_status 0
    printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/stdout.lp"
    assert_lp "$BATS_TEST_TMPDIR/stdout.lp" "$LINE_F"
    assert_file "$DEV/parsed/f.tsv"
    assert_eq "$(rq 'f["status"]')" success
}

@test "--output FILE appends: two runs on two copies give the lines twice" {
    printf '# written before\n' >"$OUT"
    ok "$F"
    parse_file "$F"
    assert_status 0
    ok "$F"
    parse_file "$F"
    assert_status 0
    assert_lp "$OUT" '# written before' "$LINE_F" "$LINE_F"
    assert_file "$DEV/parsed/f.tsv"
    assert_file "$DEV/parsed/f.1.tsv"
}

@test "--output FILE is created when missing" {
    ok "$F"
    parse_file "$F"
    assert_status 0
    assert_lp "$OUT" "$LINE_F"
}

@test "a file failing after valid rows leaves nothing in the output (rollback), later files still written" {
    printf 'keep me\n' >"$OUT"
    # a.tsv: 5000 valid rows, then an invalid UTF-8 byte in a later row
    mkdir -p "$DEV"
    {
        printf '%b\n' "$HDR_MONO_SN" "$HDR_MONO_FMT"
        awk 'BEGIN { for (i = 0; i < 5000; i++) printf "05/01/26 %02d:%02d:%02d\t%d\n", i / 3600, (i / 60) % 60, i % 60, i }'
        printf '05/01/26 23:00:00\t1\xff\n'
    } >"$DEV/a.tsv"
    ok "$DEV/b.tsv" 7
    parse_data
    assert_status 65
    assert_lp "$OUT" 'keep me' \
        'electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=b.tsv M02001171_U1_M02001171_V=7 1767603600'
    assert_file "$DEV/error/a.tsv"
    assert_file "$DEV/parsed/b.tsv"
    assert_eq "$(rq '[x["status"] for x in r["files"]]')" '["error", "success"]'
    assert_contains "$(rq 'f["error"]')" "not valid UTF-8"
    assert_eq "$(rq 'r["nb_points_total"]')" 1
}

@test "a sink that fails on write (/dev/full): exit 75, file kept in place, status pending" {
    ok "$F"
    run_parser -d "$DATA" -t "$F" --output /dev/full
    assert_status 75
    assert_file "$F"
    assert_no_file "$DEV/parsed"
    assert_no_file "$DEV/error"
    assert_eq "$(rq 'f["status"]')" pending
    assert_eq "$(rq 'f["destination"]')" null
}

@test "a sink that fails on write (/proc/version): 75 (or 78 if it cannot be opened), file not moved" {
    ok "$F"
    run_parser -d "$DATA" -t "$F" --output /proc/version
    [ "$status" -eq 75 ] || [ "$status" -eq 78 ] || { show_run; false; }
    assert_file "$F"
    assert_no_file "$DEV/parsed"
    assert_no_file "$DEV/error"
}

@test "an output path inside a missing directory: 75 or 78, file not moved" {
    ok "$F"
    run_parser -d "$DATA" -t "$F" --output "$BATS_TEST_TMPDIR/missing/dir/out.lp"
    [ "$status" -eq 75 ] || [ "$status" -eq 78 ] || { show_run; false; }
    assert_file "$F"
    assert_no_file "$DEV/parsed"
    assert_no_file "$DEV/error"
    assert_no_file "$BATS_TEST_TMPDIR/missing"
}

@test "sink failure wins over a data error: 75" {
    ok "$DEV/a.tsv"
    mkfile "$DEV/b.tsv"
    run_parser -d "$DATA" --output /dev/full
    assert_status 75
    assert_file "$DEV/a.tsv"
}
