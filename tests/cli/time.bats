#!/usr/bin/env bats
# Timestamps: syntax, time zone choice, DST gaps and repeats (contract §4).
# Every file has one channel (Ph 1 V); each valid row gives one point, so the
# timestamp column of the output is the list of instants.

load helpers

setup() {
    common_setup
    F="$DEV/f.tsv"
}

# mono FILE ROW...: plain V002 file, master 02001171, one channel.
mono() {
    local f=$1
    shift
    mkfile "$f" "$HDR_MONO_SN" "$HDR_MONO_FMT" "$@"
}

# framed FILE HEADER_JSON ROW...: framed V003 file, one channel.
framed() {
    local f=$1 hdr=$2
    shift 2
    mkfile "$f" START_HEADER "$hdr" END_HEADER START_DATA \
        "$HDR_MONO_SN" 'MV_T302_V003\tPh 1 V' "$@" END_DATA
}

times() { lp_times | paste -sd' '; }

@test "TSV_TIMEZONE=UTC: wall clock is UTC" {
    mono "$F" '05/01/26 10:00:00\t1' '03/08/25 03:20:00\t2'
    TSV_TIMEZONE=UTC parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1767607200 1754191200"
    assert_eq "$(rq 'f["timezone"]')" UTC
}

@test "default zone is Europe/Paris (CET in winter, CEST in summer), whatever TZ says" {
    mono "$F" '05/01/26 10:00:00\t1' '03/08/25 03:20:00\t2'
    TZ=Asia/Tokyo parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1767603600 1754184000"
    assert_eq "$(rq 'f["timezone"]')" Europe/Paris
}

@test "TSV_TIMEZONE=America/New_York is used for plain files" {
    mono "$F" '05/01/26 10:00:00\t1'
    TSV_TIMEZONE=America/New_York parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1767625200"
    assert_eq "$(rq 'f["timezone"]')" America/New_York
}

@test "DST fall-back: the repeated hour walked twice gives two distinct hours, in order" {
    # 26/10/25 Europe/Paris: 03:00 CEST -> 02:00 CET
    mono "$F" \
        '26/10/25 01:50:00\t1' \
        '26/10/25 02:00:00\t2' \
        '26/10/25 02:50:00\t3' \
        '26/10/25 02:00:00\t4' \
        '26/10/25 02:10:00\t5' \
        '26/10/25 03:00:00\t6'
    parse_file "$F"
    assert_status 0
    #                  01:50 CEST  02:00 CEST 02:50 CEST 02:00 CET  02:10 CET  03:00 CET
    assert_eq "$(times)" "1761436200 1761436800 1761439800 1761440400 1761441000 1761444000"
    assert_eq "$(rq 'f["nb_invalid_timestamps"]')" 0
    assert_eq "$(rq 'f["time_start"]')" "2025-10-25T23:50:00+00:00"
    assert_eq "$(rq 'f["time_end"]')" "2025-10-26T02:00:00+00:00"
}

@test "DST fall-back: a file starting inside the repeated hour takes the first (CEST) instant" {
    mono "$F" '26/10/25 02:30:00\t1' '26/10/25 02:40:00\t2'
    parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1761438600 1761439200"
}

@test "DST spring-forward: 30/03/25 02:30:00 does not exist in Paris, invalid timestamp" {
    mono "$F" '30/03/25 01:30:00\t1' '30/03/25 02:30:00\t2' '30/03/25 03:30:00\t3'
    parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1743294600 1743298200"
    assert_eq "$(rq 'f["nb_invalid_timestamps"]')" 1
    assert_eq "$(rq 'f["nb_rows"]')" 3
    assert_eq "$(rq 'f["nb_invalid_values"]')" 0
}

@test "framed: DataTimeSettings UTC wins over TimeZone and TimeZoneName" {
    framed "$F" '{"DataTimeSettings":"UTC","TimeZone":"CET-1CEST,M3.5.0,M10.5.0/3","TimeZoneName":"Europe/Paris","MasterType":"Mono"}' \
        '05/01/26 10:00:00\t1'
    parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1767607200"
    assert_eq "$(rq 'f["timezone"]')" UTC
    assert_eq "$(rq 'f["format"]')" MV_T302_V003
}

@test "framed: DataTimeSettings is compared in any case ('utc')" {
    framed "$F" '{"DataTimeSettings":"utc","TimeZoneName":"Europe/Paris"}' '05/01/26 10:00:00\t1'
    parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1767607200"
}

@test "framed: POSIX TimeZone without DataTimeSettings, over TimeZoneName and TSV_TIMEZONE" {
    framed "$F" '{"TimeZone":"CET-1CEST,M3.5.0,M10.5.0/3","TimeZoneName":"America/New_York"}' \
        '05/01/26 10:00:00\t1' '03/08/25 03:20:00\t2'
    TSV_TIMEZONE=UTC parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1767603600 1754184000"
    assert_eq "$(rq 'f["timezone"]')" "CET-1CEST,M3.5.0,M10.5.0/3"
}

@test "framed: DataTimeSettings other than UTC falls through to TimeZone" {
    framed "$F" '{"DataTimeSettings":"Local","TimeZone":"CET-1CEST,M3.5.0,M10.5.0/3"}' \
        '03/08/25 03:20:00\t2'
    TSV_TIMEZONE=UTC parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1754184000"
}

@test "framed: only TimeZoneName America/New_York" {
    framed "$F" '{"TimeZoneName":"America/New_York"}' '05/01/26 10:00:00\t1' '03/08/25 03:20:00\t2'
    parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1767625200 1754205600"
    assert_eq "$(rq 'f["timezone"]')" America/New_York
}

