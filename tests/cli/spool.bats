#!/usr/bin/env bats
# The spool (issue 12): `tsv_parser spool` copies an upload at once, the
# worker (`--spool`, and a scan after it has spooled what it found) ingests
# the copies, oldest first, and settles the originals only when they are
# still the upload that was copied.

load helpers

setup() {
    common_setup
    SPOOL="$BATS_TEST_TMPDIR/spool"
    F="$DEV/f.tsv"
}

# ok FILE FIRST [N]: N (default 3) one-point rows, values FIRST, FIRST+1, ...
ok() {
    local f=$1 v=$2 n=${3:-3} rows=()
    for ((i = 0; i < n; i++)); do
        rows+=("05/01/26 10:0$i:00\t$((v + i))")
    done
    mkfile "$f" "$HDR_MONO_SN" "$HDR_MONO_FMT" "${rows[@]}"
}

spool() { run_parser spool -d "$DATA" "$@"; }
work() { run_parser --spool -d "$DATA" --output "$OUT" "$@"; }

# the values written to $OUT, sorted
values() { sed -n 's/.*=\([0-9.]*\) [0-9]*$/\1/p' "$OUT" | LC_ALL=C sort -n | tr '\n' ' '; }

# copies: the copies waiting, below the spool, sorted
copies() { (cd "$SPOOL" && find . -name '.id' -prune -o -type f ! -name '.*' -print | LC_ALL=C sort); }

# idof COPY KEY: a line of the copy's .id (the original's path: to the end of the file)
idof() { sed -n "s/^$2 //p" "$(dirname "$1")/.id/$(basename "$1")"; }

@test "spool: the copy under the same path, .id beside it, folder 0700, nothing sent; the same upload is not copied twice" {
    ok "$F" 10
    spool "$F"
    assert_status 0
    assert_contains "$stderr" "$F: spooled as $SPOOL/acme/camp1/$SN/f.tsv"
    cmp "$F" "$SPOOL/acme/camp1/$SN/f.tsv"
    assert_eq "$(stat -c %a "$SPOOL")" 700
    assert_eq "$(copies)" "./acme/camp1/$SN/f.tsv"
    c="$SPOOL/acme/camp1/$SN/f.tsv"
    assert_eq "$(idof "$c" original)" "acme/camp1/$SN/f.tsv"
    assert_eq "$(idof "$c" dev)" "$(stat -c %d "$F")"
    assert_eq "$(idof "$c" ino)" "$(stat -c %i "$F")"
    assert_eq "$(idof "$c" size)" "$(stat -c %s "$F")"
    assert_eq "$(idof "$c" mtime)" "$(stat -c %.9Y "$F")"
    assert_no_file "$OUT"
    assert_file "$F"
    spool "$F"
    assert_status 0
    assert_eq "$(copies)" "./acme/camp1/$SN/f.tsv"
}

@test "spool: what the parser does not take is refused (65), a missing file is 66, and nothing is copied" {
    ok "$F" 1
    mkdir -p "$DEV/parsed" "$DEV/.hid"
    ok "$DEV/parsed/p.tsv" 1
    ok "$DEV/.h.tsv" 1
    ok "$DEV/.hid/x.tsv" 1
    ok "$DEV/x.TSV" 1
    ok "$BATS_TEST_TMPDIR/outside.tsv" 1
    ln -s "$F" "$DEV/link.tsv"
    mkdir -p "$DATA/other/c/d"
    ln -s "$DEV" "$DATA/other/c/d/linked"
    for f in "$DEV/parsed/p.tsv" "$DEV/.h.tsv" "$DEV/.hid/x.tsv" "$DEV/x.TSV" \
        "$BATS_TEST_TMPDIR/outside.tsv" "$DEV/link.tsv" "$DATA/other/c/d/linked/f.tsv"; do
        spool "$f"
        assert_status 65
    done
    spool "$DEV/none.tsv"
    assert_status 66
    assert_eq "$(copies)" ""
    spool "$F" "$DEV/none.tsv"
    assert_status 66
    assert_eq "$(copies)" "./acme/camp1/$SN/f.tsv"
}

