# shellcheck shell=bash
# Variables set here are used by the .bats files; output/status/stderr are set by bats' run.
# shellcheck disable=SC2034,SC2154
# Shared helpers for the tsv_parser end-to-end CLI tests (bats >= 1.5).
#
#   load helpers
#   setup() { common_setup; }
#
# Conventions
#   $DATA   data folder (absolute, symlink-free), created empty by common_setup
#   $DEV    $DATA/acme/camp1/02001171: the usual device folder
#   $OUT    line-protocol sink used by parse_file / parse_data
#   $TSV_REPORT_DIR  exported, $BATS_TEST_TMPDIR/reports
#
# Fixture files are written with mkfile/mkraw; their arguments go through
# printf %b, so \t \r \n \xHH are exact bytes.

bats_require_minimum_version 1.5.0

TSV_PARSER="${TSV_PARSER:-$BATS_TEST_DIRNAME/../../build/tsv_parser}"

# Python 3 (stdlib only) for JSON and line-protocol checks. The system
# interpreter is preferred: version-manager shims cost ~0.1 s per call.
if [ -z "${PYTHON:-}" ]; then
    if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
py() { "$PYTHON" -I -S "$@"; }

# Header lines used again and again.
SN=02001171
HDR_MONO_SN='02001171\t02001171'           # master + 1 channel
HDR_MONO_FMT='MV_T302_V002\tPh 1 V'

common_setup() {
    if [ ! -x "$TSV_PARSER" ]; then
        echo "tsv_parser binary not found or not executable: $TSV_PARSER" >&2
        echo "build it first (cmake -S . -B build && cmake --build build) or set TSV_PARSER" >&2
        return 1
    fi
    unset TSV_TIMEZONE TSV_CHANNEL_ID_SCHEME TSV_FILE_NAME_TAG TSV_LOG_LEVEL TZ CONFIG_API_URL
    export TSV_REPORT_DIR="$BATS_TEST_TMPDIR/reports"
    # fixtures are written just before the run: a scan must not leave them for later
    export TSV_MIN_AGE=0
    mkdir -p "$BATS_TEST_TMPDIR/data"
    DATA=$(cd "$BATS_TEST_TMPDIR/data" && pwd -P)
    DEV="$DATA/acme/camp1/$SN"
    OUT="$BATS_TEST_TMPDIR/out.lp"
}

# mkfile PATH [LINE...]: write each LINE followed by LF (escapes via %b).
# Without LINE the file is created empty.
mkfile() {
    local path=$1
    shift
    mkdir -p "$(dirname "$path")"
    if [ $# -eq 0 ]; then
        : >"$path"
    else
        printf '%b\n' "$@" >"$path"
    fi
}

# mkraw PATH STRING: write STRING exactly (escapes via %b), no LF added.
mkraw() {
    mkdir -p "$(dirname "$1")"
    printf '%b' "$2" >"$1"
}

# run_parser ARGS...: run the binary; stdout in $output, stderr in $stderr.
run_parser() {
    run --separate-stderr "$TSV_PARSER" "$@"
}

# rerun_ok MAX ARGS...: run_parser ARGS... until it exits 0, MAX runs at the
# most; TRIES = the runs it took. Fails, showing the last run, after MAX.
rerun_ok() {
    local max=$1
    shift
    TRIES=0
    while :; do
        TRIES=$((TRIES + 1))
        run_parser "$@"
        [ "$status" -eq 0 ] && return 0
        if [ "$TRIES" -ge "$max" ]; then
            echo "rerun $TRIES still exits $status" >&2
            show_run >&2
            return 1
        fi
    done
}

# parse_file FILE [ARGS...]: one file, file sink $OUT.
parse_file() {
    local f=$1
    shift
    run_parser -d "$DATA" -t "$f" --output "$OUT" "$@"
}

# parse_data [ARGS...]: scan $DATA, file sink $OUT.
parse_data() {
    run_parser -d "$DATA" --output "$OUT" "$@"
}

# show_run: dump the last run (printed by bats only when a test fails).
show_run() {
    echo "--- exit status: $status"
    echo "--- stdout:"
    printf '%s\n' "$output"
    echo "--- stderr:"
    printf '%s\n' "${stderr-}"
    if [ -f "${OUT-}" ]; then
        echo "--- $OUT:"
        cat "$OUT"
    fi
}

# assert_status N: exit status of the last run is N.
assert_status() {
    if [ "$status" -ne "$1" ]; then
        echo "expected exit status $1, got $status" >&2
        show_run >&2
        return 1
    fi
}

# assert_eq ACTUAL EXPECTED [LABEL]
assert_eq() {
    if [ "$1" != "$2" ]; then
        printf 'assertion failed%s\n  expected: %s\n  actual:   %s\n' "${3:+ ($3)}" "$2" "$1" >&2
        return 1
    fi
}

# assert_contains HAYSTACK NEEDLE [LABEL]
assert_contains() {
    case "$1" in
    *"$2"*) return 0 ;;
    esac
    printf 'assertion failed%s\n  expected to contain: %s\n  actual: %s\n' "${3:+ ($3)}" "$2" "$1" >&2
    return 1
}

