package daemon_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"leverance/internal/sshdtest"
)

// ---- the daemon's core: it answers while a push hangs, stops on time ----

var httpURLRE = regexp.MustCompile(`msg="http status page" url=(\S+)`)

// httpURL waits for the daemon's status page address in its log.
func httpURL(t *testing.T, p *proc) string {
	t.Helper()
	_, l := p.waitLog(0, 10*time.Second, `msg="http status page"`)
	m := httpURLRE.FindStringSubmatch(l.text)
	if m == nil {
		t.Fatalf("no address in %q", l.text)
	}
	return strings.TrimSuffix(m[1], "/")
}

// latencies sends n GETs of each path, 4 at a time, and returns every
// latency; a request that fails or answers other than 200 fails the test.
func latencies(t *testing.T, base string, n int, paths ...string) []time.Duration {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	var mu sync.Mutex
	var out []time.Duration
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, path := range paths {
		for range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				start := time.Now()
				resp, err := client.Get(base + path)
				if err != nil {
					t.Errorf("GET %s: %v", path, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(start)
				if resp.StatusCode != 200 {
					t.Errorf("GET %s: %s", path, resp.Status)
				}
				mu.Lock()
				out = append(out, d)
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	slices.Sort(out)
	return out
}

func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[(len(ds)*99+99)/100-1]
}

// pushConfig is a configuration with one vendor whose outbox is a remote
// SFTP server at addr, and the status page on a free port.
func pushConfig(stateDir, addr, user, identity, knownHosts, remote string) string {
	return strings.Replace(configTOML(stateDir, "", nil), "[http]\nlisten = \"\"", "[http]\nlisten = \"127.0.0.1:0\"", 1) +
		fmt.Sprintf(`
[[vendor]]
name = "schultz-fasit"
municipalities = ["*"]
products = ["daglig-opdatering"]
  [vendor.outbox]
  kind = "sftp"
  address = %q
  user = %q
  identity = %q
  known_hosts = %q
  directory = %q
`, addr, user, identity, knownHosts, remote)
}

// TestE2EStuckPush: while a push to a vendor's server hangs — a server
// that accepts TCP and never speaks, or one that stalls mid-file — the
// status page, /status.json, /metrics and /healthz answer at once (they
// waited for the publication before); SIGTERM then stops the daemon within
// 5 s, and the next start, with the server healthy, publishes every due
// file exactly once.
func TestE2EStuckPush(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon, sshd and a hanging peer")
	}
	for _, peer := range []string{"silent", "stalled mid-file"} {
		t.Run(peer, func(t *testing.T) {
			t.Parallel()
			stuckPush(t, peer == "silent")
		})
	}
}

func stuckPush(t *testing.T, silent bool) {
	asOf, _ := dates(t, 3*time.Minute)
	keys := sshdtest.Dir(t)
	signer := sshdtest.Ed25519Key(t, filepath.Join(keys, "id_ed25519"))
	sshd := sshdtest.Start(t, sshdtest.Options{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}})
	remote := sshdtest.Dir(t)
	sshdtest.MakeWritable(t, remote)
	proxy := sshdtest.NewProxy(t, sshd.Addr)
	proxy.Set(sshdtest.Stall, 256<<10) // a quarter of a MiB into the upload
	var accepted chan struct{}
	addr := proxy.Addr
	if silent {
		addr, accepted = silentPeer(t)
	}
	kh := filepath.Join(keys, "known_hosts")
	sshdtest.WriteKnownHosts(t, kh, addr, sshd.HostKeys...)

	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	cfg := filepath.Join(dir, "leverance.toml")
	writeFileAtomic(t, cfg, []byte(pushConfig(stateDir, addr, sshd.User, filepath.Join(keys, "id_ed25519"), kh, remote)))
	name := "registreringer_" + compact(asOf) + ".csv"
	extract := filepath.Join(dir, name)
	generate(t, extract, asOf, 20000, 7)
	ref := computeRef(t, cfg, extract)

	p := startDaemon(t, cfg, false)
	base := httpURL(t, p)
	drop(t, filepath.Join(stateDir, "inbox"), name, extract)
	p.waitLog(0, 30*time.Second, `msg="extract accepted"`)
	if silent {
		select {
		case <-accepted:
		case <-time.After(10 * time.Second):
			t.Fatal("the daemon did not connect to the silent peer")
		}
	} else {
		waitUntil(t, 10*time.Second, "the upload to stall", func() bool { return proxy.Struck() > 0 })
	}
	lat := latencies(t, base, 100, "/status.json", "/metrics", "/healthz", "/")
	t.Logf("while the push hangs: %d requests, median %v, p99 %v, max %v", len(lat), lat[len(lat)/2], p99(lat), lat[len(lat)-1])
	if p99(lat) > 200*time.Millisecond {
		t.Errorf("p99 %v while a push hangs, want under 200ms", p99(lat))
	}
	if p.logged(`msg=published`) {
		t.Fatal("the push did not hang")
	}
	code, took := p.signal(syscall.SIGTERM, 20*time.Second)
	t.Logf("SIGTERM during the stuck push: exit status %d after %v", code, took)
	if code != 0 || took > 5*time.Second {
		t.Errorf("exit status %d after %v, want 0 within 5s", code, took)
	}

	// The server is healthy again: the next start publishes exactly once.
	proxy.Set(sshdtest.Pass, 0)
	if silent {
		sshdtest.WriteKnownHosts(t, kh, proxy.Addr, sshd.HostKeys...)
		writeFileAtomic(t, cfg, []byte(pushConfig(stateDir, proxy.Addr, sshd.User, filepath.Join(keys, "id_ed25519"), kh, remote)))
	}
	q := startDaemon(t, cfg, false)
	q.waitLog(0, 10*time.Second, `msg="daemon ready"`)
	waitUntil(t, 60*time.Second, "the files on the vendor's server", func() bool {
		return len(outboxProblemsRemote(remote, ref["schultz-fasit"])) == 0
	}, func() string { return strings.Join(outboxProblemsRemote(remote, ref["schultz-fasit"]), "\n") })
	// The file is on the server once it is renamed into place; the leveret
	// receipt follows the "published" line (a stop before it leaves the
	// intent to be finished at the next start).
	q.waitLog(0, 30*time.Second, `msg=published`)
	if code, _ := q.signal(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Errorf("second run: exit status %d", code)
	}
	counts, err := receiptCounts(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	for slot, n := range counts["leveret"] {
		if n != 1 {
			t.Errorf("slot %s delivered %d times", slot, n)
		}
	}
	if len(counts["leveret"]) != 1 {
		t.Errorf("leveret receipts %v, want one slot", counts["leveret"])
	}
	if s := receiptsVerify(t, cfg); s != "" {
		t.Error(s)
	}
	if bad := badLines(append(p.log(), q.log()...)); len(bad) > 0 {
		t.Errorf("the daemon logged errors:\n%s", strings.Join(bad, "\n"))
	}
}

// outboxProblemsRemote checks a remote outbox (another owner's modes).
func outboxProblemsRemote(dir string, want map[string][]byte) []string {
	var probs []string
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(got) != string(data) {
			probs = append(probs, fmt.Sprintf("%s: %d bytes, want %d (%v)", name, len(got), len(data), err))
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if _, ok := want[e.Name()]; !ok && !allowedExtra[e.Name()] {
			probs = append(probs, "unexpected "+e.Name())
		}
	}
	return probs
}

// silentPeer accepts TCP connections and never says a word; accepted is
// closed at the first.
func silentPeer(t *testing.T) (addr string, accepted chan struct{}) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted = make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			once.Do(func() { close(accepted) })
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().String(), accepted
}

