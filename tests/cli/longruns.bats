#!/usr/bin/env bats
# Long runs: memory does not grow with the number of files (the run report
# and the run summary are written as the run goes), whatever the sink.
# Timings live in bench/, not here: these tests measure peak memory only.

load helpers
load ../servers/servers

setup_file() {
    start_vm "$BATS_FILE_TMPDIR/vm"
}

setup() {
    common_setup
    command -v /usr/bin/time >/dev/null || skip "GNU time (/usr/bin/time) is not installed"
    # the binary itself, also in the valgrind suite: valgrind's memory is not tsv_parser's
    BIN=${TSV_PARSER_REAL:-$TSV_PARSER}
}

# files N DIR: N files of 30 channels x 20 rows (a report entry of ~10 KB each),
# in three campaigns: a run counts a campaign's files back 100 at a time and
# holds their figures until then, so from 300 files on that memory is full
files() {
    py - "$1" "$2" <<'EOF'
import os, sys
n, root = int(sys.argv[1]), sys.argv[2]
sn = "\t".join(["02001171"] * 31)
fmt = "MV_T302_V002\t" + "\t".join("Voie%d W" % i for i in range(1, 31))
rows = "".join("05/01/26 10:%02d:00\t" % m + "\t".join(str(i + m) for i in range(30)) + "\n" for m in range(20))
for k in range(n):
    d = os.path.join(root, "acme", "c%d" % (k % 3), "02001171")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.tsv" % k), "w") as f:
        f.write(sn + "\n" + fmt + "\n" + rows)
EOF
}

# peak_kb ARGS...: tsv_parser's peak resident memory in KB in $kb, its exit status in $status
peak_kb() {
    status=0
    /usr/bin/time -f '%M' -o "$BATS_TEST_TMPDIR/rss" "$BIN" "$@" >"$BATS_TEST_TMPDIR/stdout" \
        2>"$BATS_TEST_TMPDIR/stderr" || status=$?
    kb=$(tail -n 1 "$BATS_TEST_TMPDIR/rss")
}

# sanitized: an AddressSanitizer build keeps shadow memory and a quarantine of
# freed blocks that grows with the allocations: memory is measured elsewhere
sanitized() { grep -qa __asan_report "$BIN"; }

# same_memory SMALL LARGE: LARGE files take no more memory than SMALL ones
# (within 1 MB, what malloc keeps or not), and within 16 MB
same_memory() {
    echo "peak RSS: $1 KB, then $2 KB" >&3
    ! sanitized || return 0
    [ "$(($2 - $1))" -lt 1024 ] || { echo "memory grew from $1 to $2 KB" >&2; return 1; }
    [ "$2" -le 16384 ] || { echo "$2 KB is over 16 MB" >&2; return 1; }
}

run_sizes() { # MODE: the same run over 300 then 3000 files
    local n small large kb
    for n in 300 3000; do
        rm -rf "$DATA" "$OUT" "$TSV_REPORT_DIR"
        files "$n" "$DATA"
        case $1 in
        dry) peak_kb -d "$DATA" --dry-run ;;
        file) peak_kb -d "$DATA" -o "$OUT" ;;
        vm) INFLUXDB_API=vm INFLUXDB_HOST=$VM_URL TSV_RETRY_BUDGET=1 peak_kb -d "$DATA" ;;
        esac
        [ "$status" -eq 0 ] || { cat "$BATS_TEST_TMPDIR/stderr" >&2; return 1; }
        if [ "$n" = 300 ]; then small=$kb; else large=$kb; fi
        check_run "$1" "$n"
    done
    same_memory "$small" "$large"
}

# check_run MODE N: the run's report is whole and counts every file
check_run() {
    local report
    if [ "$1" = dry ]; then
        report=$BATS_TEST_TMPDIR/stdout
    else
        report=$(ls "$TSV_REPORT_DIR"/tsv_parser_*.json)
    fi
    py - "$report" "$2" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert r["nb_files_total"] == n and r["nb_files_success"] == n, r["nb_files_total"]
assert len(r["files"]) == n and r["nb_points_total"] == n * 600
assert r["status"] == "success"
EOF
}

@test "dry run over 300 and 3000 files: the same peak memory, the whole report on stdout" {
    run_sizes dry
}

@test "file sink over 300 and 3000 files: the same peak memory, the whole report on disk" {
    run_sizes file
    assert_eq "$(wc -l <"$OUT")" 1800000
}

@test "database sink (VictoriaMetrics) over 300 and 3000 files: the same peak memory, summary included" {
    run_sizes vm
    # the run summary: one point per file, sent in batches, and the run's point
    assert_eq "$(vm_count '{__name__="tsv_parser_file_nb_points",db="powerview_meta"}')" 3300
}
