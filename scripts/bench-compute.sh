#!/usr/bin/env bash
# Compute benchmark of docs/performance.md, side by side with the floor, in one run:
#   floor      read the extract and split every line into fields (internal/benchfloor split)
#   wc -l      for reference
#   compute    leverance compute, 3 vendors, every product: sorted, shuffled, sorted.gz
#   gunzip     gzip -dc, Go's compress/gzip, klauspost/compress/gzip (what compute uses)
# Prints the median wall time of COUNT runs, the peak RSS (/usr/bin/time) and
# the ratios with their targets, and writes them into docs/performance.md
# (the block between the bench-compute markers).
#
# Usage: scripts/bench-compute.sh [--no-doc]
# Env:   CITIZENS (default 1000000: about 24 million rows, 1.8 GB), COUNT (3),
#        WARMUP (1: rounds run first and not counted),
#        BENCH_DIR (./bench, gitignored: the extracts are generated once, seeded,
#        and kept there), MEMORY_LIMIT for compute (1GiB).
set -euo pipefail
cd "$(dirname "$0")/.."
CITIZENS=${CITIZENS:-1000000}
COUNT=${COUNT:-3}
WARMUP=${WARMUP:-1}
BENCH_DIR=${BENCH_DIR:-bench}
MEMORY_LIMIT=${MEMORY_LIMIT:-1GiB}
SEED=1
ASOF=2016-01-24
NAME=registreringer_20160124.csv
DOC=docs/performance.md
WRITE_DOC=1
[[ "${1:-}" == "--no-doc" ]] && WRITE_DOC=0

if [[ ! -x /usr/bin/time ]]; then
	echo "installing GNU time (/usr/bin/time) for the peak RSS" >&2
	apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi

mkdir -p "$BENCH_DIR"
BIN=$BENCH_DIR/bin
mkdir -p "$BIN"
go build -o "$BIN/leverance" ./cmd/leverance
go build -o "$BIN/benchfloor" ./internal/benchfloor

# The extracts, generated once per CITIZENS and SEED.
DATA=$BENCH_DIR/data-$CITIZENS-$SEED
SORTED=$DATA/sorted/$NAME
SHUFFLED=$DATA/shuffled/$NAME
GZ=$DATA/gz/$NAME.gz
mkdir -p "$DATA/sorted" "$DATA/shuffled" "$DATA/gz"
gen() { # out [--shuffle]
	[[ -s "$1" ]] && return
	echo "generating $1" >&2
	"$BIN/leverance" generate --citizens "$CITIZENS" --seed "$SEED" --as-of "$ASOF" --out "$@" >/dev/null
}
gen "$SORTED"
gen "$SHUFFLED" --shuffle
gen "$GZ"

cat >"$BENCH_DIR/bench.toml" <<'EOF'
# Three vendors that take every product: all municipalities, the capital
# region, and Jutland (as BenchmarkCompute100k in compute/bench_test.go).
state_dir = "/nonexistent"
[[vendor]]
name = "alle"
municipalities = ["*"]
products = ["daglig-opdatering", "daglige-beskeder", "ugeopdatering"]
  [vendor.outbox]
  kind = "local"
[[vendor]]
name = "hovedstaden"
municipalities = ["101", "147", "151", "153", "155", "157", "159", "161", "163", "165", "167", "169", "173", "175"]
products = ["daglig-opdatering", "daglige-beskeder", "ugeopdatering"]
  [vendor.outbox]
  kind = "local"
[[vendor]]
name = "jylland"
municipalities = ["607", "615", "621", "630", "657", "661", "665", "671", "706", "707", "710", "727", "730", "740", "741", "746", "751", "756", "760", "766", "773", "779", "787", "791", "810", "813", "820", "825", "840", "846", "849", "851", "860"]
products = ["daglig-opdatering", "daglige-beskeder", "ugeopdatering"]
  [vendor.outbox]
  kind = "local"
EOF

