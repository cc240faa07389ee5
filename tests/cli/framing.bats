#!/usr/bin/env bats
# Bytes, line ends, layouts, header lines and format ids (contract §2).

load helpers

setup() {
    common_setup
    F="$DEV/f.tsv"
}

# The two points of "05/01/26 10:00:00\t1.5\t2" in a mono master file f.tsv.
L1='electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_U1_M02001171_V=1.5 1767603600'
L2='electrical,campaign=camp1,channel_id=M02001171_Ch1_M02001171,channel_label=Ch1,channel_name=Voie1,channel_unit=W,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_Ch1_M02001171_W=2 1767603600'

@test "LF, CRLF and CR-only line ends give the same points" {
    local name eol
    for name in lf crlf cr; do
        case $name in
        lf) eol='\n' ;;
        crlf) eol='\r\n' ;;
        cr) eol='\r' ;;
        esac
        body="02001171\t02001171\t02001171${eol}MV_T302_V002\tPh 1 V\tVoie1 W${eol}05/01/26 10:00:00\t1.5\t2${eol}"
        mkraw "$F" "$body"
        run_parser -d "$DATA" -t "$F" --output "$BATS_TEST_TMPDIR/$name.lp"
        assert_status 0
        assert_lp "$BATS_TEST_TMPDIR/$name.lp" "$L1" "$L2"
        assert_eq "$(rq 'f["nb_rows"]')" 1 "$name nb_rows"
        assert_eq "$(rq 'f["nb_malformed_rows"]')" 0 "$name nb_malformed_rows"
        assert_eq "$(rq 'f["nb_invalid_values"]')" 0 "$name nb_invalid_values"
        assert_eq "$(rq 'f["warnings"]')" '[]' "$name warnings"
        rm -rf "$DEV/parsed"
    done
}

# Contract §4 "Cut-off last row": an upload broken off mid-row leaves "24" of "242.35".
CUT_WARNING='last row cut off (no line break at the end of the file): not ingested'

@test "no line break at the end: the last row was cut off, counted malformed, no point" {
    mkraw "$F" '02001171\t02001171\t02001171\nMV_T302_V002\tPh 1 V\tVoie1 W\n05/01/26 10:00:00\t1.5\t2\n05/01/26 10:10:00\t242.35\t21'
    parse_file "$F"
    assert_status 0
    assert_lp "$OUT" "$L1" "$L2"
    assert_eq "$(rq 'f["nb_rows"]')" 2
    assert_eq "$(rq 'f["nb_points"]')" 2
    assert_eq "$(rq 'f["nb_malformed_rows"]')" 1
    assert_eq "$(rq 'f["nb_invalid_values"]')" 0
    assert_eq "$(rq 'f["nb_invalid_timestamps"]')" 0
    assert_eq "$(rq 'f["time_end"]')" 2026-01-05T09:00:00+00:00
    assert_eq "$(rq 'f["warnings"]')" "[\"$CUT_WARNING\"]"
}

@test "cut-off last row with CRLF and CR line ends, and a cut timestamp" {
    local eol
    for eol in '\r\n' '\r'; do
        mkraw "$F" "02001171\t02001171\t02001171${eol}MV_T302_V002\tPh 1 V\tVoie1 W${eol}05/01/26 10:00:00\t1.5\t2${eol}05/01/26 10:1"
        parse_file "$F"
        assert_status 0
        assert_lp "$OUT" "$L1" "$L2"
        assert_eq "$(rq 'f["nb_rows"]')" 2
        assert_eq "$(rq 'f["nb_malformed_rows"]')" 1
        assert_eq "$(rq 'f["nb_invalid_timestamps"]')" 0
        assert_eq "$(rq 'f["warnings"]')" "[\"$CUT_WARNING\"]"
        rm -rf "$DEV/parsed" "$OUT"
    done
}

@test "a cut-off row that is the only row: no valid point, error" {
    mkraw "$F" '02001171\t02001171\t02001171\nMV_T302_V002\tPh 1 V\tVoie1 W\n05/01/26 10:00:00\t1.5\t2'
    parse_file "$F"
    assert_status 65
    assert_eq "$(rq 'f["status"]')" error
    assert_eq "$(rq 'f["nb_rows"]')" 1
    assert_eq "$(rq 'f["nb_malformed_rows"]')" 1
    assert_eq "$(rq 'f["nb_points"]')" 0
    assert_contains "$(rq 'f["error"]')" "no valid point"
}

