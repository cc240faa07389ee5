#!/usr/bin/env bats
# powerview.yaml, .env and the environment (include/powerview/config.h):
# `tsv_parser config` shows each value and where it comes from, a real run
# uses the file, and precedence is flag > environment > .env > file > default.

load helpers

setup() {
    settings_setup || return 1
    F="$DEV/f.tsv"
}

# cfg_line KEY: the line `tsv_parser config` printed for KEY ("" when none).
cfg_line() {
    printf '%s\n' "$output" | grep -F -- "$1 = " | head -n 1
}

# assert_cfg_line KEY EXPECTED_LINE
assert_cfg_line() {
    local got
    got=$(cfg_line "$1")
    if [ "$got" != "$2" ]; then
        printf 'config line for %s\n  expected: %s\n  actual:   %s\n' "$1" "$2" "$got" >&2
        show_run >&2
        return 1
    fi
}

# mono FILE FORMAT_ID ROW...: plain file, master 02001171, one channel.
mono() {
    local f=$1 id=$2
    shift 2
    mkfile "$f" "$HDR_MONO_SN" "$id\\tPh 1 V" "$@"
}

times() { lp_times | paste -sd' '; }

LINE_MV1_UTC='electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV1,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_U1_M02001171_V=1 1767607200'
LINE_MV2_PARIS='electrical,campaign=camp1,channel_id=M02001171_U1_M02001171,channel_label=U1,channel_name=Ph\ 1,channel_unit=V,device=MV2,device_master_sn=02001171,device_sn=02001171,device_subtype=mono,device_type=master,file_name=f.tsv M02001171_U1_M02001171_V=1 1767603600'

KNOWN_IDS='known: MV_T302_V002 (plain), MV_T302_V003 (framed)'

# ---- tsv_parser config

@test "config without any file: exit 0, every key with its default" {
    [ ! -e /etc/powerview/powerview.yaml ] || skip "/etc/powerview/powerview.yaml exists on this machine"
    unset TSV_REPORT_DIR TSV_MIN_AGE
    run_parser config
    assert_status 0
    assert_eq "$output" "# configuration file: (none)
# .env: (none)
influxdb.api = v2  (default)
influxdb.url = (unset)  (default)
influxdb.org = (unset)  (default)
influxdb.token = (unset)  (default)
influxdb.username = (unset)  (default)
influxdb.password = (unset)  (default)
influxdb.bucket_retention = 0  (default)
influxdb.meta_bucket = powerview_meta  (default)
sink.output = (unset)  (default)
sink.verify = 1  (default)
sink.gzip = 1  (default)
sink.batch_lines = 5000  (default)
sink.batch_bytes = 4194304  (default)
http.connect_timeout = 10  (default)
http.answer_timeout = 60  (default)
http.timeout = 120  (default)
http.retry_budget = 120  (default)
http.retry_after_max = 60  (default)
parser.timezone = Europe/Paris  (default)
parser.channel_id_scheme = serial  (default)
parser.file_name_tag = 1  (default)
parser.min_age = 10  (default)
spool.dir = <data folder>/../spool  (default)
reports.dir = <data folder>/../logs/reports  (default)
reports.keep_days = 90  (default)
downsample.enabled = 1  (default)
downsample.levels = 1h,1d,1w  (default)
config_api.url = (unset)  (default)
log.level = INFO  (default)
hook.data_dir = /srv/sftpgo/data  (default)
hook.log_file = /srv/sftpgo/logs/uploads.log  (default)
hook.ingest = spool  (default)
hook.playbook = <beside the hook>  (default)
hook.tsv_parser = <beside the hook>  (default)
grafana.url = (unset)  (default)
grafana.username = (unset)  (default)
grafana.password = (unset)  (default)
grafana.api_token = (unset)  (default)
grafana.tenancy = org  (default)
grafana.org_id = 1  (default)
grafana.datasource_type = influxdb  (default)
grafana.influxdb_url = <influxdb.url>  (default)
grafana.query_language = flux  (default)
formats.MV_T302_V002 = layout plain, device_model MV2  (built-in)
formats.MV_T302_V003 = layout framed, device_model MV2  (built-in)" "stdout"
    assert_eq "$stderr" "" "stderr"
}

