#!/usr/bin/env bats
# A real SFTP upload over loopback (OpenSSH's sftp client against its own
# server, internal-sftp, started here on a free port), then hooks/on-upload.sh
# called as SFTPGo calls it: cleared environment, SFTPGO_ACTION=upload,
# SFTPGO_ACTION_PATH, SFTPGO_ACTION_STATUS=1 (issue 5, "Tests").
#
# Needs /usr/sbin/sshd (Debian package openssh-server) and root (sshd's
# privilege separation); skipped otherwise.

load helpers
load ../servers/servers

HOOK="$BATS_TEST_DIRNAME/../../hooks/on-upload.sh"
EXAMPLES="$BATS_TEST_DIRNAME/../../examples/data"

setup_file() {
    # a reason to skip, told to every test by setup()
    export SFTP_SKIP=
    if ! command -v /usr/sbin/sshd >/dev/null; then
        SFTP_SKIP="no /usr/sbin/sshd (Debian package openssh-server)"
    elif ! command -v sftp >/dev/null || ! command -v ssh-keygen >/dev/null; then
        SFTP_SKIP="no sftp or ssh-keygen (Debian package openssh-client)"
    elif [ "$(id -u)" -ne 0 ]; then
        SFTP_SKIP="sshd is started as root here"
    fi
    [ -z "$SFTP_SKIP" ] || return 0
    local d="$BATS_FILE_TMPDIR/sshd" n=200
    mkdir -p "$d"
    chmod 700 "$d"
    ssh-keygen -q -t ed25519 -N '' -C pv-host -f "$d/host_key"
    ssh-keygen -q -t ed25519 -N '' -C pv-client -f "$d/client_key"
    cp "$d/client_key.pub" "$d/authorized_keys"
    SSHD_PORT=$(free_port)
    cat >"$d/sshd_config" <<EOF
Port $SSHD_PORT
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
Subsystem sftp internal-sftp
LogLevel ERROR
EOF
    # sshd refuses to start without its privilege separation folder
    mkdir -p /run/sshd
    /usr/sbin/sshd -f "$d/sshd_config" -D -e >"$d/sshd.log" 2>&1 3>&- &
    SERVER_PIDS+=($!)
    until (exec 9<>"/dev/tcp/127.0.0.1/$SSHD_PORT") 2>/dev/null; do
        n=$((n - 1))
        if [ "$n" -le 0 ]; then
            echo "sshd did not start:" >&2
            cat "$d/sshd.log" >&2
            return 1
        fi
        sleep 0.05
    done
    export SSHD_PORT SSHD_DIR="$d"
}

setup() {
    [ -z "$SFTP_SKIP" ] || skip "$SFTP_SKIP"
    common_setup
    [ -f "$HOOK" ] || skip "hooks/on-upload.sh is not there"
    ENVF="$BATS_TEST_TMPDIR/powerview.env"
    HOOK_LOG="$BATS_TEST_TMPDIR/uploads.log"
    # the hook's settings; tsv_parser gets the same file with --env-file
    cat >"$ENVF" <<EOF
POWERVIEW_DATA_DIR="$DATA"
POWERVIEW_LOG_FILE="$HOOK_LOG"
POWERVIEW_TSV_PARSER="$TSV_PARSER"
TSV_OUTPUT="$OUT"
TSV_REPORT_DIR="$TSV_REPORT_DIR"
EOF
}

# sftp_batch [SFTP_OPTION...] <<BATCH: runs the sftp batch on stdin as this
# user against the test's sshd; stops at the first failing command.
sftp_batch() {
    sftp -q -b - -F /dev/null -i "$SSHD_DIR/client_key" -P "$SSHD_PORT" \
        -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=no \
        -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "$@" "$(id -un)@127.0.0.1"
}

# sftpgo_hook PATH [STATUS]: the hook as SFTPGo runs it after an upload: a
# cleared environment plus the command's env (PATH, POWERVIEW_ENV_FILE) and
# SFTPGo's variables. TSV_PARSER_REAL goes through for the valgrind wrapper.
sftpgo_hook() {
    run --separate-stderr env -i PATH=/usr/local/bin:/usr/bin:/bin POWERVIEW_ENV_FILE="$ENVF" \
        ${TSV_PARSER_REAL:+TSV_PARSER_REAL="$TSV_PARSER_REAL"} \
        SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$1" SFTPGO_ACTION_STATUS="${2:-1}" \
        SFTPGO_ACTION_USERNAME=acme SFTPGO_ACTION_PROTOCOL=SFTP SFTPGO_ACTION_FS_PROVIDER=0 \
        bash "$HOOK"
    wait_worker
}

