#!/usr/bin/env bats
# The settings table (src/config/settings.c) is the one place a setting is
# defined: `tsv_parser config --table` prints it, and the documentation's
# settings tables are checked against it here — docs/configuration.md's
# (key, variable, kind, default, range or choices) and the man page's
# ENVIRONMENT list (the variables tsv_parser reads).

load helpers

DOCS=$BATS_TEST_DIRNAME/../../docs

setup() {
    settings_setup || return 1
}

@test "config --table: a header, then one setting a line, six tab-separated fields, nothing read" {
    # a configuration that does not exist is not even opened
    run_parser config --table --config "$BATS_TEST_TMPDIR/none.yaml" --env-file "$BATS_TEST_TMPDIR/none.env"
    assert_status 0
    assert_eq "$stderr" ""
    assert_eq "$(head -n 1 <<<"$output")" "$(printf 'key\tvariable\tkind\tdefault\trange or choices\tmeaning')"
    assert_eq "$(awk -F'\t' 'NF != 6' <<<"$output")" "" "lines without six fields"
    assert_eq "$(awk -F'\t' 'NR > 1 && $6 == ""' <<<"$output")" "" "settings without a meaning"
    assert_eq "$(tail -n +2 <<<"$output" | cut -f1 | sort | uniq -d)" "" "keys given twice"
    assert_contains "$output" "$(printf 'sink.batch_lines\tTSV_BATCH_LINES\tnumber\t5000\t1 to 10000000\t')"
    assert_contains "$output" "$(printf 'downsample.levels\tTSV_DOWNSAMPLE_LEVELS\tlevels\t1h,1d,1w\t\t')"
}

@test "config --table goes alone" {
    run_parser config --table --get sink.verify
    assert_status 64
    run_parser config --table extra
    assert_status 64
}

@test "docs/configuration.md's settings table names the table's settings, kinds, defaults and ranges" {
    run_parser config --table
    assert_status 0
    printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/table.tsv"
    # the markdown table under "| key | variable | kind | default | range or choices | meaning |"
    run awk -F'\t' '
        function strip(s) { gsub(/^ +| +$/, "", s); gsub(/`/, "", s); return s }
        # the words between backquotes of s, joined by "|"
        function quoted(s,   out, n, p) {
            out = ""
            n = split(s, p, "`")
            for (j = 2; j <= n; j += 2)
                out = out (out == "" ? "" : "|") p[j]
            return out
        }
        function first(s,   p) { split(s, p, "`"); return p[2] }
        FNR == NR { if (FNR > 1) { kind[$1] = $3; var[$1] = $2; def[$1] = $4; range[$1] = $5 }; next }
        /^\| key \| variable \| kind \| default \| range or choices \| meaning \|$/ { intable = 1; next }
        intable && !/^\|/ { intable = 0 }
        intable && /^\|---/ { next }
        intable {
            n = split($0, c, "|")
            k = strip(c[2]); v = strip(c[3]); kd = strip(c[4]); d = c[5]; r = c[6]
            gsub(/^ +| +$/, "", d)
            seen[k] = 1
            if (!(k in kind)) { print "docs name " k ", the table not"; next }
            if (v != var[k]) print k ": variable " v " in the docs, " var[k] " in the table"
            if (kd != kind[k]) print k ": kind " kd " in the docs, " kind[k] " in the table"
            if (def[k] == "" && d ~ /^`/)
                print k ": default " d " in the docs, none in the table"
            else if (def[k] != "" && def[k] !~ /^</ && (d !~ /^`/ || first(d) != def[k]))
                print k ": default " d " in the docs, " def[k] " in the table"
            if (kind[k] == "number") {
                split(range[k], t, " to "); gsub(/^ +| +$/, "", r); split(r, m, " to ")
                if (m[1] + 0 != t[1] + 0 || m[2] + 0 != t[2] + 0)
                    print k ": range " r " in the docs, " range[k] " in the table"
            }
            if (kind[k] == "choice" && quoted(r) != range[k])
                print k ": choices " quoted(r) " in the docs, " range[k] " in the table"
        }
        END { for (k in kind) if (!(k in seen)) print "the table has " k ", the docs not" }
    ' "$BATS_TEST_TMPDIR/table.tsv" "$DOCS/configuration.md"
    assert_status 0
    assert_eq "$output" "" "docs/configuration.md against config --table"
    # the table was found at all
    grep -q '^| `sink.batch_lines` |' "$DOCS/configuration.md"
}

@test "the man page's ENVIRONMENT lists the variables tsv_parser reads, and only those and its own" {
    run_parser config --table
    assert_status 0
    # the table's variables, but the hook's and the playbooks' (carried, not read)
    # save the data folder, which `status` reads; then those the table does not
    # hold: the YAML file's path, INFLUXDB_HOST's other name, the C library's zones
    want=$( (tail -n +2 <<<"$output" | awk -F'\t' '$1 !~ /^(hook|grafana)\./ || $2 == "POWERVIEW_DATA_DIR" { print $2 }'
        printf '%s\n' POWERVIEW_CONFIG INFLUXDB_URL TZDIR) | sort -u)
    got=$(awk '/^\.Sh ENVIRONMENT/ { on = 1; next } /^\.Sh / { on = 0 }
        on && /^\.It Ev / { for (i = 2; i <= NF; i++) if ($(i - 1) == "Ev") print $i }' "$DOCS/tsv_parser.1" | sort -u)
    assert_eq "$got" "$want" "the man page's ENVIRONMENT variables"
}
