#!/usr/bin/env bats
# shellcheck disable=SC2154  # stderr is set by bats' run
# The hook's settings from powerview.yaml (through `tsv_parser config --get`),
# below the environment and the settings file; `on-upload.sh --configured`;
# the installed layout (<prefix>/lib/powerview/on-upload.sh finding
# <prefix>/bin/tsv_parser and <prefix>/share/powerview/ansible); a Grafana
# secret file reaching the playbook as a path.

load helpers

setup() {
    hook_setup
    unset GRAFANA_URL GRAFANA_USERNAME GRAFANA_PASSWORD GRAFANA_API_TOKEN GRAFANA_TENANCY GRAFANA_ORG_ID \
        GRAFANA_DATASOURCE_TYPE GRAFANA_INFLUXDB_URL GRAFANA_QUERY_LANGUAGE GRAFANA_PASSWORD_FILE \
        GRAFANA_API_TOKEN_FILE POWERVIEW_INGEST POWERVIEW_SECRETS_DIR
    CFG="$BATS_TEST_TMPDIR/etc/powerview.yaml"
    # the settings file keeps only the parser's: the hook's come from the YAML
    {
        echo "POWERVIEW_TSV_PARSER=$TSV_PARSER"
        echo "TSV_OUTPUT=$OUT"
        echo "TSV_REPORT_DIR=$TSV_REPORT_DIR"
        echo "TSV_MIN_AGE=0"
    } >"$ENVF"
    PW=pw-GRAFANA-8c1f
    TOKEN=tok-GRAFANA-2e9a
    # the fake ansible-playbook also writes its environment, NUL-separated
    {
        echo '#!/bin/bash'
        printf 'printf "%%s\\0" "$@" >%q\n' "$ARGV"
        printf 'pwd >%q\n' "$ARGV.cwd"
        printf 'env -0 >%q\n' "$ARGV.env"
        echo 'echo "PLAY RECAP fake-ansible ok=1"'
    } >"$BATS_TEST_TMPDIR/bin/ansible-playbook"
}

# yaml LINE...: write $CFG.
yaml() { mkfile "$CFG" "$@"; }

# env_of NAME: the fake ansible-playbook's value of NAME ("<unset>" when none).
env_of() {
    py -c '
import sys
env = dict(e.split(b"=", 1) for e in open(sys.argv[1], "rb").read().split(b"\0") if b"=" in e)
v = env.get(sys.argv[2].encode())
print("<unset>" if v is None else v.decode("utf-8", "surrogateescape"))
' "$ARGV.env" "$1"
}

# assert_nowhere SECRET...: no SECRET in the hook's output, its log, or the
# fake ansible-playbook's arguments and environment.
assert_nowhere() {
    local s f
    for s in "$@"; do
        for f in "$LOG" "$ARGV" "$ARGV.env"; do
            [ ! -e "$f" ] || ! grep -a -q -F -- "$s" "$f" || { echo "$s found in $f" >&2; return 1; }
        done
        assert_not_printed "$s"
    done
}

@test "data_dir, log_file and ingest from the YAML named by POWERVIEW_CONFIG" {
    local log2="$BATS_TEST_TMPDIR/yaml-logs/uploads.log"
    yaml 'hook:' "  data_dir: $DATA" "  log_file: $log2" '  ingest: sync'
    ok "$DEV/f.tsv"
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$DEV/f.tsv" POWERVIEW_CONFIG="$CFG"
    assert_status 0
    assert_quiet
    LOG=$log2 assert_log "upload '$DEV/f.tsv': tsv_parser exit 0"
    # sync: ingested before the hook returned, no spool
    assert_file "$DEV/parsed/f.tsv"
    assert_eq "$(wc -l <"$OUT")" 1 "points"
    assert_no_file "$LOG"
}