@test "config --config FILE: each value with (file FILE:LINE), booleans as 1/0" {
    mkfile "$CFG" \
        '# PowerView' \
        'influxdb:' \
        '  url: http://db.example:8086' \
        '  org: acme' \
        'sink:' \
        '  verify: no' \
        '  gzip: auto' \
        'parser:' \
        '  timezone: UTC' \
        'log:' \
        '  level: DEBUG' \
        'formats:' \
        '  - {id: MV_T202_V002, like: MV_T302_V002, device_model: MV1, timezone: UTC}'
    run_parser config --config "$CFG"
    assert_status 0
    assert_eq "$(printf '%s\n' "$output" | head -n 1)" "# configuration file: $CFG"
    assert_cfg_line influxdb.url "influxdb.url = http://db.example:8086  (file $CFG:3)"
    assert_cfg_line influxdb.org "influxdb.org = acme  (file $CFG:4)"
    assert_cfg_line sink.verify "sink.verify = 0  (file $CFG:6)"
    assert_cfg_line sink.gzip "sink.gzip = auto  (file $CFG:7)"
    assert_cfg_line parser.timezone "parser.timezone = UTC  (file $CFG:9)"
    assert_cfg_line log.level "log.level = DEBUG  (file $CFG:11)"
    assert_cfg_line sink.batch_lines "sink.batch_lines = 5000  (default)"
    assert_cfg_line formats.MV_T202_V002 \
        "formats.MV_T202_V002 = layout plain, device_model MV1, timezone UTC  ($CFG:13)"
}

@test "config: the environment beats the file and shows as (env NAME)" {
    mkfile "$CFG" 'parser:' '  timezone: UTC' 'sink:' '  batch_lines: 300'
    TSV_TIMEZONE=Asia/Tokyo run_parser config --config "$CFG"
    assert_status 0
    assert_cfg_line parser.timezone "parser.timezone = Asia/Tokyo  (env TSV_TIMEZONE)"
    assert_cfg_line sink.batch_lines "sink.batch_lines = 300  (file $CFG:4)"
}

@test "config: ./.env beats the file and shows as (.env NAME)" {
    mkfile "$CFG" 'parser:' '  timezone: UTC' 'sink:' '  batch_lines: 300'
    mkfile .env 'TSV_TIMEZONE=Asia/Tokyo'
    run_parser config --config "$CFG"
    assert_status 0
    assert_eq "$(printf '%s\n' "$output" | sed -n 2p)" "# .env: .env"
    assert_cfg_line parser.timezone "parser.timezone = Asia/Tokyo  (.env TSV_TIMEZONE)"
    assert_cfg_line sink.batch_lines "sink.batch_lines = 300  (file $CFG:4)"
}

@test "config: the environment beats ./.env" {
    mkfile .env 'TSV_TIMEZONE=Asia/Tokyo' 'TSV_BATCH_LINES=200'
    TSV_TIMEZONE=America/New_York run_parser config
    assert_status 0
    assert_cfg_line parser.timezone "parser.timezone = America/New_York  (env TSV_TIMEZONE)"
    assert_cfg_line sink.batch_lines "sink.batch_lines = 200  (.env TSV_BATCH_LINES)"
}

@test "config --env-file PATH: its values show as (PATH NAME); ./.env is then not read" {
    mkfile .env 'TSV_BATCH_LINES=111'
    mkfile "$BATS_TEST_TMPDIR/site.env" 'TSV_TIMEZONE=Asia/Tokyo'
    run_parser config --env-file "$BATS_TEST_TMPDIR/site.env"
    assert_status 0
    assert_cfg_line parser.timezone "parser.timezone = Asia/Tokyo  ($BATS_TEST_TMPDIR/site.env TSV_TIMEZONE)"
    assert_cfg_line sink.batch_lines "sink.batch_lines = 5000  (default)"
}

@test "config: POWERVIEW_CONFIG=FILE is read; --config wins over it" {
    mkfile "$CFG" 'parser:' '  timezone: UTC'
    mkfile "$BATS_TEST_TMPDIR/other.yaml" 'parser:' '  timezone: Asia/Tokyo'
    POWERVIEW_CONFIG="$CFG" run_parser config
    assert_status 0
    assert_eq "$(printf '%s\n' "$output" | head -n 1)" "# configuration file: $CFG"
    assert_cfg_line parser.timezone "parser.timezone = UTC  (file $CFG:2)"

    POWERVIEW_CONFIG="$CFG" run_parser config --config "$BATS_TEST_TMPDIR/other.yaml"
    assert_status 0
    assert_cfg_line parser.timezone "parser.timezone = Asia/Tokyo  (file $BATS_TEST_TMPDIR/other.yaml:2)"
}