@test "spool: usage, and a spool folder inside the data folder is refused (78)" {
    run_parser spool "$F"
    assert_status 64
    assert_contains "$stderr" "-d (--data-folder) is required"
    spool
    assert_status 64
    assert_contains "$stderr" "no file to spool"
    run_parser --spool -d "$DATA" -t "$F"
    assert_status 64
    ok "$F" 1
    TSV_SPOOL_DIR="$DATA/acme/spool" spool "$F"
    assert_status 78
    assert_contains "$stderr" "inside the data folder"
    TSV_SPOOL_DIR="$DATA" spool "$F"
    assert_status 78
    assert_no_file "$DATA/acme/spool"
}

@test "worker: ingests the copy, moves the original, empties the spool; the report names the original" {
    ok "$F" 10
    spool "$F"
    work
    assert_status 0
    assert_eq "$(values)" "10 11 12 "
    assert_file "$DEV/parsed/f.tsv"
    assert_no_file "$F"
    assert_eq "$(copies)" ""
    assert_no_file "$SPOOL/acme"
    assert_eq "$(rq 'f["file_path"]')" "$F"
    assert_eq "$(rq 'f["destination"]')" "$DEV/parsed/f.tsv"
    grep -q 'file_name=f.tsv' "$OUT"
    # nothing waits: a second worker finds nothing
    work
    assert_status 0
    assert_contains "$stderr" "0 files"
}

@test "the tenant truncates, rewrites or replaces its file after the upload: the content at upload time is stored, once" {
    ok "$DEV/t.tsv" 10
    ok "$DEV/w.tsv" 20
    ok "$DEV/r.tsv" 30
    spool "$DEV/t.tsv" "$DEV/w.tsv" "$DEV/r.tsv"
    assert_status 0
    : >"$DEV/t.tsv"                       # truncated
    ok "$DEV/w.tsv" 40 2                  # rewritten in place: same inode
    rm "$DEV/r.tsv"
    ok "$DEV/r.tsv" 50 2                  # replaced: a new file
    work
    assert_status 0
    assert_eq "$(values)" "10 11 12 20 21 22 30 31 32 "
    # none of the three is the upload that was copied any more: each waits for its own
    assert_file "$DEV/t.tsv"
    assert_file "$DEV/w.tsv"
    assert_file "$DEV/r.tsv"
    assert_no_file "$DEV/parsed"
    assert_contains "$stderr" "left for its own"
    assert_eq "$(copies)" ""
    # their own uploads: w and r are ingested and moved, t (empty) goes to error/
    spool "$DEV/t.tsv" "$DEV/w.tsv" "$DEV/r.tsv"
    : >"$OUT"
    work
    assert_status 65
    assert_eq "$(values)" "40 41 50 51 "
    assert_file "$DEV/parsed/w.tsv"
    assert_file "$DEV/parsed/r.tsv"
    assert_file "$DEV/error/t.tsv"
    assert_eq "$(copies)" ""
}

@test "two uploads of the same name wait: f.tsv then f.tsv~1, ingested oldest first, the original moved by its own copy" {
    ok "$F" 10
    spool "$F"
    ok "$F" 20 2
    spool "$F"
    assert_eq "$(copies | tr '\n' ' ')" "./acme/camp1/$SN/f.tsv ./acme/camp1/$SN/f.tsv~1 "
    work
    assert_status 0
    # the older upload first: its points, then the newer one's
    assert_eq "$(sed -n 's/.*=\([0-9.]*\) [0-9]*$/\1/p' "$OUT" | tr '\n' ' ')" "10 11 12 20 21 "
    assert_file "$DEV/parsed/f.tsv"
    assert_no_file "$DEV/parsed/f.1.tsv"
    assert_eq "$(rq 'len(r["files"])')" 2
    assert_eq "$(rq 'r["files"][0].get("destination")')" null
    assert_eq "$(rq 'r["files"][1]["destination"]')" "$DEV/parsed/f.tsv"
    assert_eq "$(copies)" ""
}