@test "the environment and the settings file win over the YAML; the YAML over the defaults" {
    yaml 'hook:' "  data_dir: $BATS_TEST_TMPDIR/no-such-data" "  log_file: $BATS_TEST_TMPDIR/yaml.log" '  ingest: none'
    env_add "POWERVIEW_LOG_FILE=$LOG"
    ok "$DEV/f.tsv"
    POWERVIEW_CONFIG="$CFG"
    export POWERVIEW_CONFIG
    # data_dir: environment; log_file: the file; ingest: the YAML (none: no worker)
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$DEV/f.tsv" POWERVIEW_DATA_DIR="$DATA"
    assert_status 0
    assert_log "no worker started (POWERVIEW_INGEST=none)"
    assert_no_file "$BATS_TEST_TMPDIR/yaml.log"
    assert_file "$DEV/f.tsv"
    # the environment's ingest wins over the YAML's
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$DEV/f.tsv" POWERVIEW_DATA_DIR="$DATA" POWERVIEW_INGEST=sync
    assert_status 0
    assert_file "$DEV/parsed/f.tsv"
    # the YAML's data folder applies when nothing else sets it
    ok "$DEV/g.tsv"
    upload "$DEV/g.tsv"
    assert_status 78
    assert_log "ERROR: data folder '$BATS_TEST_TMPDIR/no-such-data' not found"
    assert_file "$DEV/g.tsv"
}

@test "without POWERVIEW_CONFIG (nor /etc/powerview/powerview.yaml) no YAML is read: the defaults" {
    [ ! -e /etc/powerview/powerview.yaml ] || skip "/etc/powerview/powerview.yaml exists on this machine"
    env_add "POWERVIEW_LOG_FILE=$LOG"
    # with a YAML in play, a parser that cannot run would be an ERROR and 78
    hook SFTPGO_ACTION=rename POWERVIEW_DATA_DIR="$DATA" POWERVIEW_TSV_PARSER=/nonexistent/tsv_parser
    assert_status 0
    assert_log "action 'rename': nothing to do"
    # --configured from the environment and the settings file alone
    rm "$LOG"
    run --separate-stderr env POWERVIEW_DATA_DIR="$DATA" "$HOOK" --configured
    assert_status 0
    assert_eq "$output" "configured: data folder '$DATA', destination TSV_OUTPUT"
    assert_no_file "$LOG"
}

@test "a malformed YAML, or a missing POWERVIEW_CONFIG file: an ERROR line, 78, nothing done" {
    yaml 'hook:' "  data_dir: [$DATA"
    ok "$DEV/f.tsv"
    env_add "POWERVIEW_LOG_FILE=$LOG"
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$DEV/f.tsv" POWERVIEW_CONFIG="$CFG"
    assert_status 78
    assert_log "ERROR: configuration file '$CFG' cannot be read (tsv_parser config exit 78): $CFG:3:1: "
    assert_log ": nothing done"
    mkdir -p "$DATA/acme/camp2"
    hook SFTPGO_ACTION=mkdir SFTPGO_ACTION_PATH="$DATA/acme/camp2" POWERVIEW_CONFIG="$CFG"
    assert_status 78
    assert_not_called
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$DEV/f.tsv" POWERVIEW_CONFIG="$BATS_TEST_TMPDIR/none.yaml"
    assert_status 78
    assert_log "ERROR: configuration file '$BATS_TEST_TMPDIR/none.yaml' cannot be read (tsv_parser config exit 66)"
    # nothing spooled, ingested or moved
    assert_file "$DEV/f.tsv"
    assert_no_file "$OUT"
    assert_no_file "$BATS_TEST_TMPDIR/spool"
    assert_no_file "$DEV/parsed"
}

@test "--configured: 0 with a data folder and a destination, from the YAML or the environment" {
    yaml 'hook:' "  data_dir: $DATA" "  log_file: $LOG" 'influxdb:' '  url: http://admin:pw-URL-5d6e@db.example:8086'
    ok "$DEV/f.tsv"
    run --separate-stderr env POWERVIEW_CONFIG="$CFG" "$HOOK" --configured
    assert_status 0
    assert_eq "$output" "configured: data folder '$DATA', destination INFLUXDB_HOST"
    assert_eq "$stderr" ""
    assert_not_printed pw-URL-5d6e
    # an empty INFLUXDB_HOST in the settings file keeps the YAML's influxdb.url out
    yaml 'hook:' "  data_dir: $DATA" "  log_file: $LOG" 'influxdb:' '  url: http://db.example:8086'
    env_add 'INFLUXDB_HOST='
    run --separate-stderr env POWERVIEW_CONFIG="$CFG" "$HOOK" --configured
    assert_status 0
    assert_eq "$output" "configured: data folder '$DATA', destination TSV_OUTPUT"
    # it logs nothing and ingests nothing
    assert_no_file "$LOG"
    assert_file "$DEV/f.tsv"
    assert_no_file "$OUT"
    assert_no_file "$BATS_TEST_TMPDIR/spool"
}