@test "config --config missing: exit 66, the path named" {
    run_parser config --config "$BATS_TEST_TMPDIR/none.yaml"
    assert_status 66
    assert_contains "$stderr" "cannot read $BATS_TEST_TMPDIR/none.yaml: No such file or directory"
    assert_eq "$output" "" "stdout"
}

@test "config: POWERVIEW_CONFIG naming a missing file: exit 66" {
    POWERVIEW_CONFIG="$BATS_TEST_TMPDIR/none.yaml" run_parser config
    assert_status 66
    assert_contains "$stderr" "$BATS_TEST_TMPDIR/none.yaml"
}

@test "config --env-file missing: exit 66" {
    run_parser config --env-file "$BATS_TEST_TMPDIR/none.env"
    assert_status 66
    assert_contains "$stderr" "$BATS_TEST_TMPDIR/none.env"
}

# doubling_env FILE: A=xx, A1=${A}${A}, A2=${A1}${A1}, ... A40: 654 bytes asking for 2^41.
doubling_env() {
    local i
    {
        echo 'A=xx'
        echo 'A1=${A}${A}'
        for i in $(seq 2 40); do
            echo "A$i=\${A$((i - 1))}\${A$((i - 1))}"
        done
    } >"$1"
}

@test "config --env-file with doubling \${...} lines: exit 78 at the line past 64 KiB, memory bounded" {
    doubling_env "$BATS_TEST_TMPDIR/bomb.env"
    run_parser config --env-file "$BATS_TEST_TMPDIR/bomb.env"
    assert_status 78
    assert_contains "$stderr" "$BATS_TEST_TMPDIR/bomb.env:17: the value of A16 is longer than 65536 bytes after expansion"
    assert_eq "$output" "" "stdout"
    # a run stops the same way, its peak memory well below 64 MiB (the binary
    # itself, not valgrind; ulimit -v would not do: ASan reserves terabytes)
    run --separate-stderr /usr/bin/time -f 'peak %M KiB' "${TSV_PARSER_REAL:-$TSV_PARSER}" \
        -d "$DATA" --dry-run --env-file "$BATS_TEST_TMPDIR/bomb.env"
    assert_status 78
    assert_contains "$stderr" "bomb.env:17: the value of A16 is longer than 65536 bytes after expansion"
    peak=$(printf '%s\n' "$stderr" | sed -n 's/^peak \([0-9]*\) KiB$/\1/p')
    [ -n "$peak" ] && [ "$peak" -lt 65536 ] || { echo "peak RSS ${peak:-?} KiB" >&2; return 1; }
}

@test "config: malformed YAML (unclosed quote): exit 78 with FILE:LINE:COL:" {
    mkfile "$CFG" 'parser:' '  timezone: "UTC'
    run_parser config --config "$CFG"
    assert_status 78
    assert_contains "$stderr" "$CFG:3:1: found unexpected end of stream while scanning a quoted scalar"
    assert_eq "$output" "" "stdout"
}

@test "config: bad indentation: exit 78 with FILE:LINE:COL:" {
    mkfile "$CFG" 'parser:' '  timezone: UTC' ' channel_id_scheme: serial'
    run_parser config --config "$CFG"
    assert_status 78
    assert_contains "$stderr" "$CFG:3:2: did not find expected key"
}

@test "config: nesting deeper than 64 levels (200 000 '[', or a: under a: ...): exit 78 with FILE:LINE:COL, at once" {
    head -c 200000 /dev/zero | tr '\0' '[' >"$CFG"
    run_parser config --config "$CFG"
    assert_status 78
    assert_contains "$stderr" "$CFG:1:65: nesting deeper than 64 levels"
    assert_eq "$output" "" "stdout"

    py -c 'print("".join("  " * i + "a:\n" for i in range(100)), end="")' >"$CFG"
    run_parser config --config "$CFG"
    assert_status 78
    assert_contains "$stderr" "$CFG:65:129: nesting deeper than 64 levels"

    # a run stops there too, before the data folder is looked at
    mono "$F" MV_T302_V002 '05/01/26 10:00:00\t1'
    run_parser -d "$DATA" --dry-run --config "$CFG"
    assert_status 78
    assert_contains "$stderr" "$CFG:65:129: nesting deeper than 64 levels"
    assert_file "$F"
}

