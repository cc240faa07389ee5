#!/usr/bin/env bats
# Data rows: cell counts, values, per-file figures and channel statistics
# (contract §4, §7). Files have a mono master with two channels: U1 (Ph 1 V)
# and Ch1 (Voie1 W), so N = 2 and a well-formed row has 3 cells.

load helpers

setup() {
    common_setup
    F="$DEV/f.tsv"
    SN2='02001171\t02001171\t02001171'
    FMT2='MV_T302_V002\tPh 1 V\tVoie1 W'
}

@test "short row: malformed, missing cells are invalid values, present cells used" {
    mkfile "$F" "$SN2" "$FMT2" \
        '05/01/26 10:00:00\t230.5' \
        '05/01/26 10:10:00'
    parse_file "$F"
    assert_status 0
    assert_eq "$(lp_fields)" "M02001171_U1_M02001171_V=230.5"
    assert_eq "$(rq 'f["nb_rows"]')" 2
    assert_eq "$(rq 'f["nb_malformed_rows"]')" 2
    assert_eq "$(rq 'f["nb_invalid_values"]')" 3
    assert_eq "$(rq 'f["nb_points"]')" 1
}

@test "long row: malformed, extra cells ignored" {
    mkfile "$F" "$SN2" "$FMT2" '05/01/26 10:00:00\t230.5\t12\t99\tjunk'
    parse_file "$F"
    assert_status 0
    assert_values 230.5 12
    assert_eq "$(rq 'f["nb_malformed_rows"]')" 1
    assert_eq "$(rq 'f["nb_invalid_values"]')" 0
    assert_eq "$(rq 'f["nb_points"]')" 2
}

@test "a trailing TAB makes a long row (row cells are not dropped like header cells)" {
    mkfile "$F" "$SN2" "$FMT2" '05/01/26 10:00:00\t230.5\t12\t'
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'f["nb_malformed_rows"]')" 1
    assert_eq "$(rq 'f["nb_points"]')" 2
}

@test "invalid values: empty, blank, NaN, inf, 1_000, 0x10 and others give no point" {
    mkfile "$F" "$HDR_MONO_SN" "$HDR_MONO_FMT" \
        '05/01/26 10:00:00\t1' \
        '05/01/26 10:01:00\t' \
        '05/01/26 10:02:00\t   ' \
        '05/01/26 10:03:00\tNaN' \
        '05/01/26 10:04:00\tnan' \
        '05/01/26 10:05:00\tinf' \
        '05/01/26 10:06:00\t-Infinity' \
        '05/01/26 10:07:00\t1_000' \
        '05/01/26 10:08:00\t0x10' \
        '05/01/26 10:09:00\t1,5' \
        '05/01/26 10:10:00\t1e' \
        '05/01/26 10:11:00\te3' \
        '05/01/26 10:12:00\t.' \
        '05/01/26 10:13:00\t1.2.3' \
        '05/01/26 10:14:00\t--1' \
        '05/01/26 10:15:00\t1e400' \
        '05/01/26 10:16:00\t12abc' \
        '05/01/26 10:17:00\t1 2' \
        '05/01/26 10:18:00\t1.5f' \
        '05/01/26 10:19:00\t2'
    parse_file "$F"
    assert_status 0
    assert_values 1 2
    assert_eq "$(lp_times | paste -sd' ')" "1767603600 1767604740"
    assert_eq "$(rq 'f["nb_invalid_values"]')" 18
    assert_eq "$(rq 'f["nb_rows"]')" 20
    assert_eq "$(rq 'f["nb_points"]')" 2
    assert_eq "$(rq 'f["nb_invalid_timestamps"]')" 0
    assert_eq "$(rq 'f["nb_malformed_rows"]')" 0
}

@test "channels statistics: min/max/mean per channel, null without points, in column order" {
    mkfile "$F" \
        '02001171\t02001171\t02001171\t04000466' \
        'MV_T302_V002\tPh 1 V\tVoie1 W\tVoie1 A' \
        '05/01/26 10:00:00\t230\t1.5\tx' \
        '05/01/26 10:10:00\t232\t-0.5\t' \
        '05/01/26 10:20:00\t234\t\tNaN'
    parse_file "$F"
    assert_status 0
    assert_json "$(rq 'f["channels"]')" \
        '{"M02001171_U1_M02001171": {"column_idx": 1, "device_master_sn": "02001171", "device_sn": "02001171", "device_type": "master", "channel_label": "U1", "channel_name": "Ph 1", "channel_unit": "V", "nb_points": 3, "min": 230.0, "max": 234.0, "mean": 232.0}, "M02001171_Ch1_M02001171": {"column_idx": 2, "device_master_sn": "02001171", "device_sn": "02001171", "device_type": "master", "channel_label": "Ch1", "channel_name": "Voie1", "channel_unit": "W", "nb_points": 2, "min": -0.5, "max": 1.5, "mean": 0.5}, "S04000466_Ch1_M02001171": {"column_idx": 3, "device_master_sn": "02001171", "device_sn": "04000466", "device_type": "slave", "channel_label": "Ch1", "channel_name": "Voie1", "channel_unit": "A", "nb_points": 0, "min": null, "max": null, "mean": null}}'
    assert_eq "$(rq 'f["nb_points"]')" 5
    assert_eq "$(rq 'f["nb_invalid_values"]')" 4
    assert_eq "$(rq 'f["nb_channels"]')" 3
    # the report file is strict JSON (rq rejects NaN / Infinity); say it again on the raw text
    if grep -Eq 'NaN|Infinity' "$(report_path)"; then false; fi
}

