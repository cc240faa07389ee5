#!/usr/bin/env bats
# `tsv_parser config --get NAME...`: the value in effect of each setting, one a
# line (-z: NUL-terminated), with the precedence environment > --env-file/.env >
# powerview.yaml > default; a secret's value is refused, its *_file key gives
# the file's path.

load helpers

setup() {
    settings_setup || return 1
    PW=pw-GRAFANA-5b7e
    TOKEN=tok-GRAFANA-c3d9
}

@test "config --get: defaults without any file, one a line; unset or derived defaults are empty lines" {
    [ ! -e /etc/powerview/powerview.yaml ] || skip "/etc/powerview/powerview.yaml exists on this machine"
    run_parser config --get POWERVIEW_DATA_DIR hook.log_file POWERVIEW_INGEST hook.playbook \
        GRAFANA_URL grafana.tenancy GRAFANA_ORG_ID TSV_SPOOL_DIR influxdb.api
    assert_status 0
    assert_eq "$output" "/srv/sftpgo/data
/srv/sftpgo/logs/uploads.log
spool


org
1

v2" "stdout"
    assert_eq "$stderr" "" "stderr"
}

@test "config --get: a variable and its key give the same value, from the YAML" {
    mkfile "$CFG" 'hook:' "  data_dir: $DATA" '  ingest: sync' 'grafana:' '  url: http://grafana.example:3000' \
        '  query_language: influxql' 'influxdb:' '  url: http://db.example:8086'
    run_parser config --config "$CFG" --get POWERVIEW_DATA_DIR hook.data_dir POWERVIEW_INGEST hook.ingest \
        GRAFANA_URL grafana.query_language INFLUXDB_HOST
    assert_status 0
    assert_eq "$output" "$DATA
$DATA
sync
sync
http://grafana.example:3000
influxql
http://db.example:8086"
}

@test "config --get: environment > --env-file > YAML > default" {
    mkfile "$CFG" 'hook:' '  data_dir: /yaml/data' '  log_file: /yaml/log' '  ingest: none' '  playbook: /yaml/pb.yml'
    mkfile "$BATS_TEST_TMPDIR/site.env" 'POWERVIEW_DATA_DIR=/dotenv/data' 'POWERVIEW_LOG_FILE=/dotenv/log'
    POWERVIEW_DATA_DIR=/env/data POWERVIEW_CONFIG="$CFG" run_parser config --env-file "$BATS_TEST_TMPDIR/site.env" \
        --get POWERVIEW_DATA_DIR POWERVIEW_LOG_FILE POWERVIEW_INGEST POWERVIEW_PLAYBOOK GRAFANA_TENANCY
    assert_status 0
    assert_eq "$output" "/env/data
/dotenv/log
none
/yaml/pb.yml
org"
    # ./.env when no --env-file is given
    mkfile .env 'POWERVIEW_INGEST=sync'
    run_parser config --config "$CFG" --get hook.ingest
    assert_status 0
    assert_eq "$output" "sync"
}

@test "config --get: INFLUXDB_URL stands in for an unset INFLUXDB_HOST, as in a run" {
    INFLUXDB_URL=http://db.example:8086 run_parser config --get INFLUXDB_HOST influxdb.url
    assert_status 0
    assert_eq "$output" "http://db.example:8086
http://db.example:8086"
}

@test "config --get -z: each value NUL-terminated, newlines kept" {
    # (mkfile takes \\ for one backslash: the YAML holds "/a\nb.yml")
    mkfile "$CFG" 'hook:' '  playbook: "/a\\nb.yml"' '  ingest: none'
    run_parser config --config "$CFG" --get -z hook.playbook POWERVIEW_INGEST GRAFANA_URL
    assert_status 0
    # bats' $output loses NULs: the bytes again, as hex
    assert_eq "$("$TSV_PARSER" config --config "$CFG" --get -z hook.playbook POWERVIEW_INGEST GRAFANA_URL | od -An -c | tr -s ' \n' ' ')" \
        " / a \\n b . y m l \\0 n o n e \\0 \\0 "
    run_parser config --config "$CFG" -z
    assert_status 64
    assert_contains "$stderr" "-z goes with --get"
}

