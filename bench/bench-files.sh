#!/usr/bin/env bash
# Peak memory and time of a run over many small files: a backfill.
#
#   bench/bench-files.sh [PATH_TO_TSV_PARSER]
#
# For 2 000 and 20 000 files (30 channels x 20 rows each, the report entry
# of each about 10 KB), runs the dry run, the file sink (to a file) and, when
# Debian's victoria-metrics is installed, the database sink with its run
# summary, and prints elapsed time and peak RSS from /usr/bin/time. The
# target: peak RSS the same at 2 000 and 20 000 files, within 16 MB. Never
# fails on a missed target. The files are spread over ten campaigns: a run
# counts a campaign's files back 100 at a time, holding their figures until
# then, which is full from 1 000 files on (fewer files take less). Works in a temporary folder, removed on exit.
set -euo pipefail
export LC_ALL=C

script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd -- "$script_dir/.." && pwd)
BIN=${1:-${TSV_PARSER:-$repo_dir/build/tsv_parser}}
SIZES=(2000 20000)

[[ -x /usr/bin/time ]] || { echo "bench-files.sh: /usr/bin/time not found: apt-get install time" >&2; exit 1; }
[[ -x $BIN ]] || { echo "bench-files.sh: no parser at $BIN (build it first)" >&2; exit 1; }
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tsv_bench_files.XXXXXX")
vm_pid=
cleanup() {
    [ -z "$vm_pid" ] || kill "$vm_pid" 2>/dev/null || true
    rm -rf -- "$tmp"
}
trap cleanup EXIT

files() { # N DIR
    python3 - "$1" "$2" <<'EOF'
import os, sys
n, root = int(sys.argv[1]), sys.argv[2]
sn = "\t".join(["02001171"] * 31)
fmt = "MV_T302_V002\t" + "\t".join("Voie%d W" % i for i in range(1, 31))
rows = "".join("05/01/26 10:%02d:00\t" % m + "\t".join(str(i + m) for i in range(30)) + "\n" for m in range(20))
for k in range(n):
    d = os.path.join(root, "acme", "c%d" % (k % 10), "02001171")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%06d.tsv" % k), "w") as f:
        f.write(sn + "\n" + fmt + "\n" + rows)
EOF
}

vm_url=
if command -v victoria-metrics >/dev/null; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    victoria-metrics -httpListenAddr "127.0.0.1:$port" -storageDataPath "$tmp/vm" \
        -retentionPeriod 100y -loggerLevel ERROR >"$tmp/vm.log" 2>&1 &
    vm_pid=$!
    vm_url=http://127.0.0.1:$port
    for _ in $(seq 1 100); do
        curl -fsS "$vm_url/health" >/dev/null 2>&1 && break
        sleep 0.1
    done
fi

export TSV_MIN_AGE=0 TSV_REPORT_DIR=$tmp/reports TSV_LOG_LEVEL=WARNING
printf '%-8s %-6s %10s %12s\n' files sink seconds "peak RSS KB"
for n in "${SIZES[@]}"; do
    for sink in dry file vm; do
        [ "$sink" != vm ] || [ -n "$vm_url" ] || continue
        rm -rf "$tmp/data" "$tmp/out.lp" "$tmp/reports"
        files "$n" "$tmp/data"
        case $sink in
        dry) args=(--dry-run) ;;
        file) args=(-o "$tmp/out.lp") ;;
        vm) args=() ;;
        esac
        INFLUXDB_API=vm INFLUXDB_HOST=$vm_url \
            /usr/bin/time -f '%e %M' -o "$tmp/time" "$BIN" -d "$tmp/data" "${args[@]}" >/dev/null 2>"$tmp/err" ||
            { echo "run failed ($sink, $n files):" >&2; tail -n 5 "$tmp/err" >&2; }
        read -r secs kb <"$tmp/time"
        printf '%-8s %-6s %10s %12s\n' "$n" "$sink" "$secs" "$kb"
    done
done
echo "target: the same peak RSS at ${SIZES[0]} and ${SIZES[1]} files, within 16 MB (16384 KB)"
