package systemd

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"leverance/internal/sshdtest"
)

// TestBootWalk installs the .deb on a real systemd and walks
// docs/operations.md's install → configure → first start → onboarding →
// monitoring → upgrade, running the doc's own sh blocks in order, with the
// checks of walkHooks between them.
//
// How: systemd-nspawn (package systemd-container) boots this machine's
// systemd as PID 1 of a container, as root:
//
//	systemd-nspawn --register=no --keep-unit --volatile=yes -D / \
//	  --overlay=/usr:UPPER:/usr --bind=DPKGDB:/var/lib/dpkg ... \
//	  --boot --console=pipe systemd.unit=walk.service
//
// --volatile=yes gives the container a tmpfs / with the host's /usr and an
// empty /etc and /var; --overlay makes /usr writable with the writes in a
// scratch directory, and a copy of the host's dpkg database is bound on
// /var/lib/dpkg, so that `dpkg -i` installs the package into the container
// for real — maintainer scripts, sysusers, tmpfiles, daemon-reload — and
// nothing of it reaches the host. --register=no --keep-unit: the host has no
// systemd to register with. Booting systemd.unit=walk.service starts only
// the walk (after sysusers and tmpfiles), which ends with poweroff.
// (--volatile=overlay and --volatile=state are refused on -D /.)
func TestBootWalk(t *testing.T) {
	requireBoot(t, "make", "lintian", "dpkg-deb", "rpm", "sftp", "ssh-keygen", "curl", "setpriv")
	dir := t.TempDir()
	walk := filepath.Join(dir, "walk")
	out := filepath.Join(dir, "out")
	if keep := os.Getenv("LEVERANCE_BOOT_OUT"); keep != "" {
		out = keep // kept after the test, to read what the walk wrote
		os.RemoveAll(out)
	}
	os.MkdirAll(filepath.Join(walk, "upgrade"), 0o755)
	os.MkdirAll(out, 0o755)

	old := buildPackage(t, filepath.Join(dir, "v1"), "1")
	newer := buildPackage(t, filepath.Join(dir, "v2"), "2")
	link(t, old, filepath.Join(walk, filepath.Base(old)))
	link(t, newer, filepath.Join(walk, "upgrade", filepath.Base(newer)))
	prepareWalk(t, walk)

	script := walkScript(t, "../docs/operations.md", walkHooks())
	os.WriteFile(filepath.Join(walk, "walk.sh"), []byte(script), 0o755)
	// A watchdog of 2 s instead of the unit's 60 s, so that the test sees it
	// fed without waiting half a minute. Nothing else of the unit changes.
	dropin := filepath.Join(dir, "watchdog.conf")
	os.WriteFile(dropin, []byte("[Service]\nWatchdogSec=2s\n"), 0o644)
	boot(t, dir, walk, out, "--bind-ro="+dropin+":/etc/systemd/system/leverance.service.d/test-watchdog.conf")
	checkWalk(t, out)
	t.Run("credential", func(t *testing.T) { bootCredential(t, old) })
}

// credentialWalk keeps the receipts signing key outside the state
// directory, as docs/operations.md's Keys says: keygen into /etc/leverance,
// a LoadCredential= drop-in, the public key in the configuration; an
// operator action (expect) signs with the service's credential.
const credentialWalk = `set -e
rm -f /usr/sbin/policy-rc.d
dpkg -i ./leverance_*_amd64.deb
leverance keygen --receipts /etc/leverance/receipts.key --name leverance.example.dk
mkdir -p /etc/systemd/system/leverance.service.d
printf '[Service]\nLoadCredential=receipts.key:/etc/leverance/receipts.key\n' > /etc/systemd/system/leverance.service.d/receipts-key.conf
systemctl daemon-reload
cat > /etc/leverance/leverance.toml <<'TOML'
state_dir = "/var/lib/leverance"
[[vendor]]
name = "kmd-opera"
municipalities = ["*"]
products = ["daglige-beskeder"]
  [vendor.outbox]
  kind = "local"
[receipts]
public_key = "/etc/leverance/receipts.pub"
[sftp_server]
listen = ""
[http]
listen = ""
TOML
leverance check-config -c /etc/leverance/leverance.toml
systemctl start leverance.service
systemctl is-active leverance.service
CREDENTIALS_DIRECTORY=/run/credentials/leverance.service leverance expect -c /etc/leverance/leverance.toml --day 2026-11-30 --date 2026-12-01 --reason test
ls -A /var/lib/leverance/keys > /out/keys.txt 2>&1 || true
leverance receipts verify -c /etc/leverance/leverance.toml > /out/verify.txt
systemctl stop leverance.service
journalctl -u leverance.service --no-pager -o cat > /out/journal.txt
`

