#!/usr/bin/env bats
# Safe ingestion under concurrency and crashes, against a real VictoriaMetrics
# (INFLUXDB_API=vm): runs started at once never ingest a file twice, a run
# killed with SIGKILL at any point is completed by the next one, a scan leaves
# files younger than TSV_MIN_AGE, and a file locked by someone else is skipped
# quietly (issue 5, "Safe ingestion").
#
# The 8-runs test goes through hooks/on-upload.sh in scan mode (as SFTPGo or
# the systemd timer would call it) when the hook exists, else through
# tsv_parser -d directly.

load helpers
load ../servers/servers

HOOK="$BATS_TEST_DIRNAME/../../hooks/on-upload.sh"

setup_file() {
    start_vm "$BATS_FILE_TMPDIR/vm"
}

setup() {
    common_setup
    export INFLUXDB_API=vm INFLUXDB_HOST="$VM_URL" TSV_RETRY_BUDGET=1
    # every test has its own campaigns: counts do not mix
    CAMP="c$BATS_TEST_NUMBER"
}

teardown() {
    # a lock holder left by a failed test
    if [ -n "${LOCK_PID:-}" ]; then
        kill $(pgrep -P "$LOCK_PID") "$LOCK_PID" 2>/dev/null || true
        wait "$LOCK_PID" 2>/dev/null || true
    fi
}

# gen_files ROOT SPEC...: writes plain V002 one-channel files; SPEC is
# REL_PATH:ROWS:K. The master serial is the device folder's name; row j is at
# 2026-01-05 00:00 (Europe/Paris) + K hours + j minutes, value K + j/4: every
# row is a distinct point of its file.
gen_files() {
    py -c '
import datetime, os, sys
root = sys.argv[1]
base = datetime.datetime(2026, 1, 5)
for spec in sys.argv[2:]:
    rel, rows, k = spec.rsplit(":", 2)
    rows, k = int(rows), int(k)
    path = os.path.join(root, rel)
    sn = rel.split("/")[2]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    out = [sn + "\t" + sn, "MV_T302_V002\tPh 1 V"]
    for j in range(rows):
        t = base + datetime.timedelta(hours=k, minutes=j)
        out.append(t.strftime("%d/%m/%y %H:%M:%S") + "\t" + repr(k + j / 4))
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")
' "$@"
}

# vm_points CAMPAIGN_REGEX: electrical samples stored for these campaigns
vm_points() {
    vm_count "{__name__=~\"electrical_.+\",campaign=~\"$1\"}"
}

# reports_sum DIR KEY: KEY summed over every run report in DIR
reports_sum() {
    py -c '
import glob, json, os, sys
print(sum(json.load(open(p))[sys.argv[2]] for p in glob.glob(os.path.join(sys.argv[1], "tsv_parser_*.json"))))
' "$1" "$2"
}

# reports_successes DIR: every file_path reported as success, one per line, sorted
reports_successes() {
    py -c '
import glob, json, os, sys
for p in glob.glob(os.path.join(sys.argv[1], "tsv_parser_*.json")):
    for f in json.load(open(p))["files"]:
        if f["status"] == "success":
            print(f["file_path"])
' "$1" | LC_ALL=C sort
}

# assert_all_parsed ROOT REL...: each file is in parsed/ beside it, under its
# own name (no name.1.tsv: never moved twice); no .tsv left outside parsed/;
# no error/ folder.
assert_all_parsed() {
    local root=$1 rel d b n
    shift
    for rel in "$@"; do
        d=$(dirname "$root/$rel")
        b=$(basename "$rel" .tsv)
        assert_file "$d/parsed/$b.tsv" || return 1
        assert_no_file "$d/parsed/$b.1.tsv" || return 1
    done
    n=$(find "$root" -name '*.tsv' -path '*/parsed/*' | wc -l)
    assert_eq "$n" "$#" "files in parsed/" || return 1
    assert_eq "$(find "$root" -name '*.tsv' ! -path '*/parsed/*' | wc -l)" 0 "files left pending" || return 1
    assert_eq "$(find "$root" -type d -name error | wc -l)" 0 "error/ folders" || return 1
}