# wait_worker: the hook hands the upload to a worker it starts in the
# background; its work is done once no copy waits in the spool and no worker
# holds the spool's lock (at most 120 s: the valgrind suite is slow).
wait_worker() {
    local sp="$BATS_TEST_TMPDIR/spool" n=2400
    while [ "$n" -gt 0 ]; do
        if [ -z "$(find "$sp" -type f ! -path '*/.*' 2>/dev/null)" ] &&
            { [ ! -e "$sp/.worker.lock" ] || flock -n "$sp/.worker.lock" true; }; then
            return 0
        fi
        sleep 0.05
        n=$((n - 1))
    done
    echo "the worker did not finish in 120 s" >&2
    return 1
}

# big_file PATH ROWS: a plain V002 one-channel file, one row a minute from
# 2026-01-05 00:00, value j/4 at row j.
big_file() {
    py -c '
import datetime, sys
path, rows = sys.argv[1], int(sys.argv[2])
base = datetime.datetime(2026, 1, 5)
with open(path, "w") as f:
    f.write("02001171\t02001171\nMV_T302_V002\tPh 1 V\n")
    for j in range(rows):
        t = base + datetime.timedelta(minutes=j)
        f.write(t.strftime("%d/%m/%y %H:%M:%S") + "\t" + repr(j / 4) + "\n")
' "$1" "$2"
}

@test "sftp: a logger file uploaded into a new campaign folder (name with a space) is ingested whole by the hook" {
    local src="$EXAMPLES/acme/south site/02000800/T302_260128_171459_UTC.tsv"
    local dest="$DATA/acme/south site/02000800/T302_260128_171459_UTC.tsv"
    # what the original gives, read in place by the same parser
    cp "$src" "$BATS_TEST_TMPDIR/orig.tsv"
    mkdir -p "$BATS_TEST_TMPDIR/ref/acme/south site/02000800"
    cp "$src" "$BATS_TEST_TMPDIR/ref/acme/south site/02000800/"
    TSV_SPOOL_DIR="$BATS_TEST_TMPDIR/ref-spool" run_parser -d "$BATS_TEST_TMPDIR/ref" --output "$BATS_TEST_TMPDIR/ref.lp"
    assert_status 0
    assert_eq "$(wc -l <"$BATS_TEST_TMPDIR/ref.lp")" 246 "points of the original"

    run sftp_batch <<EOF
mkdir "$DATA/acme"
mkdir "$DATA/acme/south site"
mkdir "$DATA/acme/south site/02000800"
put "$BATS_TEST_TMPDIR/orig.tsv" "$dest"
ls -l "$DATA/acme/south site/02000800"
EOF
    assert_status 0
    assert_file "$dest"
    cmp "$BATS_TEST_TMPDIR/orig.tsv" "$dest"

    sftpgo_hook "$dest"
    assert_status 0
    assert_no_file "$dest"
    assert_file "$DATA/acme/south site/02000800/parsed/T302_260128_171459_UTC.tsv"
    cmp "$BATS_TEST_TMPDIR/orig.tsv" "$DATA/acme/south site/02000800/parsed/T302_260128_171459_UTC.tsv"
    # point for point what the original gives
    diff "$BATS_TEST_TMPDIR/ref.lp" "$OUT"
    assert_eq "$(rq 'f["status"]')" success
    assert_eq "$(rq 'f["campaign"]')" "south site"
    assert_eq "$(rq 'f["nb_points"]')" 246
    assert_contains "$(cat "$HOOK_LOG")" "T302_260128_171459_UTC.tsv"
}

@test "sftp: a 20 000-row upload is ingested whole, every row; a failed upload (status 2) is left alone" {
    local dev="$DATA/acme/camp1/02001171"
    big_file "$BATS_TEST_TMPDIR/big.tsv" 20000
    big_file "$BATS_TEST_TMPDIR/part.tsv" 100
    run sftp_batch <<EOF
-mkdir "$DATA/acme"
-mkdir "$DATA/acme/camp1"
-mkdir "$dev"
put "$BATS_TEST_TMPDIR/big.tsv" "$dev/T302_big.tsv"
put "$BATS_TEST_TMPDIR/part.tsv" "$dev/T302_part.tsv"
EOF
    assert_status 0

    # SFTPGo says the second upload failed: the hook leaves it
    sftpgo_hook "$dev/T302_part.tsv" 2
    assert_status 0
    assert_file "$dev/T302_part.tsv"
    assert_no_file "$OUT"

    sftpgo_hook "$dev/T302_big.tsv"
    assert_status 0
    assert_file "$dev/parsed/T302_big.tsv"
    cmp "$BATS_TEST_TMPDIR/big.tsv" "$dev/parsed/T302_big.tsv"
    assert_eq "$(wc -l <"$OUT")" 20000 "points written"
    assert_eq "$(lp_times | sort -u | wc -l)" 20000 "distinct times"
    # first and last rows: 05/01/26 00:00 and 13 days 21:19 later (Europe/Paris, UTC+1)
    assert_eq "$(lp_times | head -1)" 1767567600
    assert_eq "$(lp_times | tail -1)" $((1767567600 + 19999 * 60))
    assert_eq "$(lp_fields "$OUT" | sed -n '1p;$p' | sed 's/.*=//' | num_norm | tr '\n' ' ')" "0.0 4999.75 " "first and last values"
    assert_eq "$(rq 'f["nb_points"]')" 20000
    assert_eq "$(rq 'f["nb_rows"]')" 20000
}

