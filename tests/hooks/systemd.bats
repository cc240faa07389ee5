#!/usr/bin/env bats
# shellcheck disable=SC2154  # stderr is set by bats' run
# deploy/'s systemd units for the hook and the spool: powerview-ingest.service
# and .timer (the scan), powerview-spool.path and powerview-worker.service
# (the worker, started when an upload is queued). Checked by systemd-analyze
# where it is installed, and against each other: the path unit watches the
# spool of the data folder the worker is given, both services have the same
# settings file and hardening.

load helpers

UNITS="$BATS_TEST_DIRNAME/../../deploy"

setup() {
    common_setup
}

# unit_value FILE KEY: the values of KEY= in FILE, one a line.
unit_value() {
    sed -nE "s/^$2=//p" "$1"
}

# hardening FILE: the lines from "# Hardening" to the end.
hardening() {
    sed -n '/^# Hardening/,$p' "$1"
}

@test "systemd-analyze verify: the four units are valid, without a warning" {
    command -v systemd-analyze >/dev/null || skip "systemd-analyze not installed"
    local d="$BATS_TEST_TMPDIR/units"
    mkdir -p "$d"
    cp "$UNITS"/powerview-ingest.service "$UNITS"/powerview-ingest.timer \
        "$UNITS"/powerview-spool.path "$UNITS"/powerview-worker.service "$d/"
    # the programs they run must exist here: the build's tsv_parser, the
    # checkout's hook
    sed -i -e "s|/usr/bin/tsv_parser|$(realpath "$TSV_PARSER")|" \
        -e "s|/usr/lib/powerview/on-upload.sh|$(realpath "$BATS_TEST_DIRNAME/../../hooks/on-upload.sh")|" \
        "$d"/powerview-*.service
    run --separate-stderr systemd-analyze verify --man=no "$d"/powerview-*
    assert_status 0
    assert_eq "$stderr" "" "systemd-analyze's warnings"
}

@test "the path unit watches .queued in the spool of the worker's data folder; installed paths, same user, condition and hardening as the scan" {
    local path="$UNITS/powerview-spool.path" worker="$UNITS/powerview-worker.service" ingest="$UNITS/powerview-ingest.service"
    local exec data rw
    assert_eq "$(unit_value "$path" Unit)" powerview-worker.service
    exec=$(unit_value "$worker" ExecStart)
    [[ $exec =~ ^/usr/bin/tsv_parser\ --spool\ -d\ ([^ ]+)$ ]] || {
        echo "worker ExecStart: $exec" >&2
        return 1
    }
    data=${BASH_REMATCH[1]}
    # the default spool folder: <data folder>/../spool
    assert_eq "$(unit_value "$path" PathChanged)" "$(dirname "$data")/spool/.queued" "PathChanged="
    assert_eq "$(unit_value "$worker" Type)" oneshot
    assert_eq "$(unit_value "$ingest" ExecStart)" /usr/lib/powerview/on-upload.sh "the scan: the installed hook"
    assert_eq "$(unit_value "$worker" User)" powerview "User="
    assert_eq "$(unit_value "$worker" User)" "$(unit_value "$ingest" User)" "User="
    assert_eq "$(unit_value "$worker" Group)" "$(unit_value "$ingest" Group)" "Group="
    # inert until configured: both skipped while the hook's settings are incomplete
    assert_eq "$(unit_value "$worker" ExecCondition)" "/usr/lib/powerview/on-upload.sh --configured" "worker ExecCondition="
    assert_eq "$(unit_value "$ingest" ExecCondition)" "/usr/lib/powerview/on-upload.sh --configured" "scan ExecCondition="
    # data/ and spool/ are writable
    rw=$(unit_value "$worker" ReadWritePaths)
    case $data/ in "$rw"/*) ;; *) echo "ReadWritePaths=$rw does not hold $data" >&2; return 1 ;; esac
    case $(dirname "$data")/spool/ in "$rw"/*) ;; *) echo "ReadWritePaths=$rw does not hold the spool" >&2; return 1 ;; esac
    assert_eq "$(hardening "$worker")" "$(hardening "$ingest")" "hardening"
}
