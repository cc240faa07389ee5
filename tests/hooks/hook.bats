#!/usr/bin/env bats
# hooks/on-upload.sh, the SFTPGo hook, case by case: actions, upload statuses,
# mkdir depths, hostile names, paths outside the data folder, settings, log,
# exit statuses. The parser writes to a file (TSV_OUTPUT): no database; the
# playbook is a fake ansible-playbook that records its arguments. Uploads are
# ingested synchronously (POWERVIEW_INGEST=sync), so that each test sees the
# parser's outcome when the hook returns; spool.bats tests the default mode,
# the spool and its worker.

load helpers

setup() {
    hook_setup
    env_add POWERVIEW_INGEST=sync
    F="$DEV/f.tsv"
}

teardown() {
    show_log
}

# ------------------------------------------------------------------ upload

@test "upload, status 1: the file is ingested, moved to parsed/, exit 0, quiet" {
    ok "$F" 7
    upload "$F" 1
    assert_status 0
    assert_quiet
    assert_no_file "$F"
    assert_file "$DEV/parsed/f.tsv"
    assert_values 7
    assert_log "upload '$F': running tsv_parser"
    assert_log "upload '$F': tsv_parser exit 0: 1 file: 1 ingested, 0 to error/, 0 pending, 0 skipped; 1 point in"
}

@test "upload, no SFTPGO_ACTION_STATUS: ingested as status 1" {
    ok "$F" 3
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$F" SFTPGO_ACTION_USERNAME=logger1
    assert_status 0
    assert_file "$DEV/parsed/f.tsv"
    assert_values 3
    assert_log "upload '$F' by user 'logger1': tsv_parser exit 0: 1 file: 1 ingested, 0 to error/, 0 pending, 0 skipped; 1 point in"
}

@test "upload, status 2 (error, partial file) and 3 (quota exceeded): logged, skipped, exit 0" {
    ok "$F"
    upload "$F" 2
    assert_status 0
    assert_quiet
    assert_log "upload of '$F' failed (status 2: error, partial file): not ingested"
    upload "$F" 3
    assert_status 0
    assert_log "upload of '$F' failed (status 3: quota exceeded): not ingested"
    upload "$F" 0
    assert_status 0
    assert_log "has status '0', not 1: not ingested"
    # the parser did not run: file in place, no point, no report
    assert_file "$F"
    assert_no_file "$OUT"
    assert_no_file "$TSV_REPORT_DIR"
    run grep -c 'running tsv_parser' "$LOG"
    assert_eq "$output" 0
}

@test "upload outside the data folder (absolute elsewhere, '..', prefix data2): refused with 77, parser not run" {
    outside="$BATS_TEST_TMPDIR/elsewhere/acme/camp1/$SN/f.tsv"
    ok "$outside"
    upload "$outside"
    assert_status 77
    assert_log "ERROR: upload '$outside' is outside the data folder '$DATA': refused"

    upload "$DATA/../elsewhere/acme/camp1/$SN/f.tsv"
    assert_status 77
    assert_log "ERROR: upload '$DATA/../elsewhere/acme/camp1/$SN/f.tsv' is outside the data folder"

    # the data folder's name is a prefix of this one: not inside it
    data2="${DATA}2/acme/camp1/$SN/f.tsv"
    ok "$data2"
    upload "$data2"
    assert_status 77
    assert_log "ERROR: upload '$data2' is outside the data folder"

    assert_file "$outside"
    assert_file "$data2"
    assert_no_file "$OUT"
    assert_no_file "$TSV_REPORT_DIR"
    run grep -c 'running tsv_parser' "$LOG"
    assert_eq "$output" 0
}

