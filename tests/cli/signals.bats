#!/usr/bin/env bats
# Clean stops: SIGINT and SIGTERM end a run after the file in progress, with
# a report whose status is "interrupted" and the exit status a shell expects
# (130, 143); a later run finishes the work with no line written twice and
# none lost. A second signal stops at once.

load helpers

setup() {
    common_setup
}

# files N: N files of 2 channels x 50 rows below $DATA
files() {
    : "${DATA:?no data folder}"
    py - "$1" "$DATA" <<'EOF'
import os, sys
n, root = int(sys.argv[1]), sys.argv[2]
for k in range(n):
    d = os.path.join(root, "acme", "c%d" % (k % 4), "02001171")
    os.makedirs(d, exist_ok=True)
    rows = "".join("05/01/26 %02d:%02d:00\t%d\t%d\n" % (10 + m // 60, m % 60, k, m) for m in range(50))
    with open(os.path.join(d, "f%04d.tsv" % k), "w") as f:
        f.write("02001171\t02001171\t02001171\nMV_T302_V002\tPh 1 V\tVoie1 W\n" + rows)
EOF
}

last_report_status() { rq 'r["status"]'; }

# started PID: wait until the run has begun (its report is being written) or ended:
# a signal before that finds no handler yet, and kills the command as it would any
started() {
    local i
    for i in $(seq 1 400); do
        [ -z "$(ls -A "$TSV_REPORT_DIR" 2>/dev/null)" ] || return 0
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.025
    done
}

# blocked_writing PID: wait (10 s at most) until PID sleeps writing to a full pipe
blocked_writing() {
    local i
    for i in $(seq 1 200); do
        case $(cat "/proc/$1/wchan" 2>/dev/null) in
        *pipe_write*) return 0 ;;
        esac
        sleep 0.05
    done
    echo "process $1 never blocked on its output" >&2
    return 1
}

@test "SIGINT and SIGTERM at random moments, then reruns: exit 130/143, report 'interrupted', every line once" {
    local round sig pid st want_total
    files 150
    want_total=$((150 * 100))
    for round in $(seq 1 12); do
        [ -n "$(find "$DATA" -name 'f*.tsv' -not -path '*/parsed/*' -print -quit)" ] || break
        rm -rf "$TSV_REPORT_DIR"
        if [ $((round % 2)) -eq 0 ]; then sig=INT; else sig=TERM; fi
        "$TSV_PARSER" -d "$DATA" -o "$OUT" 2>"$BATS_TEST_TMPDIR/stderr" &
        pid=$!
        started "$pid"
        sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
        kill -s "$sig" "$pid" 2>/dev/null || true
        st=0
        wait "$pid" || st=$?
        case $st in
        0) ;;
        130 | 143)
            [ "$st" -eq "$([ $sig = INT ] && echo 130 || echo 143)" ]
            assert_eq "$(last_report_status)" interrupted "round $round"
            assert_contains "$(cat "$BATS_TEST_TMPDIR/stderr")" "run interrupted by signal"
            ;;
        *)
            cat "$BATS_TEST_TMPDIR/stderr" >&2
            echo "round $round: exit $st" >&2
            return 1
            ;;
        esac
    done
    parse_data
    assert_status 0
    # every file once in parsed/, every line once in the output
    assert_eq "$(find "$DATA" -path '*/parsed/*' -name 'f*.tsv' | wc -l)" 150
    assert_eq "$(find "$DATA" -name 'f*.tsv' -not -path '*/parsed/*' | wc -l)" 0
    assert_eq "$(wc -l <"$OUT")" "$want_total"
    assert_eq "$(sort "$OUT" | uniq -d | wc -l)" 0
}

@test "a signal while the output blocks: the file in progress finishes, the others wait, exit 130" {
    files 20
    # a FIFO holds the run at its output until the signal has come
    mkfifo "$BATS_TEST_TMPDIR/pipe"
    "$TSV_PARSER" -d "$DATA" -o "$BATS_TEST_TMPDIR/pipe" 2>"$BATS_TEST_TMPDIR/stderr" &
    pid=$!
    exec 5<"$BATS_TEST_TMPDIR/pipe" # opening the output for reading lets the run open it
    blocked_writing "$pid"
    kill -INT "$pid"
    cat <&5 >"$BATS_TEST_TMPDIR/sent.lp"
    exec 5<&-
    st=0
    wait "$pid" || st=$?
    assert_eq "$st" 130
    assert_eq "$(rq 'r["status"]')" interrupted
    # the file in progress had its second of grace: it finished, the others wait
    assert_eq "$(rq 'r["nb_files_success"]')" "$(find "$DATA" -path '*/parsed/*' -name '*.tsv' | wc -l)"
    assert_eq "$(find "$DATA" -name 'f*.tsv' -not -path '*/parsed/*' | wc -l)" "$((20 - $(rq 'r["nb_files_success"]')))"
    [ "$(rq 'r["nb_files_success"]')" -lt 20 ]
    assert_eq "$(wc -l <"$BATS_TEST_TMPDIR/sent.lp")" "$(($(rq 'r["nb_files_success"]') * 100))"
}

@test "a second signal stops at once: killed by it, no report made whole" {
    files 20
    # the run blocks writing to a FIFO nobody reads: the first signal cannot end it
    mkfifo "$BATS_TEST_TMPDIR/pipe"
    "$TSV_PARSER" -d "$DATA" -o "$BATS_TEST_TMPDIR/pipe" 2>"$BATS_TEST_TMPDIR/stderr" &
    pid=$!
    exec 5<"$BATS_TEST_TMPDIR/pipe"
    blocked_writing "$pid"
    kill -INT "$pid"
    sleep 0.3
    kill -0 "$pid" # still there: the file in progress cannot finish
    kill -INT "$pid"
    st=0
    wait "$pid" || st=$?
    exec 5<&-
    assert_eq "$st" 130
    # killed by the signal itself: no report made whole, no file moved
    assert_eq "$(find "$TSV_REPORT_DIR" -name 'tsv_parser_*.json' 2>/dev/null | wc -l)" 0
    assert_eq "$(find "$DATA" -path '*/parsed/*' -name '*.tsv' | wc -l)" 2
}

@test "SIGKILL at random moments, then reruns: the journal takes back what a killed run left, every line once" {
    local round pid
    files 150
    for round in $(seq 1 10); do
        "$TSV_PARSER" -d "$DATA" -o "$OUT" 2>/dev/null &
        pid=$!
        sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" || true
    done
    parse_data
    assert_status 0
    assert_eq "$(find "$DATA" -path '*/parsed/*' -name 'f*.tsv' | wc -l)" 150
    assert_eq "$(wc -l <"$OUT")" 15000
    assert_eq "$(sort "$OUT" | uniq -d | wc -l)" 0
}
