#!/usr/bin/env bats
# The Debian package, end to end: scripts/package.sh builds it, lintian finds
# no error in it, dpkg installs it, the installed pieces work (tsv_parser
# --version, the hook on a scratch data folder with the file sink, the
# playbook's --syntax-check, the man page, `on-upload.sh --configured` on the
# fresh install), then `dpkg --purge` removes every file of the package and
# keeps the data folder.
#
# Needs root (it installs a package), dpkg-buildpackage, dpkg-deb and
# debhelper's dh; skipped with a message otherwise. It leaves the machine as it
# found it: the package is purged in teardown_file even after a failure, and
# the user and group powerview, which a purge keeps (Debian policy), are
# removed when the test made them. It runs only where the package is not
# installed and /etc/powerview and /var/lib/powerview do not exist (a server
# set up by hand keeps its settings).
# shellcheck disable=SC2030,SC2031,SC2154  # each test exports what it runs with; bats sets stderr

load ../cli/helpers

ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
STATE="${BATS_RUN_TMPDIR:-/tmp}/powerview-package.state"

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' powerview 2>/dev/null)" = installed ]
}

# why the machine does not suit the test ("" when it does): each test skips
# with it (bats 1.8 cannot skip from setup_file)
unsuitable() {
    local t
    [ "$(id -u)" -eq 0 ] || { echo "not root: installing a package needs root"; return; }
    for t in dpkg-buildpackage dpkg-deb dh; do
        command -v "$t" >/dev/null || { echo "$t not installed"; return; }
    done
    if dpkg-query -W -f='${db:Status-Status}' powerview 2>/dev/null | grep -qv '^not-installed$'; then
        echo "the package powerview is on this machine already: not touching it"
        return
    fi
    for t in /etc/powerview /var/lib/powerview; do
        [ ! -e "$t" ] || { echo "$t exists: not touching a machine set up by hand"; return; }
    done
}

setup_file() {
    PKG_SKIP=$(unsuitable)
    export PKG_SKIP
    [ -z "$PKG_SKIP" ] || return 0
    export PKG_OUT="$BATS_FILE_TMPDIR/deb"
    # what the test made and must undo
    : >"$STATE"
    getent passwd powerview >/dev/null || echo user >>"$STATE"
    getent group powerview >/dev/null || echo group >>"$STATE"
    DEB=$(bash "$ROOT/scripts/package.sh" "$PKG_OUT") || {
        echo "scripts/package.sh failed" >&2
        return 1
    }
    export DEB
    echo "package: $DEB" >&3
    echo installing >>"$STATE"
    DEBIAN_FRONTEND=noninteractive dpkg -i "$DEB" >"$BATS_FILE_TMPDIR/dpkg-i.log" 2>&1 || {
        cat "$BATS_FILE_TMPDIR/dpkg-i.log" >&2
        return 1
    }
    dpkg -L powerview | sort >"$BATS_FILE_TMPDIR/files"
}

setup() {
    [ -z "$PKG_SKIP" ] || skip "$PKG_SKIP"
}

teardown_file() {
    [ -f "$STATE" ] || return 0
    if installed || dpkg-query -W powerview >/dev/null 2>&1; then
        dpkg --purge powerview >/dev/null 2>&1 || true
    fi
    # neither existed before the test (unsuitable): whatever a failed purge left goes
    if grep -qx installing "$STATE"; then
        rm -rf /etc/powerview /var/lib/powerview
    fi
    if grep -qx user "$STATE"; then
        userdel powerview 2>/dev/null || true
    fi
    if grep -qx group "$STATE" && getent group powerview >/dev/null; then
        groupdel powerview 2>/dev/null || true
    fi
    rm -f "$STATE"
}

@test "the .deb: powerview_<version>_<arch>.deb, the Depends it needs, lintian finds no error" {
    local version arch
    version=$(sed -nE 's/^project\(powerview VERSION ([0-9.]+).*/\1/p' "$ROOT/CMakeLists.txt")
    arch=$(dpkg --print-architecture)
    assert_eq "$(basename "$DEB")" "powerview_${version}-1_${arch}.deb"
    run dpkg-deb -f "$DEB" Depends
    echo "Depends: $output"
    # libcurl is opened at run time (libcurl.so.4): no shlibs dependency says so
    assert_contains "$output" "libcurl4 (>= 7.62.0) | libcurl4t64"
    assert_contains "$output" "tzdata"
    assert_contains "$output" "adduser"
    run dpkg-deb -f "$DEB" Recommends
    assert_contains "$output" "ansible-core"
    command -v lintian >/dev/null || skip "lintian not installed"
    run lintian --no-tag-display-limit "$DEB"
    echo "$output"
    [[ $output != *"E: "* ]] || { echo "lintian reports errors" >&2; return 1; }
}