OUT=$BENCH_DIR/out
TMP=$BENCH_DIR/tmp
mkdir -p "$TMP"
COMPUTE=("$BIN/leverance" compute -c "$BENCH_DIR/bench.toml" --out "$OUT" --memory-limit "$MEMORY_LIMIT" --temp-dir "$TMP" --extract)

# Warm the page cache: every measurement reads from memory, as the floor does.
cat "$SORTED" "$SHUFFLED" "$GZ" >/dev/null

# Every round runs every measurement once, so that a change of the machine's
# load (it may be shared) hits both sides of a ratio alike.
declare -A WALL RSS CPU TIMES CPUS CMD
ORDER=()
add() { # key command...
	local key=$1
	shift
	ORDER+=("$key")
	CMD[$key]=$(printf '%q ' "$@")
}
add "floor: read + split (Go)" "$BIN/benchfloor" split "$SORTED"
add "wc -l" wc -l "$SORTED"
add "compute sorted" "${COMPUTE[@]}" "$SORTED"
add "compute shuffled" "${COMPUTE[@]}" "$SHUFFLED"
add "gzip -dc" sh -c "gzip -dc '$GZ' >/dev/null"
add "decompress: compress/gzip" "$BIN/benchfloor" gunzip "$GZ"
add "decompress: klauspost/gzip" "$BIN/benchfloor" kgunzip "$GZ"
add "compute sorted .gz" "${COMPUTE[@]}" "$GZ"
add "SHA-256 of the extract (Go)" "$BIN/benchfloor" sha256 "$SORTED"

median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# One round that is not counted: on this kind of VM the first two-core runs
# after a quiet spell were up to 40 % slower in CPU time than the same runs a
# minute later (the one-core floor was not), which made the first round an
# outlier in most runs. Every command runs once here, so every measured
# round starts from the same warm state.
for ((w = 0; w < WARMUP; w++)); do
	for key in "${ORDER[@]}"; do
		eval "${CMD[$key]}" >/dev/null 2>"$BENCH_DIR/stderr.txt" || { cat "$BENCH_DIR/stderr.txt" >&2; exit 1; }
	done
done
echo "# compute benchmark: $CITIZENS citizens, median of $COUNT rounds after $WARMUP uncounted" >&2
for ((round = 1; round <= COUNT; round++)); do
	for key in "${ORDER[@]}"; do
		eval "/usr/bin/time -f '%e %M %U %S' -o '$BENCH_DIR/time.txt' ${CMD[$key]}" >/dev/null 2>"$BENCH_DIR/stderr.txt" ||
			{ cat "$BENCH_DIR/stderr.txt" >&2; exit 1; }
		read -r t m u s <"$BENCH_DIR/time.txt"
		TIMES[$key]+="$t "
		CPUS[$key]+="$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}') "
		((m > ${RSS[$key]:-0})) && RSS[$key]=$m
		printf 'round %d  %-30s %8.2f s  %6.2f s CPU  %6d MiB\n' "$round" "$key" "$t" "$(awk -v u="$u" -v s="$s" 'BEGIN {print u + s}')" $((m / 1024)) >&2
	done
done
for key in "${ORDER[@]}"; do
	WALL[$key]=$(tr ' ' '\n' <<<"${TIMES[$key]}" | grep . | median)
	CPU[$key]=$(tr ' ' '\n' <<<"${CPUS[$key]}" | grep . | median)
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
rm -rf "$OUT" "$TMP"

ROWS=$(tail -n 1 "$SORTED" | cut -d';' -f2)
SIZE=$(stat -c %s "$SORTED")
GZSIZE=$(stat -c %s "$GZ")
# rounds A B: the ratio A / B of each round, "r1 / r2 / ..."; ratio A B: their
# median. Both sides of a round ran one after the other, so a round's ratio
# sees one machine load; the machine's speed drifts between rounds.
rounds() {
	paste -d' ' <(tr ' ' '\n' <<<"${TIMES[$1]}" | grep .) <(tr ' ' '\n' <<<"${TIMES[$2]}" | grep .) |
		awk '{printf "%s%.2f", (NR > 1 ? " / " : ""), ($2 > 0 ? $1 / $2 : 0)}'
}
ratio() { rounds "$1" "$2" | tr '/' '\n' | median | awk '{printf "%.2f", $1}'; }
met() { awk -v r="$1" -v t="$2" 'BEGIN {print (r <= t) ? "met" : "missed"}'; }

