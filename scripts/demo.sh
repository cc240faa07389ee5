#!/usr/bin/env bash
# Quick start: build tsv_parser and run it on a scratch copy of examples/data,
# writing line protocol to a file (no server needed). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh build
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPV_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null

scratch=$(mktemp -d "${TMPDIR:-/tmp}/powerview-demo.XXXXXX")
cp -R examples/data "$scratch/data"
echo "== tsv_parser -d $scratch/data -o $scratch/out.lp"
status=0
# TSV_MIN_AGE=0: the copies were written a moment ago, and a scan otherwise leaves
# files younger than 10 s for a later run (uploads still being written)
TSV_MIN_AGE=0 TSV_REPORT_DIR="$scratch/reports" build/tsv_parser -d "$scratch/data" -o "$scratch/out.lp" || status=$?

echo
echo "== exit status $status (65: some files went to error/, as two examples are broken on purpose)"
echo "== first points written ($(wc -l <"$scratch/out.lp") in all):"
head -n 3 "$scratch/out.lp"
echo
echo "== where the files went:"
(cd "$scratch/data" && find . -type f | sort)
echo
echo "== run report: $(ls "$scratch"/reports/*.json)"
[ "$status" -eq 0 ] || [ "$status" -eq 65 ]