@test "config: aliases stand for single values only; lists of aliased lists are refused" {
    mkfile "$CFG" 'influxdb:' '  org: &o powerview' '  username: *o'
    run_parser config --config "$CFG"
    assert_status 0
    assert_cfg_line influxdb.username "influxdb.username = powerview  (file $CFG:3)"
    # the classic alias bomb: each level would multiply the one before
    {
        echo 'a: &a [x, x, x, x, x, x, x, x, x, x]'
        echo 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]'
        echo 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]'
    } >"$CFG"
    run_parser config --config "$CFG"
    assert_status 78
    assert_contains "$stderr" "$CFG:2:8: an alias may only stand for a single value, not a list or a mapping"
}

@test "config: unknown key, wrong value, bad format: exit 78 with FILE:LINE:COL: reason" {
    mkfile "$CFG" 'influxdb:' '  tokn: abc'
    run_parser config --config "$CFG"
    assert_status 78
    assert_contains "$stderr" "$CFG:2:3: unknown key 'tokn' in influxdb"

    mkfile "$CFG" 'sink:' '  batch_lines: 0'
    run_parser config --config "$CFG"
    assert_status 78
    assert_contains "$stderr" "$CFG:2:16: batch_lines: must be a number from 1 to 1e+07, not '0'"

    mkfile "$CFG" 'parser:' '  timezone: Mars/Olympus'
    run_parser config --config "$CFG"
    assert_status 78
    assert_contains "$stderr" "$CFG:2:13: timezone: unknown time zone: Mars/Olympus"

    mkfile "$CFG" 'formats:' '  - {id: MV_T202_V002, like: MV_T999_V002}'
    run_parser config --config "$CFG"
    assert_status 78
    assert_contains "$stderr" "$CFG:2:30: like: no format 'MV_T999_V002' is defined before this one"
}

@test "config: a wrong value in the environment: exit 78 naming the setting and its source" {
    TSV_BATCH_LINES=many run_parser config
    assert_status 78
    assert_contains "$stderr" "sink.batch_lines (env TSV_BATCH_LINES): must be a number from 1 to 1e+07, not 'many'"
}

@test "config: secrets are masked (environment, .env, token, token_file)" {
    printf 'tok-FILE-8a9b\n' >"$BATS_TEST_TMPDIR/token"
    mkfile "$CFG" 'influxdb:' "  token_file: $BATS_TEST_TMPDIR/token" '  password: pw-YAML-0c1d'
    # the file's token and password, under an environment that sets neither
    run_parser config --config "$CFG"
    assert_status 0
    assert_cfg_line influxdb.token "influxdb.token = ********  (file $CFG:2)"
    assert_cfg_line influxdb.password "influxdb.password = ********  (file $CFG:3)"
    assert_not_printed tok-FILE-8a9b pw-YAML-0c1d

    mkfile "$CFG" 'influxdb:' '  token: tok-YAML-3d4e'
    run_parser config --config "$CFG"
    assert_status 0
    assert_cfg_line influxdb.token "influxdb.token = ********  (file $CFG:2)"
    assert_not_printed tok-YAML-3d4e

    mkfile .env "INFLUXDB_PASSWORD='pw-DOTENV-5e6f'"
    INFLUXDB_ADMIN_TOKEN=tok-ENV-9f3a run_parser config
    assert_status 0
    assert_cfg_line influxdb.token "influxdb.token = ********  (env INFLUXDB_ADMIN_TOKEN)"
    assert_cfg_line influxdb.password "influxdb.password = ********  (.env INFLUXDB_PASSWORD)"
    assert_not_printed tok-ENV-9f3a pw-DOTENV-5e6f
}