@test "--configured: 1 and one line on stdout when the data folder, the destination or the settings are wrong" {
    env_add "POWERVIEW_LOG_FILE=$LOG"
    yaml 'hook:' "  data_dir: $BATS_TEST_TMPDIR/no-such-data" 'sink:' "  output: $OUT"
    run --separate-stderr env POWERVIEW_CONFIG="$CFG" "$HOOK" --configured
    assert_status 1
    assert_eq "$output" "not configured: data folder '$BATS_TEST_TMPDIR/no-such-data' not found (POWERVIEW_DATA_DIR, hook.data_dir)"
    # no destination anywhere (the settings file's TSV_OUTPUT taken out)
    grep -v '^TSV_OUTPUT=' "$ENVF" >"$ENVF.new" && mv "$ENVF.new" "$ENVF"
    yaml 'hook:' "  data_dir: $DATA"
    run --separate-stderr env POWERVIEW_CONFIG="$CFG" "$HOOK" --configured
    assert_status 1
    assert_eq "$output" "not configured: no destination (influxdb.url or INFLUXDB_HOST/INFLUXDB_URL, or sink.output or TSV_OUTPUT)"
    # a malformed YAML
    yaml 'hook:' '  data_dir: "'
    run --separate-stderr env POWERVIEW_CONFIG="$CFG" "$HOOK" --configured
    assert_status 1
    assert_contains "$output" "not configured: configuration file '$CFG' cannot be read (tsv_parser config exit 78): $CFG:"
    assert_eq "${#lines[@]}" 1 "lines on stdout"
    # a settings file past its bounds
    head -c 1048577 /dev/zero | tr '\0' '#' >"$ENVF"
    run --separate-stderr "$HOOK" --configured
    assert_status 1
    assert_contains "$output" "not configured: settings file '$ENVF' is larger than 1048576 bytes"
    assert_no_file "$LOG"
    # any other argument is a usage error
    run --separate-stderr "$HOOK" --configure
    assert_status 64
    assert_contains "$stderr" "unknown argument '--configure'"
}

@test "installed as <prefix>/lib/powerview/on-upload.sh: <prefix>/bin/tsv_parser and <prefix>/share/powerview/ansible" {
    local prefix="$BATS_TEST_TMPDIR/prefix" path="$BATS_TEST_TMPDIR/bin:$BATS_TEST_TMPDIR/tools" tool
    mkdir -p "$prefix/lib/powerview" "$prefix/bin" "$prefix/share/powerview" "$BATS_TEST_TMPDIR/tools"
    # a PATH of the tools the hook and the fake ansible-playbook run, and no
    # tsv_parser (whatever this machine has installed)
    for tool in bash env realpath stat mkdir dirname setsid iconv cat; do
        ln -s "$(command -v "$tool")" "$BATS_TEST_TMPDIR/tools/$tool"
    done
    ln -s "$(realpath "$(command -v "$PYTHON")")" "$BATS_TEST_TMPDIR/tools/python3"
    cp "$HOOK" "$prefix/lib/powerview/on-upload.sh"
    cp -R "$BATS_TEST_DIRNAME/../../ansible" "$prefix/share/powerview/ansible"
    cp "$TSV_PARSER" "$prefix/bin/tsv_parser"
    # this PATH has no tsv_parser, no settings file names it, there is no checkout beside the hook
    run env PATH="$path" bash -c 'command -v tsv_parser'
    assert_status 1
    yaml 'hook:' "  data_dir: $DATA" "  log_file: $LOG" '  ingest: sync' 'sink:' "  output: $OUT" \
        'grafana:' '  url: http://grafana.example:3000'
    ok "$DEV/f.tsv"
    run --separate-stderr env -u POWERVIEW_ENV_FILE PATH="$path" POWERVIEW_CONFIG="$CFG" \
        SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$DEV/f.tsv" "$prefix/lib/powerview/on-upload.sh"
    assert_status 0
    assert_log "upload '$DEV/f.tsv': tsv_parser exit 0"
    assert_file "$DEV/parsed/f.tsv"
    assert_eq "$(wc -l <"$OUT")" 1 "points"
    # mkdir: the installed playbook, from its folder, with <prefix>/bin first in PATH
    mkdir -p "$DATA/acme/camp2"
    run --separate-stderr env -u POWERVIEW_ENV_FILE PATH="$path" POWERVIEW_CONFIG="$CFG" \
        SFTPGO_ACTION=mkdir SFTPGO_ACTION_PATH="$DATA/acme/camp2" "$prefix/lib/powerview/on-upload.sh"
    assert_status 0
    PLAYBOOK="$prefix/share/powerview/ansible/create_grafana_resources.yml" assert_playbook acme camp2
    assert_eq "$(cat "$ARGV.cwd")" "$prefix/share/powerview/ansible"
    assert_eq "$(env_of PATH)" "$prefix/bin:$path"
    assert_eq "$(env_of POWERVIEW_CONFIG)" "$CFG"
    assert_eq "$(env_of GRAFANA_URL)" "http://grafana.example:3000"
    # the installed default settings file, only when it exists
    if [ -f /etc/powerview/.env ]; then
        assert_eq "$(env_of POWERVIEW_ENV_FILE)" /etc/powerview/.env
    else
        assert_eq "$(env_of POWERVIEW_ENV_FILE)" "<unset>"
    fi
}