@test "upload through a symbolic link pointing out (file or folder): refused, the target untouched" {
    target="$BATS_TEST_TMPDIR/elsewhere/secret.tsv"
    ok "$target"
    mkdir -p "$DEV"
    ln -s "$target" "$DEV/link.tsv"
    upload "$DEV/link.tsv"
    assert_status 77
    assert_log "ERROR: upload '$DEV/link.tsv' is outside the data folder"

    mkdir -p "$BATS_TEST_TMPDIR/elsewhere/camp/$SN"
    ok "$BATS_TEST_TMPDIR/elsewhere/camp/$SN/g.tsv"
    ln -s "$BATS_TEST_TMPDIR/elsewhere" "$DATA/evil"
    upload "$DATA/evil/camp/$SN/g.tsv"
    assert_status 77

    # a dangling link pointing out is refused too, not reported missing
    ln -s "$BATS_TEST_TMPDIR/nowhere.tsv" "$DEV/dangling.tsv"
    upload "$DEV/dangling.tsv"
    assert_status 77

    assert_file "$target"
    assert_file "$BATS_TEST_TMPDIR/elsewhere/camp/$SN/g.tsv"
    assert_no_file "$OUT"
    assert_no_file "$TSV_REPORT_DIR"
}

@test "upload through a linked file, device, campaign or company folder pointing out: 77, nothing read or made outside" {
    out="$BATS_TEST_TMPDIR/elsewhere"
    ok "$out/co/camp/$SN/f.tsv"
    before=$(tree_snapshot "$out")
    # each in a company of its own, so that every path has one link only
    mkdir -p "$DATA/c1/camp/$SN" "$DATA/c2/camp" "$DATA/c3"
    ln -s "$out/co/camp/$SN/f.tsv" "$DATA/c1/camp/$SN/f.tsv"
    ln -s "$out/co/camp/$SN" "$DATA/c2/camp/$SN"
    ln -s "$out/co/camp" "$DATA/c3/camp"
    ln -s "$out/co" "$DATA/c4"
    for c in c1 c2 c3 c4; do
        upload "$DATA/$c/camp/$SN/f.tsv"
        assert_status 77
        assert_quiet
        assert_log "ERROR: upload '$DATA/$c/camp/$SN/f.tsv' is outside the data folder '$DATA': refused"
    done
    assert_eq "$(tree_snapshot "$out")" "$before" "the folder outside"
    assert_no_file "$OUT"
    assert_no_file "$TSV_REPORT_DIR"
    run grep -c 'running tsv_parser' "$LOG"
    assert_eq "$output" 0
}

@test "upload through a linked folder inside the data folder (into another company): not taken, exit 0" {
    ok "$DEV/f.tsv" 1
    before=$(tree_snapshot "$DATA/acme")
    # mallory links to acme's folders from its own tree, at each depth
    mkdir -p "$DATA/mallory/c1" "$DATA/mallory/c2"
    ln -s "$DATA/acme" "$DATA/mallory/co"
    ln -s "$DATA/acme/camp1" "$DATA/mallory/c1/camp"
    ln -s "$DEV" "$DATA/mallory/c2/$SN"
    ln -s acme "$DATA/mallory2"
    for p in "$DATA/mallory/co/camp1/$SN/f.tsv" "$DATA/mallory/c1/camp/$SN/f.tsv" \
        "$DATA/mallory/c2/$SN/f.tsv" "$DATA/mallory2/camp1/$SN/f.tsv"; do
        upload "$p"
        assert_status 0
        assert_quiet
    done
    assert_log "upload '$DATA/mallory/c1/camp/$SN/f.tsv' goes through the symbolic link '$DATA/mallory/c1/camp': not taken (a link below the data folder may lead into another company's folder)"
    assert_log "upload '$DATA/mallory2/camp1/$SN/f.tsv' goes through the symbolic link '$DATA/mallory2': not taken"
    # '..' after a link: no component as written is a link, the path still crosses one
    mkdir -p "$DATA/mallory/c3"
    ln -s "$DEV" "$DATA/mallory/c3/l"
    upload "$DATA/mallory/c3/l/../$SN/f.tsv"
    assert_status 0
    assert_log "upload '$DATA/mallory/c3/l/../$SN/f.tsv' goes through a symbolic link (then '..') to '$DEV/f.tsv': not taken"
    assert_eq "$(tree_snapshot "$DATA/acme")" "$before" "acme's folder"
    assert_no_file "$OUT"
    run grep -c 'running tsv_parser' "$LOG"
    assert_eq "$output" 0

    # mkdir through a link does nothing either
    mkdir_hook "$DATA/mallory/co/camp9"
    assert_status 0
    assert_log "mkdir '$DATA/mallory/co/camp9' goes through the symbolic link '$DATA/mallory/co': nothing done"
    assert_not_called

    # the data folder itself may be reached through a link (the operator's),
    # when it is named so in POWERVIEW_DATA_DIR
    ln -s "$DATA" "$BATS_TEST_TMPDIR/data-link"
    upload "$BATS_TEST_TMPDIR/data-link/acme/camp1/$SN/f.tsv"
    assert_status 0
    assert_log "upload '$BATS_TEST_TMPDIR/data-link/acme/camp1/$SN/f.tsv' is not written below the data folder '$DATA' (a symbolic link leads there): not taken"
    sed -i "s|^POWERVIEW_DATA_DIR=.*|POWERVIEW_DATA_DIR='$BATS_TEST_TMPDIR/data-link'|" "$ENVF"
    upload "$BATS_TEST_TMPDIR/data-link/acme/camp1/$SN/f.tsv"
    assert_status 0
    assert_values 1
    assert_file "$DEV/parsed/f.tsv"
}

