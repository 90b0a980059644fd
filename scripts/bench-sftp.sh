#!/usr/bin/env bash
# SFTP benchmarks of docs/performance.md, side by side with OpenSSH in one run:
#   push 1 GiB to sshd        leverance vs `sftp -b put`   (aes128-gcm, chacha20-poly1305)
#   push 1,000 × 100 KiB      leverance (8 and 1 goroutines) vs `sftp -b` with 1,000 puts
#   serve 1 GiB, 1 and 8 clients   built-in server vs sshd's internal-sftp, OpenSSH `sftp` client,
#                                  with aes128-gcm and with aes128-ctr + hmac-sha2-256-etm
# Prints the median MB/s of COUNT runs and the ratio leverance/OpenSSH (targets: push ≥ 1.0;
# serve ≥ 1.1 with 1 client, ≥ 1.3 with 8), and the built-in server's median CPU seconds per
# GiB served (its process only; hashing the fetched file included).
# Usage: scripts/bench-sftp.sh [--small]   (--small: 64 MiB instead of 1 GiB)
# Env: COUNT (default 3). Needs sshd, sftp (openssh-server, openssh-client). Files go to $TMPDIR or /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-3}
if [[ "${1:-}" == "--small" ]]; then unset LEVERANCE_BENCH_BIG; SIZE="64 MiB"; else export LEVERANCE_BENCH_BIG=1; SIZE="1 GiB"; fi
out=$(mktemp /tmp/bench-sftp.XXXXXX)
trap 'rm -f "$out"' EXIT

echo "# SFTP benchmarks ($SIZE, median of $COUNT runs, $(date -u +%Y-%m-%dT%H:%MZ))"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
echo "openssh: $(ssh -V 2>&1)"
echo "go: $(go version | cut -d' ' -f3-)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
df -h "${TMPDIR:-/tmp}" | tail -1 | awk '{print "tmp: " $4 " free on " $6}'
echo

# COUNT rounds, each running every benchmark once, so that a change of load
# on the machine hits both sides of a pair alike.
go test -c -o /tmp/bench-sftp-transfer.test ./transfer/
go test -c -o /tmp/bench-sftp-server.test ./transfer/sftpserver/
for i in $(seq "$COUNT"); do
	echo "round $i/$COUNT ..." >&2
	(cd transfer && /tmp/bench-sftp-transfer.test -test.run '^$' -test.bench '^(BenchmarkPush|BenchmarkPushSmall)$' -test.benchtime 1x -test.timeout 60m) >>"$out"
	(cd transfer/sftpserver && /tmp/bench-sftp-server.test -test.run '^$' -test.bench '^BenchmarkServe$' -test.benchtime 1x -test.timeout 60m) >>"$out"
done
rm -f /tmp/bench-sftp-transfer.test /tmp/bench-sftp-server.test

awk '
/^Benchmark.*MB\/s/ {
	name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
	for (i = 1; i <= NF; i++) if ($(i+1) == "MB/s") v = $i
	n[name]++; val[name, n[name]] = v
	if (!(name in seen)) { seen[name] = 1; order[++k] = name }
}
function median(name,   m, i, j, t, a) {
	m = n[name]
	for (i = 1; i <= m; i++) a[i] = val[name, i] + 0
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
}
END {
	printf "%-44s %10s %8s\n", "benchmark", "MB/s", "ratio"
	for (i = 1; i <= k; i++) {
		name = order[i]; med[name] = median(name)
	}
	for (i = 1; i <= k; i++) {
		name = order[i]; ref = name
		sub(/leverance(-[0-9a-z-]+)?$/, "openssh", ref)
		if (ref != name && (ref in med) && med[ref] > 0)
			printf "%-44s %10.1f %7.2fx\n", name, med[name], med[name] / med[ref]
		else
			printf "%-44s %10.1f %8s\n", name, med[name], "(ref)"
	}
}' "$out"
echo
awk '/cpu-s\/GiB/ {
	name = $1; sub(/-[0-9]+$/, "", name); sub(/^Benchmark/, "", name)
	for (i = 1; i <= NF; i++) if ($(i+1) == "cpu-s/GiB") v = $i
	n[name]++; val[name, n[name]] = v
	if (!(name in seen)) { seen[name] = 1; order[++k] = name }
}
END {
	for (x = 1; x <= k; x++) {
		name = order[x]; m = n[name]
		for (i = 1; i <= m; i++) a[i] = val[name, i] + 0
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		printf "%-44s %8.2f cpu-s/GiB (server)\n", name, (m % 2) ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
}' "$out"
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw runs:"
grep '^Benchmark' "$out" | sed 's/^/  /'