@test "config --get: a secret's value is exit 64, never printed (environment, .env, YAML)" {
    printf '%s\n' "$PW" >"$BATS_TEST_TMPDIR/grafana-password"
    mkfile "$CFG" 'grafana:' "  password_file: $BATS_TEST_TMPDIR/grafana-password" \
        'influxdb:' '  password: pw-INFLUX-0a1b'
    mkfile .env 'INFLUXDB_ADMIN_TOKEN=tok-DOTENV-7e8f' "GRAFANA_API_TOKEN=$TOKEN"
    local name
    for name in GRAFANA_PASSWORD grafana.password GRAFANA_API_TOKEN grafana.api_token INFLUXDB_ADMIN_TOKEN \
        influxdb.token INFLUXDB_PASSWORD influxdb.password; do
        GRAFANA_PASSWORD=pw-ENV-4c5d run_parser config --config "$CFG" --get POWERVIEW_INGEST "$name"
        assert_status 64
        assert_eq "$output" "" "stdout for $name"
        assert_contains "$stderr" "$name is a secret: never printed"
        assert_not_printed "$PW" "$TOKEN" pw-INFLUX-0a1b tok-DOTENV-7e8f pw-ENV-4c5d
    done
}

@test "config --get: a *_file key prints the file's path when the secret comes from it, else an empty line" {
    printf '%s\n' "$PW" >"$BATS_TEST_TMPDIR/grafana-password"
    printf '%s\n' tok-INFLUX-2f3a >"$BATS_TEST_TMPDIR/influx-token"
    # a relative path is the YAML folder's
    mkfile "$CFG" 'grafana:' '  password_file: grafana-password' 'influxdb:' '  token_file: influx-token'
    run_parser config --config "$CFG" --get grafana.password_file GRAFANA_PASSWORD_FILE \
        grafana.api_token_file influxdb.token_file
    assert_status 0
    assert_eq "$output" "$BATS_TEST_TMPDIR/grafana-password
$BATS_TEST_TMPDIR/grafana-password

$BATS_TEST_TMPDIR/influx-token"
    assert_not_printed "$PW" tok-INFLUX-2f3a
    # the environment's secret wins: the file key is not where it comes from
    GRAFANA_PASSWORD=pw-ENV-4c5d INFLUXDB_ADMIN_TOKEN=tok-ENV-9d0e run_parser config --config "$CFG" \
        --get grafana.password_file influxdb.token_file
    assert_status 0
    assert_not_printed pw-ENV-4c5d tok-ENV-9d0e
    # (bats drops trailing newlines from $output: the bytes, newlines as '|')
    assert_eq "$(GRAFANA_PASSWORD=pw-ENV-4c5d INFLUXDB_ADMIN_TOKEN=tok-ENV-9d0e "$TSV_PARSER" config --config "$CFG" \
        --get grafana.password_file influxdb.token_file | tr '\n' '|')" "||"
    # Grafana's secrets are files in the YAML: the value itself is refused
    mkfile "$CFG" 'grafana:' "  password: $PW"
    run_parser config --config "$CFG" --get grafana.password_file
    assert_status 78
    assert_contains "$stderr" "$CFG:2:13: password: give password_file, the file holding it"
    assert_not_printed "$PW"
    mkfile "$CFG" 'grafana:' "  api_token: $TOKEN"
    run_parser config --config "$CFG"
    assert_status 78
    assert_contains "$stderr" "api_token: give api_token_file, the file holding it"
    assert_not_printed "$TOKEN"
}

@test "config --get: the Grafana secret file is not read by tsv_parser (unreadable: still its path)" {
    mkfile "$CFG" 'grafana:' "  password_file: $BATS_TEST_TMPDIR/missing-password"
    run_parser config --config "$CFG" --get grafana.password_file
    assert_status 0
    assert_eq "$output" "$BATS_TEST_TMPDIR/missing-password"
}

@test "config --get: an unknown name, or none, is exit 64 and nothing is printed" {
    local name
    for name in NOPE hook.nope nope.data_dir hook POWERVIEW_ENV_FILE powerview_data_dir; do
        run_parser config --get POWERVIEW_INGEST "$name"
        assert_status 64
        assert_eq "$output" "" "stdout for $name"
        assert_contains "$stderr" "unknown setting '$name'"
    done
    run_parser config --get
    assert_status 64
    assert_contains "$stderr" "--get needs at least one name"
    run_parser config POWERVIEW_INGEST
    assert_status 64
    assert_contains "$stderr" "unexpected argument 'POWERVIEW_INGEST'"
}

