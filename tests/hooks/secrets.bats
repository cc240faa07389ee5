#!/usr/bin/env bats
# hooks/on-upload.sh hands the playbook its secrets in the environment, never
# as arguments: the arguments of every process are readable by every local
# user in /proc/<pid>/cmdline.

load helpers

setup() {
    hook_setup
    # values no other test on this machine uses, so a hit is ours
    PW="grafana-pw-$$-$RANDOM$RANDOM"
    TOKEN="grafana-token-$$-$RANDOM$RANDOM"
    ADMIN="admin-token-$$-$RANDOM$RANDOM"
    sed -i "s|^INFLUXDB_ADMIN_TOKEN=.*|INFLUXDB_ADMIN_TOKEN='$ADMIN'|" "$ENVF"
    env_add "GRAFANA_PASSWORD='$PW'" "GRAFANA_URL=http://127.0.0.1:1"
    # from the hook's own environment too (exported, not on a command line)
    export GRAFANA_API_TOKEN="$TOKEN"
    HITS="$BATS_TEST_TMPDIR/hits"
    STOP="$BATS_TEST_TMPDIR/stop"
    SEEN="$BATS_TEST_TMPDIR/seen"
    : >"$HITS"
}

teardown() {
    : >"$STOP"
    wait
    show_log
}

# slow_shims: a fake ansible-playbook that stays until the poller has seen it
# (20 s at most: a loaded machine reads /proc slowly) and writes what it
# received in its environment, and an `env` first in PATH that stays a second
# before running the real one, so that a secret given on any command line is
# there to be seen while the poller runs.
slow_shims() {
    local bin="$BATS_TEST_TMPDIR/bin"
    {
        echo '#!/bin/bash'
        printf 'for _ in {1..200}; do [ -e %q ] && break; sleep 0.1; done\n' "$SEEN"
        printf '{ printf "%%s\\n" "$GRAFANA_PASSWORD" "$GRAFANA_API_TOKEN" "$INFLUXDB_ADMIN_TOKEN"; } >%q\n' \
            "$BATS_TEST_TMPDIR/received"
        echo 'exit 0'
    } >"$bin/ansible-playbook"
    {
        echo '#!/bin/bash'
        echo 'sleep 1'
        echo 'exec /usr/bin/env "$@"'
    } >"$bin/env"
    chmod +x "$bin/ansible-playbook" "$bin/env"
}

# poll: until $STOP exists, read every /proc/*/cmdline with bash builtins only
# (a grep given the secret would itself show it); the path of a process whose
# arguments hold a secret goes to $HITS, a sight of the fake playbook to $SEEN.
# Processes come and go while it reads: errors are expected and ignored.
poll() {
    local f arg
    set +eE
    trap - ERR
    while [ ! -e "$STOP" ]; do
        for f in /proc/[0-9]*/cmdline; do
            {
                while IFS= read -r -d '' arg; do
                    case $arg in
                    *"$PW"* | *"$TOKEN"* | *"$ADMIN"*) echo "$f" >>"$HITS" ;;
                    "$BATS_TEST_TMPDIR/bin/ansible-playbook") : >"$SEEN" ;;
                    esac
                done <"$f"
            } 2>/dev/null
        done
    done
}

@test "mkdir: the playbook gets the secrets in its environment, no process shows them in its arguments" {
    slow_shims
    mkdir -p "$DATA/acme/camp2"
    poll &
    hook SFTPGO_ACTION=mkdir SFTPGO_ACTION_PATH="$DATA/acme/camp2"
    : >"$STOP"
    wait
    assert_status 0
    assert_log "Grafana resources created for company 'acme', campaign 'camp2'"
    # the poller did look while the playbook ran
    assert_file "$SEEN"
    assert_eq "$(cat "$HITS")" "" "processes whose arguments hold a secret"
    # and the playbook did receive them
    assert_eq "$(cat "$BATS_TEST_TMPDIR/received")" "$PW"$'\n'"$TOKEN"$'\n'"$ADMIN" "the playbook's environment"
}
