#!/usr/bin/env bash
# The whole suite: unit (cmocka) and command-line (bats) tests, plainly built,
# under valgrind, under AddressSanitizer + UBSan, then a libFuzzer smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh test
jobs=$(nproc)
fuzz_seconds=${PV_FUZZ_SECONDS:-20}

echo "== plain build: unit, cli and valgrind tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPV_TESTS=ON >/dev/null
cmake --build build -j"$jobs" >/dev/null
ctest --test-dir build -j"$jobs" --output-on-failure

# (deploy.package builds its own tsv_parser: once, in the plain run, is enough)
echo "== AddressSanitizer + UndefinedBehaviorSanitizer: unit and cli tests"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPV_SANITIZE=ON -DPV_TESTS=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir build-asan -j"$jobs" --output-on-failure -LE valgrind -E 'cli\.(ansible|isolation)|deploy\.package'

echo "== libFuzzer smoke runs: the reader and encoder, the powerview.yaml loader (${fuzz_seconds}s each)"
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPV_FUZZ=ON >/dev/null
cmake --build build-fuzz -j"$jobs" --target fuzz_ingest fuzz_config >/dev/null
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
mkdir -p "$corpus/tsv" "$corpus/yaml"
find examples/data -type f -exec cp {} "$corpus/tsv/" \;
cp tests/fuzz/seeds/config/*.yaml powerview.yaml.sample "$corpus/yaml/" 2>/dev/null || true
build-fuzz/fuzz_ingest -max_total_time="$fuzz_seconds" -max_len=8192 -print_final_stats=1 \
	"$corpus/tsv" 2>&1 | tail -n 3
build-fuzz/fuzz_config -max_total_time="$fuzz_seconds" -max_len=4096 -print_final_stats=1 \
	"$corpus/yaml" 2>&1 | tail -n 3
echo "fuzz: 2 passed, 0 failed"
