#!/usr/bin/env bats
# A data folder shared by many client companies: what one tenant (or an
# unlucky logger) can do with its own folder — links, permissions, names,
# rewrites — never moves a file outside the data folder, never stops the
# other tenants, never loses or doubles a point, and never makes a report
# invalid (docs/operations.md, "Hostile or unlucky tenants").

load helpers

setup() {
    common_setup
    F="$DEV/f.tsv"
    OUTSIDE="$BATS_TEST_TMPDIR/outside"
    mkdir -p "$OUTSIDE"
}

# ok FILE [VALUE]: a valid one-point file.
ok() { mkfile "$1" "$HDR_MONO_SN" "$HDR_MONO_FMT" "05/01/26 10:00:00\t${2:-1}"; }

# tree DIR: every path below DIR with its type and size, to compare before and after.
tree() { (cd "$1" && find . -printf '%p %y %s\n' | LC_ALL=C sort); }

# strict_json FILE: FILE is one JSON document in valid UTF-8.
strict_json() { py -c 'import json,sys; json.loads(open(sys.argv[1],"rb").read().decode("utf-8"))' "$1"; }

# ---------------------------------------------------------------- links

@test "parsed/ as a symbolic link (outside, inside, dangling): never followed, the file stays, exit 75" {
    local target
    mkdir -p "$DATA/other/c/d"
    for target in "$OUTSIDE" "$DATA/other/c/d" "$BATS_TEST_TMPDIR/missing"; do
        ok "$F"
        ln -sfn "$target" "$DEV/parsed"
        parse_file "$F"
        assert_status 75
        assert_file "$F"
        assert_eq "$(rq 'f["status"]')" pending
        assert_contains "$(rq 'f["error"]')" "parsed is a symbolic link: not followed, the file stays in place"
        assert_contains "$stderr" "symbolic link"
        assert_eq "$(ls -A "$OUTSIDE" "$DATA/other/c/d" | grep -c tsv)" 0
        assert_no_file "$BATS_TEST_TMPDIR/missing"
        rm -f "$DEV/parsed" "$OUT"
    done
}

@test "error/ as a symbolic link: never followed, the bad file stays, exit 75" {
    mkfile "$F"
    ln -s "$OUTSIDE" "$DEV/error"
    parse_file "$F"
    assert_status 75
    assert_file "$F"
    assert_contains "$(rq 'f["error"]')" "error is a symbolic link"
    assert_eq "$(ls -A "$OUTSIDE")" ""
}

@test "-t through a linked file, device, campaign or company outside the data folder: refused, nothing read or created" {
    local kind link path
    ok "$OUTSIDE/acme/camp1/$SN/f.tsv"
    before=$(tree "$OUTSIDE")
    for kind in file device campaign company; do
        case $kind in
        file) link=$DEV/f.tsv target=$OUTSIDE/acme/camp1/$SN/f.tsv ;;
        device) link=$DEV target=$OUTSIDE/acme/camp1/$SN ;;
        campaign) link=$DATA/acme/camp1 target=$OUTSIDE/acme/camp1 ;;
        company) link=$DATA/acme target=$OUTSIDE/acme ;;
        esac
        rm -rf "$DATA/acme"
        mkdir -p "$(dirname "$link")"
        ln -s "$target" "$link"
        parse_file "$DEV/f.tsv"
        assert_status 65
        assert_eq "$(rq 'f["status"]')" error
        assert_contains "$(rq 'f["error"]')" "is a symbolic link: not followed" "$kind"
        assert_eq "$(rq 'f["nb_rows"]')" 0 "$kind"
        assert_eq "$(rq 'f["destination"]')" null "$kind"
        assert_contains "$(rq 'f["warnings"]')" "left in place" "$kind"
        assert_eq "$(cat "$OUT" 2>/dev/null)" "" "$kind: no point written"
        assert_eq "$(tree "$OUTSIDE")" "$before" "$kind: nothing created or moved outside"
        [ -L "$link" ]
    done
}