@test "installed: the files of the layout, the conffile, the user, the folders, the timer enabled" {
    local f
    for f in /usr/bin/tsv_parser /usr/share/man/man1/tsv_parser.1.gz \
        /usr/lib/powerview/on-upload.sh \
        /usr/share/powerview/ansible/create_grafana_resources.yml \
        /usr/share/powerview/ansible/ansible.cfg /usr/share/powerview/ansible/tasks/names.yml \
        /usr/share/powerview/ansible/vars/powerview.yml \
        /usr/share/powerview/dashboards/campaign.json.j2 \
        /lib/systemd/system/powerview-ingest.service /lib/systemd/system/powerview-ingest.timer \
        /lib/systemd/system/powerview-worker.service /lib/systemd/system/powerview-spool.path \
        /usr/share/bash-completion/completions/tsv_parser /etc/logrotate.d/powerview \
        /etc/powerview/powerview.yaml /usr/share/doc/powerview/copyright \
        /usr/share/doc/powerview/examples/Caddyfile; do
        grep -qxF "$f" "$BATS_FILE_TMPDIR/files" || { echo "not in dpkg -L: $f" >&2; return 1; }
        [ -f "$f" ] || { echo "missing: $f" >&2; return 1; }
    done
    [ -x /usr/lib/powerview/on-upload.sh ]
    # docs, samples (dh_installdocs compresses the larger ones)
    ls /usr/share/doc/powerview/deployment.md* /usr/share/doc/powerview/env.sample* \
        /usr/share/doc/powerview/powerview.yaml.sample* >/dev/null
    # no development file, no cache
    run grep -E '__pycache__|\.pyc$|/tests/|\.ansible-lint$' "$BATS_FILE_TMPDIR/files"
    assert_status 1
    echo "files of the package:" >&3
    sed 's/^/  /' "$BATS_FILE_TMPDIR/files" >&3
    # the conffile is the commented sample
    run dpkg-query -W -f='${Conffiles}' powerview
    assert_contains "$output" "/etc/powerview/powerview.yaml"
    cmp /etc/powerview/powerview.yaml "$ROOT/powerview.yaml.sample"
    # the system user, its folders
    getent passwd powerview >/dev/null
    assert_eq "$(getent passwd powerview | cut -d: -f6)" /var/lib/powerview "home"
    assert_eq "$(stat -c '%U:%G %a' /etc/powerview)" "root:powerview 750" "/etc/powerview"
    assert_eq "$(stat -c '%U:%G %a' /etc/powerview/secrets)" "powerview:powerview 700" "secrets"
    assert_eq "$(stat -c '%U:%G %a' /var/lib/powerview)" "powerview:powerview 750" "home folder"
    # SFTPGo's user, when there is one, reads the settings through the group
    if getent passwd sftpgo >/dev/null; then
        [[ " $(id -nG sftpgo) " == *" powerview "* ]] || { echo "sftpgo is not in the group powerview" >&2; return 1; }
    fi
    # the timer enabled (inert until configured), the path unit not
    [ -L /etc/systemd/system/timers.target.wants/powerview-ingest.timer ]
    [ ! -e /etc/systemd/system/paths.target.wants/powerview-spool.path ]
    if command -v systemd-analyze >/dev/null; then
        run --separate-stderr systemd-analyze verify --man=no /lib/systemd/system/powerview-*
        assert_status 0
        assert_eq "$stderr" "" "systemd-analyze's warnings"
    fi
}

@test "installed tsv_parser --version, man -w tsv_parser" {
    run /usr/bin/tsv_parser --version
    assert_status 0
    local version
    version=$(sed -nE 's/^project\(powerview VERSION ([0-9.]+).*/\1/p' "$ROOT/CMakeLists.txt")
    assert_contains "$output" "tsv_parser $version"
    command -v man >/dev/null || skip "man not installed"
    run man -w tsv_parser
    assert_status 0
    assert_eq "$output" /usr/share/man/man1/tsv_parser.1.gz
}

