#!/usr/bin/env bats
# Points: measurement, tags, field key, value and timestamp (contract §3, §5).
# Times are Europe/Paris wall clock unless said otherwise:
#   03/08/25 03:20:00 CEST = 1754184000    05/01/26 10:00:00 CET = 1767603600

load helpers

setup() {
    common_setup
}

@test "plain V002 tri master: exact lines, tags sorted, summer and winter offsets" {
    F="$DEV/T302_250803_032000.tsv"
    mkfile "$F" \
        '02001171\t02001171\t02001171\t02001171\t02001171' \
        'MV_T302_V002\tPh 1 V\tPh 2 V\tPh 3 V\tVoie1 W' \
        '03/08/25 03:20:00\t242.25\t242.26\t242.01\t31.5' \
        '05/01/26 10:00:00\t231.85\t114.18\t114.16\t-2'
    parse_file "$F"
    assert_status 0
    assert_lp "$OUT" \
        'electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=tri,device_type=master,file_name=T302_250803_032000.tsv M02001171_U1_M02001171_V=242.25 1754184000' \
        'electrical,campaign=camp1,channel_id=M02001171_U2_M02001171,channel_label=U2,channel_name=Ph\ 2,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=tri,device_type=master,file_name=T302_250803_032000.tsv M02001171_U2_M02001171_V=242.26 1754184000' \
        'electrical,campaign=camp1,channel_id=M02001171_U3_M02001171,channel_label=U3,channel_name=Ph\ 3,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=tri,device_type=master,file_name=T302_250803_032000.tsv M02001171_U3_M02001171_V=242.01 1754184000' \
        'electrical,campaign=camp1,channel_id=M02001171_Ch1_M02001171,channel_label=Ch1,channel_name=Voie1,channel_unit=W,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=tri,device_type=master,file_name=T302_250803_032000.tsv M02001171_Ch1_M02001171_W=31.5 1754184000' \
        'electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=tri,device_type=master,file_name=T302_250803_032000.tsv M02001171_U1_M02001171_V=231.85 1767603600' \
        'electrical,campaign=camp1,channel_id=M02001171_U2_M02001171,channel_label=U2,channel_name=Ph\ 2,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=tri,device_type=master,file_name=T302_250803_032000.tsv M02001171_U2_M02001171_V=114.18 1767603600' \
        'electrical,campaign=camp1,channel_id=M02001171_U3_M02001171,channel_label=U3,channel_name=Ph\ 3,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=tri,device_type=master,file_name=T302_250803_032000.tsv M02001171_U3_M02001171_V=114.16 1767603600' \
        'electrical,campaign=camp1,channel_id=M02001171_Ch1_M02001171,channel_label=Ch1,channel_name=Voie1,channel_unit=W,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=tri,device_type=master,file_name=T302_250803_032000.tsv M02001171_Ch1_M02001171_W=-2 1767603600'
    assert_eq "$(rq 'f["nb_points"]')" 8
    assert_eq "$(rq 'f["format"]')" MV_T302_V002
    assert_eq "$(rq 'f["timezone"]')" Europe/Paris
}

@test "TSV_FILE_NAME_TAG=0 drops the file_name tag" {
    F="$DEV/f.tsv"
    mkfile "$F" "$HDR_MONO_SN" "$HDR_MONO_FMT" '03/08/25 03:20:00\t242.25'
    TSV_FILE_NAME_TAG=0 parse_file "$F"
    assert_status 0
    assert_lp "$OUT" \
        'electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master M02001171_U1_M02001171_V=242.25 1754184000'
}

@test "TSV_FILE_NAME_TAG=1 keeps the file_name tag (the default)" {
    F="$DEV/f.tsv"
    mkfile "$F" "$HDR_MONO_SN" "$HDR_MONO_FMT" '03/08/25 03:20:00\t242.25'
    TSV_FILE_NAME_TAG=1 parse_file "$F"
    assert_status 0
    assert_lp "$OUT" \
        'electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_U1_M02001171_V=242.25 1754184000'
}