// bootCredential installs the package on a fresh container and runs
// credentialWalk: the service starts, signs with the operator's key and
// makes none of its own.
func bootCredential(t *testing.T, deb string) {
	dir := t.TempDir()
	walk, out := filepath.Join(dir, "walk"), filepath.Join(dir, "out")
	os.Mkdir(walk, 0o755)
	os.Mkdir(out, 0o755)
	link(t, deb, filepath.Join(walk, filepath.Base(deb)))
	os.WriteFile(filepath.Join(walk, "walk.sh"), []byte(credentialWalk), 0o755)
	boot(t, dir, walk, out)
	if keys := read(t, out, "keys.txt"); strings.Contains(keys, "receipts.key") {
		t.Errorf("a signing key was created in the state directory although the credential was given:\n%s", keys)
	}
	if v := read(t, out, "verify.txt"); !strings.HasPrefix(v, "OK: ") || strings.HasPrefix(v, "OK: 0 records") {
		t.Errorf("the receipts do not verify with the credential's public key:\n%s", v)
	}
	if j := read(t, out, "journal.txt"); strings.Contains(j, "level=ERROR") || strings.Contains(j, "created a new receipts signing key") {
		t.Errorf("journal:\n%s", j)
	}
}

// boot boots systemd in a container (see TestBootWalk) that runs
// walk/walk.sh in /walk and writes to /out, and fails the test unless the
// script exits 0. /usr is an overlay whose writes stay in dir.
func boot(t *testing.T, dir, walk, out string, binds ...string) {
	t.Helper()
	nspawn := requireTool(t, "systemd-nspawn")
	unit := filepath.Join(dir, "walk.service")
	os.WriteFile(unit, []byte(walkUnit), 0o644)
	dpkgDB := filepath.Join(dir, "dpkg")
	if b, err := exec.Command("cp", "-a", "/var/lib/dpkg", dpkgDB).CombinedOutput(); err != nil {
		t.Fatalf("copy of the dpkg database: %v\n%s", err, b)
	}
	// The host's stat overrides name groups (ssl-cert, ...) that the
	// container's fresh /etc/group does not have; dpkg refuses to run then.
	os.WriteFile(filepath.Join(dpkgDB, "statoverride"), nil, 0o644)
	upper := filepath.Join(dir, "usr-upper")
	os.Mkdir(upper, 0o755)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	args := append([]string{"--register=no", "--keep-unit", "--volatile=yes", "-D", "/",
		"--overlay=/usr:" + upper + ":/usr", "--bind=" + dpkgDB + ":/var/lib/dpkg",
		"--bind=" + walk + ":/walk", "--bind=" + out + ":/out",
		"--bind-ro=" + unit + ":/etc/systemd/system/walk.service"}, binds...)
	args = append(args, "--boot", "--console=pipe", "systemd.unit=walk.service")
	console, err := exec.CommandContext(ctx, nspawn, args...).CombinedOutput()
	t.Logf("container ran %v", time.Since(start).Round(time.Millisecond))
	if err != nil || strings.TrimSpace(read(t, out, "rc")) != "0" {
		t.Fatalf("the walk failed (nspawn: %v, rc %q)\nwalk log:\n%s\nconsole (tail):\n%s",
			err, read(t, out, "rc"), read(t, out, "walk.log"), tail(string(console), 3000))
	}
}

// requireBoot skips a test that boots a container in -short runs, and
// needs root, systemd-nspawn and tools (LEVERANCE_TEST_DISALLOW_SKIP turns
// a missing one into a failure).
func requireBoot(t *testing.T, tools ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots systemd in a container")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("LEVERANCE_TEST_DISALLOW_SKIP") != "" {
			t.Fatal("systemd-nspawn needs root")
		}
		t.Skip("systemd-nspawn needs root")
	}
	for _, tool := range append([]string{"systemd-nspawn"}, tools...) {
		requireTool(t, tool)
	}
}

// walkUnit runs the walk inside the container and powers it off.
const walkUnit = `[Unit]
Description=the operations.md walk
After=systemd-sysusers.service systemd-tmpfiles-setup.service
[Service]
Type=oneshot
TimeoutStartSec=180
Environment=LANG=C.UTF-8
ExecStart=/bin/sh -c 'cd /walk && sh -x ./walk.sh > /out/walk.log 2>&1; echo $? > /out/rc'
ExecStartPost=/bin/systemctl poweroff
`

// buildPackage runs make package with release rel into dir and returns the
// .deb (lintian runs in make package).
func buildPackage(t *testing.T, dir, rel string) string {
	t.Helper()
	out, err := exec.Command("make", "-C", "..", "package", "PKGDIR="+dir, "PKGRELEASE="+rel).CombinedOutput()
	if err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	deb := filepath.Join(dir, "leverance_0.1.0-"+rel+"_amd64.deb")
	if _, err := os.Stat(deb); err != nil {
		t.Fatalf("no %s: %v\n%s", deb, err, out)
	}
	rpm := filepath.Join(dir, "leverance-0.1.0-"+rel+".x86_64.rpm")
	if _, err := os.Stat(rpm); err != nil {
		t.Fatalf("no .rpm: %v\n%s", err, out)
	}
	checkRPM(t, rpm)
	if strings.Contains(string(out), "\nE: ") || strings.Contains(string(out), "\nW: ") {
		t.Fatalf("lintian:\n%s", out)
	}
	return deb
}