@test "upload with spaces, quotes, \$(...), backticks in folder and file names: ingested, nothing run" {
    dev="$DATA/a co 'x' \$(touch pwned) \`touch pwned\`/c=1 \$HOME;touch pwned/$SN"
    f="$dev/f \"q\" 'q' \$(touch pwned) \`touch pwned\` \${IFS}*.tsv"
    ok "$f" 5
    upload "$f"
    assert_status 0
    assert_quiet
    assert_no_file "$f"
    assert_file "$dev/parsed/$(basename "$f")"
    assert_values 5
    assert_contains "$(cat "$OUT")" 'file_name=f\ "q"\ '\''q'\''\ $(touch\ pwned)'
    assert_log "tsv_parser exit 0: 1 file: 1 ingested, 0 to error/, 0 pending, 0 skipped; 1 point in"
    assert_no_pwned
}

@test "upload of a name with a newline: the hook's lines stay one per event" {
    f="$DEV/new"$'\n'"line.tsv"
    ok "$f"
    upload "$f"
    # tsv_parser refuses the name (error/), which is exit 65, so the hook says 0
    assert_status 0
    assert_file "$DEV/error/new"$'\n'"line.tsv"
    assert_log "upload $'$DEV/new\\nline.tsv': tsv_parser exit 65: some files went to error/"
    run grep -c -E "$LOG_LINE_RE" "$LOG"
    assert_eq "$output" 2
}

@test "upload of what a scan would not take: not .tsv, in parsed/ or error/, a link inside, a folder, gone" {
    ok "$DEV/notes.txt"
    upload "$DEV/notes.txt"
    assert_status 0
    assert_log "upload '$DEV/notes.txt' is not a .tsv file: not ingested"
    ok "$DEV/parsed/old.tsv"
    upload "$DEV/parsed/old.tsv"
    assert_status 0
    assert_log "upload '$DEV/parsed/old.tsv' is inside a parsed/ or error/ folder: not ingested"
    ok "$DEV/error/bad.tsv"
    upload "$DEV/error/bad.tsv"
    assert_status 0
    ok "$F"
    ln -s "$F" "$DEV/alias.tsv"
    upload "$DEV/alias.tsv"
    assert_status 0
    assert_log "upload '$DEV/alias.tsv' is a symbolic link: not taken (as in a scan)"
    mkdir -p "$DEV/dir.tsv"
    upload "$DEV/dir.tsv"
    assert_status 0
    assert_log "is not a regular file: nothing to do"
    upload "$DEV/gone.tsv"
    assert_status 0
    assert_log "upload '$DEV/gone.tsv' is no longer there (another run took it?): nothing to do"
    assert_file "$F"
    assert_file "$DEV/notes.txt"
    assert_file "$DEV/parsed/old.tsv"
    assert_file "$DEV/error/bad.tsv"
    assert_no_file "$OUT"
    assert_no_file "$TSV_REPORT_DIR"
}