@test "config --get: a missing file is 66, a malformed or refused one 78, as for config" {
    run_parser config --config "$BATS_TEST_TMPDIR/none.yaml" --get POWERVIEW_INGEST
    assert_status 66
    assert_contains "$stderr" "$BATS_TEST_TMPDIR/none.yaml"
    run_parser config --env-file "$BATS_TEST_TMPDIR/none.env" --get POWERVIEW_INGEST
    assert_status 66
    mkfile "$CFG" 'hook:' '  data_dir: ['
    run_parser config --config "$CFG" --get POWERVIEW_INGEST
    assert_status 78
    assert_contains "$stderr" "$CFG:3:1: did not find expected node content"
    assert_eq "$output" ""
    mkfile "$CFG" 'hook:' '  ingest: later'
    run_parser config --config "$CFG" --get POWERVIEW_INGEST
    assert_status 78
    assert_contains "$stderr" "$CFG:2:11: ingest: must be one of spool|sync|none, not 'later'"
    mkfile "$CFG" 'grafana:' '  tenancy: company'
    run_parser config --config "$CFG" --get GRAFANA_TENANCY
    assert_status 78
    assert_contains "$stderr" "tenancy: must be one of org|team, not 'company'"
}

@test "config --exec: the program runs with the settings in its environment, a secret included, never printed" {
    mkfile "$CFG" 'hook:' '  ingest: none' 'grafana:' '  url: http://grafana.example:3000' '  password_file: grafana-pw' \
        'influxdb:' '  url: http://db.example:8086'
    printf '%s\n' "$PW" >"$BATS_TEST_TMPDIR/grafana-pw"
    mkfile "$BATS_TEST_TMPDIR/site.env" "GRAFANA_API_TOKEN='$TOKEN'" 'POWERVIEW_DATA_DIR=/dotenv/data' 'INFLUXDB_HOST=http://dotenv:8086'
    # the program's environment (NUL-separated), written where no output shows it
    POWERVIEW_INGEST=sync run_parser config --config "$CFG" --env-file "$BATS_TEST_TMPDIR/site.env" \
        --exec -- sh -c 'env -0 >"$1"; exit 3' sh "$BATS_TEST_TMPDIR/env.out"
    assert_status 3
    assert_eq "$output$stderr" "" "output"
    env_of() {
        py -c '
import sys
env = dict(e.split(b"=", 1) for e in open(sys.argv[1], "rb").read().split(b"\0") if b"=" in e)
v = env.get(sys.argv[2].encode())
print("<unset>" if v is None else v.decode())' "$BATS_TEST_TMPDIR/env.out" "$1"
    }
    # environment > .env > YAML
    assert_eq "$(env_of POWERVIEW_INGEST)" sync
    assert_eq "$(env_of POWERVIEW_DATA_DIR)" /dotenv/data
    assert_eq "$(env_of INFLUXDB_HOST)" http://dotenv:8086
    assert_eq "$(env_of GRAFANA_URL)" http://grafana.example:3000
    assert_eq "$(env_of GRAFANA_API_TOKEN)" "$TOKEN"
    # a Grafana secret file of the YAML is not read, so not passed
    assert_eq "$(env_of GRAFANA_PASSWORD)" "<unset>"
    ! grep -a -q -F -- "$PW" "$BATS_TEST_TMPDIR/env.out"
}

@test "config --exec: usage errors (no program, with --get) are 64; a program that cannot run is 69" {
    run_parser config --exec
    assert_status 64
    run_parser config --get hook.ingest --exec -- true
    assert_status 64
    run_parser config --env-file /dev/null --exec -- "$BATS_TEST_TMPDIR/no-such-program"
    assert_status 69
    assert_contains "$stderr" "cannot run $BATS_TEST_TMPDIR/no-such-program"
    # the settings are loaded first: a refused file is 78, nothing run
    mkfile "$CFG" 'hook:' '  ingest: later'
    run_parser config --config "$CFG" --env-file /dev/null --exec -- touch "$BATS_TEST_TMPDIR/ran"
    assert_status 78
    assert_no_file "$BATS_TEST_TMPDIR/ran"
}