@test "no line break after a blank last line, END_DATA or a line after it: nothing cut" {
    local tail
    for tail in '   ' 'END_DATA' 'END_DATA\ngarbage'; do
        mkraw "$F" "START_HEADER\n{\"DataTimeSettings\":\"UTC\"}\nEND_HEADER\nSTART_DATA\n02001171\t02001171\nMV_T302_V003\tPh 1 V\n05/01/26 10:00:00\t1\n$tail"
        parse_file "$F"
        assert_status 0
        assert_eq "$(rq 'f["nb_rows"]')" 1 "$tail"
        assert_eq "$(rq 'f["nb_malformed_rows"]')" 0 "$tail"
        assert_eq "$(rq 'f["warnings"]')" '[]' "$tail"
        rm -rf "$DEV/parsed"
    done
}

@test "framed without END_DATA, last row cut off: not ingested" {
    mkraw "$F" 'START_HEADER\n{"DataTimeSettings":"UTC"}\nEND_HEADER\nSTART_DATA\n02001171\t02001171\nMV_T302_V003\tPh 1 V\n05/01/26 10:00:00\t1\n05/01/26 10:10:00\t24'
    parse_file "$F"
    assert_status 0
    assert_eq "$(lp_times)" 1767607200
    assert_eq "$(rq 'f["nb_rows"]')" 2
    assert_eq "$(rq 'f["nb_malformed_rows"]')" 1
    assert_eq "$(rq 'f["warnings"]')" "[\"$CUT_WARNING\"]"
}

@test "UTF-8 BOM is removed: the master serial is recognised" {
    mkraw "$F" '\xef\xbb\xbf02001171\t02001171\t02001171\t02001171\nMV_T302_V002\tPh 1 V\tPh 2 V\tPh 3 V\n05/01/26 10:00:00\t1\t2\t3\n'
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'list(f["channels"])')" '["M02001171_U1_M02001171", "M02001171_U2_M02001171", "M02001171_U3_M02001171"]'
    assert_eq "$(rq '[c["device_type"] for c in f["channels"].values()]')" '["master", "master", "master"]'
    assert_eq "$(grep -c ',device_master_sn=02001171,device_sn=02001171,device_subtype=tri,device_type=master,' "$OUT")" 3
    assert_eq "$(rq 'f["warnings"]')" '[]'
}

@test "UTF-8 BOM before START_HEADER: framed layout recognised" {
    mkraw "$F" '\xef\xbb\xbfSTART_HEADER\n{"DataTimeSettings":"UTC"}\nEND_HEADER\nSTART_DATA\n02001171\t02001171\nMV_T302_V003\tPh 1 V\n05/01/26 10:00:00\t1\nEND_DATA\n'
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'f["format"]')" MV_T302_V003
    assert_eq "$(lp_times)" 1767607200
}

@test "blank lines (empty, spaces, tabs, CR) are skipped and not counted" {
    mkfile "$F" '' '  \t ' '02001171\t02001171\t02001171' '\r' 'MV_T302_V002\tPh 1 V\tVoie1 W' '' \
        '05/01/26 10:00:00\t1.5\t2' '\t\t' '   ' '' '05/01/26 10:10:00\t3\t4' ''
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'f["nb_rows"]')" 2
    assert_eq "$(rq 'f["nb_points"]')" 4
    assert_eq "$(rq 'f["nb_malformed_rows"]')" 0
    assert_eq "$(rq 'f["nb_invalid_timestamps"]')" 0
    assert_eq "$(rq 'f["file_header_meta"]')" null
    assert_eq "$(wc -l <"$OUT")" 4
}

@test "framed without END_DATA: rows run to end of file" {
    mkfile "$F" START_HEADER '{"DataTimeSettings":"UTC"}' END_HEADER START_DATA \
        "$HDR_MONO_SN" 'MV_T302_V003\tPh 1 V' '05/01/26 10:00:00\t1' '05/01/26 10:10:00\t2'
    parse_file "$F"
    assert_status 0
    assert_eq "$(lp_times | paste -sd' ')" "1767607200 1767607800"
    assert_eq "$(rq 'f["nb_rows"]')" 2
}