@test "a scan spools what it finds, then works the spool: each file once, the spool empty" {
    ok "$DEV/a.tsv" 10
    ok "$DEV/b.tsv" 20
    ok "$DATA/bertin/c2/$SN/c.tsv" 30
    mkfile "$DEV/bad.tsv"
    spool "$DEV/a.tsv"
    parse_data
    assert_status 65
    assert_eq "$(values)" "10 11 12 20 21 22 30 31 32 "
    assert_file "$DEV/parsed/a.tsv"
    assert_file "$DEV/parsed/b.tsv"
    assert_file "$DATA/bertin/c2/$SN/parsed/c.tsv"
    assert_file "$DEV/error/bad.tsv"
    assert_contains "$stderr" "3 files copied into the spool $SPOOL, 1 there already"
    assert_eq "$(rq 'sorted(x["file_path"] for x in r["files"])')" \
        "$(py -c 'import json,sys; print(json.dumps(sorted(sys.argv[1:])))' "$DEV/a.tsv" "$DEV/b.tsv" "$DEV/bad.tsv" "$DATA/bertin/c2/$SN/c.tsv")"
    assert_eq "$(copies)" ""
}

@test "a second worker exits 0 at once while one runs; status shows the spool and the worker" {
    command -v flock >/dev/null || skip "flock(1) not installed"
    ok "$F" 10
    spool "$F"
    flock "$SPOOL/.worker.lock" -c "$(printf '%q ' "$TSV_PARSER") --spool -d $(printf '%q' "$DATA") -o $(printf '%q' "$OUT")" \
        2>"$BATS_TEST_TMPDIR/second.err"
    assert_contains "$(cat "$BATS_TEST_TMPDIR/second.err")" "another worker is running"
    assert_no_file "$OUT"
    assert_file "$F"
    run_parser status -d "$DATA" --json
    assert_status 0
    assert_eq "$(jget 'r["spool"]["waiting"]' <<<"$output")" 1
    assert_eq "$(jget 'r["spool"]["dir"]' <<<"$output")" "$SPOOL"
    work
    assert_status 0
    run_parser status -d "$DATA" --json
    assert_eq "$(jget 'r["spool"]["waiting"]' <<<"$output")" 0
    assert_eq "$(jget 'r["spool"]["last_run"]["nb_success"]' <<<"$output")" 1
    assert_eq "$(jget 'r["spool"]["last_run"]["exit"]' <<<"$output")" 0
    run_parser status -d "$DATA"
    assert_contains "$output" "Spool $SPOOL"
    assert_contains "$output" "0 copies waiting"
    assert_contains "$output" "exit 0: 1 files, 1 ingested"
}