@test "upload without a path (post-disconnect set-up): the data folder is scanned" {
    ok "$DEV/a.tsv" 1
    ok "$DEV/b.tsv" 2
    ok "$DATA/bertin/plant 1/$SN/c.tsv" 3
    hook SFTPGO_ACTION=upload
    assert_status 0
    assert_quiet
    assert_values 1 2 3
    assert_file "$DEV/parsed/a.tsv"
    assert_file "$DEV/parsed/b.tsv"
    assert_file "$DATA/bertin/plant 1/$SN/parsed/c.tsv"
    assert_log "scan of '$DATA': tsv_parser exit 0: 3 files: 3 ingested, 0 to error/, 0 pending, 0 skipped; 3 points in"
    assert_eq "$(rq 'r["nb_files_success"]')" 3

    # an empty path is the same
    ok "$DEV/d.tsv" 4
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH=
    assert_status 0
    assert_values 1 2 3 4
}

# ------------------------------------------------------------------ mkdir

@test "mkdir <company>/<campaign>: ansible-playbook PLAYBOOK --extra-vars JSON, output logged" {
    mkdir_hook "$DATA/acme/camp2"
    assert_status 0
    assert_quiet
    assert_playbook acme camp2
    assert_eq "$(ansible_args)" "[\"$PLAYBOOK\", \"--extra-vars\", \"{\\\"company_name\\\": \\\"acme\\\", \\\"campaign_name\\\": \\\"camp2\\\", \\\"downsample_levels\\\": [\\\"1h\\\", \\\"1d\\\", \\\"1w\\\"]}\"]"
    assert_eq "$(cat "$ARGV.cwd")" "$(dirname "$PLAYBOOK")" "playbook run from its folder"
    assert_log "mkdir '$DATA/acme/camp2': creating the Grafana resources of company 'acme', campaign 'camp2' (downsampled levels: 1h,1d,1w)"
    assert_log "Grafana resources created for company 'acme', campaign 'camp2'"
    # the playbook's output, once
    run grep -c -x 'PLAY RECAP fake-ansible ok=1' "$LOG"
    assert_eq "$output" 1
    run grep -c -x 'fake-ansible warning' "$LOG"
    assert_eq "$output" 1
}

@test "mkdir with hostile names: spaces, '=', quotes, \$(...), backticks, backslash, newline, tab" {
    company="ACME & co = \"big\" 'one' \$(touch pwned) \`touch pwned\` a\\b"
    campaign="camp 2 company_name=evil"$'\n'"x"$'\t'"y \${HOME} é"
    mkdir_hook "$DATA/$company/$campaign"
    assert_status 0
    assert_playbook "$company" "$campaign"
    assert_no_pwned
    # the newline is escaped in the log line
    run grep -c -E "$LOG_LINE_RE" "$LOG"
    assert_eq "$output" 2
}

@test "mkdir with Jinja markers in a name: refused with an ERROR line, exit 0, playbook not called" {
    mkdir_hook "$DATA/{{ lookup('pipe', 'touch pwned') }}/camp1"
    assert_status 0
    assert_log "ERROR: mkdir '$DATA/{{ lookup('pipe', 'touch pwned') }}/camp1': company '{{ lookup('pipe', 'touch pwned') }}', campaign 'camp1': a name with '{{', '{%' or '{#' is refused"
    mkdir_hook "$DATA/acme/{% if true %}x{% endif %}"
    assert_status 0
    mkdir_hook "$DATA/acme/a{#comment#}"
    assert_status 0
    assert_not_called
    assert_no_pwned
    # a single brace is fine
    mkdir_hook "$DATA/acme/{camp}"
    assert_status 0
    assert_playbook acme "{camp}"
}

@test "mkdir of a company or campaign named parsed or error, or hidden: logged, exit 0, playbook not called" {
    for d in parsed/camp1 error/camp1 .hidden/camp1 acme/parsed acme/error acme/.sftpgo acme/..x; do
        mkdir_hook "$DATA/$d"
        assert_status 0
        assert_quiet
        assert_log "mkdir '$DATA/$d': company '${d%%/*}', campaign '${d#*/}': '"
    done
    assert_log "mkdir '$DATA/acme/parsed': company 'acme', campaign 'parsed': 'parsed' is a name the scan passes over (parsed, error or a leading '.'): no Grafana resources"
    assert_log "mkdir '$DATA/.hidden/camp1': company '.hidden', campaign 'camp1': '.hidden' is a name the scan passes over"
    assert_not_called
    # names that only contain them are fine
    mkdir_hook "$DATA/parsed-co/camp.1"
    assert_status 0
    assert_playbook parsed-co camp.1
}

