#!/usr/bin/env bats
# shellcheck disable=SC2016,SC2153  # literal $(...) in names; DATA comes from the helpers
# hooks/on-upload.sh with the spool (POWERVIEW_INGEST=spool, the default, and
# none): the upload is copied into the spool by `tsv_parser spool` and the hook
# returns at once, whatever the database does; the worker (`tsv_parser
# --spool`), started detached by the hook, by systemd or by a scan, ingests
# the copies. Hook latency with the database hung or down, what the tenant
# does to its file after the upload, concurrent hooks and scans, SIGKILL of
# the spooler and of the worker. The database is VictoriaMetrics where counts
# must survive kills and reruns (a point sent twice is stored once), the file
# sink ($OUT) elsewhere.

load helpers
load ../servers/servers

setup() {
    hook_setup
    # the default spool folder: <data folder>/../spool
    SPOOL="$BATS_TEST_TMPDIR/spool"
    CALLS="$BATS_TEST_TMPDIR/parser.calls"
}

teardown() {
    wait_workers 30 || kill_workers
    stop_servers
    show_log
}

# ------------------------------------------------------------------ helpers

# worker_pids: the pid of every worker the hook started, from its log lines.
worker_pids() {
    hook_lines | sed -nE 's/.*: worker started \(pid ([0-9]+)\).*/\1/p'
}

# ours PID: PID is a worker of this test (pids wrap around quickly on a busy
# machine: one may be another process's by now).
ours() {
    local cmd
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
    [[ $cmd == *" --spool -d $DATA "* ]]
}

