# shellcheck shell=bash
# Variables set here are used by the .bats files; output/status/stderr are set by bats' run.
# shellcheck disable=SC2034,SC2154
# Shared helpers for the tests of hooks/on-upload.sh (bats >= 1.5).
#
#   load helpers
#   setup() { hook_setup; }
#
# On top of ../cli/helpers (mkfile, assert_*, $DATA, $DEV, $OUT, ...):
#   $HOOK      hooks/on-upload.sh
#   $ENVF      the settings file, exported as POWERVIEW_ENV_FILE: POWERVIEW_DATA_DIR,
#              POWERVIEW_LOG_FILE, POWERVIEW_TSV_PARSER, POWERVIEW_PLAYBOOK,
#              TSV_OUTPUT=$OUT (file sink: no database), TSV_REPORT_DIR, TSV_MIN_AGE=0
#              and INFLUXDB_ADMIN_TOKEN=$SECRET (which no log may show)
#   $LOG       POWERVIEW_LOG_FILE
#   $PLAYBOOK  an empty file standing for the create playbook
#   $ARGV      where the fake ansible-playbook (first in PATH) writes its
#              arguments, each followed by a NUL byte; it also writes its working
#              folder to $ARGV.cwd, prints one line on stdout and one on stderr,
#              and exits $FAKE_ANSIBLE_STATUS (default 0)
#   $WORK      the current folder of each hook run (a `touch pwned` would land here)

load ../cli/helpers

HOOK="$BATS_TEST_DIRNAME/../../hooks/on-upload.sh"
SECRET=secret-token-xyz
LOG_LINE_RE='^\[[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\] on-upload\[[0-9]+\]: '

hook_setup() {
    common_setup
    # the hook's settings come from $ENVF, the parser's too (through --env-file)
    unset TSV_REPORT_DIR TSV_MIN_AGE TSV_OUTPUT TSV_VERIFY POWERVIEW_CONFIG TSV_DOWNSAMPLE TSV_DOWNSAMPLE_LEVELS
    unset POWERVIEW_DATA_DIR POWERVIEW_LOG_FILE POWERVIEW_TSV_PARSER POWERVIEW_PLAYBOOK
    unset INFLUXDB_HOST INFLUXDB_URL INFLUXDB_ORG INFLUXDB_ADMIN_TOKEN INFLUXDB_API
    unset SFTPGO_ACTION SFTPGO_ACTION_PATH SFTPGO_ACTION_STATUS SFTPGO_ACTION_USERNAME
    TSV_REPORT_DIR="$BATS_TEST_TMPDIR/reports"
    LOG="$BATS_TEST_TMPDIR/logs/uploads.log"
    PLAYBOOK="$BATS_TEST_TMPDIR/ansible/create_grafana_resources.yml"
    ARGV="$BATS_TEST_TMPDIR/ansible.argv"
    WORK="$BATS_TEST_TMPDIR/work"
    mkdir -p "$WORK" "$(dirname "$PLAYBOOK")" "$BATS_TEST_TMPDIR/bin"
    : >"$PLAYBOOK"
    PLAYBOOK=$(realpath "$PLAYBOOK")
    ENVF="$BATS_TEST_TMPDIR/powerview.env"
    {
        echo "# written by hook_setup"
        echo "INFLUXDB_ADMIN_TOKEN='$SECRET'"
        echo "POWERVIEW_DATA_DIR='$DATA'"
        echo "POWERVIEW_LOG_FILE=\"$LOG\""
        echo "POWERVIEW_TSV_PARSER=$TSV_PARSER"
        echo "export POWERVIEW_PLAYBOOK='$PLAYBOOK'"
        echo "TSV_OUTPUT=$OUT"
        echo "TSV_REPORT_DIR=$TSV_REPORT_DIR"
        echo "TSV_MIN_AGE=0"
    } >"$ENVF"
    export POWERVIEW_ENV_FILE="$ENVF"
    fake_ansible
    export PATH="$BATS_TEST_TMPDIR/bin:$PATH"
    cd "$WORK" || return 1
}