@test "mkdir at other depths (data folder, company, device, deeper): skipped, playbook not called" {
    mkdir_hook "$DATA"
    assert_status 0
    assert_log "mkdir '$DATA': the data folder itself: nothing to do"
    mkdir_hook "$DATA/"
    assert_status 0
    mkdir_hook "$DATA/acme"
    assert_status 0
    assert_log "mkdir '$DATA/acme': company level: nothing to do until a campaign folder is made"
    mkdir_hook "$DATA/acme/camp1/$SN"
    assert_status 0
    assert_log "mkdir '$DATA/acme/camp1/$SN': device level or deeper: nothing to do"
    mkdir_hook "$DATA/acme/camp1/$SN/parsed"
    assert_status 0
    assert_not_called
}

@test "mkdir with a trailing slash, '//' or '.': the same campaign" {
    mkdir_hook "$DATA/acme/camp 3/"
    assert_status 0
    assert_playbook acme "camp 3"
    rm "$ARGV"
    mkdir_hook "$DATA//acme/./camp4//"
    assert_status 0
    assert_playbook acme camp4
}

@test "mkdir outside the data folder (prefix data2, '..', link out): refused with 77" {
    mkdir_hook "${DATA}2/acme/camp1"
    assert_status 77
    assert_log "ERROR: mkdir '${DATA}2/acme/camp1' is outside the data folder '$DATA': refused"
    mkdir_hook "$DATA/../x/y"
    assert_status 77
    mkdir -p "$BATS_TEST_TMPDIR/elsewhere/camp"
    ln -s "$BATS_TEST_TMPDIR/elsewhere" "$DATA/evil"
    mkdir_hook "$DATA/evil/camp"
    assert_status 77
    assert_not_called
}

@test "mkdir: a failing playbook is logged and its status returned; a missing playbook is 78" {
    FAKE_ANSIBLE_STATUS=4 mkdir_hook "$DATA/acme/camp2"
    assert_status 4
    assert_log "ERROR: ansible-playbook failed with status 4 for company 'acme', campaign 'camp2'"
    rm "$ARGV"
    rm "$PLAYBOOK"
    mkdir_hook "$DATA/acme/camp3"
    assert_status 78
    assert_log "ERROR: playbook '$PLAYBOOK' not found (POWERVIEW_PLAYBOOK)"
    assert_not_called
}

@test "mkdir without a path: ERROR, exit 64" {
    hook SFTPGO_ACTION=mkdir
    assert_status 64
    assert_log "ERROR: mkdir without SFTPGO_ACTION_PATH"
    assert_not_called
}

# ------------------------------------------------------------------ other actions

@test "unknown actions: logged, exit 0; SFTPGO_ACTION unset or empty: ERROR, exit 64" {
    ok "$F"
    for a in delete rename download first-upload 'x y$(touch pwned)'; do
        hook SFTPGO_ACTION="$a" SFTPGO_ACTION_PATH="$F"
        assert_status 0
        assert_quiet
        assert_log "action '$a': nothing to do"
    done
    hook SFTPGO_ACTION_PATH="$F"
    assert_status 64
    assert_quiet
    assert_log "ERROR: SFTPGO_ACTION is not set"
    hook SFTPGO_ACTION=
    assert_status 64
    assert_file "$F"
    assert_not_called
    assert_no_pwned
}

# ------------------------------------------------------------------ log