@test "slave columns: S<sn>_Ch<n>_M<master>, device_type=slave, no device_subtype" {
    F="$DEV/f.tsv"
    mkfile "$F" \
        '02001171\t02001171\t04000466\t04000466' \
        'MV_T302_V002\tPh 1 V\tVoie1 W\tVoie2 W' \
        '03/08/25 03:20:00\t242.25\t163.8\t607.6'
    parse_file "$F"
    assert_status 0
    assert_lp "$OUT" \
        'electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_U1_M02001171_V=242.25 1754184000' \
        'electrical,campaign=camp1,channel_id=S04000466_Ch1_M02001171,channel_label=Ch1,channel_name=Voie1,channel_unit=W,device=MV2,device_master_sn=02001171,device_sn=04000466,device_type=slave,file_name=f.tsv S04000466_Ch1_M02001171_W=163.8 1754184000' \
        'electrical,campaign=camp1,channel_id=S04000466_Ch2_M02001171,channel_label=Ch2,channel_name=Voie2,channel_unit=W,device=MV2,device_master_sn=02001171,device_sn=04000466,device_type=slave,file_name=f.tsv S04000466_Ch2_M02001171_W=607.6 1754184000'
}

@test "TSV_CHANNEL_ID_SCHEME=compact: M<master>_<label> and M<master>_S<sn>_<label>" {
    F="$DEV/f.tsv"
    mkfile "$F" \
        '02001171\t02001171\t04000466' \
        'MV_T302_V002\tPh 1 V\tVoie1 W' \
        '03/08/25 03:20:00\t242.25\t163.8'
    TSV_CHANNEL_ID_SCHEME=compact parse_file "$F"
    assert_status 0
    assert_lp "$OUT" \
        'electrical,campaign=camp1,channel_id=M02001171_U1,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_U1_V=242.25 1754184000' \
        'electrical,campaign=camp1,channel_id=M02001171_S04000466_Ch1,channel_label=Ch1,channel_name=Voie1,channel_unit=W,device=MV2,device_master_sn=02001171,device_sn=04000466,device_type=slave,file_name=f.tsv M02001171_S04000466_Ch1_W=163.8 1754184000'
    assert_eq "$(rq 'list(f["channels"])')" '["M02001171_U1", "M02001171_S04000466_Ch1"]'
}

@test "TSV_CHANNEL_ID_SCHEME=serial is the default" {
    F="$DEV/f.tsv"
    mkfile "$F" '02001171\t02001171\t04000466' 'MV_T302_V002\tPh 1 V\tVoie1 W' \
        '03/08/25 03:20:00\t242.25\t163.8'
    TSV_CHANNEL_ID_SCHEME=serial parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'list(f["channels"])')" '["M02001171_U1_M02001171", "S04000466_Ch1_M02001171"]'
}

@test "one label counter per serial, in column order" {
    F="$DEV/f.tsv"
    mkfile "$F" \
        '02001171\t02001171\t04000466\t02001171\t04000477\t04000466\t02001171' \
        'MV_T302_V002\tPh 1 V\tVoie1 W\tVoie2 W\tVoie1 W\tVoie3 W\tVoie4 W' \
        '03/08/25 03:20:00\t1\t2\t3\t4\t5\t6'
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'list(f["channels"])')" \
        '["M02001171_U1_M02001171", "S04000466_Ch1_M02001171", "M02001171_Ch1_M02001171", "S04000477_Ch1_M02001171", "S04000466_Ch2_M02001171", "M02001171_Ch2_M02001171"]'
    assert_eq "$(rq '[c["column_idx"] for c in f["channels"].values()]')" '[1, 2, 3, 4, 5, 6]'
    assert_eq "$(rq 'f["nb_channels"]')" 6
}

@test "tri master: the first three master columns are U1..U3, then Ch1, Ch2" {
    F="$DEV/f.tsv"
    mkfile "$F" \
        '02001171\t02001171\t02001171\t02001171\t02001171\t02001171' \
        'MV_T302_V002\tPh 1 V\tPh 2 V\tPh 3 V\tVoie1 W\tVoie2 W' \
        '03/08/25 03:20:00\t1\t2\t3\t4\t5'
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq '[c["channel_label"] for c in f["channels"].values()]')" '["U1", "U2", "U3", "Ch1", "Ch2"]'
    assert_eq "$(grep -c 'device_subtype=tri,' "$OUT")" 5
}