# assert_file PATH / assert_no_file PATH
assert_file() {
    [ -f "$1" ] && [ ! -L "$1" ] && return 0
    echo "expected a regular file: $1" >&2
    (cd "$BATS_TEST_TMPDIR" && find . | sort) >&2
    return 1
}
assert_no_file() {
    [ ! -e "$1" ] && [ ! -L "$1" ] && return 0
    echo "expected no file: $1" >&2
    return 1
}

# lp_norm: line protocol on stdin -> same lines with the field value rewritten
# as Python repr(float(value)), so 242.25 / 242.250 / 2.4225e2 compare equal
# while -0.0 and 0 stay distinct. A value that is not a plain decimal float
# (1i, NaN, inf, ...) is left as is and will not match.
lp_norm() {
    py -c '
import re, sys
num = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
for line in sys.stdin.read().splitlines():
    parts = re.split(r"(?<!\\) ", line)
    if len(parts) == 3 and "=" in parts[1]:
        key, val = parts[1].rsplit("=", 1)
        if num.match(val):
            f = float(val)
            if f == f and f not in (float("inf"), float("-inf")):
                val = repr(f)
        line = " ".join([parts[0], key + "=" + val, parts[2]])
    print(line)
'
}

# assert_lp FILE [LINE...]: FILE holds exactly these line-protocol lines, in
# this order (values compared as doubles, see lp_norm). No LINE: FILE is
# empty or absent.
assert_lp() {
    local file=$1 exp act
    shift
    if [ $# -gt 0 ]; then
        exp=$(printf '%s\n' "$@" | lp_norm)
    else
        exp=
    fi
    if [ -e "$file" ]; then
        act=$(lp_norm <"$file")
    else
        act=
    fi
    if [ "$exp" != "$act" ]; then
        echo "line protocol in $file differs (- expected, + actual):" >&2
        diff -u <(printf '%s\n' "$exp") <(printf '%s\n' "$act") >&2 || true
        [ -n "${status-}" ] && show_run >&2
        return 1
    fi
}

# assert_lp_line N LINE: line N of $OUT is LINE (values compared as doubles).
assert_lp_line() {
    local exp act
    exp=$(printf '%s\n' "$2" | lp_norm)
    act=$(sed -n "$1p" "$OUT" | lp_norm)
    if [ "$exp" != "$act" ]; then
        printf 'line %s of %s differs\n  expected: %s\n  actual:   %s\n' "$1" "$OUT" "$exp" "$act" >&2
        return 1
    fi
}

# lp_times [FILE]: the timestamp column of FILE (default $OUT), one per line.
lp_times() {
    awk '{ print $NF }' "${1:-$OUT}"
}

# lp_fields [FILE]: "key=value" field column of FILE (default $OUT).
lp_fields() {
    py -c '
import re, sys
for line in open(sys.argv[1], encoding="utf-8").read().splitlines():
    print(re.split(r"(?<!\\) ", line)[1])
' "${1:-$OUT}"
}

# num_norm: one number per line on stdin -> Python repr(float()) of it when it
# is a plain decimal float (the contract's value syntax), else unchanged.
num_norm() {
    py -c '
import re, sys
num = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")
for v in sys.stdin.read().splitlines():
    print(repr(float(v)) if num.match(v) else v)
'
}

# assert_values [VALUE...]: the field values written to $OUT, in order, are
# these doubles (242.25 == 242.250 == 2.4225e2; -0.0 != 0).
assert_values() {
    local exp act
    exp=$(printf '%s\n' "$@" | num_norm)
    act=$(lp_fields "$OUT" | sed 's/.*=//' | num_norm)
    if [ "$exp" != "$act" ]; then
        echo "field values differ (- expected, + actual):" >&2
        diff -u <(printf '%s\n' "$exp") <(printf '%s\n' "$act") >&2 || true
        return 1
    fi
}

# jget EXPR: evaluate the Python expression EXPR on the JSON document read
# from stdin (strict: NaN/Infinity rejected). Names: r = document,
# f = r["files"][0] (or None). Strings are printed raw, everything else as
# JSON (null, true, 3, 2.5, [...], {...}).
jget() {
    py -c '
import json, sys
def bad(c):
    raise ValueError("invalid JSON constant " + c)
r = json.loads(sys.stdin.read(), parse_constant=bad)
f = r["files"][0] if isinstance(r, dict) and r.get("files") else None
v = eval(sys.argv[1])
print(v if isinstance(v, str) else json.dumps(v))
' "$1"
}

# report_path: the newest run report in $TSV_REPORT_DIR.
report_path() {
    local files=("$TSV_REPORT_DIR"/tsv_parser_*.json)
    if [ ! -e "${files[0]}" ]; then
        echo "no run report in $TSV_REPORT_DIR" >&2
        return 1
    fi
    printf '%s\n' "${files[-1]}"
}

# rq EXPR: jget EXPR on the newest run report.
rq() {
    local p
    p=$(report_path) || return 1
    jget "$1" <"$p"
}

# tree_snapshot DIR: every path with size and mtime, plus sha256 of every file.
tree_snapshot() {
    (
        cd "$1" || exit 1
        find . -printf '%p %y %s %T@\n' | LC_ALL=C sort
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
    )
}

# assert_failed_file FILE MESSAGE: the last run (one file) exited 65, FILE was
# moved to error/ beside it, its report says status "error" with an error
# containing MESSAGE, and nothing was written to $OUT.
assert_failed_file() {
    local f=$1 msg=$2
    assert_status 65
    assert_no_file "$f"
    assert_file "$(dirname "$f")/error/$(basename "$f")"
    assert_eq "$(rq 'f["status"]')" error "file status"
    assert_contains "$(rq 'f["error"]')" "$msg" "file error"
    assert_eq "$(rq 'f["destination"]')" "$(dirname "$f")/error/$(basename "$f")" "destination"
    assert_lp "$OUT"
}

# assert_json ACTUAL EXPECTED [LABEL]: same JSON value, key order included;
# numbers compared as doubles (230 == 230.0).
assert_json() {
    local a e
    a=$(py -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1], parse_int=float)))' "$1") || return 1
    e=$(py -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1], parse_int=float)))' "$2") || return 1
    assert_eq "$a" "$e" "${3:-json}"
}