@test "log: time-stamped lines, the parser's lines once, no secret even from the environment" {
    ok "$DEV/a.tsv"
    # two points: the scan's summary differs from the upload's
    mkfile "$DEV/b.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1' '05/01/26 10:10:00\t2'
    export INFLUXDB_ADMIN_TOKEN="$SECRET"
    upload "$DEV/a.tsv"
    assert_status 0
    hook SFTPGO_ACTION=upload
    assert_status 0
    hook SFTPGO_ACTION_PATH="$DEV/x.tsv"
    mkdir_hook "$DATA/acme/camp9"
    FAKE_ANSIBLE_STATUS=2 mkdir_hook "$DATA/acme/camp8"
    upload "$DEV/a.tsv" 2
    hook SFTPGO_ACTION=rename

    # every line is a hook line, a tsv_parser line or the fake playbook's output
    run grep -v -E -e "$LOG_LINE_RE" \
        -e '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \[(INFO|WARNING|ERROR)\] tsv_parser: ' \
        -e '^(PLAY RECAP fake-ansible ok=1|fake-ansible warning)$' "$LOG"
    assert_eq "$output" "" "lines of unknown form"
    # no line twice (time stamps and pids aside)
    run bash -c 'grep -v fake-ansible "$1" | sed -E "s/^\[[^]]*\] on-upload\[[0-9]+\]: //; s/^[0-9T:-]{19}Z //" | sort | uniq -d' _ "$LOG"
    assert_eq "$output" "" "duplicated lines"
    run grep -c "tsv_parser: $DEV/a.tsv: success" "$LOG"
    assert_eq "$output" 1
    run grep -c "tsv_parser: $DEV/b.tsv: success" "$LOG"
    assert_eq "$output" 1
    assert_log "tsv_parser exit 0: 1 file: 1 ingested, 0 to error/, 0 pending, 0 skipped; 1 point in"
    run grep -c "$SECRET" "$LOG"
    assert_eq "$output" 0 "secret in the log"
}

@test "log: the folder is created; an unwritable log goes to standard error" {
    sed -i "s|^POWERVIEW_LOG_FILE=.*|POWERVIEW_LOG_FILE=$BATS_TEST_TMPDIR/deep/er/hook.log|" "$ENVF"
    hook SFTPGO_ACTION=rename
    assert_status 0
    assert_file "$BATS_TEST_TMPDIR/deep/er/hook.log"
    LOG="$BATS_TEST_TMPDIR/deep/er/hook.log" assert_log "action 'rename': nothing to do"

    mkdir -p "$BATS_TEST_TMPDIR/ro"
    hook SFTPGO_ACTION=rename POWERVIEW_LOG_FILE="$BATS_TEST_TMPDIR/ro"
    assert_status 0
    assert_contains "$stderr" "ERROR: cannot write to the log file '$BATS_TEST_TMPDIR/ro': logging to standard error"
    assert_contains "$stderr" "action 'rename': nothing to do"
}

# ------------------------------------------------------------------ parser statuses

@test "scan that left every file for later or found none: the hook line says so, from tsv_parser's summary" {
    ok "$DEV/a.tsv"
    ok "$DEV/b.tsv"
    sed -i "s|^TSV_MIN_AGE=.*|TSV_MIN_AGE=3600|" "$ENVF"
    hook SFTPGO_ACTION=upload
    assert_status 0
    assert_quiet
    assert_file "$DEV/a.tsv"
    assert_log "scan of '$DATA': tsv_parser exit 0: 0 files: no TSV files found to process in $DATA; 2 left for a later run (modified in the last 3600 s)"
    # the hook's line is the summary line tsv_parser printed last
    summary=$(grep -E '\[INFO\] tsv_parser: ' "$LOG" | tail -n 1 | sed -E 's/^[0-9T:-]{19}Z \[INFO\] tsv_parser: //')
    assert_eq "$(hook_lines | tail -n 1)" "scan of '$DATA': tsv_parser exit 0: $summary"

    rm -r "${DEV:?}"
    hook SFTPGO_ACTION=upload
    assert_status 0
    assert_log "scan of '$DATA': tsv_parser exit 0: 0 files: no TSV files found to process in $DATA"
    assert_eq "$(hook_lines | grep -c 'all files ingested')" 0
}

@test "scan with some files left for later: ingested and left counted in the hook line" {
    ok "$DEV/a.tsv" 1
    ok "$DEV/b.tsv" 2
    touch -d '2020-01-01 00:00:00' "$DEV/a.tsv"
    sed -i "s|^TSV_MIN_AGE=.*|TSV_MIN_AGE=3600|" "$ENVF"
    hook SFTPGO_ACTION=upload
    assert_status 0
    assert_file "$DEV/parsed/a.tsv"
    assert_file "$DEV/b.tsv"
    assert_log "scan of '$DATA': tsv_parser exit 0: 1 file: 1 ingested, 0 to error/, 0 pending, 0 skipped; 1 point in"
    assert_log "; 1 left for a later run (modified in the last 3600 s)"
}

