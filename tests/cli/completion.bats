#!/usr/bin/env bats
# bash completion (deploy/bash-completion/tsv_parser): what <Tab> offers.

load helpers

BASH_COMPLETION=/usr/share/bash-completion/bash_completion
COMPLETION="$BATS_TEST_DIRNAME/../../deploy/bash-completion/tsv_parser"

setup() {
    [ -r "$BASH_COMPLETION" ] || skip "bash-completion is not installed ($BASH_COMPLETION)"
    common_setup
    # words[0] is run for `config --get`: the binary under test, by its name
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    ln -s "$(realpath "${TSV_PARSER_REAL:-$TSV_PARSER}")" "$BATS_TEST_TMPDIR/bin/tsv_parser"
    cd "$BATS_TEST_TMPDIR" || return 1
    mkdir -p data/acme logs
    : >a.tsv
    : >b.txt
    : >site.yaml
}

# complete LINE: the candidates bash offers for LINE (the cursor at its end),
# sorted, one per line, in $output.
complete() {
    run bash -c '
        source "$1"
        source "$2"
        COMP_LINE=$3
        COMP_POINT=${#COMP_LINE}
        read -r -a COMP_WORDS <<<"$COMP_LINE"
        [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _tsv_parser tsv_parser "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}" | sort' \
        _ "$BASH_COMPLETION" "$COMPLETION" "$1"
    [ "$status" -eq 0 ]
}

@test "the commands are offered first" {
    complete "tsv_parser "
    [ "$output" = "$(printf '%s\n' channels config downsample spool status token)" ]
    complete "tsv_parser st"
    [ "$output" = status ]
}

@test "the options of the run, then those of each command" {
    complete "tsv_parser --d"
    [ "$output" = "$(printf '%s\n' --data-folder --dry-run)" ]
    complete "tsv_parser token --"
    [[ $output == *--bucket* && $output == *--rotate* && $output == *--write* ]]
    [[ $output != *--spool* ]]
    complete "tsv_parser channels --"
    [ "$output" = "$(printf '%s\n' --all --bucket --config --dry-run --env-file --help --quiet --verbose)" ]
    complete "tsv_parser status --j"
    [ "$output" = --json ]
    complete "tsv_parser config --g"
    [ "$output" = --get ]
    complete "tsv_parser downsample --"
    [[ $output == *--bucket* && $output == *--start* && $output == *--end* && $output == *--data-folder* ]]
    [[ $output != *--spool* && $output != *--json* ]]
    complete "tsv_parser downsample -d data --start 2026-01-01 --e"
    [ "$output" = "$(printf '%s\n' --end --env-file)" ]
    complete "tsv_parser downsample -d "
    [ "$output" = "$(printf '%s\n' bin data logs)" ]
    complete "tsv_parser downsample --start "
    [ "$output" = "" ]
}

@test "-d takes folders, -t and spool .tsv files, --config YAML files" {
    complete "tsv_parser -d "
    [ "$output" = "$(printf '%s\n' bin data logs)" ]
    complete "tsv_parser -d data -t "
    [ "$output" = "$(printf '%s\n' a.tsv bin data logs)" ]
    complete "tsv_parser spool -d data "
    [ "$output" = "$(printf '%s\n' a.tsv bin data logs)" ]
    complete "tsv_parser config --config "
    [ "$output" = "$(printf '%s\n' bin data logs site.yaml)" ]
}

@test "a folder named like a command, after -d, is not the command" {
    complete "tsv_parser -d status --j"
    [ "$output" = "" ]
    complete "tsv_parser -d status --dr"
    [ "$output" = --dry-run ]
}

@test "config --get offers the settings and the formats tsv_parser knows" {
    PATH="$BATS_TEST_TMPDIR/bin:$PATH" complete "tsv_parser config --get sink.b"
    [ "$output" = "$(printf '%s\n' sink.batch_bytes sink.batch_lines)" ]
    PATH="$BATS_TEST_TMPDIR/bin:$PATH" complete "tsv_parser config --get sink.verify formats.MV_T302_V00"
    [ "$output" = "$(printf '%s\n' formats.MV_T302_V002 formats.MV_T302_V003)" ]
}