@test "a link to another tenant's device folder inside the data folder: refused as well" {
    ok "$F"
    mkdir -p "$DATA/evil/c"
    ln -s "$DEV" "$DATA/evil/c/$SN"
    parse_file "$DATA/evil/c/$SN/f.tsv"
    assert_status 65
    assert_contains "$(rq 'f["error"]')" "evil/c/$SN is a symbolic link: not followed"
    assert_file "$F"
    assert_eq "$(cat "$OUT" 2>/dev/null)" ""
    # a scan never enters the link, and takes the real file once, for its own company
    rm -rf "$TSV_REPORT_DIR"
    parse_data
    assert_status 0
    assert_eq "$(rq 'r["nb_files_total"]')" 1
    assert_eq "$(rq 'f["bucket"]')" acme
    assert_contains "$stderr" "$DATA/evil/c/$SN: not taken: symbolic link: not followed"
}

# ---------------------------------------------------------------- permissions

# as_service ARGS...: tsv_parser as an unprivileged user (root reads every
# folder, so a chmod 000 means nothing to it): nobody when run as root, in a
# folder of /tmp that nobody can reach, with a copy of the binary.
as_service() {
    local bin=$BASE/tsv_parser real=${TSV_PARSER_REAL:-$TSV_PARSER}
    local -a cmd=()
    [ -x "$bin" ] || cp "$real" "$bin"
    if [ "$(id -u)" -eq 0 ]; then
        chown -R 65534:65534 "$BASE"
        cmd=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    fi
    # under the valgrind suite, the copy runs under valgrind too
    if [ -n "${TSV_PARSER_REAL:-}" ]; then
        cmd+=(valgrind --quiet --error-exitcode=99 --leak-check=full
            --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect)
    fi
    run --separate-stderr env -C "$BASE" TSV_REPORT_DIR="$BASE/reports" "${cmd[@]}" "$bin" "$@"
}

setup_base() {
    BASE=$(mktemp -d /tmp/pv-tenants.XXXXXX)
    chmod 755 "$BASE"
    DATA=$BASE/data
    OUT=$BASE/out.lp
    TSV_REPORT_DIR=$BASE/reports
    mkdir -p "$DATA" "$TSV_REPORT_DIR"
}

@test "a company folder the parser cannot read: skipped with one warning, the others ingested, exit 0" {
    setup_base
    ok "$DATA/acme/camp1/$SN/a.tsv" 1
    ok "$DATA/locked/camp1/$SN/l.tsv" 2
    ok "$DATA/zeta/camp1/$SN/z.tsv" 3
    chmod 000 "$DATA/locked"
    as_service -d "$DATA" -o "$OUT"
    chmod 755 "$DATA/locked"
    assert_status 0
    assert_eq "$(grep -c 'locked: skipped: cannot read the folder: Permission denied' <<<"$stderr")" 1
    assert_eq "$(wc -l <"$OUT")" 2
    assert_file "$DATA/acme/camp1/$SN/parsed/a.tsv"
    assert_file "$DATA/zeta/camp1/$SN/parsed/z.tsv"
    assert_file "$DATA/locked/camp1/$SN/l.tsv"
    assert_eq "$(rq 'r["nb_files_total"]')" 2
    assert_eq "$(rq 'r["skipped_folders"]')" "[{\"path\": \"$DATA/locked\", \"reason\": \"cannot read the folder: Permission denied\"}]"

    # status: from the last run's report, and from its own scan when it runs as the service
    chmod 000 "$DATA/locked"
    as_service status -d "$DATA" --json
    chmod 755 "$DATA/locked"
    assert_status 0
    assert_eq "$(py -c 'import json,sys; print([e["path"] for e in json.load(sys.stdin)["skipped_folders"]])' <<<"$output")" "['$DATA/locked']"
    run_parser status -d "$DATA"
    assert_status 0
    assert_contains "$output" "Folders skipped (cannot be read)"
    assert_contains "$output" "$DATA/locked: cannot read the folder: Permission denied (last run "
    rm -rf "$BASE"
}