@test "sftp: while an upload is still being written, a scan leaves the growing file; the hook takes it whole once it is complete" {
    local dev="$DATA/acme/camp1/02001171"
    mkdir -p "$dev"
    # ~1.1 MB at 2 Mbit/s: about 4 s of upload
    big_file "$BATS_TEST_TMPDIR/slow.tsv" 40000
    sftp_batch -l 2000 >"$BATS_TEST_TMPDIR/sftp.out" 2>&1 3>&- <<EOF &
put "$BATS_TEST_TMPDIR/slow.tsv" "$dev/T302_slow.tsv"
EOF
    local up=$! n=0
    # wait until the upload has begun and the partial file has some rows
    while [ "$(stat -c %s "$dev/T302_slow.tsv" 2>/dev/null || echo 0)" -lt 100000 ]; do
        n=$((n + 1))
        [ "$n" -lt 200 ] || { echo "the upload did not start" >&2; cat "$BATS_TEST_TMPDIR/sftp.out" >&2; return 1; }
        sleep 0.05
    done
    # the systemd timer's scan, with the default TSV_MIN_AGE (10 s)
    run --separate-stderr env -i PATH=/usr/local/bin:/usr/bin:/bin POWERVIEW_ENV_FILE="$ENVF" \
        ${TSV_PARSER_REAL:+TSV_PARSER_REAL="$TSV_PARSER_REAL"} SFTPGO_ACTION=upload bash "$HOOK"
    assert_status 0
    local size
    size=$(stat -c %s "$dev/T302_slow.tsv")
    assert_file "$dev/T302_slow.tsv"
    assert_no_file "$dev/parsed"
    assert_no_file "$dev/error"
    assert_no_file "$OUT"
    assert_contains "$(cat "$HOOK_LOG")" "left for a later run"

    wait "$up"
    [ "$(stat -c %s "$dev/T302_slow.tsv")" -gt "$size" ]
    cmp "$BATS_TEST_TMPDIR/slow.tsv" "$dev/T302_slow.tsv"
    sftpgo_hook "$dev/T302_slow.tsv"
    assert_status 0
    assert_file "$dev/parsed/T302_slow.tsv"
    assert_eq "$(wc -l <"$OUT")" 40000 "points written"
}

@test "sftp: an upload in SFTPGo's atomic mode (hidden .sftpgo-upload.* temporary file, then rename) is never taken half-written" {
    local dev="$DATA/acme/camp1/02001171"
    big_file "$BATS_TEST_TMPDIR/a.tsv" 500
    head -c 5000 "$BATS_TEST_TMPDIR/a.tsv" >"$BATS_TEST_TMPDIR/half.tsv"
    # SFTPGo (upload_mode 1, no temp_path) writes beside the target under a hidden name ...
    run sftp_batch <<EOF
-mkdir "$DATA/acme"
-mkdir "$DATA/acme/camp1"
-mkdir "$dev"
put "$BATS_TEST_TMPDIR/half.tsv" "$dev/.sftpgo-upload.cn1a2b3c4d5e6f7g8h9i.T302_a.tsv"
EOF
    assert_status 0
    # ... and a client stalled for a minute leaves it there, old enough for any TSV_MIN_AGE
    touch -d '-1 minute' "$dev/.sftpgo-upload.cn1a2b3c4d5e6f7g8h9i.T302_a.tsv"
    run --separate-stderr env -i PATH=/usr/local/bin:/usr/bin:/bin POWERVIEW_ENV_FILE="$ENVF" \
        ${TSV_PARSER_REAL:+TSV_PARSER_REAL="$TSV_PARSER_REAL"} SFTPGO_ACTION=upload bash "$HOOK"
    assert_status 0
    assert_file "$dev/.sftpgo-upload.cn1a2b3c4d5e6f7g8h9i.T302_a.tsv"
    assert_no_file "$OUT"
    # the upload ends: the whole file under its final name, then the upload action
    run sftp_batch <<EOF
put "$BATS_TEST_TMPDIR/a.tsv" "$dev/.sftpgo-upload.cn1a2b3c4d5e6f7g8h9i.T302_a.tsv"
rename "$dev/.sftpgo-upload.cn1a2b3c4d5e6f7g8h9i.T302_a.tsv" "$dev/T302_a.tsv"
EOF
    assert_status 0
    sftpgo_hook "$dev/T302_a.tsv"
    assert_status 0
    assert_file "$dev/parsed/T302_a.tsv"
    assert_eq "$(wc -l <"$OUT")" 500 "points written"
}
