package systemd

import (
	"bufio"
	"strconv"
	"strings"
	"testing"
)

// sftpAs is a shell function for the hooks: an OpenSSH sftp batch as a
// vendor, over the port leverance.socket listens on.
const sftpAs = `sftp_as() { # vendor batchfile
	sftp -b "$2" -i "vendor/$1" -P 2222 -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/walk/known_hosts -o ConnectTimeout=10 "$1@127.0.0.1"
}
# wait_for: runs a command up to 120 times, half a second apart.
wait_for() {
	i=0
	until "$@"; do
		i=$((i + 1))
		[ "$i" -le 120 ] || { echo "gave up waiting for: $*" >&2; return 1; }
		sleep 0.5
	done
}
show() { systemctl show leverance.service "$@"; }
today=$(cat today)
`

// walkHooks are the test's own steps around the doc's blocks: what the
// doc's reader would look at, written to /out for checkWalk.
func walkHooks() map[string]string {
	return map[string]string{
		// This machine's image carries a policy-rc.d that forbids maintainer
		// scripts to start services (as container images do); a server has
		// none. It goes from the container's /usr overlay only.
		"setup": sftpAs + "rm -f /usr/sbin/policy-rc.d\n",
		"install": `
{ dpkg-query -L leverance; echo /var/lib/leverance; echo /var/lib/leverance/inbox; } | grep -v '^/\.$' | sort -u |
	while read -r p; do stat -c '%n %U:%G %04a %F' "$p"; done > /out/modes.txt
getent passwd leverance > /out/passwd.txt
systemctl is-enabled leverance.service > /out/enabled-after-install.txt 2>&1 || true
systemctl is-active leverance.service > /out/active-after-install.txt 2>&1 || true
`,
		// check-config as root names a file the service cannot read; the
		// service user itself reads them all. Then the windows open all day,
		// so that yesterday's extract is published at once.
		"configure": `
chmod 0600 /etc/leverance/vendors/kmd-opera.pub
if leverance check-config -c /etc/leverance/leverance.toml 2> /out/check-config-denied.txt; then
	echo "check-config passed with a key the service cannot read" >&2; exit 1
fi
chmod 0640 /etc/leverance/vendors/kmd-opera.pub
setpriv --reuid=leverance --regid=leverance --init-groups leverance check-config -c /etc/leverance/leverance.toml > /out/check-config-as-service.txt 2>&1
cat >> /etc/leverance/leverance.toml <<'EOF'
[calendar]
delivery_days = "all-days"
[product.daglige-beskeder]
release = "00:00"
deadline = "23:58"
cutoff = "23:59"
EOF
`,
		"first-start": `
journalctl -u leverance.service --no-pager -o short-iso > /out/journal-first-start.txt
show -p Type -p ActiveState -p SubState -p NRestarts > /out/show-first-start.txt
systemctl show leverance.socket -p ActiveState > /out/show-socket.txt
`,
		"deliver": `
wait_for test -e "/var/lib/leverance/outbox/kmd-opera/daglige-beskeder_$today.csv.sha256"
`,
		"before-reload": `
printf 'ls\n' > ls.batch
if sftp_as kmd-workbase ls.batch > /out/workbase-before-reload.txt 2>&1; then
	echo "kmd-workbase logged in before the reload" >&2; exit 1
fi
`,
		"reload": `
wait_for sftp_as kmd-workbase ls.batch > /out/workbase-after-reload.txt 2>&1
mkdir -p fetched
printf 'get daglige-beskeder_%s.csv fetched/\n' "$today" > get.batch
sftp_as kmd-opera get.batch > /out/fetch.txt 2>&1
(cd fetched && sha256sum "daglige-beskeder_$today.csv") > /out/fetched.sha256
cat "/var/lib/leverance/outbox/kmd-opera/daglige-beskeder_$today.csv.sha256" > /out/published.sha256
systemctl show leverance.socket -p NAccepted -p NConnections > /out/socket-after-fetch.txt
`,
		// The watchdog is fed: with WatchdogSec=2s (the test's drop-in) a
		// service that missed it would be killed (SIGABRT) and restarted within
		// 2 s. systemd 252's WatchdogTimestamp does not move with each
		// WATCHDOG=1, so the proof is the same MainPID and NRestarts=0 over
		// several watchdog periods (the only wait of the walk on the clock).
		"monitor": `
pid=$(show -p MainPID --value)
sleep 6
test "$(show -p MainPID --value)" = "$pid"
show -p WatchdogUSec -p NRestarts -p TasksCurrent -p MemoryCurrent -p ActiveState > /out/show-monitor.txt
ls "/proc/$pid/fd" | wc -l > /out/nfd.txt
ls "/proc/$pid/task" | wc -l > /out/threads.txt
grep VmHWM "/proc/$pid/status" > /out/hwm.txt
stat -c '%n %U:%G %04a' /var/lib/leverance/keys/* > /out/keys.txt
`,
		"before-upgrade": `
sha256sum /var/lib/leverance/keys/* /etc/leverance/leverance.toml /var/lib/leverance/receipts/receipts.jsonl > /out/before-upgrade.sha256
show -p MainPID --value > /out/pid-before-upgrade.txt
mkdir -p old && mv leverance_*_amd64.deb old/ && cp upgrade/leverance_*_amd64.deb .
`,
		"upgrade": `
sha256sum -c /out/before-upgrade.sha256 > /out/after-upgrade.txt 2>&1 || true
show -p MainPID --value > /out/pid-after-upgrade.txt
leverance version > /out/version-after-upgrade.txt
leverance receipts verify -c /etc/leverance/leverance.toml > /out/verify-after-upgrade.txt
`,
		"teardown": `
t0=$(date +%s%N)
systemctl stop leverance.socket leverance.service
echo $(( ($(date +%s%N) - t0) / 1000000 )) > /out/stop-ms.txt
show -p ActiveState -p Result -p ExecMainStatus > /out/show-stopped.txt
journalctl -u leverance.service --no-pager -o short-iso > /out/journal-all.txt
# A receipts log altered while the service was stopped: the start fails with
# status 4 and systemd does not restart it (RestartPreventExitStatus=4); the
# wait is past RestartSec=5s, when a restart would have come.
sed -i '0,/kmd-opera/s//kmd-operX/' /var/lib/leverance/receipts/receipts.jsonl
if systemctl start leverance.service; then echo "started on an altered receipts log" >&2; exit 1; fi
sleep 7
show -p ActiveState -p Result -p ExecMainStatus -p NRestarts > /out/show-altered.txt
leverance receipts verify -c /etc/leverance/leverance.toml > /out/verify-altered.txt 2>&1 || true
journalctl -u leverance.service --no-pager -o cat -n 30 > /out/journal-altered.txt
dpkg -r leverance > /out/remove.txt 2>&1
ls -d /var/lib/leverance/receipts/receipts.jsonl /var/lib/leverance/keys/receipts.key /etc/leverance/leverance.toml > /out/after-remove.txt 2>&1 || true
dpkg -P leverance > /out/purge.txt 2>&1
ls -d /var/lib/leverance > /out/after-purge.txt 2>&1 || true
`,
	}
}