fake_ansible() {
    local f="$BATS_TEST_TMPDIR/bin/ansible-playbook"
    {
        echo '#!/bin/bash'
        printf 'printf "%%s\\0" "$@" >%q\n' "$ARGV"
        printf 'pwd >%q\n' "$ARGV.cwd"
        echo 'echo "PLAY RECAP fake-ansible ok=1"'
        echo 'echo "fake-ansible warning" >&2'
        echo "exit \"\${FAKE_ANSIBLE_STATUS:-0}\""
    } >"$f"
    chmod +x "$f"
}

# env_add LINE...: append lines to $ENVF.
env_add() {
    printf '%s\n' "$@" >>"$ENVF"
}

# hook [NAME=VALUE]...: run the hook with these variables added to the environment;
# stdout in $output, stderr in $stderr.
hook() {
    run --separate-stderr env "$@" "$HOOK"
}

# upload FILE [STATUS]: the hook as SFTPGo calls it after an upload (status 1).
upload() {
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$1" SFTPGO_ACTION_STATUS="${2:-1}"
}

# mkdir_hook DIR: the hook as SFTPGo calls it after a mkdir.
mkdir_hook() {
    mkdir -p "$1"
    hook SFTPGO_ACTION=mkdir SFTPGO_ACTION_PATH="$1"
}

# ok FILE [VALUE]: a valid one-point file (device 02001171).
ok() { mkfile "$1" "$HDR_MONO_SN" "$HDR_MONO_FMT" "05/01/26 10:00:00\t${2:-1}"; }

# hook_lines: the hook's own lines of $LOG (without time stamp and pid).
hook_lines() {
    [ -f "$LOG" ] || return 0
    grep -E "$LOG_LINE_RE" "$LOG" | sed -E "s/$LOG_LINE_RE//"
}

# assert_log NEEDLE: some hook line of $LOG contains NEEDLE.
assert_log() {
    local lines
    lines=$(hook_lines)
    assert_contains "$lines" "$1" "hook log"
}

# assert_quiet: the last hook run printed nothing (everything went to $LOG).
assert_quiet() {
    assert_eq "$output" "" "hook stdout"
    assert_eq "${stderr-}" "" "hook stderr"
}

# assert_not_called: the fake ansible-playbook did not run.
assert_not_called() {
    assert_no_file "$ARGV"
}

# ansible_args: the fake ansible-playbook's arguments as a JSON list.
ansible_args() {
    py -c '
import json, sys
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\0"), data
print(json.dumps([a.decode("utf-8", "surrogateescape") for a in data[:-1].split(b"\0")]))
' "$ARGV"
}

# assert_playbook COMPANY CAMPAIGN [LEVELS]: ansible-playbook was called with
# exactly PLAYBOOK --extra-vars JSON, JSON an object of these two names and
# downsample_levels, the JSON list LEVELS (default ["1h", "1d", "1w"]).
assert_playbook() {
    local args
    args=$(ansible_args) || return 1
    py -c '
import json, sys
args = json.loads(sys.argv[1])
playbook, company, campaign, levels = sys.argv[2:6]
assert len(args) == 3, args
assert args[0] == playbook, (args[0], playbook)
assert args[1] == "--extra-vars", args
extra = json.loads(args[2])
want = {"company_name": company, "campaign_name": campaign, "downsample_levels": json.loads(levels)}
assert extra == want, (extra, want)
' "$args" "$PLAYBOOK" "$1" "$2" "${3:-[\"1h\", \"1d\", \"1w\"]}"
}

# assert_no_pwned: no file named pwned was created by a name run as a command.
assert_no_pwned() {
    local found
    found=$(find "$BATS_TEST_TMPDIR" -name pwned)
    assert_eq "$found" "" "files named pwned"
    assert_no_file /pwned
    assert_no_file "$BATS_TEST_DIRNAME/pwned"
}

# show_log: $LOG, printed by bats when a test fails.
show_log() {
    echo "--- $LOG:"
    cat "$LOG" 2>/dev/null || true
}