@test "config: the credentials of a URL never show, whatever they hold (INFLUXDB_URL, INFLUXDB_HOST, the file)" {
    local -a urls=('http://u:p@PW-1@db.example' 'http://u:pa/PW-2@db.example' 'http://u:%40PW-3@db.example'
        'http://PW-4@db.example' 'http://:PW-5@db.example' 'http://u:PW-6@[::1]:8086'
        'http://u:PW-7@[fe80::1%25eth0]:8086/x' 'http://u:pa?PW-8@db.example' 'u:PW-9@db.example:8086')
    local u
    for u in "${urls[@]}"; do
        INFLUXDB_URL="$u" run_parser config
        assert_status 0
        assert_not_printed PW-
        assert_contains "$(cfg_line influxdb.url)" '****@' "$u"
        assert_contains "$(cfg_line influxdb.url)" '(INFLUXDB_URL)' "$u"
        INFLUXDB_HOST="$u" run_parser config
        assert_not_printed PW-
        mkfile "$CFG" 'influxdb:' "  url: '$u'"
        run_parser config --config "$CFG"
        assert_not_printed PW-
        assert_contains "$(cfg_line influxdb.url)" "****@" "$u"
    done
    INFLUXDB_URL='http://u:PW-0@[::1]:8086/' run_parser config
    assert_cfg_line influxdb.url 'influxdb.url = http://****@[::1]:8086  (INFLUXDB_URL)'
    # an '@' of the path or query is no credential: the URL as it is
    INFLUXDB_URL='http://db.example:8086/a@b?c=d@e' run_parser config
    assert_cfg_line influxdb.url 'influxdb.url = http://db.example:8086/a@b?c=d@e  (INFLUXDB_URL)'
}

@test "config: without libcurl, everything up to the last '@' of a URL is masked" {
    command -v cc >/dev/null || skip "no C compiler to build a libcurl without symbols"
    # a libcurl.so.4 that loads but has none of the functions: pv_curl() fails
    mkdir -p "$BATS_TEST_TMPDIR/lib"
    cc -shared -fPIC -Wl,-soname,libcurl.so.4 -o "$BATS_TEST_TMPDIR/lib/libcurl.so.4" -x c /dev/null
    for u in 'http://u:p@PW-1@db.example:8086' 'http://u:PW-2@db.example:8086'; do
        LD_LIBRARY_PATH="$BATS_TEST_TMPDIR/lib" INFLUXDB_URL="$u" run_parser config
        assert_status 0
        assert_not_printed PW-
        assert_cfg_line influxdb.url 'influxdb.url = http://****@db.example:8086  (INFLUXDB_URL)'
    done
    # a path with an '@' is masked too: better too much than a password
    LD_LIBRARY_PATH="$BATS_TEST_TMPDIR/lib" INFLUXDB_URL='http://u:PW-3@db.example/a@b' run_parser config
    assert_not_printed PW-
    assert_cfg_line influxdb.url 'influxdb.url = http://****@b  (INFLUXDB_URL)'
}

@test "config: an enum value the file may hold is one a run accepts (Compact)" {
    mkfile "$CFG" 'parser:' '  channel_id_scheme: Compact'
    mono "$F" MV_T302_V002 '05/01/26 10:00:00\t1'
    run_parser config --config "$CFG"
    local config_status=$status config_stderr=$stderr
    parse_file "$F" --config "$CFG"
    # the check and the run agree: both fine, or both 78 with the place in the file
    assert_eq "$status" "$config_status" "run exit status vs config exit status"
    if [ "$status" -eq 78 ]; then
        assert_contains "$config_stderr" "$CFG:2:"
        assert_contains "$stderr" "$CFG:2:"
    fi
}

# ---- a real run uses the file

@test "parser.timezone: UTC in the file changes the timestamps of a plain file" {
    mkfile "$CFG" 'parser:' '  timezone: UTC'
    mono "$F" MV_T302_V002 '05/01/26 10:00:00\t1' '03/08/25 03:20:00\t2'
    parse_file "$F" --config "$CFG"
    assert_status 0
    assert_eq "$(times)" "1767607200 1754191200"
    assert_eq "$(rq 'f["timezone"]')" UTC
}

@test "POWERVIEW_CONFIG: the run reads the file it names" {
    mkfile "$CFG" 'parser:' '  timezone: UTC'
    mono "$F" MV_T302_V002 '05/01/26 10:00:00\t1'
    POWERVIEW_CONFIG="$CFG" parse_file "$F"
    assert_status 0
    assert_eq "$(times)" "1767607200"
}

@test "environment beats the file: TSV_TIMEZONE=Europe/Paris with parser.timezone: UTC" {
    mkfile "$CFG" 'parser:' '  timezone: UTC'
    mono "$F" MV_T302_V002 '05/01/26 10:00:00\t1' '03/08/25 03:20:00\t2'
    TSV_TIMEZONE=Europe/Paris parse_file "$F" --config "$CFG"
    assert_status 0
    assert_eq "$(times)" "1767603600 1754184000"
    assert_eq "$(rq 'f["timezone"]')" Europe/Paris
}