// wantModes are the owners and modes of the package's own paths after
// installation; every other path dpkg lists (shared directories such as
// /usr/share/doc) is root:root 0755, every other file root:root 0644.
var wantModes = map[string]string{
	"/usr/bin/leverance":            "root:root 0755 regular file",
	"/etc/leverance":                "root:leverance 0750 directory",
	"/etc/leverance/leverance.toml": "root:leverance 0640 regular file",
	"/var/lib/leverance":            "leverance:leverance 0750 directory",
	"/var/lib/leverance/inbox":      "leverance:leverance 2770 directory",
}

func checkModes(t *testing.T, modes string) {
	t.Helper()
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(modes))
	for sc.Scan() {
		path, rest, _ := strings.Cut(sc.Text(), " ")
		want, ok := wantModes[path]
		switch {
		case ok:
			seen[path] = true
		case strings.HasSuffix(rest, "directory"):
			want = "root:root 0755 directory"
		default:
			want = "root:root 0644 regular file"
		}
		if rest != want {
			t.Errorf("%s: %s, want %s", path, rest, want)
		}
	}
	for p := range wantModes {
		if !seen[p] {
			t.Errorf("%s: not installed", p)
		}
	}
	for _, p := range []string{"/usr/lib/systemd/system/leverance.service", "/usr/lib/sysusers.d/leverance.conf",
		"/usr/lib/tmpfiles.d/leverance.conf", "/usr/share/man/man1/leverance.1.gz"} {
		if !strings.Contains(modes, p+" ") {
			t.Errorf("%s: not installed", p)
		}
	}
}

