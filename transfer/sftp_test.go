package transfer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"leverance/internal/sshdtest"
	"leverance/transfer"
	"leverance/transfer/outboxtest"
)

var bg = context.Background()

// pushEnv is a real sshd with one authorized ed25519 key, a known_hosts
// that records its host keys, and an outbox directory it may write to.
type pushEnv struct {
	sshd   *sshdtest.Sshd
	keys   string // directory of the client's key files
	signer ssh.Signer
	cfg    transfer.SFTPConfig
}

func newPushEnv(t testing.TB, o sshdtest.Options) *pushEnv {
	t.Helper()
	keys := sshdtest.Dir(t)
	signer := sshdtest.Ed25519Key(t, filepath.Join(keys, "id_ed25519"))
	o.AuthorizedKeys = append(o.AuthorizedKeys, signer.PublicKey())
	sshd := sshdtest.Start(t, o)
	kh := filepath.Join(keys, "known_hosts")
	sshdtest.WriteKnownHosts(t, kh, sshd.Addr, sshd.HostKeys...)
	e := &pushEnv{sshd: sshd, keys: keys, signer: signer}
	e.cfg = transfer.SFTPConfig{Address: sshd.Addr, User: sshd.User, IdentityFile: filepath.Join(keys, "id_ed25519"),
		KnownHostsFile: kh, Timeout: 15 * time.Second, KeepAlive: 2 * time.Second}
	return e
}

// outbox returns a new outbox in a fresh directory, and the directory.
func (e *pushEnv) outbox(t *testing.T, edit ...func(*transfer.SFTPConfig)) (*transfer.SFTP, string) {
	t.Helper()
	dir := sshdtest.Dir(t)
	sshdtest.MakeWritable(t, dir)
	cfg := e.cfg
	cfg.Directory = dir
	for _, f := range edit {
		f(&cfg)
	}
	ob, err := transfer.NewSFTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.Close() })
	return ob, dir
}

func TestLocalConformance(t *testing.T) {
	outboxtest.Run(t, func(t *testing.T) (transfer.Outbox, outboxtest.Inspector) {
		dir := t.TempDir()
		ob, err := transfer.NewLocal(dir)
		if err != nil {
			t.Fatal(err)
		}
		return ob, outboxtest.DirInspector(dir)
	})
}

func TestSFTPConformance(t *testing.T) {
	e := newPushEnv(t, sshdtest.Options{})
	outboxtest.Run(t, func(t *testing.T) (transfer.Outbox, outboxtest.Inspector) {
		ob, dir := e.outbox(t)
		return ob, outboxtest.DirInspector(dir)
	})
}

// The same suite against OpenSSH's sftp-server binary and with the packet
// size it reports through limits@openssh.com.
func TestSFTPConformanceSftpServer(t *testing.T) {
	e := newPushEnv(t, sshdtest.Options{SftpServer: true})
	outboxtest.Run(t, func(t *testing.T) (transfer.Outbox, outboxtest.Inspector) {
		ob, dir := e.outbox(t)
		return ob, outboxtest.DirInspector(dir)
	})
}