@test "nb_rows, nb_points, time_start, time_end" {
    mkfile "$F" "$SN2" "$FMT2" \
        '05/01/26 10:00:00\t1\t2' \
        '05/01/26 10:10:00\t3\t4' \
        '05/01/26 10:20:00\t5\t6'
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'f["nb_rows"]')" 3
    assert_eq "$(rq 'f["nb_points"]')" 6
    assert_eq "$(rq 'f["nb_channels"]')" 2
    assert_eq "$(rq 'f["time_start"]')" "2026-01-05T09:00:00+00:00"
    assert_eq "$(rq 'f["time_end"]')" "2026-01-05T09:20:00+00:00"
    assert_eq "$(rq 'f["nb_invalid_timestamps"]')" 0
    assert_eq "$(rq 'f["nb_invalid_values"]')" 0
    assert_eq "$(rq 'f["nb_malformed_rows"]')" 0
    assert_eq "$(rq 'f["status"]')" success
    assert_eq "$(rq 'f["error"]')" null
    assert_eq "$(rq 'f["bucket"]')" acme
    assert_eq "$(rq 'f["campaign"]')" camp1
    assert_eq "$(rq 'f["device_master_sn"]')" 02001171
    assert_eq "$(rq 'f["warnings"]')" '[]'
    assert_eq "$(rq 'r["nb_points_total"]')" 6
}

@test "time_start/time_end ignore rows without a written point" {
    mkfile "$F" "$SN2" "$FMT2" \
        '05/01/26 09:50:00\tx\ty' \
        '05/01/26 10:00:00\t1\t2' \
        '05/01/26 10:10:00\t3\t' \
        '05/01/26 10:20:00\t\t'
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'f["time_start"]')" "2026-01-05T09:00:00+00:00"
    assert_eq "$(rq 'f["time_end"]')" "2026-01-05T09:10:00+00:00"
}

@test "report per-file keys, in order" {
    mkfile "$F" "$SN2" "$FMT2" '05/01/26 10:00:00\t1\t2'
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'list(f)')" '["file_path", "bucket", "campaign", "device_master_sn", "status", "error", "nb_rows", "nb_channels", "nb_points", "nb_invalid_timestamps", "nb_invalid_values", "channels", "file_header_meta", "nb_points_expected", "nb_points_in_influx", "time_start", "time_end", "format", "timezone", "nb_malformed_rows", "warnings", "destination"]'
    assert_eq "$(rq 'f["nb_points_in_influx"]')" null
}

@test "folder device differs from the file's master serial: warning; tag uses the file serial" {
    F="$DATA/acme/camp1/02009999/f.tsv"
    mkfile "$F" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1'
    parse_file "$F"
    assert_status 0
    assert_lp "$OUT" \
        'electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_U1_M02001171_V=1 1767603600'
    assert_eq "$(rq 'f["device_master_sn"]')" 02009999
    assert_eq "$(rq 'len(f["warnings"])')" 1
    assert_contains "$(rq 'f["warnings"][0]')" 02009999
    assert_contains "$(rq 'f["warnings"][0]')" 02001171
    assert_eq "$(rq 'f["status"]')" success
    assert_file "$DATA/acme/camp1/02009999/parsed/f.tsv"
}

@test "a NUL byte inside a cell makes the value invalid (no C-string truncation)" {
    mkfile "$F" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1\x002' '05/01/26 10:10:00\t3'
    parse_file "$F"
    assert_status 0
    assert_values 3
    assert_eq "$(rq 'f["nb_invalid_values"]')" 1
}

@test "long lines: 500 channels, a 100000-byte cell" {
    # rows: 500 values; first cell empty + 499; 100000-byte junk + 499
    awk 'BEGIN {
        s = "02001171"; l = "MV_T302_V002"; v = "05/01/26 10:00:00"; w = "05/01/26 10:10:00\t"
        for (i = 1; i <= 500; i++) { s = s "\t02001171"; l = l "\tVoie" i " W"; v = v "\t" i; if (i > 1) w = w "\t" i }
        x = ""; for (i = 0; i < 100000; i++) x = x "9"
        print s; print l; print v; print w; print "05/01/26 10:20:00\t" x "x" substr(w, 19)
    }' >"$BATS_TEST_TMPDIR/big.tsv"
    mkdir -p "$DEV"
    mv "$BATS_TEST_TMPDIR/big.tsv" "$F"
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'f["nb_channels"]')" 500
    assert_eq "$(rq 'f["nb_points"]')" 1498
    assert_eq "$(rq 'f["nb_invalid_values"]')" 2
    assert_eq "$(rq 'f["nb_malformed_rows"]')" 0
    assert_eq "$(rq 'list(f["channels"])[-1]')" M02001171_Ch499_M02001171
    assert_eq "$(wc -l <"$OUT")" 1498
}