@test ".env beats the file in a run: TSV_TIMEZONE=America/New_York in ./.env" {
    mkfile "$CFG" 'parser:' '  timezone: UTC'
    mkfile .env 'TSV_TIMEZONE=America/New_York'
    mono "$F" MV_T302_V002 '05/01/26 10:00:00\t1'
    parse_file "$F" --config "$CFG"
    assert_status 0
    assert_eq "$(times)" "1767625200"
    assert_eq "$(rq 'f["timezone"]')" America/New_York
}

@test "sink.output: PATH in the file: the run writes line protocol there without --output" {
    mkfile "$CFG" 'sink:' "  output: $OUT"
    mono "$F" MV_T302_V002 '05/01/26 10:00:00\t1'
    run_parser -d "$DATA" -t "$F" --config "$CFG"
    assert_status 0
    assert_lp "$OUT" "$LINE_MV2_PARIS"
    assert_file "$DEV/parsed/f.tsv"
    assert_eq "$(rq 'f["status"]')" success
}

@test "--output on the command line wins over sink.output in the file" {
    local yaml_out="$BATS_TEST_TMPDIR/from-yaml.lp"
    mkfile "$CFG" 'sink:' "  output: $yaml_out"
    mono "$F" MV_T302_V002 '05/01/26 10:00:00\t1'
    parse_file "$F" --config "$CFG"
    assert_status 0
    assert_lp "$OUT" "$LINE_MV2_PARIS"
    assert_no_file "$yaml_out"
}

@test "sink.output in the file and --dry-run: nothing is written" {
    mkfile "$CFG" 'sink:' "  output: $OUT"
    mono "$F" MV_T302_V002 '05/01/26 10:00:00\t1'
    run_parser -d "$DATA" -t "$F" --dry-run --config "$CFG"
    assert_status 0
    assert_no_file "$OUT"
    assert_file "$F"
    assert_eq "$(printf '%s' "$output" | jget 'f["nb_points"]')" 1
}

@test "sink.verify: false in the file turns verification off" {
    skip "only checkable against a database (the file sink never verifies)"
}

@test "formats: MV_T202_V002 like MV_T302_V002 makes a T202 file succeed" {
    mkfile "$CFG" 'formats:' '  - {id: MV_T202_V002, like: MV_T302_V002, device_model: MV1, timezone: UTC}'
    mono "$F" MV_T202_V002 '05/01/26 10:00:00\t1'
    parse_file "$F" --config "$CFG"
    assert_status 0
    assert_no_file "$F"
    assert_file "$DEV/parsed/f.tsv"
    assert_lp "$OUT" "$LINE_MV1_UTC"
    assert_eq "$(rq 'f["status"]')" success
    assert_eq "$(rq 'f["format"]')" MV_T202_V002
    assert_eq "$(rq 'f["timezone"]')" UTC
}

@test "without the formats entry, a T202 file goes to error/ naming the known ids" {
    mono "$F" MV_T202_V002 '05/01/26 10:00:00\t1'
    parse_file "$F"
    assert_failed_file "$F" "unsupported format: MV_T202_V002 in the plain layout ($KNOWN_IDS)"
}

@test "a declared format is listed among the known ids of an unknown one" {
    mkfile "$CFG" 'formats:' '  - {id: MV_T202_V002, like: MV_T302_V002}'
    mono "$F" MV_T999_V002 '05/01/26 10:00:00\t1'
    parse_file "$F" --config "$CFG"
    assert_failed_file "$F" "($KNOWN_IDS, MV_T202_V002 (plain))"
}

@test "a run with a malformed file: exit 78, nothing read or moved" {
    mkfile "$CFG" 'parser:' '  timezone: "UTC'
    mono "$F" MV_T302_V002 '05/01/26 10:00:00\t1'
    parse_file "$F" --config "$CFG"
    assert_status 78
    assert_contains "$stderr" "$CFG:3:1:"
    assert_file "$F"
    assert_no_file "$DEV/parsed"
    assert_no_file "$OUT"
}

@test "a run with --config missing: exit 66, nothing read or moved" {
    mono "$F" MV_T302_V002 '05/01/26 10:00:00\t1'
    parse_file "$F" --config "$BATS_TEST_TMPDIR/none.yaml"
    assert_status 66
    assert_file "$F"
    assert_no_file "$OUT"
}