// TestE2EAlteredLog: the daemon refuses to start on a receipts log that
// was altered — a changed byte, a removed line, a reordered pair, an older
// checkpoint put back, an earlier backup of the whole log put back — with
// exit status 4 and the record named; on the clean log it starts.
func TestE2EAlteredLog(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	asOf, _ := dates(t, 2*time.Minute)
	dir := t.TempDir()
	stateDir := filepath.Join(dir, "state")
	cfg := filepath.Join(dir, "leverance.toml")
	writeFileAtomic(t, cfg, []byte(configTOML(stateDir, "", basicVendors)))
	rdir := filepath.Join(stateDir, "receipts")
	// A first run writes a few records; a copy of the log then is the
	// "backup" put back later.
	p := startDaemon(t, cfg, false)
	p.waitLog(0, 10*time.Second, `msg="daemon ready"`)
	p.signal(syscall.SIGTERM, 10*time.Second)
	backup := t.TempDir()
	copyFiles(t, rdir, backup)
	name := "registreringer_" + compact(asOf) + ".csv"
	drop(t, filepath.Join(stateDir, "inbox"), name, basicExtract(t, dir, name, "registreringer_20160121.csv", nil))
	p = startDaemon(t, cfg, false)
	p.waitLog(0, 30*time.Second, `msg=published`)
	p.signal(syscall.SIGTERM, 10*time.Second)
	clean := t.TempDir()
	copyFiles(t, rdir, clean)

	lines := func(edit func(l []string) []string) func() {
		return func() {
			data, _ := os.ReadFile(filepath.Join(rdir, "receipts.jsonl"))
			l := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			os.WriteFile(filepath.Join(rdir, "receipts.jsonl"), []byte(strings.Join(edit(l), "\n")+"\n"), 0o640)
		}
	}
	cases := []struct {
		name   string
		alter  func()
		record string
	}{
		{"a changed byte", lines(func(l []string) []string { l[0] = strings.Replace(l[0], `"seq":1,`, `"seq":1 ,`, 1); return l }), "record 1:"},
		{"a removed line", lines(func(l []string) []string { return append(l[:2], l[3:]...) }), "record 3:"},
		{"a reordered pair", lines(func(l []string) []string { l[3], l[4] = l[4], l[3]; return l }), "record 4:"},
		{"an older checkpoint", func() {
			data, _ := os.ReadFile(filepath.Join(rdir, "checkpoints.jsonl"))
			var msg string
			json.Unmarshal([]byte(strings.Split(string(data), "\n")[2]), &msg)
			os.WriteFile(filepath.Join(rdir, "checkpoint.txt"), []byte(msg), 0o640)
		}, "older one"},
		{"an earlier backup", func() { copyFiles(t, backup, rdir) }, "records were removed"},
	}
	for _, c := range cases {
		copyFiles(t, clean, rdir)
		c.alter()
		out, err := exec.Command(binary(t), "run", "-c", cfg).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 4 {
			t.Errorf("%s: leverance run: %v, want exit status 4\n%s", c.name, err, out)
			continue
		}
		if !strings.Contains(string(out), "does not verify") || !strings.Contains(string(out), c.record) {
			t.Errorf("%s: the refusal does not name %q:\n%s", c.name, c.record, out)
		}
	}
	copyFiles(t, clean, rdir)
	p = startDaemon(t, cfg, false)
	p.waitLog(0, 10*time.Second, `msg="daemon ready"`)
	if code, _ := p.signal(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Errorf("the clean log: exit status %d", code)
	}
}