@test "mono master (Ph 1 only): U1 then Ch1, device_subtype=mono" {
    F="$DEV/f.tsv"
    mkfile "$F" \
        '02001171\t02001171\t02001171' \
        'MV_T302_V002\tPh 1 V\tVoie1 W' \
        '03/08/25 03:20:00\t242.25\t31.5'
    parse_file "$F"
    assert_status 0
    assert_lp "$OUT" \
        'electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_U1_M02001171_V=242.25 1754184000' \
        'electrical,campaign=camp1,channel_id=M02001171_Ch1_M02001171,channel_label=Ch1,channel_name=Voie1,channel_unit=W,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_Ch1_M02001171_W=31.5 1754184000'
}

@test "Ph 1 and Ph 2 without Ph 3 is mono: U1, Ch1, Ch2" {
    F="$DEV/f.tsv"
    mkfile "$F" \
        '02001171\t02001171\t02001171\t02001171' \
        'MV_T302_V002\tPh 1 V\tPh 2 V\tVoie1 W' \
        '03/08/25 03:20:00\t1\t2\t3'
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq '[c["channel_label"] for c in f["channels"].values()]')" '["U1", "Ch1", "Ch2"]'
    assert_eq "$(grep -c 'device_subtype=mono,' "$OUT")" 3
}

@test "Ph1/Ph2/Ph3 without space is tri; 'Ph 10' does not count as Ph 1" {
    F="$DEV/tri.tsv"
    mkfile "$F" \
        '02001171\t02001171\t02001171\t02001171' \
        'MV_T302_V002\tPh1 V\tPh2 V\tPh3 V' \
        '03/08/25 03:20:00\t1\t2\t3'
    G="$DEV/mono.tsv"
    mkfile "$G" \
        '02001171\t02001171\t02001171\t02001171' \
        'MV_T302_V002\tPh 10 V\tPh 2 V\tPh 3 V' \
        '03/08/25 03:20:00\t1\t2\t3'
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq '[c["channel_label"] for c in f["channels"].values()]')" '["U1", "U2", "U3"]'
    assert_eq "$(rq '[c["channel_name"] for c in f["channels"].values()]')" '["Ph1", "Ph2", "Ph3"]'
    rm -rf "$TSV_REPORT_DIR"
    parse_file "$G"
    assert_status 0
    assert_eq "$(rq '[c["channel_label"] for c in f["channels"].values()]')" '["U1", "Ch1", "Ch2"]'
}

@test "label without unit: field key without _unit, no channel_unit tag" {
    F="$DEV/f.tsv"
    mkfile "$F" \
        '02001171\t02001171\t02001171' \
        'MV_T302_V002\tPh 1 V\tVoie1' \
        '03/08/25 03:20:00\t242.25\t5'
    parse_file "$F"
    assert_status 0
    assert_lp "$OUT" \
        'electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_U1_M02001171_V=242.25 1754184000' \
        'electrical,campaign=camp1,channel_id=M02001171_Ch1_M02001171,channel_label=Ch1,channel_name=Voie1,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_Ch1_M02001171=5 1754184000'
}

@test "label split at the last space, parts trimmed" {
    F="$DEV/f.tsv"
    mkfile "$F" \
        '02001171\t02001171\t02001171' \
        'MV_T302_V002\tPh 1 V\t Puissance   active   kW ' \
        '03/08/25 03:20:00\t1\t2'
    parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'f["channels"]["M02001171_Ch1_M02001171"]["channel_name"]')" "Puissance   active"
    assert_eq "$(rq 'f["channels"]["M02001171_Ch1_M02001171"]["channel_unit"]')" "kW"
    assert_lp_line 2 \
        'electrical,campaign=camp1,channel_id=M02001171_Ch1_M02001171,channel_label=Ch1,channel_name=Puissance\ \ \ active,channel_unit=kW,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_Ch1_M02001171_kW=2 1754184000'
}

@test "campaign name with space, comma and equals is escaped" {
    F="$DATA/acme/my camp,x=1/02001171/f.tsv"
    mkfile "$F" "$HDR_MONO_SN" "$HDR_MONO_FMT" '03/08/25 03:20:00\t242.25'
    parse_file "$F"
    assert_status 0
    assert_lp "$OUT" \
        'electrical,campaign=my\ camp\,x\=1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_U1_M02001171_V=242.25 1754184000'
    assert_eq "$(rq 'f["campaign"]')" "my camp,x=1"
}

