#!/usr/bin/env bats
# shellcheck disable=SC2154  # stderr is set by bats' run
# mkdir: the hook hands the create playbook the downsampled levels tsv_parser
# keeps (downsample_levels in the JSON extra-vars), read like its other
# settings: the environment, the settings file, then powerview.yaml through
# `tsv_parser config --get`; TSV_DOWNSAMPLE=0 gives none; a value tsv_parser
# would refuse is an ERROR (78) and never reaches the playbook.

load helpers

setup() {
    hook_setup
    CFG="$BATS_TEST_TMPDIR/etc/powerview.yaml"
}

# q STRING: STRING as the hook quotes it in a log line.
q() {
    if [[ $1 == *[[:cntrl:]]* ]]; then
        printf '%q' "$1"
    else
        printf "'%s'" "$1"
    fi
}

# made NAME LEVELS: mkdir of acme/NAME succeeded with these levels (a JSON list).
made() {
    rm -f "$ARGV"
    mkdir_hook "$DATA/acme/$1"
    assert_status 0
    assert_playbook acme "$1" "$2"
}

# refused NEEDLE [NAME=VALUE]...: mkdir is an ERROR containing NEEDLE, 78, no playbook.
refused() {
    local needle=$1
    shift
    rm -f "$ARGV"
    mkdir -p "$DATA/acme/c"
    hook "$@" SFTPGO_ACTION=mkdir SFTPGO_ACTION_PATH="$DATA/acme/c"
    assert_status 78
    assert_not_called
    assert_log "$needle"
    assert_no_pwned
}

@test "levels from the environment: any order, commas, spaces or tabs, repeated; given in the order 1h,1d,1w" {
    TSV_DOWNSAMPLE_LEVELS="1w 1d" made c1 '["1d", "1w"]'
    assert_log "creating the Grafana resources of company 'acme', campaign 'c1' (downsampled levels: 1d,1w)"
    TSV_DOWNSAMPLE_LEVELS=$'1h,\t1h ,' made c2 '["1h"]'
    TSV_DOWNSAMPLE=1 TSV_DOWNSAMPLE_LEVELS=1d made c3 '["1d"]'
    # empty means the default, as for every setting
    TSV_DOWNSAMPLE= TSV_DOWNSAMPLE_LEVELS= made c4 '["1h", "1d", "1w"]'
    # separators only: no level, as tsv_parser reads it
    TSV_DOWNSAMPLE_LEVELS=, made c5 '[]'
}

@test "levels from the settings file; the environment wins over it" {
    env_add "TSV_DOWNSAMPLE_LEVELS='1d,1h'"
    made c1 '["1h", "1d"]'
    TSV_DOWNSAMPLE_LEVELS=1w made c2 '["1w"]'
    env_add "TSV_DOWNSAMPLE=0"
    made c3 '[]'
    TSV_DOWNSAMPLE=1 made c4 '["1h", "1d"]'
}

@test "levels from powerview.yaml (a list or a string, enabled as YAML booleans); the environment and the settings file win" {
    export POWERVIEW_CONFIG="$CFG"
    mkfile "$CFG" "downsample:" "  levels: [1w, 1h]"
    made c1 '["1h", "1w"]'
    mkfile "$CFG" "downsample:" "  levels: \"1d\""
    made c2 '["1d"]'
    TSV_DOWNSAMPLE_LEVELS=1h made c3 '["1h"]'
    mkfile "$CFG" "downsample:" "  enabled: false" "  levels: [1d]"
    made c4 '[]'
    assert_log "creating the Grafana resources of company 'acme', campaign 'c4' (downsampled levels: none)"
    TSV_DOWNSAMPLE=1 made c5 '["1d"]'
    env_add "TSV_DOWNSAMPLE=1"
    made c6 '["1d"]'
    # no downsample section: tsv_parser's defaults
    mkfile "$CFG" "hook:" "  ingest: sync"
    made c7 '["1h", "1d", "1w"]'
}

@test "TSV_DOWNSAMPLE=0: no level, whatever the levels say" {
    TSV_DOWNSAMPLE=0 TSV_DOWNSAMPLE_LEVELS=1h,1d made c1 '[]'
    assert_log "(downsampled levels: none)"
}

@test "hostile or unknown levels: an ERROR, 78, the playbook not called, nothing run" {
    # shellcheck disable=SC2016
    for v in '$(touch pwned)' '`touch pwned`' "{{ lookup('pipe', 'touch pwned') }}" '1h,1m' '1H' '1h;1d' \
        $'1h\n1d' '*' '1h,"]' '1hd' '["1h"]'; do
        refused "TSV_DOWNSAMPLE_LEVELS (downsample.levels) is $(q "$v"): the levels are 1h, 1d and 1w: no Grafana resources for company 'acme', campaign 'c'" \
            TSV_DOWNSAMPLE_LEVELS="$v"
    done
    for v in yes true 2 ' 0' '$(touch pwned)'; do
        refused "TSV_DOWNSAMPLE (downsample.enabled) is $(q "$v"), not 1 or 0: no Grafana resources" TSV_DOWNSAMPLE="$v"
    done
    # the log line stays one line
    run grep -c -v -E "$LOG_LINE_RE" "$LOG"
    assert_eq "$output" 0
    # in the YAML, tsv_parser refuses them first
    export POWERVIEW_CONFIG="$CFG"
    mkfile "$CFG" "downsample:" "  levels: [1h, \"{{ x }}\"]"
    rm -f "$ARGV"
    mkdir_hook "$DATA/acme/c2"
    assert_status 78
    assert_not_called
    assert_log "unknown downsampling level"
}

@test "without python3 the extra-vars come from jq: the same object" {
    local bin="$BATS_TEST_TMPDIR/nopython" f
    mkdir -p "$bin"
    for f in /usr/bin/* /bin/*; do
        case ${f##*/} in python3* | ansible-playbook) continue ;; esac
        [ -e "$bin/${f##*/}" ] || ln -s "$f" "$bin/${f##*/}"
    done
    [ -x "$bin/jq" ] || skip "jq not installed"
    ln -s "$BATS_TEST_TMPDIR/bin/ansible-playbook" "$bin/ansible-playbook"
    PATH="$bin" TSV_DOWNSAMPLE_LEVELS="1w,1h" made c1 '["1h", "1w"]'
    PATH="$bin" TSV_DOWNSAMPLE=0 made c2 '[]'
    PATH="$bin" made c3 '["1h", "1d", "1w"]'
}