// deliverOnly stages and commits data as a.csv and checks that dir then
// holds that file alone, with that content.
func deliverOnly(t *testing.T, ob transfer.Outbox, dir string, data []byte) {
	t.Helper()
	tmp, err := ob.Stage(bg, "a.csv", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Commit(bg, tmp, "a.csv"); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); len(got) != 1 || got[0] != "a.csv" {
		t.Fatalf("directory holds %q, want only a.csv", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.csv")); !bytes.Equal(b, data) {
		t.Fatal("content differs")
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	return outboxtest.DirInspector(dir).List(t)
}

func TestSFTPSuccess(t *testing.T) {
	e := newPushEnv(t, sshdtest.Options{})
	ob, dir := e.outbox(t)
	data := []byte("cpr;kommune\n")
	tmp, err := ob.Stage(bg, "daglige-beskeder_2016-01-22.csv", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Commit(bg, tmp, "daglige-beskeder_2016-01-22.csv"); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); len(got) != 1 || got[0] != "daglige-beskeder_2016-01-22.csv" {
		t.Fatalf("directory holds %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "daglige-beskeder_2016-01-22.csv")); !bytes.Equal(b, data) {
		t.Fatalf("content %q", b)
	}
	loc := ob.Location()
	want := transfer.Location{Kind: "sftp", Host: e.sshd.Addr, HostKey: ssh.FingerprintSHA256(e.sshd.HostKeys[0]), Path: dir}
	if loc != want {
		t.Fatalf("Location = %+v, want %+v", loc, want)
	}
	// Closed, the outbox connects again on the next call.
	ob.Close()
	if ok, err := ob.Exists(bg, "daglige-beskeder_2016-01-22.csv"); err != nil || !ok {
		t.Fatalf("Exists after Close = %v, %v", ok, err)
	}
}

func wantClass(t *testing.T, err error, class string, permanent bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want class %s", class)
	}
	if c := transfer.Class(err); c != class || transfer.Permanent(err) != permanent {
		t.Fatalf("class %q permanent %v, want %q %v: %v", c, transfer.Permanent(err), class, permanent, err)
	}
}

func TestSFTPUnknownHost(t *testing.T) {
	e := newPushEnv(t, sshdtest.Options{})
	// known_hosts knows another host only.
	sshdtest.WriteKnownHosts(t, e.cfg.KnownHostsFile, "127.0.0.1:1", e.sshd.HostKeys...)
	ob, dir := e.outbox(t)
	_, err := ob.Stage(bg, "a.csv", strings.NewReader("x"))
	wantClass(t, err, transfer.ClassHostKey, true)
	if !strings.Contains(err.Error(), "never trusted on first use") {
		t.Errorf("message: %v", err)
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Fatalf("files written to an unverified host: %q", got)
	}
}

func TestSFTPChangedHostKey(t *testing.T) {
	e := newPushEnv(t, sshdtest.Options{})
	other := sshdtest.Ed25519Key(t, filepath.Join(e.keys, "other"))
	sshdtest.WriteKnownHosts(t, e.cfg.KnownHostsFile, e.sshd.Addr, other.PublicKey())
	ob, dir := e.outbox(t)
	_, err := ob.Stage(bg, "a.csv", strings.NewReader("x"))
	wantClass(t, err, transfer.ClassHostKey, true)
	if !strings.Contains(err.Error(), "CHANGED") {
		t.Errorf("message: %v", err)
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Fatalf("files written to an impostor: %q", got)
	}
}

// The server offers ed25519 first, known_hosts records only its ECDSA key:
// the client must ask for the recorded type instead of failing.
func TestSFTPHostKeyAlgorithmsFromKnownHosts(t *testing.T) {
	e := newPushEnv(t, sshdtest.Options{HostKeyTypes: []string{"ed25519", "ecdsa"}})
	sshdtest.WriteKnownHosts(t, e.cfg.KnownHostsFile, e.sshd.Addr, e.sshd.HostKeys[1])
	ob, _ := e.outbox(t)
	if _, err := ob.Exists(bg, "x"); err != nil {
		t.Fatal(err)
	}
	if got, want := ob.Location().HostKey, ssh.FingerprintSHA256(e.sshd.HostKeys[1]); got != want {
		t.Fatalf("host key %s, want the ECDSA key %s", got, want)
	}
}

func TestSFTPWrongUserKey(t *testing.T) {
	e := newPushEnv(t, sshdtest.Options{})
	sshdtest.Ed25519Key(t, filepath.Join(e.keys, "stranger"))
	ob, _ := e.outbox(t, func(c *transfer.SFTPConfig) { c.IdentityFile = filepath.Join(e.keys, "stranger") })
	_, err := ob.Stage(bg, "a.csv", strings.NewReader("x"))
	wantClass(t, err, transfer.ClassAuth, true)
}

func TestSFTPKeyStrength(t *testing.T) {
	keys := t.TempDir()
	sshdtest.RSAKey(t, filepath.Join(keys, "rsa2048"), 2048)
	sshdtest.ECDSAKey(t, filepath.Join(keys, "ecdsa"))
	os.WriteFile(filepath.Join(keys, "known_hosts"), nil, 0o600)
	for _, k := range []string{"rsa2048", "ecdsa"} {
		_, err := transfer.NewSFTP(transfer.SFTPConfig{Address: "127.0.0.1:22", User: "u", Directory: "/",
			IdentityFile: filepath.Join(keys, k), KnownHostsFile: filepath.Join(keys, "known_hosts")})
		wantClass(t, err, transfer.ClassAuth, true)
		if !strings.Contains(err.Error(), "3072") {
			t.Errorf("%s: message does not say what is needed: %v", k, err)
		}
	}
}

// An RSA key of 3072 bits is allowed, and works against sshd.
func TestSFTPRSA3072(t *testing.T) {
	keys := sshdtest.Dir(t)
	rsaKey := sshdtest.RSAKey(t, filepath.Join(keys, "id_rsa"), 3072)
	e := newPushEnv(t, sshdtest.Options{AuthorizedKeys: []ssh.PublicKey{rsaKey.PublicKey()}})
	ob, _ := e.outbox(t, func(c *transfer.SFTPConfig) { c.IdentityFile = filepath.Join(keys, "id_rsa") })
	if _, err := ob.Exists(bg, "x"); err != nil {
		t.Fatal(err)
	}
}

// The session user may not write the directory. As root, sshd's sessions
// run as nobody (sshdtest), so the permission check is real.
func TestSFTPPermissionDenied(t *testing.T) {
	e := newPushEnv(t, sshdtest.Options{})
	ob, dir := e.outbox(t)
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	_, err := ob.Stage(bg, "a.csv", strings.NewReader("x"))
	wantClass(t, err, transfer.ClassPermission, true)
	_, err = ob.Stage(bg, "a.csv", strings.NewReader("x"))
	wantClass(t, err, transfer.ClassPermission, true)
	if got := listDir(t, dir); len(got) != 0 {
		t.Fatalf("directory holds %q", got)
	}
}

func TestSFTPMissingDirectory(t *testing.T) {
	e := newPushEnv(t, sshdtest.Options{})
	ob, dir := e.outbox(t, func(c *transfer.SFTPConfig) { c.Directory += "/missing" })
	_, err := ob.Stage(bg, "a.csv", strings.NewReader("x"))
	wantClass(t, err, transfer.ClassPermission, true)
	if got := listDir(t, dir); len(got) != 0 {
		t.Fatalf("directory holds %q", got)
	}
}

// gate is a sized reader that stops at a mark until released.
type gate struct {
	r       *bytes.Reader
	mark    int64
	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

func newGate(data []byte, mark int64) *gate {
	return &gate{r: bytes.NewReader(data), mark: mark, reached: make(chan struct{}), release: make(chan struct{})}
}

func (g *gate) Size() int64 { return g.r.Size() }

func (g *gate) Read(p []byte) (int, error) {
	if off := g.r.Size() - int64(g.r.Len()); off >= g.mark {
		g.once.Do(func() { close(g.reached) })
		<-g.release
	} else if off+int64(len(p)) > g.mark {
		p = p[:g.mark-off]
	}
	return g.r.Read(p)
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// The server dies mid-file (sshd and its sessions SIGKILLed) and comes back:
// the failed Stage is a network error, nothing is visible under the final
// name, and the next Stage/Commit delivers exactly one file (the temporary
// file of the failed one is removed on the new connection).
func TestSFTPServerRestartMidTransfer(t *testing.T) {
	e := newPushEnv(t, sshdtest.Options{})
	ob, dir := e.outbox(t)
	data := random(16 << 20)
	g := newGate(data, 4<<20)
	errc := make(chan error, 1)
	go func() {
		_, err := ob.Stage(bg, "a.csv", g)
		errc <- err
	}()
	<-g.reached
	e.sshd.Stop()
	close(g.release)
	err := <-errc
	wantClass(t, err, transfer.ClassNetwork, false)
	for _, n := range listDir(t, dir) {
		if !transfer.IsTemporary(n) {
			t.Fatalf("%s visible after a failed stage", n)
		}
	}
	e.sshd.Restart()
	deliverOnly(t, ob, dir, data)
}

// A connection reset mid-file, then one stalled mid-file: both fail as
// network errors (the stall within the timeout), neither leaves a file
// under its final name, and the retry delivers.
func TestSFTPNetworkFaults(t *testing.T) {
	e := newPushEnv(t, sshdtest.Options{})
	for _, tc := range []struct {
		name  string
		fault sshdtest.Fault
	}{{"reset", sshdtest.Reset}, {"stall", sshdtest.Stall}} {
		t.Run(tc.name, func(t *testing.T) {
			proxy := sshdtest.NewProxy(t, e.sshd.Addr)
			sshdtest.WriteKnownHosts(t, e.cfg.KnownHostsFile, proxy.Addr, e.sshd.HostKeys...)
			ob, dir := e.outbox(t, func(c *transfer.SFTPConfig) {
				c.Address = proxy.Addr
				c.Timeout = 2 * time.Second
			})
			data := random(8 << 20)
			proxy.Set(tc.fault, 2<<20)
			start := time.Now()
			_, err := ob.Stage(bg, "a.csv", bytes.NewReader(data))
			wantClass(t, err, transfer.ClassNetwork, false)
			if tc.fault == sshdtest.Stall {
				if !errors.Is(err, transfer.ErrTimeout) {
					t.Errorf("stall: %v does not wrap ErrTimeout", err)
				}
				if d := time.Since(start); d > 10*time.Second {
					t.Errorf("stall detected after %v", d)
				}
			}
			proxy.Set(sshdtest.Pass, 0)
			deliverOnly(t, ob, dir, data)
		})
	}
}

// A connection that goes silent while idle is found dead by the keepalives
// and replaced: the next call succeeds at once instead of failing.
func TestSFTPKeepAlive(t *testing.T) {
	e := newPushEnv(t, sshdtest.Options{})
	proxy := sshdtest.NewProxy(t, e.sshd.Addr)
	sshdtest.WriteKnownHosts(t, e.cfg.KnownHostsFile, proxy.Addr, e.sshd.HostKeys...)
	ob, _ := e.outbox(t, func(c *transfer.SFTPConfig) {
		c.Address = proxy.Addr
		// Long enough for a new connection on a loaded machine (500 ms
		// was not: the reconnect itself timed out now and then).
		c.Timeout = 2 * time.Second
		c.KeepAlive = 200 * time.Millisecond
	})
	if _, err := ob.Exists(bg, "x"); err != nil {
		t.Fatal(err)
	}
	proxy.StallAll()
	// The keepalive finds the connection dead after KeepAlive + Timeout.
	time.Sleep(3 * time.Second)
	if _, err := ob.Exists(bg, "x"); err != nil {
		t.Fatalf("after the keepalive found the connection dead: %v", err)
	}
}

// A cancelled context stops an upload and leaves nothing visible.
func TestSFTPCancel(t *testing.T) {
	e := newPushEnv(t, sshdtest.Options{})
	ob, dir := e.outbox(t)
	ctx, cancel := context.WithCancel(bg)
	g := newGate(random(4<<20), 1<<20)
	errc := make(chan error, 1)
	go func() {
		_, err := ob.Stage(ctx, "a.csv", g)
		errc <- err
	}()
	<-g.reached
	cancel()
	close(g.release)
	err := <-errc
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// The next call removes what the cancelled one left.
	if _, err := ob.Exists(bg, "a.csv"); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); len(got) != 0 {
		t.Fatalf("directory holds %q", got)
	}
}

// A full remote disk (a 1 MiB tmpfs) fails as remote-full, with the
// temporary file removed. Needs root for the mount.
func TestSFTPRemoteFull(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	e := newPushEnv(t, sshdtest.Options{})
	dir := sshdtest.Dir(t)
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	sshdtest.MakeWritable(t, dir)
	cfg := e.cfg
	cfg.Directory = dir
	ob, err := transfer.NewSFTP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	_, err = ob.Stage(bg, "a.csv", bytes.NewReader(random(4<<20)))
	wantClass(t, err, transfer.ClassRemoteFull, false)
	if got := listDir(t, dir); len(got) != 0 {
		t.Fatalf("directory holds %q", got)
	}
	// Space is back: the same outbox delivers.
	tmp, err := ob.Stage(bg, "a.csv", bytes.NewReader(random(100<<10)))
	if err == nil {
		err = ob.Commit(bg, tmp, "a.csv")
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestClass(t *testing.T) {
	for _, tc := range []struct {
		err   error
		class string
	}{
		{nil, ""},
		{transfer.ErrExists, transfer.ClassExists},
		{os.ErrPermission, transfer.ClassPermission},
		{io.ErrUnexpectedEOF, transfer.ClassNetwork},
		{errors.New("disk on fire"), transfer.ClassLocal},
		{&transfer.OpError{Op: "stage", Class: transfer.ClassRemoteFull, Err: errors.New("x")}, transfer.ClassRemoteFull},
	} {
		if got := transfer.Class(tc.err); got != tc.class {
			t.Errorf("Class(%v) = %q, want %q", tc.err, got, tc.class)
		}
	}
}

// The conformance suite (Replace among it: checkpoint.txt replaced at every
// publication) against ProFTPD's mod_sftp, as configured by default and
// without posix-rename@openssh.com and fsync@openssh.com (the remove and
// rename fallback; the missing fsync logged once per connection).
func TestSFTPConformanceProFTPD(t *testing.T) {
	for _, ext := range []string{"", "-posixRename -fsync"} {
		t.Run("extensions="+ext, func(t *testing.T) {
			keys := sshdtest.Dir(t)
			signer := sshdtest.Ed25519Key(t, filepath.Join(keys, "id_ed25519"))
			p := sshdtest.StartProFTPD(t, sshdtest.ProFTPDOptions{AuthorizedKeys: []ssh.PublicKey{signer.PublicKey()}, Extensions: ext})
			kh := filepath.Join(keys, "known_hosts")
			sshdtest.WriteKnownHosts(t, kh, p.Addr, p.HostKeys...)
			var logs syncBuf
			n := 0
			outboxtest.Run(t, func(t *testing.T) (transfer.Outbox, outboxtest.Inspector) {
				n++
				sub := "o" + strconv.Itoa(n)
				dir := filepath.Join(p.Home, sub)
				os.Mkdir(dir, 0o755)
				sshdtest.MakeWritable(t, dir)
				ob, err := transfer.NewSFTP(transfer.SFTPConfig{Address: p.Addr, User: p.User,
					IdentityFile: filepath.Join(keys, "id_ed25519"), KnownHostsFile: kh, Directory: "/" + sub,
					Timeout: 15 * time.Second, Log: slog.New(slog.NewTextHandler(&logs, nil))})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { ob.Close() })
				return ob, outboxtest.DirInspector(dir)
			})
			warned := strings.Contains(logs.String(), "lacks fsync@openssh.com")
			if warned != (ext != "") {
				t.Errorf("missing fsync logged: %v, want %v\n%s", warned, ext != "", logs.String())
			}
			if fell := strings.Contains(logs.String(), "lacks posix-rename"); fell != (ext != "") {
				t.Errorf("rename fallback logged: %v, want %v", fell, ext != "")
			}
		})
	}
}

// syncBuf is a log destination safe for concurrent writes.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