# mkmany DIR N [ROWS]: N mono master files DIR/f0000.tsv ... (serial $SN),
# file i with ROWS rows (default 2, at most 60), one a second from
# 05/01/26 00:00:00 + i minutes (at most 1440 files): every file has its own
# time range and its own values (i * 100 + row).
mkmany() {
    mkdir -p "$1"
    py - "$@" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
rows = int(sys.argv[3]) if len(sys.argv) > 3 else 2
for i in range(n):
    out = ["02001171\t02001171", "MV_T302_V002\tPh 1 V"]
    for k in range(rows):
        out.append("05/01/26 %02d:%02d:%02d\t%d" % (i // 60, i % 60, k, i * 100 + k))
    with open("%s/f%04d.tsv" % (d, i), "w") as f:
        f.write("\n".join(out) + "\n")
PY
}

# settings_setup: common_setup, every setting unset (unset_settings), the
# working folder the test's own (./.env is read when it exists), and
# $CFG=$BATS_TEST_TMPDIR/powerview.yaml (not written).
settings_setup() {
    common_setup
    unset_settings
    cd "$BATS_TEST_TMPDIR" || return 1
    CFG="$BATS_TEST_TMPDIR/powerview.yaml"
}

# unset_settings: unset every variable a setting of powerview.yaml writes
# (TSV_PARSER / TSV_PARSER_REAL stay: they name the binary under test), so
# that only a test's own values count.
unset_settings() {
    unset POWERVIEW_CONFIG INFLUXDB_API INFLUXDB_HOST INFLUXDB_URL INFLUXDB_ORG \
        INFLUXDB_ADMIN_TOKEN INFLUXDB_USERNAME INFLUXDB_PASSWORD INFLUXDB_BUCKET_RETENTION \
        TSV_META_BUCKET TSV_OUTPUT TSV_VERIFY TSV_GZIP TSV_BATCH_LINES TSV_BATCH_BYTES \
        TSV_HTTP_CONNECT_TIMEOUT TSV_HTTP_ANSWER_TIMEOUT TSV_HTTP_TIMEOUT TSV_RETRY_BUDGET \
        TSV_RETRY_AFTER_MAX TSV_SPOOL_DIR POWERVIEW_DATA_DIR POWERVIEW_LOG_FILE POWERVIEW_INGEST \
        POWERVIEW_PLAYBOOK GRAFANA_URL GRAFANA_USERNAME GRAFANA_PASSWORD GRAFANA_API_TOKEN \
        GRAFANA_TENANCY GRAFANA_ORG_ID GRAFANA_DATASOURCE_TYPE GRAFANA_INFLUXDB_URL \
        GRAFANA_QUERY_LANGUAGE CONFIG_API_URL
}

# assert_not_printed SECRET...: no SECRET in the last run's stdout or stderr.
assert_not_printed() {
    local s
    for s in "$@"; do
        if printf '%s\n%s\n' "$output" "${stderr-}" | grep -F -q -- "$s"; then
            echo "secret $s printed" >&2
            show_run >&2
            return 1
        fi
    done
}

# on_tty [--both] [--cols N] ARGS...: tsv_parser ARGS with its standard
# error on a pseudo-terminal of N columns (80), without the terminal's
# newline translation; with --both standard output too, else into
# $BATS_TEST_TMPDIR/stdout. What the terminal got: $BATS_TEST_TMPDIR/tty;
# the run's wall time in seconds: $BATS_TEST_TMPDIR/seconds.
on_tty() {
    local both=0 cols=80
    [ "$1" != --both ] || { both=1; shift; }
    [ "$1" != --cols ] || { cols=$2; shift 2; }
    run py -c '
import fcntl, os, pty, struct, subprocess, sys, termios, time
out, tty, secs, both, cols = sys.argv[1:6]
master, slave = pty.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, int(cols), 0, 0))
attrs = termios.tcgetattr(slave)
attrs[1] &= ~termios.ONLCR
termios.tcsetattr(slave, termios.TCSANOW, attrs)
t0 = time.monotonic()
with open(out, "wb") as f:
    p = subprocess.Popen(sys.argv[6:], stdin=subprocess.DEVNULL, stderr=slave,
                         stdout=slave if both == "1" else f)
os.close(slave)
got = b""
while True:
    try:
        chunk = os.read(master, 65536)
    except OSError:  # EIO: the last writer is gone
        break
    if not chunk:
        break
    got += chunk
rc = p.wait()
open(secs, "w").write("%f\n" % (time.monotonic() - t0))
open(tty, "wb").write(got)
sys.exit(rc)
' "$BATS_TEST_TMPDIR/stdout" "$BATS_TEST_TMPDIR/tty" "$BATS_TEST_TMPDIR/seconds" "$both" "$cols" \
        "$TSV_PARSER" "$@"
}