@test "framed: lines after END_DATA are ignored; markers are trimmed" {
    mkfile "$F" '  START_HEADER  ' '{"DataTimeSettings":"UTC"}' 'END_HEADER\t' ' START_DATA\r' \
        "$HDR_MONO_SN" 'MV_T302_V003\tPh 1 V' '05/01/26 10:00:00\t1' ' END_DATA ' \
        '05/01/26 11:00:00\t9' 'garbage'
    parse_file "$F"
    assert_status 0
    assert_eq "$(lp_times)" 1767607200
    assert_eq "$(rq 'f["nb_rows"]')" 1
    assert_eq "$(rq 'f["nb_invalid_timestamps"]')" 0
    assert_eq "$(rq 'f["nb_malformed_rows"]')" 0
}

@test "framed header JSON may span several lines; file_header_meta is the object" {
    mkfile "$F" START_HEADER '{' '  "DataTimeSettings": "UTC",' '  "MasterType": "Mono",' \
        '  "FileVersion": 3' '}' END_HEADER START_DATA \
        "$HDR_MONO_SN" 'MV_T302_V003\tPh 1 V' '05/01/26 10:00:00\t1' END_DATA
    parse_file "$F"
    assert_status 0
    assert_eq "$(lp_times)" 1767607200
    assert_eq "$(rq 'f["file_header_meta"] == {"DataTimeSettings": "UTC", "MasterType": "Mono", "FileVersion": 3}')" true
    assert_eq "$(rq 'f["timezone"]')" UTC
}

@test "framed without START_DATA: error 'missing START_DATA'" {
    mkfile "$F" START_HEADER '{"DataTimeSettings":"UTC"}' END_HEADER \
        "$HDR_MONO_SN" 'MV_T302_V003\tPh 1 V' '05/01/26 10:00:00\t1' END_DATA
    parse_file "$F"
    assert_failed_file "$F" "missing START_DATA"
}

@test "framed header that is not JSON: error" {
    mkfile "$F" START_HEADER '{"DataTimeSettings": "UTC",' END_HEADER START_DATA \
        "$HDR_MONO_SN" 'MV_T302_V003\tPh 1 V' '05/01/26 10:00:00\t1' END_DATA
    parse_file "$F"
    assert_failed_file "$F" ""
}

@test "framed header that is JSON but not an object: error" {
    mkfile "$F" START_HEADER '["UTC"]' END_HEADER START_DATA \
        "$HDR_MONO_SN" 'MV_T302_V003\tPh 1 V' '05/01/26 10:00:00\t1' END_DATA
    parse_file "$F"
    assert_failed_file "$F" ""
}

@test "empty file: error 'empty file'" {
    mkfile "$F"
    parse_file "$F"
    assert_failed_file "$F" "empty file"
}

@test "file of blank lines only: error 'empty file'" {
    mkfile "$F" '' ' \t ' '\r'
    parse_file "$F"
    assert_failed_file "$F" "empty file"
}

@test "header lines only: error 'no valid point'" {
    mkfile "$F" "$HDR_MONO_SN" "$HDR_MONO_FMT"
    parse_file "$F"
    assert_failed_file "$F" "no valid point"
    assert_eq "$(rq 'f["nb_rows"]')" 0
}

@test "rows that are all invalid: error 'no valid point', counts still reported" {
    mkfile "$F" "$HDR_MONO_SN" "$HDR_MONO_FMT" 'garbage\t1' '05/01/26 10:00:00\tNaN'
    parse_file "$F"
    assert_failed_file "$F" "no valid point"
    assert_eq "$(rq 'f["nb_rows"]')" 2
    assert_eq "$(rq 'f["nb_invalid_timestamps"]')" 1
    assert_eq "$(rq 'f["nb_invalid_values"]')" 1
}

@test "unknown format id: 'unsupported format: MV_T202_V002'" {
    mkfile "$F" "$HDR_MONO_SN" 'MV_T202_V002\tPh 1 V' '05/01/26 10:00:00\t1'
    parse_file "$F"
    assert_failed_file "$F" "unsupported format: MV_T202_V002"
}

@test "format id is trimmed" {
    mkfile "$F" "$HDR_MONO_SN" ' MV_T302_V002 \tPh 1 V' '05/01/26 10:00:00\t1'
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'f["format"]')" MV_T302_V002
}

@test "V003 id in the plain layout: unsupported format" {
    mkfile "$F" "$HDR_MONO_SN" 'MV_T302_V003\tPh 1 V' '05/01/26 10:00:00\t1'
    parse_file "$F"
    assert_failed_file "$F" "unsupported format: MV_T302_V003"
}