@test "database down: the worker keeps copy and original (75); the next worker ingests them once" {
    ok "$F" 10
    spool "$F"
    port=$(py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    INFLUXDB_API=vm INFLUXDB_HOST="http://127.0.0.1:$port" TSV_RETRY_BUDGET=0 \
        run_parser --spool -d "$DATA"
    assert_status 75
    assert_file "$F"
    assert_eq "$(copies)" "./acme/camp1/$SN/f.tsv"
    work
    assert_status 0
    assert_eq "$(values)" "10 11 12 "
    assert_eq "$(copies)" ""
}

@test "1 200 copies come out oldest first (past one window of 1 024), whatever their names" {
    names=()
    for ((i = 1199; i >= 0; i--)); do
        names+=("$(printf '%s/f%04d.tsv' "$DEV" "$i")")
    done
    mkmany "$DEV" 1200 1
    # the real binary: under the valgrind wrapper, 1 200 files take minutes
    TSV_PARSER=${TSV_PARSER_REAL:-$TSV_PARSER} spool "${names[@]}"
    assert_status 0
    assert_eq "$(copies | wc -l)" 1200
    TSV_PARSER=${TSV_PARSER_REAL:-$TSV_PARSER} work --no-verify
    assert_status 0
    # the report lists them in the order they were spooled: f1199 first
    rq '"\n".join(x["file_path"] for x in r["files"])' >"$BATS_TEST_TMPDIR/order"
    printf '%s\n' "${names[@]}" | cmp - "$BATS_TEST_TMPDIR/order"
    assert_eq "$(copies)" ""
}

@test "what a killed spooler or worker leaves is tidied: a stale temporary file, a .id without its copy" {
    ok "$F" 10
    spool "$F"
    mkdir -p "$SPOOL/acme/camp1/$SN"
    echo partial >"$SPOOL/.tmp.dead01"
    touch -d '2 hours ago' "$SPOOL/.tmp.dead01"
    mkdir -p "$SPOOL/acme/camp1/$SN/.id"
    echo 'dev 1' >"$SPOOL/acme/camp1/$SN/.id/gone.tsv"
    echo fresh >"$SPOOL/.tmp.fresh1"
    work
    assert_status 0
    assert_no_file "$SPOOL/.tmp.dead01"
    assert_no_file "$SPOOL/acme/camp1/$SN/.id/gone.tsv"
    # one being written now (new) is not touched
    assert_file "$SPOOL/.tmp.fresh1"
    assert_eq "$(values)" "10 11 12 "
}

@test "a first spooler killed while it wrote .data: the next one writes it, the worker tidies the temporary file" {
    ok "$F" 10
    mkdir -m 0700 "$SPOOL"
    printf '/some/where/el' >"$SPOOL/.data.tmp"
    spool "$F"
    assert_status 0
    assert_eq "$(cat "$SPOOL/.data")" "$(realpath "$DATA")"
    printf 'half' >"$SPOOL/.data.tmp"
    work
    assert_status 0
    assert_no_file "$SPOOL/.data.tmp"
    assert_eq "$(values)" "10 11 12 "
}

@test "SIGKILL of the spooler and of the worker at random moments, then a rerun: every point once, no copy left, no original stranded" {
    # the real binary: a kill must reach the parser, not the valgrind wrapper
    local bin=${TSV_PARSER_REAL:-$TSV_PARSER} killed=0 round
    # each round, 20 new uploads (a campaign of their own: their lines differ); a spooler
    # takes ~0.1 s for them, a scan ~0.3 s: the kills land in every step of both
    for round in 1 2 3 4 5 6 7 8; do
        mkmany "$DATA/acme/camp$round/$SN" 20 30
        "$bin" spool -d "$DATA" "$DATA/acme/camp$round/$SN"/*.tsv 2>/dev/null &
        pid=$!
        sleep "$(printf '0.%03d' $((RANDOM % 150)))"
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || { [ $? -ne 137 ] || killed=$((killed + 1)); }
        "$bin" -d "$DATA" -o "$OUT" --no-verify 2>/dev/null &
        pid=$!
        sleep "$(printf '0.%03d' $((RANDOM % 400)))"
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || { [ $? -ne 137 ] || killed=$((killed + 1)); }
    done
    echo "# 16 runs, $killed killed by SIGKILL before their end;" \
        "$(find "$DATA" -path '*/parsed/*.tsv' | wc -l) of 160 files settled before the last run" >&3
    parse_data --no-verify
    assert_status 0
    assert_eq "$(find "$DATA" -name '*.tsv' ! -path '*/parsed/*' | wc -l)" 0 "originals not settled"
    assert_eq "$(find "$DATA" -path '*/parsed/*.tsv' | wc -l)" 160
    assert_eq "$(copies)" ""
    assert_eq "$(find "$SPOOL" -name '.tmp.*' | wc -l)" 0
    # every point exactly once: a file sent again after a kill was taken back first
    assert_eq "$(wc -l <"$OUT")" $((160 * 30))
    assert_eq "$(sort "$OUT" | uniq -d | wc -l)" 0
}

@test "one spool serves one data folder: another one is refused (78) until it has its own" {
    ok "$F" 10
    spool "$F"
    mkdir -p "$BATS_TEST_TMPDIR/data2/acme/camp1/$SN"
    ok "$BATS_TEST_TMPDIR/data2/acme/camp1/$SN/g.tsv" 20
    run_parser spool -d "$BATS_TEST_TMPDIR/data2" "$BATS_TEST_TMPDIR/data2/acme/camp1/$SN/g.tsv"
    assert_status 78
    assert_contains "$stderr" "serves the data folder $DATA"
    TSV_SPOOL_DIR="$BATS_TEST_TMPDIR/spool2" run_parser spool -d "$BATS_TEST_TMPDIR/data2" \
        "$BATS_TEST_TMPDIR/data2/acme/camp1/$SN/g.tsv"
    assert_status 0
    assert_eq "$(copies)" "./acme/camp1/$SN/f.tsv"
}

@test "two waiting uploads of a 255-byte name: the second copy's name is shortened to fit, the original's is kept" {
    long=$(printf 'a%.0s' $(seq 1 251)).tsv
    ok "$DEV/$long" 10
    spool "$DEV/$long"
    ok "$DEV/$long" 20 2
    spool "$DEV/$long"
    assert_status 0
    assert_eq "$(copies | wc -l)" 2
    second=$(copies | grep '~1$')
    assert_eq "$(basename "$second" | wc -c)" 256
    work
    assert_status 0
    assert_eq "$(values)" "10 11 12 20 21 "
    assert_file "$DEV/parsed/$long"
    assert_eq "$(copies)" ""
    grep -q "file_name=$long " "$OUT"
}

@test "status by a user who may not read the spool (0700): the spool's lines say so, the rest is shown, exit 0" {
    [ "$(id -u)" -eq 0 ] || skip "needs root, to run status as another user"
    command -v setpriv >/dev/null || skip "setpriv(1) not installed"
    base=$(mktemp -d /tmp/pv-spool.XXXXXX)
    chmod 755 "$base"
    mkdir -p "$base/data/acme/camp1/$SN"
    ok "$base/data/acme/camp1/$SN/f.tsv" 10
    run_parser spool -d "$base/data" "$base/data/acme/camp1/$SN/f.tsv"
    assert_status 0
    cp "${TSV_PARSER_REAL:-$TSV_PARSER}" "$base/tsv_parser"
    run --separate-stderr env -C "$base" TSV_REPORT_DIR="$base/data/../reports" \
        setpriv --reuid=65534 --regid=65534 --clear-groups "$base/tsv_parser" status -d "$base/data"
    rm -rf "$base"
    assert_status 0
    assert_contains "$output" "Spool $base/spool"
    assert_contains "$output" "cannot be read: "
    assert_contains "$output" "Waiting in the data folder"
}

@test "a copy damaged by a crash (shorter than the upload): removed, reported, the original spooled again by the next scan" {
    ok "$F" 10
    spool "$F"
    truncate -s 20 "$SPOOL/acme/camp1/$SN/f.tsv"
    work
    assert_status 0
    assert_contains "$stderr" "is damaged (20 bytes, the upload had $(stat -c %s "$F"))"
    assert_eq "$(rq 'f["status"]')" skipped
    assert_eq "$(wc -c <"$OUT")" 0
    assert_file "$F"
    assert_eq "$(copies)" ""
    parse_data
    assert_status 0
    assert_eq "$(values)" "10 11 12 "
    assert_file "$DEV/parsed/f.tsv"
}

@test "the clock stepped back: a new copy still comes after every older one (.queued keeps the last time)" {
    ok "$DEV/a.tsv" 10
    spool "$DEV/a.tsv"
    # as if the last copy had been made in 2030, before the clock was set back
    printf '1893456000.000000000\n' >"$SPOOL/.queued"
    touch -d @1893456000 "$SPOOL/acme/camp1/$SN/a.tsv"
    ok "$DEV/b.tsv" 20
    spool "$DEV/b.tsv"
    assert_eq "$(stat -c %.9Y "$SPOOL/acme/camp1/$SN/b.tsv")" 1893456000.000000001
    assert_eq "$(cat "$SPOOL/.queued")" 1893456000.000000001
    work
    assert_status 0
    assert_eq "$(rq '[x["file_path"] for x in r["files"]]')" "[\"$DEV/a.tsv\", \"$DEV/b.tsv\"]"
}