@test "config shows the run's flags as the source that wins" {
    printf 'sink:\n  output: /from/file.lp\n' >"$BATS_TEST_TMPDIR/p.yaml"
    run_parser config --config "$BATS_TEST_TMPDIR/p.yaml" -o /from/flag.lp --no-verify
    assert_status 0
    assert_contains "$output" "sink.output = /from/flag.lp  (flag)"
    assert_contains "$output" "sink.verify = 0  (flag)"
}

# ---- the hook's and the playbooks' sections

@test "config: hook and grafana keys from the file, a Grafana secret file shown by its path, never read" {
    printf 'pw-GRAFANA-1e2f\n' >"$BATS_TEST_TMPDIR/grafana-password"
    mkfile "$CFG" 'hook:' "  data_dir: $DATA" '  ingest: none' 'grafana:' '  url: http://admin:pw-URL-3a4b@grafana.example' \
        "  password_file: $BATS_TEST_TMPDIR/grafana-password" '  tenancy: team' '  org_id: 3'
    run_parser config --config "$CFG"
    assert_status 0
    assert_cfg_line hook.data_dir "hook.data_dir = $DATA  (file $CFG:2)"
    assert_cfg_line hook.ingest "hook.ingest = none  (file $CFG:3)"
    assert_cfg_line grafana.url "grafana.url = http://****@grafana.example  (file $CFG:5)"
    assert_cfg_line grafana.password "grafana.password = <read from $BATS_TEST_TMPDIR/grafana-password>  (file $CFG:6)"
    assert_cfg_line grafana.tenancy "grafana.tenancy = team  (file $CFG:7)"
    assert_cfg_line grafana.org_id "grafana.org_id = 3  (file $CFG:8)"
    assert_not_printed pw-GRAFANA-1e2f pw-URL-3a4b
    # tsv_parser does not read it: a missing one stops nothing
    rm "$BATS_TEST_TMPDIR/grafana-password"
    run_parser config --config "$CFG"
    assert_status 0
}

@test "config: a wrong hook value in .env is a warning (the hook refuses it), and a run ignores it" {
    mkfile .env 'POWERVIEW_INGEST=later' 'GRAFANA_TENANCY=company'
    run_parser config
    assert_status 0
    assert_contains "$stderr" "[WARNING] tsv_parser: hook.ingest (.env POWERVIEW_INGEST): must be one of spool|sync|none, not 'later' (tsv_parser does not use it"
    assert_cfg_line hook.ingest "hook.ingest = later  (.env POWERVIEW_INGEST)"
    mono "$F" MV_T302_V002 '05/01/26 10:00:00\t1'
    parse_file "$F"
    assert_status 0
    assert_file "$DEV/parsed/f.tsv"
}

@test "the file's wrong hook value is refused like any other (exit 78, FILE:LINE:COL), by every command" {
    mkfile "$CFG" 'hook:' '  ingest: later'
    mono "$F" MV_T302_V002 '05/01/26 10:00:00\t1'
    parse_file "$F" --config "$CFG"
    assert_status 78
    assert_contains "$stderr" "$CFG:2:11: ingest: must be one of spool|sync|none, not 'later'"
    assert_file "$F"
}

@test "downsample.levels: a YAML list or a string; an unknown level is refused with its line" {
    printf 'downsample:\n  enabled: no\n  levels: [1d, 1w]\n' >"$BATS_TEST_TMPDIR/p.yaml"
    run_parser config --config "$BATS_TEST_TMPDIR/p.yaml"
    assert_status 0
    assert_cfg_line downsample.levels "downsample.levels = 1d,1w  (file $BATS_TEST_TMPDIR/p.yaml:3)"
    assert_cfg_line downsample.enabled "downsample.enabled = 0  (file $BATS_TEST_TMPDIR/p.yaml:2)"
    printf 'downsample:\n  levels: "1h 1d"\n' >"$BATS_TEST_TMPDIR/p.yaml"
    run_parser config --config "$BATS_TEST_TMPDIR/p.yaml"
    assert_status 0
    assert_cfg_line downsample.levels "downsample.levels = 1h 1d  (file $BATS_TEST_TMPDIR/p.yaml:2)"
    printf 'downsample:\n  levels: [1h, 5m]\n' >"$BATS_TEST_TMPDIR/p.yaml"
    run_parser config --config "$BATS_TEST_TMPDIR/p.yaml"
    assert_status 78
    assert_contains "$stderr" "p.yaml:2:"
    assert_contains "$stderr" "unknown downsampling level: 5m"
}