@test "no summary line from tsv_parser (TSV_LOG_LEVEL=ERROR): the hook line has the status alone" {
    env_add "TSV_LOG_LEVEL=ERROR"
    ok "$F"
    upload "$F"
    assert_status 0
    assert_file "$DEV/parsed/f.tsv"
    assert_eq "$(hook_lines | tail -n 1)" "upload '$F': tsv_parser exit 0: done"
    mkfile "$DEV/g.tsv"
    upload "$DEV/g.tsv"
    assert_status 0
    assert_eq "$(hook_lines | tail -n 1)" "upload '$DEV/g.tsv': tsv_parser exit 65: some files went to error/"
}

@test "parser exit 65 (a broken file): hook exit 0, 'some files went to error/' logged" {
    mkfile "$F" 'not a logger file'
    upload "$F"
    assert_status 0
    assert_quiet
    assert_file "$DEV/error/f.tsv"
    assert_log "tsv_parser exit 65: some files went to error/; 1 file: 0 ingested, 1 to error/, 0 pending, 0 skipped; 0 points in"
    run grep -c "tsv_parser: $F: error: " "$LOG"
    assert_eq "$output" 1
}

@test "parser exit 75 (output failing): hook exit 0, file kept for the next run" {
    sed -i "s|^TSV_OUTPUT=.*|TSV_OUTPUT=/dev/full|" "$ENVF"
    ok "$F"
    upload "$F"
    assert_status 0
    assert_file "$F"
    assert_log "tsv_parser exit 75: database unavailable: files kept for the next run; 1 file: 0 ingested, 0 to error/, 1 pending, 0 skipped; 0 points in"
}

@test "parser exit 78 (TSV_TIMEZONE=Mars/Olympus in the settings file): hook exit 78, file in place" {
    env_add "TSV_TIMEZONE=Mars/Olympus"
    ok "$F"
    upload "$F"
    assert_status 78
    assert_quiet
    assert_file "$F"
    assert_no_file "$OUT"
    assert_log "tsv_parser exit 78: configuration error"
    run grep -c "TSV_TIMEZONE" "$LOG"
    assert_eq "$output" 1
}

@test "hook settings wrong: no data folder or no parser is 78, nothing done" {
    ok "$F"
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$F" POWERVIEW_DATA_DIR="$BATS_TEST_TMPDIR/nodata"
    assert_status 78
    assert_log "ERROR: data folder '$BATS_TEST_TMPDIR/nodata' not found (POWERVIEW_DATA_DIR)"
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$F" POWERVIEW_TSV_PARSER="$BATS_TEST_TMPDIR/none"
    assert_status 78
    assert_log "ERROR: tsv_parser not found or not executable: '$BATS_TEST_TMPDIR/none'"
    assert_file "$F"
}

# ------------------------------------------------------------------ settings

@test "settings file: read as data, quotes stripped, first value kept, environment wins" {
    other="$BATS_TEST_TMPDIR/other data"
    ok "$other/acme/camp1/$SN/f.tsv" 9
    # before hook_setup's lines, which come later and so are not taken;
    # sourced, the first three would run 'touch pwned'
    {
        echo 'PWN1=$(touch pwned)'
        echo 'PWN2=`touch pwned`'
        echo 'PWN3="$(touch pwned)"'
        echo "BASE='$BATS_TEST_TMPDIR'"
        echo "  export POWERVIEW_DATA_DIR = \"\${BASE}/other data\"   # a comment"
        echo "POWERVIEW_DATA_DIR=$DATA"
        echo "POWERVIEW_LOG_FILE='$BATS_TEST_TMPDIR/it\\'s.log'"
        cat "$ENVF"
    } >"$ENVF.new"
    mv "$ENVF.new" "$ENVF"
    upload "$other/acme/camp1/$SN/f.tsv"
    assert_status 0
    assert_values 9
    LOG="$BATS_TEST_TMPDIR/it's.log" assert_log "tsv_parser exit 0: 1 file: 1 ingested, 0 to error/, 0 pending, 0 skipped; 1 point in"
    assert_no_pwned

    # the environment wins over the file
    ok "$F" 10
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$F" POWERVIEW_DATA_DIR="$DATA" POWERVIEW_LOG_FILE="$LOG"
    assert_status 0
    assert_values 9 10
    assert_log "upload '$F': tsv_parser exit 0: 1 file: 1 ingested, 0 to error/, 0 pending, 0 skipped; 1 point in"
}