# ended PID: the worker is gone (or a zombie nobody reaped yet).
ended() {
    ! ours "$1" || [ "$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# wait_workers [SECONDS]: until every worker the hook started has ended.
wait_workers() {
    local pid n
    for pid in $(worker_pids); do
        n=$((${1:-60} * 20))
        while ! ended "$pid" && [ "$n" -gt 0 ]; do
            sleep 0.05
            n=$((n - 1))
        done
        ended "$pid" || { echo "worker $pid still runs" >&2; return 1; }
    done
}

# kill_workers: the workers the hook started and that still run (a failed test).
kill_workers() {
    local pid
    for pid in $(worker_pids); do
        ! ours "$pid" || kill -KILL "$pid" 2>/dev/null || true
    done
}

# spool_left [SPOOL]: every file of the spool folder but the spool's own at
# its top (.queued, .lock, .worker.lock, .last-run.json, .data): copies,
# their .id, temporary files.
spool_left() {
    local sp=${1:-$SPOOL}
    [ -d "$sp" ] || return 0
    find "$sp" ! -type d ! -path "$sp/.queued" ! -path "$sp/.lock" ! -path "$sp/.worker.lock" \
        ! -path "$sp/.last-run.json" ! -path "$sp/.data" | LC_ALL=C sort
}

# assert_spool_empty [SPOOL]
assert_spool_empty() {
    assert_eq "$(spool_left "$@")" "" "files left in the spool"
}

# copies [SPOOL]: how many copies wait (<file>.tsv, <file>.tsv~N; nothing
# hidden, nothing in a hidden folder).
copies() {
    find "${1:-$SPOOL}" -type f \( -name '*.tsv' -o -name '*.tsv~*' \) ! -path '*/.*' 2>/dev/null | wc -l
}

# worker / scan: tsv_parser run directly, as systemd's units run it.
worker() {
    run --separate-stderr "$TSV_PARSER" --spool -d "$DATA" --env-file "$ENVF"
}
scan() {
    run --separate-stderr "$TSV_PARSER" -d "$DATA" --env-file "$ENVF"
}

# wrap_parser: POWERVIEW_TSV_PARSER becomes a wrapper that appends its
# arguments to $CALLS and, run as the worker, what it was started with to
# $CALLS.worker (its session against its pid, its descriptors), then runs
# tsv_parser.
wrap_parser() {
    local w="$BATS_TEST_TMPDIR/bin/tsv_parser-wrap"
    {
        echo '#!/bin/bash'
        printf 'printf "%%s\\n" "$*" >>%q\n' "$CALLS"
        printf 'if [ "$1" = --spool ]; then %q -I -S -c %q >>%q; fi\n' "$PYTHON" '
import os
p = os.getppid()
fds = {}
for fd in os.listdir("/proc/%d/fd" % p):
    try:
        fds[fd] = os.readlink("/proc/%d/fd/%s" % (p, fd))
    except OSError:
        pass
print("own session:", os.getsid(p) == p)
for fd in sorted(fds, key=int):
    print(fd, fds[fd])' "$CALLS.worker"
        printf 'exec %q "$@"\n' "$(realpath "$TSV_PARSER")"
    } >"$w"
    chmod +x "$w"
    sed -i "s|^POWERVIEW_TSV_PARSER=.*|POWERVIEW_TSV_PARSER=$w|" "$ENVF"
}

# use_db URL: the parser writes to VictoriaMetrics at URL (INFLUXDB_API=vm),
# not to $OUT; one second of retries, one of silence.
use_db() {
    sed -i '/^TSV_OUTPUT=/d; /^INFLUXDB_HOST=/d' "$ENVF"
    env_add INFLUXDB_API=vm "INFLUXDB_HOST=$1" TSV_RETRY_BUDGET=1 TSV_HTTP_ANSWER_TIMEOUT=1 TSV_HTTP_CONNECT_TIMEOUT=1
}

# timed_upload FILE: the hook as SFTPGo runs it, its stdout and stderr a pipe
# read to the end (a worker holding them would hold the hook); HOOK_STATUS,
# HOOK_MS (wall time, pipe included).
timed_upload() {
    local t0 t1
    t0=$(date +%s%N)
    SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$1" SFTPGO_ACTION_STATUS=1 "$HOOK" 2>&1 | cat >>"$BATS_TEST_TMPDIR/hook.out"
    HOOK_STATUS=${PIPESTATUS[0]}
    t1=$(date +%s%N)
    HOOK_MS=$(((t1 - t0) / 1000000))
}

# sorted_values: the field values in $OUT, sorted (the worker's order is the
# spool's, not the test's).
sorted_values() {
    lp_fields "$OUT" | sed 's/.*=//' | num_norm | sort -g | tr '\n' ' '
}

# assert_parsed ROOT N: N .tsv files in parsed/ folders below ROOT, each
# under its own name (none moved twice: no name.1.tsv), no .tsv left
# outside parsed/, no error/ folder.
assert_parsed() {
    assert_eq "$(find "$1" -name '*.tsv' -path '*/parsed/*' | wc -l)" "$2" "files in parsed/" || return 1
    assert_eq "$(find "$1" -name '*.[0-9].tsv' -path '*/parsed/*' | wc -l)" 0 "files moved twice" || return 1
    assert_eq "$(find "$1" -name '*.tsv' ! -path '*/parsed/*' | wc -l)" 0 "files left in the data folder" || return 1
    assert_eq "$(find "$1" -type d -name error | wc -l)" 0 "error/ folders"
}

# ------------------------------------------------------------------ modes

@test "spool (default): spooled, the worker started detached ingests it; the hook's lines; the worker's command and descriptors" {
    wrap_parser
    ok "$DEV/f.tsv" 7
    upload "$DEV/f.tsv"
    assert_status 0
    assert_quiet
    assert_log "upload '$DEV/f.tsv': running tsv_parser spool"
    assert_log "upload '$DEV/f.tsv': tsv_parser spool exit 0: spooled as "
    assert_log "upload '$DEV/f.tsv': worker started (pid "
    wait_workers
    assert_values 7
    assert_no_file "$DEV/f.tsv"
    assert_file "$DEV/parsed/f.tsv"
    assert_spool_empty
    # the worker's output is in the log, and names the original
    run grep -c "tsv_parser: $DEV/f.tsv: success" "$LOG"
    assert_eq "$output" 1
    # exactly the contract's commands, the settings file passed on
    assert_eq "$(cat "$CALLS")" "spool -d $DATA --env-file $ENVF $DEV/f.tsv"$'\n'"--spool -d $DATA --env-file $ENVF"
    # detached: a session of its own, stdin /dev/null, stdout and stderr the
    # log, no descriptor of the hook's (bats' fd 3 included): 255 is the
    # wrapper's own script
    assert_eq "$(cat "$CALLS.worker")" "own session: True
0 /dev/null
1 $LOG
2 $LOG
255 $BATS_TEST_TMPDIR/bin/tsv_parser-wrap"
}

@test "spool: the hook does not wait for the worker (its pipes are free at once)" {
    # a worker that takes 3 s: the database refuses (3 s of retries)
    use_db "http://127.0.0.1:$(free_port)"
    ok "$DEV/f.tsv" 1
    timed_upload "$DEV/f.tsv"
    assert_eq "$HOOK_STATUS" 0
    echo "# hook returned in $HOOK_MS ms, the worker still running: $(ended "$(worker_pids)" && echo no || echo yes)" >&3
    [ "$HOOK_MS" -lt 2000 ]
    wait_workers
    # database down: the copy and the original stay
    assert_eq "$(copies)" 1
    assert_file "$DEV/f.tsv"
    assert_contains "$(hook_lines)" "upload '$DEV/f.tsv': worker started"
}

@test "none: spooled, no worker started; a worker run (the systemd unit) ingests the copies" {
    wrap_parser
    env_add POWERVIEW_INGEST=none
    ok "$DEV/a.tsv" 1
    ok "$DEV/b.tsv" 2
    upload "$DEV/a.tsv"
    assert_status 0
    assert_quiet
    upload "$DEV/b.tsv"
    assert_status 0
    assert_log "upload '$DEV/b.tsv': no worker started (POWERVIEW_INGEST=none): the systemd path unit or the next scan ingests it"
    assert_eq "$(worker_pids)" ""
    assert_eq "$(grep -c -- '^--spool' "$CALLS")" 0 "worker runs"
    assert_eq "$(grep -c '^spool ' "$CALLS")" 2 "spool runs"
    assert_eq "$(copies)" 2
    assert_file "$DEV/a.tsv"
    assert_file "$DEV/b.tsv"
    assert_no_file "$OUT"
    # .queued, which the path unit watches, is there
    assert_file "$SPOOL/.queued"
    worker
    assert_status 0
    assert_values 1 2
    assert_parsed "$DATA" 2
    assert_spool_empty
}

@test "POWERVIEW_INGEST not spool, sync or none: ERROR, 78, nothing run; empty is the default" {
    ok "$DEV/f.tsv"
    for v in Sync SPOOL bogus 'spool ' '$(touch pwned)'; do
        hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$DEV/f.tsv" POWERVIEW_INGEST="$v"
        assert_status 78
        assert_quiet
        assert_log "ERROR: POWERVIEW_INGEST is '$v': must be spool, sync or none; nothing done"
    done
    # from the settings file too, and for a scan as well
    env_add POWERVIEW_INGEST=async
    hook SFTPGO_ACTION=upload
    assert_status 78
    assert_log "ERROR: POWERVIEW_INGEST is 'async': must be spool, sync or none; nothing done"
    assert_eq "$(grep -c 'running tsv_parser' "$LOG")" 0
    assert_file "$DEV/f.tsv"
    assert_no_file "$SPOOL"
    assert_no_pwned
    # mkdir does not use it
    mkdir_hook "$DATA/acme/camp2"
    assert_status 0
    # empty in the environment: the default, spool
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$DEV/f.tsv" POWERVIEW_INGEST=
    assert_status 0
    assert_log "upload '$DEV/f.tsv': worker started"
}

@test "sync: the file is ingested before the hook returns, no spool" {
    env_add POWERVIEW_INGEST=sync
    ok "$DEV/f.tsv" 4
    upload "$DEV/f.tsv"
    assert_status 0
    assert_values 4
    assert_file "$DEV/parsed/f.tsv"
    assert_log "upload '$DEV/f.tsv': tsv_parser exit 0: 1 file: 1 ingested"
    assert_no_file "$SPOOL"
    assert_eq "$(worker_pids)" ""
}

@test "spool statuses: 65 (hidden file) is 0; 73 (spool not writable) is 0 with an ERROR; 78 (spool inside the data folder) is 78" {
    ok "$DEV/.hidden.tsv" 1
    upload "$DEV/.hidden.tsv"
    assert_status 0
    assert_quiet
    assert_log "upload '$DEV/.hidden.tsv': tsv_parser spool exit 65: not a file the parser takes: not spooled"
    assert_file "$DEV/.hidden.tsv"

    ok "$DEV/f.tsv" 2
    # the spool's parent is a file: the spool cannot be made
    : >"$BATS_TEST_TMPDIR/afile"
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$DEV/f.tsv" TSV_SPOOL_DIR="$BATS_TEST_TMPDIR/afile/spool"
    assert_status 0
    assert_log "ERROR: upload '$DEV/f.tsv': tsv_parser spool exit 73: the spool cannot be written: the file stays in the data folder for the next scan"
    assert_file "$DEV/f.tsv"

    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$DEV/f.tsv" TSV_SPOOL_DIR="$DATA/spool"
    assert_status 78
    assert_log "upload '$DEV/f.tsv': tsv_parser spool exit 78: configuration error"
    assert_file "$DEV/f.tsv"
    assert_no_file "$DATA/spool"
    assert_eq "$(worker_pids)" ""
    assert_no_file "$OUT"
}

# ------------------------------------------------------------------ latency

# latency URL LABEL: 50 uploads against the database at URL: each hook run
# returns 0 before the database's limits (answer timeout and retry budget,
# 1 s each) could have run out, so it never waited on it (the times are
# printed; speed is bench/'s business, a loaded machine must not fail this);
# the copies wait; then VictoriaMetrics comes
# back at the same settings' place and one run ($RERUN: worker or scan)
# ingests every file exactly once.
latency() {
    local url=$1 label=$2 f ms max=0 sum=0 all=()
    use_db "$url"
    mkmany "$DEV" 50 3
    for f in "$DEV"/f*.tsv; do
        timed_upload "$f"
        assert_eq "$HOOK_STATUS" 0 "hook status for $f"
        all+=("$HOOK_MS")
        sum=$((sum + HOOK_MS))
        [ "$HOOK_MS" -le "$max" ] || max=$HOOK_MS
    done
    echo "# $label: 50 uploads, hook wall time (ms): max $max, mean $((sum / 50)), median $(printf '%s\n' "${all[@]}" | sort -n | sed -n 25p); all: ${all[*]}" >&3
    [ "$max" -lt 1000 ] || { echo "slowest hook run: $max ms" >&2; return 1; }
    wait_workers 120
    assert_eq "$(copies)" 50 "copies waiting"
    assert_eq "$(find "$DEV" -maxdepth 1 -name '*.tsv' | wc -l)" 50 "originals in place"
    echo "# $label: $(worker_pids | wc -l) workers started, $(grep -c 'another worker is running' "$LOG") found another running" >&3

    start_vm "$BATS_TEST_TMPDIR/vm"
    sed -i "s|^INFLUXDB_HOST=.*|INFLUXDB_HOST=$VM_URL|" "$ENVF"
    if [ "$RERUN" = worker ]; then worker; else scan; fi
    assert_status 0
    assert_eq "$(vm_count '{__name__=~"electrical_.+"}')" 150 "points in VictoriaMetrics"
    assert_parsed "$DATA" 50
    assert_spool_empty
}

@test "latency: 50 uploads with the database hung (accepts, never answers): no hook waits on it; back up, one worker run stores every point once" {
    command -v victoria-metrics >/dev/null || skip "victoria-metrics not installed"
    start_hung "$BATS_TEST_TMPDIR/hung"
    RERUN=worker latency "$HUNG_URL" "database hung"
}

@test "latency: 50 uploads with the database down (refused): no hook waits on it; back up, one scan stores every point once" {
    command -v victoria-metrics >/dev/null || skip "victoria-metrics not installed"
    RERUN=scan latency "http://127.0.0.1:$(free_port)" "database down"
}

# ------------------------------------------------------------------ the tenant's file

@test "tenant truncates, rewrites (same inode) or replaces its file after the upload: the upload's content is stored, the new one as its own upload, nothing twice" {
    env_add POWERVIEW_INGEST=none
    local ino
    ok "$DEV/a.tsv" 1
    ok "$DEV/b.tsv" 2
    ok "$DEV/c.tsv" 3
    upload "$DEV/a.tsv"
    assert_status 0
    : >"$DEV/a.tsv"
    upload "$DEV/b.tsv"
    assert_status 0
    ino=$(stat -c %i "$DEV/b.tsv")
    # two points now: another size, whatever the clock's grain
    mkfile "$DEV/b.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 11:00:00\t20' '05/01/26 11:10:00\t21'
    assert_eq "$(stat -c %i "$DEV/b.tsv")" "$ino" "b.tsv rewritten in place"
    upload "$DEV/c.tsv"
    assert_status 0
    rm "$DEV/c.tsv"
    mkfile "$DEV/c.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 12:00:00\t30' '05/01/26 12:10:00\t31'
    cp "$DEV/b.tsv" "$BATS_TEST_TMPDIR/b.new"
    cp "$DEV/c.tsv" "$BATS_TEST_TMPDIR/c.new"

    worker
    assert_status 0
    # what was uploaded, not what is there now
    assert_eq "$(sorted_values)" "1.0 2.0 3.0 " "values stored"
    # the files there now are not the uploads: none is moved
    assert_file "$DEV/a.tsv"
    assert_eq "$(stat -c %s "$DEV/a.tsv")" 0 "a.tsv size"
    cmp "$DEV/b.tsv" "$BATS_TEST_TMPDIR/b.new"
    cmp "$DEV/c.tsv" "$BATS_TEST_TMPDIR/c.new"
    assert_no_file "$DEV/parsed/a.tsv"
    assert_no_file "$DEV/parsed/b.tsv"
    assert_no_file "$DEV/parsed/c.tsv"
    assert_spool_empty

    # the new contents, uploaded: each ingested as its own upload
    ok "$DEV/a.tsv" 10
    for f in a b c; do
        upload "$DEV/$f.tsv"
        assert_status 0
    done
    worker
    assert_status 0
    assert_eq "$(sorted_values)" "1.0 2.0 3.0 10.0 20.0 21.0 30.0 31.0 " "values stored"
    assert_parsed "$DATA" 3
    cmp "$DEV/parsed/b.tsv" "$BATS_TEST_TMPDIR/b.new"
    cmp "$DEV/parsed/c.tsv" "$BATS_TEST_TMPDIR/c.new"
    assert_spool_empty
    # nothing left for a scan: nothing doubles
    scan
    assert_status 0
    assert_eq "$(wc -l <"$OUT")" 8 "points written"
}

# ------------------------------------------------------------------ concurrency

@test "hooks, scans (the timer) and workers at once: each file ingested once, every original in parsed/" {
    local i d pids=() st bad=0 expect=()
    for i in $(seq 0 23); do
        d="$DATA/acme/camp$((i % 3))/$SN"
        mkfile "$d/f$i.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" "05/01/26 10:$(printf %02d "$i"):00\t$i"
        expect+=("$i.0")
    done
    for i in $(seq 0 23); do
        d="$DATA/acme/camp$((i % 3))/$SN"
        SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$d/f$i.tsv" "$HOOK" >/dev/null 2>&1 &
        pids+=($!)
        if [ $((i % 8)) -eq 3 ]; then
            # the timer's scan, and a worker of the path unit
            SFTPGO_ACTION=upload "$HOOK" >/dev/null 2>&1 &
            pids+=($!)
            "$TSV_PARSER" --spool -q -d "$DATA" --env-file "$ENVF" >/dev/null 2>&1 &
            pids+=($!)
        fi
    done
    for i in "${pids[@]}"; do
        st=0
        wait "$i" || st=$?
        [ "$st" -eq 0 ] || bad=$((bad + 1))
    done
    assert_eq "$bad" 0 "hooks, scans or workers with a status other than 0"
    wait_workers
    echo "# $(worker_pids | wc -l) workers started by the hooks, $(grep -c 'another worker is running' "$LOG") found another running; copies left once all ended: $(copies)" >&3
    assert_eq "$(sorted_values)" "$(printf '%s\n' "${expect[@]}" | sort -g | tr '\n' ' ')" "values stored"
    assert_parsed "$DATA" 24
    assert_spool_empty
}

# ------------------------------------------------------------------ SIGKILL

# rnd_sleep MS: sleep a random time in [0, MS] milliseconds.
rnd_sleep() {
    local ms=$(((RANDOM * 32768 + RANDOM) % ($1 + 1)))
    sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
}

# usec: the wall clock in microseconds
usec() {
    local t=${EPOCHREALTIME/./}
    echo "${t#0}"
}

@test "SIGKILL of tsv_parser spool and of the worker at random moments, then a scan: exact totals, no copy lost or orphaned, no original stranded" {
    command -v victoria-metrics >/dev/null || skip "victoria-metrics not installed"
    start_vm "$BATS_TEST_TMPDIR/vm"
    use_db "$VM_URL"
    env_add TSV_BATCH_LINES=20
    local rounds=${PV_KILL_ROUNDS:-10} r data sp camp pid rc t0 swin wwin
    local spool_killed=0 worker_killed=0 reruns=0 where=()

    # calibration: one spool and one worker run of the same shape
    mkmany "$BATS_TEST_TMPDIR/k0/data/acme/k0/$SN" 10 60
    t0=$(usec)
    "$TSV_PARSER" spool -q -d "$BATS_TEST_TMPDIR/k0/data" --env-file "$ENVF" "$BATS_TEST_TMPDIR/k0/data/acme/k0/$SN"/*.tsv
    swin=$((($(usec) - t0) / 1000 + 1))
    t0=$(usec)
    "$TSV_PARSER" --spool -q -d "$BATS_TEST_TMPDIR/k0/data" --env-file "$ENVF"
    wwin=$((($(usec) - t0) / 1000 + 1))

    for r in $(seq 1 "$rounds"); do
        data="$BATS_TEST_TMPDIR/k$r/data"
        sp="$BATS_TEST_TMPDIR/k$r/spool"
        camp="k$r"
        mkmany "$data/acme/$camp/$SN" 10 60

        "$TSV_PARSER" spool -q -d "$data" --env-file "$ENVF" "$data/acme/$camp/$SN"/*.tsv >/dev/null 2>&1 3>&- &
        pid=$!
        rnd_sleep "$swin"
        kill -KILL "$pid" 2>/dev/null || true
        rc=0
        wait "$pid" || rc=$?
        [ "$rc" -ne 137 ] || spool_killed=$((spool_killed + 1))

        "$TSV_PARSER" --spool -q -d "$data" --env-file "$ENVF" >/dev/null 2>&1 3>&- &
        pid=$!
        rnd_sleep "$wwin"
        kill -KILL "$pid" 2>/dev/null || true
        rc=0
        wait "$pid" || rc=$?
        if [ "$rc" -eq 137 ]; then
            worker_killed=$((worker_killed + 1))
            where+=("$(copies "$sp")c/$(find "$data" -path '*/parsed/*' -name '*.tsv' | wc -l)f")
        fi

        rerun_ok 3 -d "$data" --env-file "$ENVF" || { echo "round $r" >&2; return 1; }
        reruns=$((reruns + TRIES))

        assert_eq "$(vm_count "{__name__=~\"electrical_.+\",campaign=\"$camp\"}")" 600 "round $r: points in VictoriaMetrics"
        assert_parsed "$data" 10
        assert_spool_empty "$sp"
    done
    echo "# $rounds rounds, spool killed in [0, $swin ms] $spool_killed times, worker killed in [0, $wwin ms] $worker_killed times (copies waiting/files moved then: ${where[*]:-none}); $reruns reruns" >&3
}