@test "-t of a file in a folder the parser cannot enter: pending, exit 75, nothing moved" {
    setup_base
    ok "$DATA/acme/camp1/$SN/a.tsv"
    chmod 000 "$DATA/acme/camp1"
    as_service -d "$DATA" -t "$DATA/acme/camp1/$SN/a.tsv" -o "$OUT"
    chmod 755 "$DATA/acme/camp1"
    assert_status 75
    assert_file "$DATA/acme/camp1/$SN/a.tsv"
    assert_eq "$(rq 'f["status"]')" pending
    assert_eq "$(rq 'f["error"]')" "cannot open folder acme/camp1/$SN: Permission denied"
    rm -rf "$BASE"
}

# ---------------------------------------------------------------- names

@test "company, campaign and device folders named parsed or error: their files are reported, never invisible" {
    ok "$DATA/parsed/camp1/$SN/p.tsv"
    ok "$DATA/acme/error/$SN/e.tsv"
    ok "$DATA/acme/camp1/parsed/d.tsv"
    ok "$DATA/acme/camp1/$SN/parsed/done.tsv" # the parser's own: silent
    ok "$F"
    ok "$DEV/upper.TSV"
    ln -s "$F" "$DEV/link.tsv"
    parse_data
    assert_status 0
    assert_eq "$(rq 'r["nb_files_total"]')" 1
    assert_contains "$stderr" "$DATA/parsed: 1 files not taken: company folder named 'parsed'"
    assert_contains "$stderr" "$DATA/acme/error: 1 files not taken: campaign folder named 'error'"
    assert_contains "$stderr" "$DATA/acme/camp1/parsed: 1 files not taken: device folder named 'parsed'"
    assert_contains "$stderr" "$DEV/upper.TSV: not taken: only names ending in '.tsv'"
    assert_contains "$stderr" "$DEV/link.tsv: not taken: symbolic link: not followed"
    assert_eq "$(rq '[(e["path"], e.get("nb_files")) for e in r["not_taken"]]')" \
        "[[\"$DATA/acme/camp1/$SN/link.tsv\", null], [\"$DATA/acme/camp1/$SN/upper.TSV\", null], [\"$DATA/acme/camp1/parsed\", 1], [\"$DATA/acme/error\", 1], [\"$DATA/parsed\", 1]]"
    assert_file "$DATA/parsed/camp1/$SN/p.tsv"
    assert_file "$DATA/acme/error/$SN/e.tsv"

    run_parser status -d "$DATA" --json
    assert_status 0
    assert_eq "$(py -c 'import json,sys
for e in json.load(sys.stdin)["waiting"]: print(e["file_path"], "|", e.get("reason"))' <<<"$output")" \
"$DATA/acme/camp1/$SN/link.tsv | symbolic link: not followed
$DATA/acme/camp1/$SN/upper.TSV | only names ending in '.tsv' (lower case) are taken
$DATA/acme/camp1/parsed/d.tsv | device folder named 'parsed': the scan keeps out of parsed/ and error/
$DATA/acme/error/$SN/e.tsv | campaign folder named 'error': the scan keeps out of parsed/ and error/
$DATA/parsed/camp1/$SN/p.tsv | company folder named 'parsed': the scan keeps out of parsed/ and error/"
    run_parser status -d "$DATA"
    assert_contains "$output" "not taken: company folder named 'parsed'"
}

@test "a tenant's 1 200 links: 1 000 listed in the log and the report, the others counted; the real file taken" {
    ok "$F"
    py - "$DEV" "$F" <<'EOF'
import os, sys
for i in range(1200):
    os.symlink(sys.argv[2], os.path.join(sys.argv[1], "l%04d.tsv" % i))
EOF
    parse_data
    assert_status 0
    assert_eq "$(rq 'r["nb_files_total"]')" 1
    assert_eq "$(rq 'len(r["not_taken"])')" 1000
    assert_eq "$(rq 'r["nb_not_listed"]')" 200
    assert_eq "$(grep -c 'not taken: symbolic link' <<<"$stderr")" 1000
    assert_contains "$stderr" "200 more files or folders passed over are not listed (1000 at most are)"
}