@test "settings file: a value past 64 KiB after expansion, or values past 1 MiB, is an ERROR, exit 78, nothing run" {
    ok "$F"
    n=$(wc -l <"$ENVF")
    # A=xx, A1=${A}${A}, ...: A16 would be 2^17 bytes
    env_add 'A=xx' 'A1=${A}${A}'
    for i in $(seq 2 40); do
        env_add "A$i=\"\${A$((i - 1))}\${A$((i - 1))}\""
    done
    # a refused settings file gives nothing, not even the log: named here
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$F" POWERVIEW_LOG_FILE="$LOG"
    assert_status 78
    assert_quiet
    assert_log "ERROR: settings file '$ENVF' line $((n + 17)): the value of A16 is longer than 65536 bytes after expansion: nothing done"
    mkdir_hook "$DATA/acme/camp2"
    assert_status 78
    assert_not_called
    assert_file "$F"
    assert_no_file "$OUT"
    run grep -c 'running tsv_parser' "$LOG"
    assert_eq "$output" 0

    # each value within bounds, 16 of 64 KiB and the settings above past 1 MiB
    head -n "$n" "$ENVF" >"$ENVF.new"
    mv "$ENVF.new" "$ENVF"
    env_add "BIG=$(printf '%65536s' '' | tr ' ' b)"
    for i in $(seq 1 16); do
        env_add "BIG$i=\${BIG}"
    done
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$F" POWERVIEW_LOG_FILE="$LOG"
    assert_status 78
    assert_log "ERROR: settings file '$ENVF' line $((n + 16)): the values up to this line add up to more than 1048576 bytes after expansion: nothing done"
    assert_file "$F"

    # as tsv_parser, a file larger than 1 MiB (none of it read: the log is named here)
    head -c 1048577 /dev/zero | tr '\0' '#' >>"$ENVF"
    hook SFTPGO_ACTION=upload SFTPGO_ACTION_PATH="$F" POWERVIEW_LOG_FILE="$LOG"
    assert_status 78
    assert_log "ERROR: settings file '$ENVF' is larger than 1048576 bytes: nothing done"
    assert_file "$F"
}

@test "defaults: the .env beside the project, tsv_parser from PATH, the project's playbook" {
    proj="$BATS_TEST_TMPDIR/project"
    mkdir -p "$proj/hooks" "$proj/ansible" "$BATS_TEST_TMPDIR/pbin"
    cp "$HOOK" "$proj/hooks/on-upload.sh"
    : >"$proj/ansible/create_grafana_resources.yml"
    ln -s "$(realpath "$TSV_PARSER")" "$BATS_TEST_TMPDIR/pbin/tsv_parser"
    grep -v -e '^POWERVIEW_TSV_PARSER=' -e 'POWERVIEW_PLAYBOOK=' "$ENVF" >"$proj/.env"
    unset POWERVIEW_ENV_FILE
    ok "$F" 11
    HOOK="$proj/hooks/on-upload.sh"
    PATH="$BATS_TEST_TMPDIR/pbin:$PATH" upload "$F"
    assert_status 0
    assert_values 11
    assert_file "$DEV/parsed/f.tsv"
    # (every event: tsv_parser reads the settings file)
    PATH="$BATS_TEST_TMPDIR/pbin:$PATH" mkdir_hook "$DATA/acme/camp5"
    assert_status 0
    PLAYBOOK=$(realpath "$proj/ansible/create_grafana_resources.yml")
    assert_playbook acme camp5
}

@test "settings file named but missing: a warning, then the environment and defaults" {
    hook SFTPGO_ACTION=rename POWERVIEW_ENV_FILE="$BATS_TEST_TMPDIR/missing.env" POWERVIEW_LOG_FILE="$LOG"
    assert_status 0
    assert_log "WARNING: settings file '$BATS_TEST_TMPDIR/missing.env' not found: using the environment and the defaults"
}

# ------------------------------------------------------------------ lint

@test "shellcheck: hooks/on-upload.sh is clean" {
    command -v shellcheck >/dev/null || skip "shellcheck not installed"
    run shellcheck -x "$HOOK"
    assert_status 0
}
