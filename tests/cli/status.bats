#!/usr/bin/env bats
# `tsv_parser status`: what a known report folder says, as a table and as JSON;
# report retention (TSV_REPORT_KEEP_DAYS).

load helpers

setup() {
    common_setup
    R="$TSV_REPORT_DIR"
    mkdir -p "$R"
}

# report NAME END_TIME FILES_JSON: a run report as tsv_parser writes them
report() {
    printf '{"run_id":"%s","end_time":"%s","status":"success","files":%s,"dry_run":false}\n' \
        "$2" "$2" "$3" >"$R/tsv_parser_$1.json"
}

file_ok() { # PATH COMPANY CAMPAIGN DEVICE POINTS
    printf '{"file_path":"%s","bucket":"%s","campaign":"%s","device_master_sn":"%s","status":"success","error":null,"nb_points":%s}' "$@"
}
file_err() { # PATH ERROR
    printf '{"file_path":"%s","bucket":null,"campaign":null,"device_master_sn":null,"status":"error","error":"%s","nb_points":0}' "$@"
}

sj() { py -c 'import json,sys; s=json.load(sys.stdin); print(json.dumps(eval(sys.argv[1]), ensure_ascii=False))' "$1" <<<"$output"; }

@test "status: totals, last success per company/campaign/device, latest errors newest first, waiting files" {
    report 2026-01-01T10-00-00+00-00 2026-01-01T10:00:00+00:00 \
        "[$(file_ok /d/acme/c1/02001171/a.tsv acme c1 02001171 10),$(file_err /d/acme/c1/02001171/bad.tsv 'empty file')]"
    report 2026-01-02T10-00-00+00-00 2026-01-02T10:00:00+00:00 \
        "[$(file_ok /d/acme/c1/02001171/b.tsv acme c1 02001171 20),$(file_ok '/d/bert/c 2/02000800/x.tsv' bert 'c 2' 02000800 5)]"
    report 2026-01-03T10-00-00+00-00 2026-01-03T10:00:00+00:00 \
        "[$(file_err /d/acme/c1/02001171/z.tsv 'unsupported format: X')]"
    mkfile "$DEV/waiting.tsv" "$HDR_MONO_SN"
    mkfile "$DEV/parsed/done.tsv" "$HDR_MONO_SN"
    run_parser status -d "$DATA" --json
    assert_status 0
    assert_eq "$(sj 's["totals"]')" \
        '{"runs": 3, "last_run": "2026-01-03T10:00:00+00:00", "files_success": 3, "files_failed": 2, "files_pending": 0, "points": 35, "files_waiting": 1}'
    assert_eq "$(sj '[(e["company"], e["campaign"], e["device"], e["file"], e["time"]) for e in s["last_success"]]')" \
        '[["acme", "c1", "02001171", "b.tsv", "2026-01-02T10:00:00+00:00"], ["bert", "c 2", "02000800", "x.tsv", "2026-01-02T10:00:00+00:00"]]'
    assert_eq "$(sj '[(e["file_path"], e["error"]) for e in s["latest_errors"]]')" \
        '[["/d/acme/c1/02001171/z.tsv", "unsupported format: X"], ["/d/acme/c1/02001171/bad.tsv", "empty file"]]'
    assert_eq "$(sj '[e["file_path"] for e in s["waiting"]]')" "[\"$DEV/waiting.tsv\"]"
    run_parser status -d "$DATA"
    assert_status 0
    assert_contains "$output" "Files: 3 ingested (35 points), 2 in error/, 0 kept for a retry, 1 waiting"
    assert_contains "$output" "bert             c 2                  02000800     2026-01-02T10:00:00  x.tsv"
    assert_contains "$output" "unsupported format: X"
}

@test "status: only the ten latest errors" {
    for i in $(seq 10 24); do
        report "2026-01-$i" "2026-01-${i}T00:00:00+00:00" "[$(file_err "/d/e$i.tsv" "error $i")]"
    done
    run_parser status -d "$DATA" --json
    assert_status 0
    assert_eq "$(sj '[e["error"] for e in s["latest_errors"]]')" \
        '["error 24", "error 23", "error 22", "error 21", "error 20", "error 19", "error 18", "error 17", "error 16", "error 15"]'
    assert_eq "$(sj 's["totals"]["files_failed"]')" 15
}

@test "status: no report folder yet is not an error; a cut report is passed over" {
    rm -rf "$R"
    run_parser status -d "$DATA" --json
    assert_status 0
    assert_eq "$(sj 's["totals"]["runs"]')" 0
    mkdir -p "$R"
    printf '{"files": [' >"$R/tsv_parser_2026-01-01.json"
    run_parser status -d "$DATA" --json
    assert_status 0
    assert_eq "$(sj 's["totals"]["runs"]')" 0
}

@test "reports older than TSV_REPORT_KEEP_DAYS are pruned by a run; 0 keeps them" {
    report old 2025-01-01T00:00:00+00:00 '[]'
    report recent 2026-01-01T00:00:00+00:00 '[]'
    printf 'keep me\n' >"$R/notes.json"
    touch -d '-100 days' "$R/tsv_parser_old.json" "$R/notes.json"
    touch -d '-10 days' "$R/tsv_parser_recent.json"
    mkfile "$DEV/a.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1'
    TSV_REPORT_KEEP_DAYS=0 parse_data
    assert_status 0
    assert_file "$R/tsv_parser_old.json"
    mkfile "$DEV/b.tsv" "$HDR_MONO_SN" "$HDR_MONO_FMT" '05/01/26 10:00:00\t1'
    parse_data   # the default: 90 days
    assert_status 0
    assert_no_file "$R/tsv_parser_old.json"
    assert_file "$R/tsv_parser_recent.json"
    assert_file "$R/notes.json"
    assert_eq "$(find "$R" -name 'tsv_parser_*.json' | wc -l)" 3
}
