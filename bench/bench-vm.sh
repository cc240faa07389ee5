#!/usr/bin/env bash
# Ingestion into a real database: tsv_parser into VictoriaMetrics on loopback
# against curl posting the same line protocol, pre-built and gzipped, in
# batches of the same size over one keep-alive connection.
# Target: parser wall time <= 1.2x curl's.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
parser=${TSV_PARSER:-$here/../build/tsv_parser}
rows=${ROWS:-50000}
batch=${TSV_BATCH_LINES:-5000}
runs=${RUNS:-5}
# shellcheck source=bench/lib.bash
. "$here/lib.bash"
bench_tmp tsv_bench_vm
# shellcheck disable=SC2119 # no flag beyond the usual ones
bench_vm

python3 "$here/gen-big.py" --rows "$rows" --out "$tmp/big.tsv" >/dev/null
dev="$tmp/data/bench/run/02001171"
mkdir -p "$dev"

now() { date +%s.%N; }
best() { sort -g | head -n 1; }

echo "== line protocol for curl: built once, batches of $batch lines, gzip -1"
cp "$tmp/big.tsv" "$dev/lp.tsv"
TSV_REPORT_DIR="$tmp/reports" TSV_LOG_LEVEL=ERROR "$parser" -d "$tmp/data" -t "$dev/lp.tsv" -o "$tmp/out.lp"
points=$(wc -l <"$tmp/out.lp")
for i in $(seq "$runs"); do
	mkdir -p "$tmp/parts$i"
	# the same points under another campaign, so the database stores them again
	sed "s/campaign=run,/campaign=curl$i,/" "$tmp/out.lp" | split -l "$batch" -d -a 5 - "$tmp/parts$i/p"
	gzip -1 "$tmp/parts$i"/p*
done

# runs interleaved, so background work of the database weighs on both alike
echo "== $runs x (tsv_parser -> VictoriaMetrics, then curl), $rows rows x 30 channels, TSV_GZIP=${TSV_GZIP:-1}"
for i in $(seq "$runs"); do
	d="$tmp/data/bench/run$i/02001171"
	mkdir -p "$d"
	cp "$tmp/big.tsv" "$d/big.tsv"
	s=$(now)
	INFLUXDB_API=vm INFLUXDB_HOST="$url" TSV_REPORT_DIR="$tmp/reports" TSV_LOG_LEVEL=ERROR \
		"$parser" -d "$tmp/data" -t "$d/big.tsv" --no-verify
	e=$(now)
	pt=$(echo "$e - $s" | bc)
	echo "$pt" >>"$tmp/parser.times"

	args=()
	for f in "$tmp/parts$i"/p*.gz; do
		[ ${#args[@]} -eq 0 ] || args+=(--next)
		args+=(-fsS -o /dev/null -H 'Content-Encoding: gzip' --data-binary "@$f"
			"$url/api/v2/write?bucket=bench&precision=s")
	done
	s=$(now)
	curl "${args[@]}"
	e=$(now)
	ct=$(echo "$e - $s" | bc)
	echo "$ct" >>"$tmp/curl.times"
	printf '  run %d: parser %.3f s, curl %.3f s\n' "$i" "$pt" "$ct"
done

p=$(best <"$tmp/parser.times")
c=$(best <"$tmp/curl.times")
median() { sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
pm=$(median <"$tmp/parser.times")
cm=$(median <"$tmp/curl.times")
curl -fsS -o /dev/null "$url/internal/force_flush"
stored=$(curl -fsS "$url/api/v1/query" --data-urlencode 'query=sum(count_over_time({__name__=~"electrical_.+",campaign="run1"}[50y]))' \
	--data-urlencode "time=$(($(date +%s) + 60))" | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)')
printf '\npoints %s (stored by the first parser run: %s)\n' "$points" "$stored"
printf 'best:   parser %.3f s, curl %.3f s, ratio %.2f (target <= 1.2)\n' "$p" "$c" "$(echo "$p / $c" | bc -l)"
printf 'median: parser %.3f s, curl %.3f s, ratio %.2f\n' "$pm" "$cm" "$(echo "$pm / $cm" | bc -l)"