func link(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// prepareWalk puts in the walk's working directory what an operator is
// handed: the vendors' public keys (their private halves stay in vendor/,
// for the test's SFTP clients) and an extract of yesterday.
func prepareWalk(t *testing.T, walk string) {
	t.Helper()
	os.Mkdir(filepath.Join(walk, "vendor"), 0o700)
	for _, v := range []string{"kmd-opera", "kmd-workbase"} {
		signer := sshdtest.Ed25519Key(t, filepath.Join(walk, "vendor", v))
		os.WriteFile(filepath.Join(walk, v+".pub"), ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644)
	}
	cph, _ := time.LoadLocation("Europe/Copenhagen")
	now := time.Now().In(cph)
	if now.Hour() == 23 && now.Minute() >= 50 {
		t.Skip("too close to midnight in Copenhagen for a one-day window test")
	}
	yesterday := time.Date(now.Year(), now.Month(), now.Day()-1, 12, 0, 0, 0, cph).Format("20060102")
	data, err := os.ReadFile("../testdata/basic/registreringer_20160121.csv")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(walk, "registreringer_"+yesterday+".csv"), data, 0o644)
	os.WriteFile(filepath.Join(walk, "today"), []byte(now.Format("20060102")), 0o644)
}

var walkBlock = regexp.MustCompile("(?s)<!-- walk: ([a-z-]+) -->\n```sh\n(.*?)```")

// walkScript joins the sh blocks of doc's walk, each preceded and followed
// by its hooks ("before-NAME", NAME), into one script that stops at the
// first failing command.
func walkScript(t *testing.T, doc string, hooks map[string]string) string {
	t.Helper()
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	end := strings.Index(text, "<!-- walk: end -->")
	if end < 0 {
		t.Fatalf("%s: no <!-- walk: end -->", doc)
	}
	var b strings.Builder
	b.WriteString("set -e\n" + hooks["setup"])
	var names []string
	for _, m := range walkBlock.FindAllStringSubmatch(text[:end], -1) {
		names = append(names, m[1])
		b.WriteString("\n# --- docs/operations.md: " + m[1] + "\n")
		b.WriteString(hooks["before-"+m[1]])
		b.WriteString("echo '=== " + m[1] + "' >&2\n")
		b.WriteString(m[2])
		b.WriteString(hooks[m[1]])
	}
	b.WriteString(hooks["teardown"])
	want := "install configure first-start deliver onboard reload monitor upgrade"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("%s: walk blocks %q, want %q", doc, got, want)
	}
	return b.String()
}

func read(t *testing.T, dir, name string) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dir, name))
	return string(b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestMakeInstallBoot runs `make install PREFIX=/usr` from the source tree
// on a booted systemd (as TestBootWalk does, the tree bound read-only, the
// binary built beforehand) and checks that it leaves the owners and modes
// the package leaves: the leverance user, /etc/leverance root:leverance
// 0750, the configuration 0640, the state directory and inbox.
func TestMakeInstallBoot(t *testing.T) {
	requireBoot(t, "make")
	if out, err := exec.Command("make", "-C", "..", "build").CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	src, _ := filepath.Abs("..")
	gocache, _ := exec.Command("go", "env", "GOCACHE").Output()
	gomod, _ := exec.Command("go", "env", "GOMODCACHE").Output()
	dir := t.TempDir()
	walk, out := filepath.Join(dir, "walk"), filepath.Join(dir, "out")
	os.Mkdir(walk, 0o755)
	os.Mkdir(out, 0o755)
	os.WriteFile(filepath.Join(walk, "walk.sh"), []byte(`set -e
export HOME=/root GOCACHE=/gocache GOMODCACHE=/gomod GOTOOLCHAIN=local PATH=/usr/local/go/bin:$PATH
make -C /src -o build install PREFIX=/usr
{ find /usr/bin/leverance /usr/lib/systemd/system/leverance.service /usr/lib/systemd/system/leverance.socket \
	/usr/lib/sysusers.d/leverance.conf /usr/lib/tmpfiles.d/leverance.conf /usr/share/man/man1/leverance.1.gz \
	/usr/share/doc/leverance /etc/leverance; find /var/lib/leverance -maxdepth 1; } |
	while read -r p; do stat -c '%n %U:%G %04a %F' "$p"; done > /out/modes.txt
getent passwd leverance > /out/passwd.txt
systemctl show leverance.service -p LoadState -p FragmentPath > /out/show.txt
`), 0o755)
	boot(t, dir, walk, out, "--bind-ro="+src+":/src",
		"--bind="+strings.TrimSpace(string(gocache))+":/gocache", "--bind-ro="+strings.TrimSpace(string(gomod))+":/gomod")
	checkModes(t, read(t, out, "modes.txt"))
	if p := read(t, out, "passwd.txt"); !strings.Contains(p, "leverance:x:") {
		t.Errorf("make install made no leverance user: %q", p)
	}
	if s := read(t, out, "show.txt"); !strings.Contains(s, "LoadState=loaded") || !strings.Contains(s, "lib/systemd/system/leverance.service") /* /lib is /usr/lib */ {
		t.Errorf("systemd does not know the installed unit:\n%s", s)
	}
}