@test "framed: no zone in the header falls back to TSV_TIMEZONE" {
    framed "$F" '{"MasterType":"Mono"}' '05/01/26 10:00:00\t1'
    TSV_TIMEZONE=UTC parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1767607200"
    assert_eq "$(rq 'f["timezone"]')" UTC
}

@test "invalid timestamps are counted and their rows skipped, their cells not counted" {
    mono "$F" \
        '05/01/26 10:00:00\t1' \
        '31/02/26 10:00:00\t2' \
        '05/01/26 10:00:60\t3' \
        '5/1/2026 1:2:3\t4' \
        '05/01/26\t5' \
        '05-01-26 10:00:00\t6' \
        'garbage\tNaN'
    parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1767603600"
    assert_values 1
    assert_eq "$(rq 'f["nb_invalid_timestamps"]')" 6
    assert_eq "$(rq 'f["nb_rows"]')" 7
    assert_eq "$(rq 'f["nb_points"]')" 1
    assert_eq "$(rq 'f["nb_invalid_values"]')" 0
    assert_eq "$(rq 'f["nb_malformed_rows"]')" 0
}

@test "more invalid timestamps: ranges, digit counts, separators, trailing text" {
    mono "$F" \
        '05/01/26 10:00:00\t1' \
        '05/01/26 24:00:00\t2' \
        '05/01/26 10:60:00\t3' \
        '00/01/26 10:00:00\t4' \
        '05/13/26 10:00:00\t5' \
        '05/00/26 10:00:00\t6' \
        '29/02/25 10:00:00\t7' \
        '005/01/26 10:00:00\t8' \
        '05/01/26 010:00:00\t9' \
        '05/01/26 10:00\t10' \
        '05/01/26T10:00:00\t11' \
        '05/01/26 10:00:00 x\t12' \
        '05/01/26 10:00:00Z\t13' \
        '+5/01/26 10:00:00\t14' \
        '\t15'
    parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1767603600"
    assert_eq "$(rq 'f["nb_invalid_timestamps"]')" 14
    assert_eq "$(rq 'f["nb_rows"]')" 15
}

@test "valid: one-digit fields, several spaces between date and time, padded cell" {
    mono "$F" \
        '5/1/26 1:2:3\t1' \
        '05/01/26   10:00:00\t2' \
        '  05/01/26 10:10:00  \t3' \
        '29/02/24 10:00:00\t4'
    parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1767571323 1767603600 1767604200 1709197200"
    assert_eq "$(rq 'f["nb_invalid_timestamps"]')" 0
}

@test "two-digit years: 69 -> 1969, 00 -> 2000, 68 -> 2068" {
    mono "$F" '01/01/69 00:00:00\t1' '01/01/00 00:00:00\t2' '01/01/68 00:00:00\t3'
    TSV_TIMEZONE=UTC parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "-31536000 946684800 3092601600"
    assert_eq "$(rq 'f["time_start"]')" "1969-01-01T00:00:00+00:00"
    assert_eq "$(rq 'f["time_end"]')" "2068-01-01T00:00:00+00:00"
}

@test "DST fall-back: 'prev' is the previous valid timestamp, even if its row wrote no point" {
    # 02:50 has a valid timestamp (first pass, 00:50Z) but no valid value;
    # the invalid-timestamp row does not reset it; so 02:10 is the second pass.
    mono "$F" \
        '26/10/25 01:50:00\t1' \
        '26/10/25 02:50:00\tx' \
        'garbage\t1' \
        '26/10/25 02:10:00\t2'
    parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1761436200 1761441000"
}

@test "DST fall-back in America/New_York (01:00-02:00 repeated on 02/11/25)" {
    mono "$F" \
        '02/11/25 00:50:00\t1' \
        '02/11/25 01:10:00\t2' \
        '02/11/25 01:50:00\t3' \
        '02/11/25 01:10:00\t4' \
        '02/11/25 01:50:00\t5' \
        '02/11/25 02:10:00\t6'
    TSV_TIMEZONE=America/New_York parse_file "$F"
    assert_status 0
    #                  00:50 EDT  01:10 EDT  01:50 EDT  01:10 EST  01:50 EST  02:10 EST
    assert_eq "$(times)" "1762059000 1762060200 1762062600 1762063800 1762066200 1762067400"
}

@test "framed POSIX TimeZone: same fall-back walk and spring-forward gap as Europe/Paris" {
    framed "$F" '{"TimeZone":"CET-1CEST,M3.5.0,M10.5.0/3"}' \
        '26/10/25 01:50:00\t1' \
        '26/10/25 02:00:00\t2' \
        '26/10/25 02:50:00\t3' \
        '26/10/25 02:00:00\t4' \
        '26/10/25 02:10:00\t5' \
        '26/10/25 03:00:00\t6' \
        '30/03/25 02:30:00\t7'
    TSV_TIMEZONE=UTC parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1761436200 1761436800 1761439800 1761440400 1761441000 1761444000"
    assert_eq "$(rq 'f["nb_invalid_timestamps"]')" 1
}

@test "framed: a POSIX TimeZone with daylight saving but no rule is refused, not guessed" {
    framed "$F" '{"TimeZone":"CET-1CEST"}' '20/03/26 12:00:00\t1'
    parse_file "$F"
    assert_status 65
    assert_contains "$(rq 'f["error"]')" "time zone of the header: CET-1CEST"
    assert_file "$DEV/error/f.tsv"
}