report() {
	echo "Measured $(date -u +%Y-%m-%d) by \`scripts/bench-compute.sh\` (\`make bench\`): $CITIZENS citizens, $ROWS rows,"
	echo "$((SIZE / 1000000)) MB ($((GZSIZE / 1000000)) MB gzipped), seed $SEED, 3 vendors taking every product, median of $COUNT rounds after $WARMUP not counted"
	echo "(each round runs every line once), the files in the page cache."
	echo "Machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(free -g | awk '/^Mem:/ {print $2}') GiB; $(go version | cut -d' ' -f3);"
	echo "load average before $LOAD_BEFORE, after $LOAD_AFTER (other jobs shared the machine when the load is above 0)."
	echo
	echo "| what | wall time | CPU time (user + system) | peak RSS |"
	echo "| --- | ---: | ---: | ---: |"
	for k in "${ORDER[@]}"; do
		printf '| %s | %.2f s | %.2f s | %d MiB |\n' "$k" "${WALL[$k]}" "${CPU[$k]}" $((RSS[$k] / 1024))
	done
	echo
	echo "| ratio (median of the rounds' ratios) | value | per round | target | |"
	echo "| --- | ---: | --- | ---: | --- |"
	local r
	r=$(ratio "compute sorted" "floor: read + split (Go)")
	echo "| compute sorted / floor | $r | $(rounds "compute sorted" "floor: read + split (Go)") | ≤ 1.5, RSS ≤ 256 MiB | $(met "$r" 1.5), RSS $((RSS["compute sorted"] / 1024)) MiB |"
	r=$(ratio "compute shuffled" "floor: read + split (Go)")
	echo "| compute shuffled / floor | $r | $(rounds "compute shuffled" "floor: read + split (Go)") | ≤ 3, RSS ≤ $MEMORY_LIMIT + chunks | $(met "$r" 3), RSS $((RSS["compute shuffled"] / 1024)) MiB |"
	r=$(ratio "compute sorted .gz" "gzip -dc")
	echo "| compute .gz / gzip -dc | $r | $(rounds "compute sorted .gz" "gzip -dc") | ≤ 1.2 | $(met "$r" 1.2) |"
	r=$(ratio "compute sorted .gz" "decompress: compress/gzip")
	echo "| compute .gz / Go compress/gzip | $r | $(rounds "compute sorted .gz" "decompress: compress/gzip") | ≤ 1.2 | $(met "$r" 1.2) |"
	r=$(ratio "compute sorted .gz" "decompress: klauspost/gzip")
	echo "| compute .gz / klauspost gzip (its own decompressor) | $r | $(rounds "compute sorted .gz" "decompress: klauspost/gzip") | ≤ 1.2 | $(met "$r" 1.2) |"
	echo "| floor / wc -l | $(ratio "floor: read + split (Go)" "wc -l") | | | |"
}

echo >&2
report | tee "$BENCH_DIR/bench-compute.md"

if ((WRITE_DOC)); then
	# Replace the block between the markers, or add the section.
	begin='<!-- bench-compute:begin -->'
	end='<!-- bench-compute:end -->'
	[[ -f $DOC ]] || printf '# Performance\n' >"$DOC"
	if ! grep -q "$begin" "$DOC"; then
		printf '\n## Compute\n\n%s\n%s\n' "$begin" "$end" >>"$DOC"
	fi
	awk -v begin="$begin" -v end="$end" -v file="$BENCH_DIR/bench-compute.md" '
		$0 == begin { print; while ((getline line < file) > 0) print line; skip = 1; next }
		$0 == end { skip = 0 }
		!skip { print }
	' "$DOC" >"$DOC.tmp" && mv "$DOC.tmp" "$DOC"
	echo "written to $DOC" >&2
fi