@test "mkdir: Grafana secrets in files named by the YAML reach the playbook as paths, never as values" {
    mkdir -p "$BATS_TEST_TMPDIR/etc"
    printf '%s\n' "$PW" >"$BATS_TEST_TMPDIR/etc/grafana-password"
    printf '%s\n' "$TOKEN" >"$BATS_TEST_TMPDIR/etc/grafana-token"
    # relative paths: from the YAML's folder
    yaml 'hook:' "  data_dir: $DATA" "  log_file: $LOG" \
        'grafana:' '  url: http://grafana.example:3000' '  username: admin' '  password_file: grafana-password' \
        '  api_token_file: grafana-token' '  tenancy: team' '  org_id: 4' '  query_language: influxql' \
        'influxdb:' '  org: acme-org' '  url: http://db.example:8086'
    mkdir -p "$DATA/acme/camp2"
    hook SFTPGO_ACTION=mkdir SFTPGO_ACTION_PATH="$DATA/acme/camp2" POWERVIEW_CONFIG="$CFG"
    assert_status 0
    # in a checkout: the checkout's playbook
    PLAYBOOK=$(realpath "$BATS_TEST_DIRNAME/../../ansible/create_grafana_resources.yml") assert_playbook acme camp2
    assert_eq "$(env_of GRAFANA_PASSWORD_FILE)" "$BATS_TEST_TMPDIR/etc/grafana-password"
    assert_eq "$(env_of GRAFANA_API_TOKEN_FILE)" "$BATS_TEST_TMPDIR/etc/grafana-token"
    assert_eq "$(env_of GRAFANA_PASSWORD)" "<unset>"
    assert_eq "$(env_of GRAFANA_API_TOKEN)" "<unset>"
    assert_eq "$(env_of GRAFANA_USERNAME)" admin
    assert_eq "$(env_of GRAFANA_TENANCY)" team
    assert_eq "$(env_of GRAFANA_ORG_ID)" 4
    assert_eq "$(env_of GRAFANA_QUERY_LANGUAGE)" influxql
    assert_eq "$(env_of INFLUXDB_ORG)" acme-org
    assert_eq "$(env_of INFLUXDB_HOST)" http://db.example:8086
    assert_eq "$(env_of POWERVIEW_CONFIG)" "$CFG"
    assert_nowhere "$PW" "$TOKEN"
    # a password in the settings file wins, and goes as before (its file is not passed)
    env_add "GRAFANA_PASSWORD=pw-DOTENV-3f4a"
    hook SFTPGO_ACTION=mkdir SFTPGO_ACTION_PATH="$DATA/acme/camp2" POWERVIEW_CONFIG="$CFG"
    assert_status 0
    assert_eq "$(env_of GRAFANA_PASSWORD)" pw-DOTENV-3f4a
    assert_eq "$(env_of GRAFANA_PASSWORD_FILE)" "<unset>"
    assert_eq "$(env_of GRAFANA_API_TOKEN_FILE)" "$BATS_TEST_TMPDIR/etc/grafana-token"
    assert_nowhere "$PW" "$TOKEN"
}