@test "installed hook: an upload on a scratch data folder, the file sink: points written, file moved to parsed/" {
    common_setup_installed
    local f="$DEV/T302_260105_100000.tsv"
    mkfile "$f" "$HDR_MONO_SN" "$HDR_MONO_FMT" "05/01/26 10:00:00\t230.5" "05/01/26 10:05:00\t231"
    run --separate-stderr env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$f" SFTPGO_ACTION_STATUS=1 \
        POWERVIEW_DATA_DIR="$DATA" POWERVIEW_LOG_FILE="$LOGF" POWERVIEW_INGEST=sync \
        TSV_OUTPUT="$OUT" TSV_REPORT_DIR="$TSV_REPORT_DIR" TSV_MIN_AGE=0 \
        /usr/lib/powerview/on-upload.sh
    cat "$LOGF" 2>/dev/null || true
    assert_status 0
    assert_file "$DEV/parsed/T302_260105_100000.tsv"
    assert_no_file "$f"
    # two points, the values of the file
    [ "$(grep -c '^' "$OUT")" -eq 2 ] || { cat "$OUT"; return 1; }
    grep -q '=230.5[ ,]' "$OUT" && grep -q '=231[ ,]' "$OUT" || { cat "$OUT"; return 1; }
    # the installed parser ran: the log names the ingestion
    grep -q "tsv_parser exit 0" "$LOGF"
}

@test "installed playbook: ansible-playbook --syntax-check" {
    command -v ansible-playbook >/dev/null || skip "ansible-playbook not installed"
    run bash -c 'cd /usr/share/powerview/ansible && ansible-playbook --syntax-check create_grafana_resources.yml 2>&1'
    echo "$output"
    assert_status 0
    run ansible-playbook --syntax-check /usr/share/powerview/ansible/create_grafana_resources.yml
    echo "$output"
    assert_status 0
}

@test "installed hook --configured: exit 1 on the fresh install (no data folder, no destination)" {
    run --separate-stderr env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/lib/powerview/on-upload.sh --configured
    if [ "$status" -eq 64 ] && ! grep -q -- '--configured' /usr/lib/powerview/on-upload.sh; then
        skip "the installed hook has no --configured option yet"
    fi
    assert_status 1
    [ -n "$output" ] || { echo "no line saying what is missing" >&2; return 1; }
    assert_eq "$(printf '%s\n' "$output" | wc -l)" 1 "one line"
}

@test "dpkg --purge: no file of the package left, the configuration gone (secret files too), the data folder intact" {
    common_setup_installed
    local f="$DEV/T302_260106_100000.tsv" before
    mkfile "$f" "$HDR_MONO_SN" "$HDR_MONO_FMT" "06/01/26 10:00:00\t1"
    mkfile "$DATA/acme/camp1/$SN/parsed/old.tsv" "x"
    before=$(tree_snapshot "$DATA")
    # what the playbooks would have written; files the administrator made
    echo generated >/etc/powerview/secrets/grafana-acme-viewer
    echo token >/etc/powerview/influxdb-token
    echo TSV_LOG_LEVEL=INFO >/etc/powerview/.env
    run dpkg --remove powerview
    assert_status 0
    # remove keeps the configuration
    [ -f /etc/powerview/powerview.yaml ] && [ -f /etc/powerview/secrets/grafana-acme-viewer ]
    [ ! -e /usr/bin/tsv_parser ]
    run dpkg --purge powerview
    echo "$output"
    assert_status 0
    local left=()
    while IFS= read -r p; do
        [ -n "$p" ] || continue
        [ -d "$p" ] && continue
        [ -e "$p" ] || [ -L "$p" ] && left+=("$p")
    done <"$BATS_FILE_TMPDIR/files"
    [ ${#left[@]} -eq 0 ] || { printf 'left: %s\n' "${left[@]}" >&2; return 1; }
    [ ! -e /usr/lib/powerview ] && [ ! -e /usr/share/powerview ] && [ ! -e /usr/share/doc/powerview ]
    # the configuration, secrets included, is gone
    [ ! -e /etc/powerview ] || { find /etc/powerview >&2; return 1; }
    [ ! -e /var/lib/powerview ]
    [ ! -e /etc/systemd/system/timers.target.wants/powerview-ingest.timer ]
    run dpkg-statoverride --list /etc/powerview
    assert_eq "$output" ""
    # the system user stays (Debian policy); teardown_file removes it when the test made it
    getent passwd powerview >/dev/null
    assert_eq "$(tree_snapshot "$DATA")" "$before" "the data folder"
    assert_file "$f"
}

# common_setup_installed: $DATA, $DEV, $OUT, $TSV_REPORT_DIR and the hook's log
# $LOGF in the test's folder (the helpers' common_setup without the build's parser).
common_setup_installed() {
    TSV_PARSER=/usr/bin/tsv_parser common_setup
    LOGF="$BATS_TEST_TMPDIR/logs/uploads.log"
}