func copyFiles(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

var sftpAddrRE = regexp.MustCompile(`msg="sftp server" addr=(\S+)`)

// TestE2EHTTPConnectionFlood: 15,000 idle connections to the status port
// leave the daemon's descriptors bounded by the cap, while /healthz answers
// and a vendor logs in over SFTP.
func TestE2EHTTPConnectionFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 15,000 connections")
	}
	const flood, maxConns = 15000, 64
	raiseFileLimit(t, flood+2000)
	keys := t.TempDir()
	signer := sshdtest.Ed25519Key(t, filepath.Join(keys, "vendor"))
	ak := filepath.Join(keys, "authorized_keys")
	if err := os.WriteFile(ak, ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "leverance.toml")
	text := strings.Replace(configTOML(filepath.Join(dir, "state"), "", nil), "[http]\nlisten = \"\"",
		fmt.Sprintf("[http]\nlisten = \"127.0.0.1:0\"\nmax_connections = %d", maxConns), 1)
	text = strings.Replace(text, "[sftp_server]\nlisten = \"\"", "[sftp_server]\nlisten = \"127.0.0.1:0\"", 1)
	text += fmt.Sprintf("\n[[vendor]]\nname = \"kmd-opera\"\nmunicipalities = [\"101\"]\nproducts = [\"daglige-beskeder\"]\n"+
		"  [vendor.outbox]\n  kind = \"local\"\n  authorized_keys = %q\n", ak)
	writeFileAtomic(t, cfg, []byte(text))
	p := startDaemon(t, cfg, false)
	base := httpURL(t, p)
	_, l := p.waitLog(0, 10*time.Second, `msg="sftp server"`)
	sftpAddr := sftpAddrRE.FindStringSubmatch(l.text)[1]

	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	hostPort := strings.TrimPrefix(base, "http://")
	for len(conns) < flood {
		c, err := net.DialTimeout("tcp", hostPort, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", len(conns)+1, err)
		}
		conns = append(conns, c)
	}
	fds := openFiles(t, p.cmd.Process.Pid)
	t.Logf("%d idle connections opened; the daemon holds %d descriptors (cap %d)", flood, fds, maxConns)
	if fds > maxConns+64 {
		t.Errorf("the daemon holds %d descriptors with %d connections open, want at most the cap %d + 64", fds, flood, maxConns)
	}
	lat := latencies(t, base, 20, "/healthz")
	t.Logf("/healthz meanwhile: p99 %v", p99(lat))
	client, err := ssh.Dial("tcp", sftpAddr, &ssh.ClientConfig{User: "kmd-opera", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("a vendor's SFTP login during the flood: %v", err)
	}
	client.Close()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`leverance_http_connections_rejected_total\{reason="evicted"\} [1-9]`).Match(body) {
		t.Errorf("evictions not counted in /metrics")
	}
	if code, _ := p.signal(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// openFiles counts the open file descriptors of process pid.
func openFiles(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// raiseFileLimit raises this process's soft limit of open files to n (at
// most the hard limit), restored at the end of the test.
func raiseFileLimit(t *testing.T, n uint64) {
	t.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Fatal(err)
	}
	if old.Cur >= n {
		return
	}
	if old.Max < n {
		t.Fatalf("the hard limit of open files is %d; the test needs %d", old.Max, n)
	}
	lim := syscall.Rlimit{Cur: n, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old) })
}