@test "channel name, unit (tag and field key) and file name are escaped" {
    F="$DEV/my file,v=2.tsv"
    mkfile "$F" \
        '02001171\t02001171\t02001171' \
        'MV_T302_V002\tPh 1 V\tP,a=b x k=W' \
        '03/08/25 03:20:00\t1\t2.5'
    parse_file "$F"
    assert_status 0
    assert_lp_line 2 \
        'electrical,campaign=camp1,channel_id=M02001171_Ch1_M02001171,channel_label=Ch1,channel_name=P\,a\=b\ x,channel_unit=k\=W,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=my\ file\,v\=2.tsv M02001171_Ch1_M02001171_k\=W=2.5 1754184000'
}

@test "UTF-8 channel names are written as is" {
    F="$DEV/f.tsv"
    mkfile "$F" \
        '02001171\t02001171\t02001171' \
        'MV_T302_V002\tPh 1 V\tVoie\xc3\xa9 W' \
        '03/08/25 03:20:00\t1\t2'
    parse_file "$F"
    assert_status 0
    assert_contains "$(sed -n 2p "$OUT")" ',channel_name=Voieé,'
    assert_eq "$(rq 'f["channels"]["M02001171_Ch1_M02001171"]["channel_name"]')" "Voieé"
}

@test "-0.0 and 0 are valid values, the sign of zero is kept" {
    F="$DEV/f.tsv"
    mkfile "$F" \
        '02001171\t02001171\t02001171' \
        'MV_T302_V002\tPh 1 V\tVoie1 W' \
        '03/08/25 03:20:00\t-0.0\t0'
    parse_file "$F"
    assert_status 0
    assert_lp "$OUT" \
        'electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_U1_M02001171_V=-0.0 1754184000' \
        'electrical,campaign=camp1,channel_id=M02001171_Ch1_M02001171,channel_label=Ch1,channel_name=Voie1,channel_unit=W,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_Ch1_M02001171_W=0 1754184000'
    assert_eq "$(rq 'f["nb_invalid_values"]')" 0
}

@test "+5 .5 5. 1e3 -1.5E-2 and padded cells are valid and parse back to the same double" {
    F="$DEV/f.tsv"
    mkfile "$F" "$HDR_MONO_SN" "$HDR_MONO_FMT" \
        '05/01/26 10:00:00\t+5' \
        '05/01/26 10:01:00\t.5' \
        '05/01/26 10:02:00\t5.' \
        '05/01/26 10:03:00\t1e3' \
        '05/01/26 10:04:00\t-1.5E-2' \
        '05/01/26 10:05:00\t  7.25  ' \
        '05/01/26 10:06:00\t0.1' \
        '05/01/26 10:07:00\t123456789.123456789' \
        '05/01/26 10:08:00\t1e-300' \
        '05/01/26 10:09:00\t00012.50'
    parse_file "$F"
    assert_status 0
    assert_values 5 0.5 5 1000 -0.015 7.25 0.1 123456789.123456789 1e-300 12.5
    assert_eq "$(rq 'f["nb_invalid_values"]')" 0
    assert_eq "$(rq 'f["nb_points"]')" 10
    # written as floats: no integer suffix, nothing Influx would read as a string
    if grep -E '=[^ ]*i -?[0-9]+$' "$OUT"; then false; fi
}

@test "extreme doubles round-trip; underflow is finite (0), overflow is invalid" {
    F="$DEV/f.tsv"
    mkfile "$F" "$HDR_MONO_SN" "$HDR_MONO_FMT" \
        '05/01/26 10:00:00\t0.30000000000000004' \
        '05/01/26 10:01:00\t1.7976931348623157e308' \
        '05/01/26 10:02:00\t2.2250738585072014e-308' \
        '05/01/26 10:03:00\t4.9e-324' \
        '05/01/26 10:04:00\t9007199254740993' \
        '05/01/26 10:05:00\t-123.456e-7' \
        '05/01/26 10:06:00\t1e-400' \
        '05/01/26 10:07:00\t1.8e308'
    parse_file "$F"
    assert_status 0
    assert_values 0.30000000000000004 1.7976931348623157e308 2.2250738585072014e-308 4.9e-324 \
        9007199254740992 -1.23456e-05 0
    assert_eq "$(rq 'f["nb_invalid_values"]')" 1
}