@test "V002 id in the framed layout: unsupported format" {
    mkfile "$F" START_HEADER '{}' END_HEADER START_DATA \
        "$HDR_MONO_SN" 'MV_T302_V002\tPh 1 V' '05/01/26 10:00:00\t1' END_DATA
    parse_file "$F"
    assert_failed_file "$F" "unsupported format: MV_T302_V002"
}

@test "6 serial numbers, 5 labels: exact 'header mismatch' message" {
    mkfile "$F" \
        '02001171\t02001171\t02001171\t02001171\t02001171\t02001171\t02001171' \
        'MV_T302_V002\tPh 1 V\tPh 2 V\tPh 3 V\tVoie1 W\tVoie2 W' \
        '05/01/26 10:00:00\t1\t2\t3\t4\t5\t6'
    parse_file "$F"
    assert_failed_file "$F" "header mismatch"
    assert_eq "$(rq 'f["error"]')" "header mismatch: 6 serial numbers, 5 channel labels"
}

@test "1 serial number, 2 labels: header mismatch" {
    mkfile "$F" "$HDR_MONO_SN" 'MV_T302_V002\tPh 1 V\tVoie1 W' '05/01/26 10:00:00\t1\t2'
    parse_file "$F"
    assert_failed_file "$F" "header mismatch: 1 serial numbers, 2 channel labels"
}

@test "serial line with the master only: error 'no channels'" {
    mkfile "$F" '02001171' 'MV_T302_V002' '05/01/26 10:00:00'
    parse_file "$F"
    assert_failed_file "$F" "no channels"
}

@test "trailing empty cells on serial and format lines are dropped, cells trimmed" {
    mkfile "$F" ' 02001171 \t 02001171\t\t \t' 'MV_T302_V002\t Ph 1 V \t\t' '05/01/26 10:00:00\t1'
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'f["nb_channels"]')" 1
    assert_eq "$(rq 'f["nb_malformed_rows"]')" 0
    assert_lp "$OUT" \
        'electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_U1_M02001171_V=1 1767603600'
}

@test "invalid UTF-8 anywhere: error 'not valid UTF-8'" {
    mkfile "$DEV/a_ff.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1\xff'
    mkfile "$DEV/b_latin1_label.tsv" "$HDR_MONO_SN" 'MV_T302_V002\tPh\xe9 1 V' '05/01/26 10:00:00\t1'
    mkfile "$DEV/c_overlong.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1' '\xc0\xaf'
    mkfile "$DEV/d_surrogate.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1\t\xed\xa0\x80'
    mkfile "$DEV/e_truncated.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1\t\xe2\x82'
    parse_data
    assert_status 65
    assert_eq "$(rq 'r["nb_files_failed"]')" 5
    assert_eq "$(rq 'all("not valid UTF-8" in (x["error"] or "") for x in r["files"])')" true
    for n in a_ff b_latin1_label c_overlong d_surrogate e_truncated; do
        assert_file "$DEV/error/$n.tsv"
    done
    assert_lp "$OUT"
}

@test "framed MasterType Mono overrides Ph 1/2/3 labels: U1, Ch1, Ch2, mono" {
    mkfile "$F" START_HEADER '{"DataTimeSettings":"UTC","MasterType":"Mono"}' END_HEADER START_DATA \
        '02001171\t02001171\t02001171\t02001171' 'MV_T302_V003\tPh 1 V\tPh 2 V\tPh 3 V' \
        '05/01/26 10:00:00\t1\t2\t3' END_DATA
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq '[c["channel_label"] for c in f["channels"].values()]')" '["U1", "Ch1", "Ch2"]'
    assert_eq "$(grep -c 'device_subtype=mono,' "$OUT")" 3
}

@test "framed MasterType ' TRI ' (any case, trimmed) makes tri without Ph labels" {
    mkfile "$F" START_HEADER '{"DataTimeSettings":"UTC","MasterType":" TRI "}' END_HEADER START_DATA \
        '02001171\t02001171\t02001171\t02001171\t02001171' 'MV_T302_V003\tVoie1 W\tVoie2 W\tVoie3 W\tVoie4 W' \
        '05/01/26 10:00:00\t1\t2\t3\t4' END_DATA
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq '[c["channel_label"] for c in f["channels"].values()]')" '["U1", "U2", "U3", "Ch1"]'
    assert_eq "$(grep -c 'device_subtype=tri,' "$OUT")" 4
}