@test "a re-uploaded file whose name is 255 bytes: the numbered name is shortened, keeps .tsv, and the file is moved" {
    local stem
    stem=$(printf 'a%.0s' $(seq 251))
    ok "$DEV/$stem.tsv" 1
    parse_file "$DEV/$stem.tsv"
    assert_status 0
    ok "$DEV/$stem.tsv" 2
    parse_file "$DEV/$stem.tsv"
    assert_status 0
    assert_no_file "$DEV/$stem.tsv"
    assert_file "$DEV/parsed/${stem:0:249}.1.tsv"
    assert_eq "$(rq 'f["destination"]')" "$DEV/parsed/${stem:0:249}.1.tsv"
    # and again: nothing stays pending to be sent on every run
    ok "$DEV/$stem.tsv" 3
    parse_data
    assert_status 0
    assert_file "$DEV/parsed/${stem:0:249}.2.tsv"
    assert_eq "$(wc -l <"$OUT")" 3
}

@test "folder and file names that are not valid UTF-8: error/ with a clear message, every report strict UTF-8 JSON" {
    ok "$DATA/caf$(printf '\xe9')/camp1/$SN/a.tsv"
    ok "$DATA/acme/c$(printf '\xff')/$SN/b.tsv"
    ok "$DATA/acme/camp1/d$(printf '\xc3')/c.tsv"
    ok "$DEV/f$(printf '\xed\xa0\x80').tsv"
    ok "$F"
    parse_data
    assert_status 65
    assert_eq "$(wc -l <"$OUT")" 1
    for report in "$TSV_REPORT_DIR"/*.json; do
        strict_json "$report"
    done
    assert_eq "$(rq '[(f["status"], f["error"]) for f in r["files"]]')" \
        '[["success", null], ["error", "file name is not valid UTF-8"], ["error", "device folder name is not valid UTF-8"], ["error", "campaign folder name is not valid UTF-8"], ["error", "company folder name is not valid UTF-8"]]'
    assert_contains "$(rq '[f["file_path"] for f in r["files"]]')" "caf\\\\xE9/camp1"
    assert_file "$DATA/caf$(printf '\xe9')/camp1/$SN/error/a.tsv"
    assert_file "$DEV/error/f$(printf '\xed\xa0\x80').tsv"
    # a dry run's report and the status are strict JSON too
    ok "$DATA/caf$(printf '\xe9')/camp1/$SN/again.tsv"
    run_parser -d "$DATA" --dry-run
    printf '%s' "$output" >"$BATS_TEST_TMPDIR/dry.json"
    strict_json "$BATS_TEST_TMPDIR/dry.json"
    run_parser status -d "$DATA" --json
    assert_status 0
    printf '%s' "$output" >"$BATS_TEST_TMPDIR/status.json"
    strict_json "$BATS_TEST_TMPDIR/status.json"
}

# ---------------------------------------------------------------- rewrites

@test "a file rewritten while it is read: pending (exit 75), left in place, then ingested once" {
    local i rows=()
    for i in $(seq 0 2999); do
        rows+=("$(date -u -d "@$((1767603600 + i * 600))" '+%d/%m/%y %H:%M:%S')\t$i")
    done
    TZ=UTC0 mkfile "$F" "$HDR_MONO_SN" "$HDR_MONO_FMT" "${rows[@]}"
    mkfifo "$BATS_TEST_TMPDIR/pipe"
    # the reader takes the first bytes, the tenant appends a row while the
    # parser is blocked writing, then the reader drains the rest
    (
        exec <"$BATS_TEST_TMPDIR/pipe"
        head -c 1 >/dev/null
        printf '05/01/26 09:00:00\t-1\n' >>"$F"
        cat >"$BATS_TEST_TMPDIR/sent.lp"
    ) &
    TSV_TIMEZONE=UTC run_parser -d "$DATA" -t "$F" -o "$BATS_TEST_TMPDIR/pipe"
    wait
    assert_status 75
    assert_file "$F"
    assert_eq "$(rq 'f["status"]')" pending
    assert_contains "$(rq 'f["error"]')" "the file changed while it was read"
    assert_contains "$(rq 'f["warnings"]')" "changed while it was read"
    # the next run reads the whole new content, once
    TSV_TIMEZONE=UTC parse_file "$F"
    assert_status 0
    assert_eq "$(rq 'f["nb_rows"]')" 3001
    assert_eq "$(wc -l <"$OUT")" 3001
    assert_eq "$(sort -u "$OUT" | wc -l)" 3001
}
