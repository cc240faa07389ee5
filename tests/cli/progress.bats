#!/usr/bin/env bats
# The progress line: on a terminal (standard error a TTY) a run shows one
# line updated in place ("\r", no newline), at most ten times a second,
# cleared at the end; never in a pipe or a log file, never with -q.

load helpers

setup() {
    common_setup
}

# many N: N valid one-point files in $DEV.
many() {
    local i
    mkdir -p "$DEV"
    for ((i = 0; i < $1; i++)); do
        printf '%b\n' "$HDR_MONO_SN" "$HDR_MONO_FMT" "05/01/26 10:00:00\t$i" >"$DEV/f$i.tsv"
    done
}

# tty_facts EXPR: EXPR (Python) over what the terminal got, printed as JSON.
# Names: raw (the text), drawn (the distinct progress lines drawn, in
# order), shown (the lines the terminal shows at the end, "\r" applied),
# rest (what it shows below the last newline), secs (the wall time).
tty_facts() {
    py -c '
import json, re, sys
raw = open(sys.argv[1], "rb").read().decode()
secs = float(open(sys.argv[2]).read())
drawn = []
for seg in re.split(r"[\r\n]", raw):
    if re.match(r"[0-9]+/[0-9]+ files, ", seg) and seg not in drawn:
        drawn.append(seg)
def show(line):
    cells, col = [], 0
    for ch in line:
        if ch == "\r":
            col = 0
            continue
        if col < len(cells):
            cells[col] = ch
        else:
            cells.append(ch)
        col += 1
    return "".join(cells).rstrip(" ")
*lines, last = raw.split("\n")
shown = [show(x) for x in lines]
rest = show(last)
print(json.dumps(eval(sys.argv[3])))
' "$BATS_TEST_TMPDIR/tty" "$BATS_TEST_TMPDIR/seconds" "$1"
}

PROGRESS_RE='[0-9]+/[0-9]+ files, [0-9]+ points, [0-9]+ errors, [0-9.]+ files/s, ([0-9]+ s|[0-9]+ min [0-9]{2} s|[0-9]+ h [0-9]{2} min|\?) left'

@test "on a terminal: one progress line, drawn in place with \\r, cleared at the end; the log lines intact" {
    many 40
    mkfile "$DEV/bad.tsv"
    on_tty -d "$DATA" --output "$OUT"
    assert_status 65
    # drawn at least once, in the documented form
    [ "$(tty_facts 'len(drawn)')" -ge 1 ] || { cat -A "$BATS_TEST_TMPDIR/tty" | head -20; false; }
    first=$(tty_facts 'drawn[0]')
    [[ "$first" =~ ^\"$PROGRESS_RE\"$ ]] || { echo "progress line: $first" >&2; false; }
    assert_contains "$first" "/41 files, "
    # never ended by a newline: what the terminal shows in the end is the log, nothing else
    assert_eq "$(tty_facts '[x for x in shown if not re.match(r"[0-9-]+T[0-9:]+Z \[(INFO|WARNING|ERROR)\] tsv_parser: ", x)]')" '[]'
    assert_eq "$(tty_facts 'rest')" '""'
    # a line per file, the spool's, the report's and the summary
    assert_eq "$(tty_facts 'len(shown)')" 44
    assert_contains "$(tty_facts 'shown[-1]')" "41 files: 40 ingested, 1 to error/, 0 pending, 0 skipped; 40 points in"
    assert_contains "$(tty_facts 'raw')" '\r'
    # the line protocol is as without a terminal
    assert_eq "$(wc -l <"$OUT")" 40
}

@test "never in a pipe or a log file: no \\r, no progress line" {
    many 40
    run_parser -d "$DATA" --output "$OUT"
    assert_status 0
    [[ "$stderr" != *$'\r'* ]] || { echo "a carriage return in a pipe" >&2; false; }
    [[ ! "$stderr" =~ $PROGRESS_RE ]] || { echo "a progress line in a pipe" >&2; false; }
    many 40
    "$TSV_PARSER" -d "$DATA" --output "$OUT" 2>"$BATS_TEST_TMPDIR/run.log"
    if grep -qE $'\r'"|$PROGRESS_RE" "$BATS_TEST_TMPDIR/run.log"; then false; fi
    assert_contains "$(cat "$BATS_TEST_TMPDIR/run.log")" "40 files: 40 ingested"
}

@test "not with -q, nor with TSV_LOG_LEVEL above INFO, nor when -o - or a dry run's report writes to the same terminal" {
    many 20
    on_tty -d "$DATA" --dry-run -q
    assert_status 0
    assert_eq "$(tty_facts 'raw')" '""'
    TSV_LOG_LEVEL=WARNING on_tty -d "$DATA" --dry-run
    assert_status 0
    assert_eq "$(tty_facts 'raw')" '""'
    on_tty --both -d "$DATA" --dry-run -o -
    assert_status 0
    assert_eq "$(tty_facts 'drawn')" '[]'
    assert_eq "$(tty_facts 'len([x for x in shown if x.startswith("electrical,")])')" 20
    on_tty --both -d "$DATA" --dry-run
    assert_status 0
    assert_eq "$(tty_facts 'drawn')" '[]'
    assert_eq "$(tty_facts '"\"dry_run\":\ttrue" in raw')" true
    # -o - into a pipe: the terminal on standard error still gets it
    on_tty -d "$DATA" --dry-run -o -
    assert_status 0
    [ "$(tty_facts 'len(drawn)')" -ge 1 ]
    assert_eq "$(grep -c '^electrical,' "$BATS_TEST_TMPDIR/stdout")" 20
}

@test "at most ten updates a second, never one per file; fits the terminal's width" {
    many 400
    on_tty --cols 40 -d "$DATA" --dry-run -v
    assert_status 0
    secs=$(cat "$BATS_TEST_TMPDIR/seconds")
    n=$(tty_facts 'len(drawn)')
    echo "$n progress lines drawn in $secs s" >&2
    py -c 'import sys; n, s = int(sys.argv[1]), float(sys.argv[2]); sys.exit(not (1 <= n <= 2 + 10 * s and n < 400))' "$n" "$secs"
    assert_eq "$(tty_facts 'max(len(x) for x in drawn) <= 39')" true
    assert_eq "$(tty_facts 'rest')" '""'
}
