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

@test "a file whose move fails after its lines were written: the lines are taken back, the rerun writes them once" {
    ok "$F" 7
    ln -s "$BATS_TEST_TMPDIR" "$DEV/parsed"
    parse_file "$F"
    assert_status 75
    assert_file "$F"
    assert_eq "$(rq 'f["status"]')" pending
    assert_contains "$(rq 'f["warnings"]')" "1 points already written were taken back from the output"
    assert_eq "$(wc -c <"$OUT")" 0
    rm "$DEV/parsed"
    parse_file "$F"
    assert_status 0
    assert_eq "$(wc -l <"$OUT")" 1
}

@test "runs sharing one output at once: a run that takes its lines back takes only its own" {
    local i k pids=()
    # eight data folders of 30 files each; every other one cannot move its files
    for i in $(seq 1 8); do
        for k in $(seq 1 30); do
            mkfile "$BATS_TEST_TMPDIR/d$i/acme/camp$i/$SN/f$k.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" \
                "05/01/26 10:00:00\t$i.$k" "05/01/26 10:10:00\t$i.$k"
            [ $((i % 2)) -eq 1 ] || [ -L "$BATS_TEST_TMPDIR/d$i/acme/camp$i/$SN/parsed" ] ||
                ln -s /nonexistent "$BATS_TEST_TMPDIR/d$i/acme/camp$i/$SN/parsed"
        done
    done
    for i in $(seq 1 8); do
        TSV_REPORT_DIR=$BATS_TEST_TMPDIR/r$i TSV_SPOOL_DIR=$BATS_TEST_TMPDIR/s$i \
            "$TSV_PARSER" -d "$BATS_TEST_TMPDIR/d$i" -o "$OUT" 2>/dev/null &
        pids+=($!)
    done
    for i in $(seq 0 7); do
        wait "${pids[$i]}" || true
    done
    # exactly the lines of the runs that moved their files: 4 runs x 30 files x 2 points
    assert_eq "$(wc -l <"$OUT")" 240
    assert_eq "$(sort "$OUT" | uniq -d | wc -l)" 0
    for i in 1 3 5 7; do
        assert_eq "$(grep -c "campaign=camp$i," "$OUT")" 60
    done
    assert_eq "$(grep -c 'campaign=camp[2468],' "$OUT")" 0
}