@test "8 runs started at once over 50 files: each file ingested exactly once" {
    local comps=(acme bertin) devs=(02001171 02001172 02001173 02001174 02001175)
    local specs=() rels=() expected=0 i rel rows mode
    for i in $(seq 0 49); do
        rel="${comps[i % 2]}/$CAMP-k$((i % 5))/${devs[(i / 5) % 5]}/T302_$i.tsv"
        rows=$((3 + i % 7))
        specs+=("$rel:$rows:$i")
        rels+=("$rel")
        expected=$((expected + rows))
    done
    gen_files "$DATA" "${specs[@]}"

    local envf="$BATS_TEST_TMPDIR/powerview.env" log="$BATS_TEST_TMPDIR/uploads.log"
    cat >"$envf" <<EOF
POWERVIEW_DATA_DIR=$DATA
POWERVIEW_LOG_FILE=$log
POWERVIEW_TSV_PARSER=$TSV_PARSER
INFLUXDB_API=vm
INFLUXDB_HOST=$VM_URL
TSV_MIN_AGE=0
TSV_RETRY_BUDGET=1
TSV_REPORT_DIR=$TSV_REPORT_DIR
EOF
    if [ -f "$HOOK" ]; then mode=hook; else mode=parser; fi

    # all eight wait on one start signal, then go
    local go="$BATS_TEST_TMPDIR/go" pids=() n
    for n in 1 2 3 4 5 6 7 8; do
        (
            while [ ! -e "$go" ]; do sleep 0.005; done
            if [ "$mode" = hook ]; then
                # as SFTPGo's post-disconnect set-up or the systemd timer: no path, settings from the file only
                exec env -u INFLUXDB_API -u INFLUXDB_HOST -u TSV_REPORT_DIR -u TSV_MIN_AGE \
                    SFTPGO_ACTION=upload POWERVIEW_ENV_FILE="$envf" bash "$HOOK"
            else
                exec "$TSV_PARSER" -d "$DATA"
            fi
        ) >"$BATS_TEST_TMPDIR/run$n.out" 2>"$BATS_TEST_TMPDIR/run$n.err" 3>&- &
        pids+=($!)
    done
    touch "$go"
    local failed=0
    for n in 1 2 3 4 5 6 7 8; do
        if ! wait "${pids[n - 1]}"; then
            echo "run $n ($mode) failed" >&2
            cat "$BATS_TEST_TMPDIR/run$n.err" >&2
            failed=1
        fi
    done
    [ "$failed" -eq 0 ]

    assert_all_parsed "$DATA" "${rels[@]}"
    assert_eq "$(vm_points "$CAMP-.+")" "$expected" "points in VictoriaMetrics"
    # across the runs' reports, each file counted once as success; skipped files count nowhere
    assert_eq "$(reports_sum "$TSV_REPORT_DIR" nb_files_success)" 50 "sum of nb_files_success"
    assert_eq "$(reports_sum "$TSV_REPORT_DIR" nb_files_total)" 50 "sum of nb_files_total"
    assert_eq "$(reports_sum "$TSV_REPORT_DIR" nb_points_total)" "$expected" "sum of nb_points_total"
    assert_eq "$(reports_successes "$TSV_REPORT_DIR" | uniq -d)" "" "files reported as success twice"
    assert_eq "$(reports_successes "$TSV_REPORT_DIR" | wc -l)" 50 "files reported as success"
    # the meta series: one tsv_parser_file point per file ingested
    assert_eq "$(vm_count "{__name__=\"tsv_parser_file_nb_points\",campaign=~\"$CAMP-.+\",status=\"success\"}")" 50 \
        "tsv_parser_file success points"
    if [ "$mode" = hook ]; then
        [ -s "$log" ] || { echo "the hook wrote nothing to $log" >&2; return 1; }
    fi
    # how the work was shared: files ingested by each run, files each run skipped
    local shares
    shares=$(py -c '
import glob, json, os, sys
runs = [json.load(open(p))["files"] for p in sorted(glob.glob(os.path.join(sys.argv[1], "tsv_parser_*.json")))]
ok = [sum(f["status"] == "success" for f in r) for r in runs]
sk = [sum(f["status"] == "skipped" for f in r) for r in runs]
print("%d reports; ingested per run %s; skipped as another run'"'"'s %d" % (len(runs), ok, sum(sk)))
' "$TSV_REPORT_DIR")
    echo "# $mode mode: $shares" >&3
}

# kill_round_files DATA CAMP: the 10 files of a SIGKILL round; sets RELS and
# EXPECTED (their points). Four have 2 000 rows: with TSV_BATCH_LINES=100
# their writes take 20 batches each.
kill_round_files() {
    local data=$1 camp=$2 i rel rows specs=()
    RELS=()
    EXPECTED=0
    for i in $(seq 0 9); do
        rel="acme/$camp/0200117$((i % 3))/T302_$i.tsv"
        if [ $((i % 3)) -eq 0 ]; then rows=2000; else rows=$((5 + i * 7)); fi
        specs+=("$rel:$rows:$i")
        RELS+=("$rel")
        EXPECTED=$((EXPECTED + rows))
    done
    mkdir -p "$data"
    gen_files "$data" "${specs[@]}"
}

# usec: the wall clock in microseconds
usec() {
    local t=${EPOCHREALTIME/./}
    echo "${t#0}"
}

@test "SIGKILL at random points, then reruns: every file settled, exact points, nothing counted twice" {
    export TSV_BATCH_LINES=100
    # 15 rounds; 5 under the valgrind wrapper (TSV_PARSER_REAL set), where a run takes seconds
    local rounds=${PV_KILL_ROUNDS:-$([ -n "${TSV_PARSER_REAL:-}" ] && echo 5 || echo 15)}
    local r data reports camp pid rc t0 window ms
    local killed=0 finished=0 temps=0 reruns=0 where=()

    # calibration: one whole run of the same shape; kills land in [0, its duration]
    # (about 150 ms here, seconds under valgrind)
    kill_round_files "$BATS_TEST_TMPDIR/k0/data" "$CAMP-r0"
    t0=$(usec)
    TSV_REPORT_DIR="$BATS_TEST_TMPDIR/k0/reports" run_parser -d "$BATS_TEST_TMPDIR/k0/data"
    assert_status 0
    window=$((($(usec) - t0) / 1000))

    for r in $(seq 1 "$rounds"); do
        data="$BATS_TEST_TMPDIR/k$r/data"
        reports="$BATS_TEST_TMPDIR/k$r/reports"
        camp="$CAMP-r$r"
        kill_round_files "$data" "$camp"

        TSV_REPORT_DIR="$reports" "$TSV_PARSER" -d "$data" >/dev/null 2>"$BATS_TEST_TMPDIR/k$r/killed.err" 3>&- &
        pid=$!
        ms=$(((RANDOM * 32768 + RANDOM) % (window + 1)))
        sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
        kill -9 "$pid" 2>/dev/null || true
        rc=0
        wait "$pid" || rc=$?
        if [ "$rc" -eq 137 ]; then
            killed=$((killed + 1))
            # where the kill landed: files already moved, points already stored
            where+=("$(find "$data" -path '*/parsed/*' -name '*.tsv' | wc -l)f/$(vm_points "$camp")p")
        else
            finished=$((finished + 1))
        fi

        # stray temporary report files: a kill between mkostemp and rename leaves one
        temps=$((temps + $(find "$reports" -name '.tsv_parser_*' 2>/dev/null | wc -l)))
        # ... and it must not stand in the way of the next run: plant one
        [ "$r" -ne 1 ] || mkfile "$reports/.tsv_parser_2026-01-01T00-00-00.000001+00-00.json.Ab12Cd" '{"files": ['

        TSV_REPORT_DIR="$reports" rerun_ok 3 -d "$data" || { echo "round $r" >&2; return 1; }
        reruns=$((reruns + TRIES))

        assert_all_parsed "$data" "${RELS[@]}"
        assert_eq "$(vm_points "$camp")" "$EXPECTED" "round $r: points in VictoriaMetrics"
        assert_eq "$(reports_successes "$reports" | uniq -d)" "" "round $r: files reported as success twice"
        # a file reported nowhere was settled by the killed run before it wrote its report
        [ "$(reports_successes "$reports" | wc -l)" -le 10 ]
    done
    echo "# $rounds rounds, kills in [0, $window ms]: $killed killed mid-run (files moved/points stored then: ${where[*]:-none}), $finished finished first; $reruns reruns; $temps temporary report files left" >&3
}

@test "TSV_MIN_AGE: a scan leaves a fresh file for later, takes it once older; -t ignores the age" {
    mkfile "$DEV/a.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1' '05/01/26 10:10:00\t2'
    TSV_MIN_AGE=60 parse_data
    assert_status 0
    assert_contains "$stderr" "1 files modified in the last 60 s left for a later run"
    assert_file "$DEV/a.tsv"
    assert_no_file "$OUT"
    assert_no_file "$TSV_REPORT_DIR"

    # two minutes old: taken; a fresh one beside it stays
    touch -d '-2 minutes' "$DEV/a.tsv"
    mkfile "$DEV/b.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 11:00:00\t3'
    TSV_MIN_AGE=60 parse_data
    assert_status 0
    assert_contains "$stderr" "1 files modified in the last 60 s left for a later run"
    assert_file "$DEV/parsed/a.tsv"
    assert_file "$DEV/b.tsv"
    assert_eq "$(wc -l <"$OUT")" 2 "points written"
    assert_eq "$(rq '[x["file_path"] for x in r["files"]]')" "[\"$DEV/a.tsv\"]"

    # named with -t: the age does not matter
    TSV_MIN_AGE=60 parse_file "$DEV/b.tsv"
    assert_status 0
    assert_file "$DEV/parsed/b.tsv"
    assert_eq "$(wc -l <"$OUT")" 3 "points written"
}

@test "TSV_MIN_AGE: 10 s by default, and read from the --env-file" {
    unset TSV_MIN_AGE
    mkfile "$DEV/a.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1'
    touch -d '-5 seconds' "$DEV/a.tsv"
    parse_data
    assert_status 0
    assert_contains "$stderr" "1 files modified in the last 10 s left for a later run"
    assert_file "$DEV/a.tsv"

    touch -d '-30 seconds' "$DEV/a.tsv"
    printf 'TSV_MIN_AGE=60\n' >"$BATS_TEST_TMPDIR/.env"
    parse_data --env-file "$BATS_TEST_TMPDIR/.env"
    assert_status 0
    assert_contains "$stderr" "1 files modified in the last 60 s left for a later run"
    assert_file "$DEV/a.tsv"

    parse_data
    assert_status 0
    assert_file "$DEV/parsed/a.tsv"
}

@test "a file locked by another process is skipped quietly, stays in place, and is taken by the next run" {
    mkfile "$DEV/a.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1'
    mkfile "$DEV/b.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 11:00:00\t2'
    flock "$DEV/a.tsv" sleep 5 >/dev/null 2>&1 3>&- &
    LOCK_PID=$!
    local n=0
    while flock -n "$DEV/a.tsv" true; do
        n=$((n + 1))
        [ "$n" -lt 250 ] || { echo "flock(1) did not take the lock" >&2; return 1; }
        sleep 0.02
    done

    parse_data
    assert_status 0
    assert_eq "$(rq '[(x["file_path"], x["status"]) for x in r["files"]]')" \
        "[[\"$DEV/a.tsv\", \"skipped\"], [\"$DEV/b.tsv\", \"success\"]]"
    assert_eq "$(rq 'r["nb_files_total"]')" 1 "nb_files_total"
    assert_eq "$(rq 'r["nb_files_success"]')" 1 "nb_files_success"
    assert_eq "$(rq 'r["nb_files_failed"]')" 0 "nb_files_failed"
    assert_file "$DEV/a.tsv"
    assert_no_file "$DEV/parsed/a.tsv"
    assert_file "$DEV/parsed/b.tsv"
    assert_no_file "$DEV/error"
    # quietly: no warning, no error
    case "$stderr" in *"[WARNING]"* | *"[ERROR]"*) show_run >&2; return 1 ;; esac
    assert_eq "$(wc -l <"$OUT")" 1 "points written"

    # named with -t, the same
    parse_file "$DEV/a.tsv"
    assert_status 0
    assert_eq "$(rq 'f["status"]')" skipped
    assert_eq "$(rq 'r["nb_files_total"]')" 0 "nb_files_total"
    assert_file "$DEV/a.tsv"

    # released: the next run takes it
    kill $(pgrep -P "$LOCK_PID") "$LOCK_PID" 2>/dev/null || true
    wait "$LOCK_PID" 2>/dev/null || true
    LOCK_PID=
    parse_data
    assert_status 0
    assert_eq "$(rq '[(x["file_path"], x["status"]) for x in r["files"]]')" "[[\"$DEV/a.tsv\", \"success\"]]"
    assert_file "$DEV/parsed/a.tsv"
    assert_eq "$(wc -l <"$OUT")" 2 "points written"
}