// checkWalk checks what the walk wrote to out.
func checkWalk(t *testing.T, out string) {
	checkModes(t, read(t, out, "modes.txt"))
	has := func(file string, want ...string) {
		t.Helper()
		got := read(t, out, file)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: no %q in:\n%s", file, w, got)
			}
		}
	}
	has("passwd.txt", "leverance:x:", ":/var/lib/leverance:/usr/sbin/nologin")
	has("enabled-after-install.txt", "disabled")
	has("active-after-install.txt", "inactive")
	has("check-config-denied.txt", "/etc/leverance/vendors/kmd-opera.pub: user leverance cannot read it", "mode 0600, owner root, group leverance")
	has("check-config-as-service.txt", "OK (1 vendors)")
	has("show-first-start.txt", "Type=notify", "ActiveState=active", "SubState=running", "NRestarts=0")
	has("show-socket.txt", "ActiveState=active")
	has("keys.txt", "/var/lib/leverance/keys/receipts.key leverance:leverance 0600", "ssh_host_ed25519_key leverance:leverance 0600",
		"ssh_host_ecdsa_key leverance:leverance 0600", "ssh_host_rsa_key leverance:leverance 0600")
	has("journal-first-start.txt", "created a new receipts signing key")
	has("workbase-after-reload.txt", "sftp> ls")
	has("fetch.txt", "sftp> get daglige-beskeder_")
	fetched, published := strings.Fields(read(t, out, "fetched.sha256")), strings.Fields(read(t, out, "published.sha256"))
	if len(fetched) == 0 || len(published) == 0 || fetched[0] != published[0] {
		t.Errorf("the vendor fetched %v, the .sha256 says %v", fetched, published)
	}
	has("socket-after-fetch.txt", "NAccepted=0") // Accept=no: the service accepts on the handed-over socket
	has("show-monitor.txt", "WatchdogUSec=2s", "NRestarts=0", "ActiveState=active")
	has("after-upgrade.txt", "receipts.key: OK", "ssh_host_ed25519_key: OK", "leverance.toml: OK", "receipts.jsonl: OK")
	if a, b := read(t, out, "pid-before-upgrade.txt"), read(t, out, "pid-after-upgrade.txt"); a == b {
		t.Errorf("the upgrade did not restart the service (MainPID %s)", a)
	}
	has("version-after-upgrade.txt", "0.1.0-2")
	has("verify-after-upgrade.txt", "OK: ")
	if ms, err := strconv.Atoi(strings.TrimSpace(read(t, out, "stop-ms.txt"))); err != nil || ms > 10000 {
		t.Errorf("systemctl stop took %s ms (want under 10 s)", read(t, out, "stop-ms.txt"))
	}
	has("show-stopped.txt", "ActiveState=inactive", "Result=success", "ExecMainStatus=0")
	journal := read(t, out, "journal-all.txt")
	// The configuration says 127.0.0.1:2222; the server on [::]:2222 is the
	// socket leverance.socket handed over.
	if !strings.Contains(journal, `msg="sftp server" addr=[::]:2222`) {
		t.Errorf("the SFTP server did not take leverance.socket's socket:\n%s", journal)
	}
	for _, bad := range []string{"level=ERROR", "status=243", "Failed to set up credentials", "mode is different"} {
		if strings.Contains(journal, bad) {
			t.Errorf("the journal holds %q:\n%s", bad, journal)
		}
	}
	has("show-altered.txt", "ActiveState=failed", "ExecMainStatus=4", "NRestarts=0")
	has("verify-altered.txt", "FAILED")
	has("journal-altered.txt", "refusing to start: the receipts log was altered")
	has("after-remove.txt", "/var/lib/leverance/receipts/receipts.jsonl", "/var/lib/leverance/keys/receipts.key", "/etc/leverance/leverance.toml")
	has("after-purge.txt", "No such file")
	t.Logf("journal of the first start:\n%s", read(t, out, "journal-first-start.txt"))
	t.Logf("monitor: %s; fds: %s; threads: %s; %s", strings.ReplaceAll(read(t, out, "show-monitor.txt"), "\n", " "),
		strings.TrimSpace(read(t, out, "nfd.txt")), strings.TrimSpace(read(t, out, "threads.txt")), strings.TrimSpace(read(t, out, "hwm.txt")))
}
