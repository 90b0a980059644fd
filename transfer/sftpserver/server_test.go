package sftpserver_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"leverance/internal/sshdtest"
	"leverance/transfer/sftpserver"
)

// env is a running server with two vendors, vendor-a and vendor-b, each
// with an outbox holding a.csv (vendor-a) or b.csv (vendor-b), a temporary
// publish file and a hidden file; beside the outboxes lies secret.txt, and
// vendor-a's outbox holds symlinks pointing at it.
type env struct {
	srv        *sftpserver.Server
	addr       string
	port       string
	base       string
	dirs       map[string]string
	keys       map[string]string // private key files
	signers    map[string]ssh.Signer
	knownHosts string
	data       []byte // content of a.csv

	stop    context.CancelFunc // stops Serve
	stopped chan struct{}      // closed when Serve has returned

	mu      sync.Mutex
	fetches []sftpserver.Fetch
	fetched chan struct{}
}

func startServer(t *testing.T, edit func(*sftpserver.Config)) *env {
	t.Helper()
	base := t.TempDir()
	e := &env{base: base, dirs: map[string]string{}, keys: map[string]string{}, signers: map[string]ssh.Signer{},
		fetched: make(chan struct{}, 100)}
	e.data = make([]byte, 3<<20+777)
	rand.Read(e.data)
	var vendors []sftpserver.Vendor
	for _, v := range []string{"vendor-a", "vendor-b"} {
		dir := filepath.Join(base, v)
		os.MkdirAll(dir, 0o750)
		kp := filepath.Join(base, v+".key")
		e.signers[v] = sshdtest.Ed25519Key(t, kp)
		e.keys[v] = kp
		vendors = append(vendors, sftpserver.Vendor{Name: v, Dir: dir, AuthorizedKeysFile: kp + ".pub"})
		e.dirs[v] = dir
		os.WriteFile(filepath.Join(dir, ".x.csv.0123456789ab.partial"), []byte("staged"), 0o640)
		os.WriteFile(filepath.Join(dir, ".hidden"), []byte("hidden"), 0o640)
	}
	os.WriteFile(filepath.Join(e.dirs["vendor-a"], "a.csv"), e.data, 0o640)
	os.WriteFile(filepath.Join(e.dirs["vendor-b"], "b.csv"), []byte("vendor b's data\n"), 0o640)
	os.WriteFile(filepath.Join(base, "secret.txt"), []byte("outside\n"), 0o640)
	os.Symlink("../secret.txt", filepath.Join(e.dirs["vendor-a"], "escape"))
	os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(e.dirs["vendor-a"], "escape-abs"))
	os.Symlink("../vendor-b", filepath.Join(e.dirs["vendor-a"], "other"))
	cfg := sftpserver.Config{
		HostKeyPath: filepath.Join(base, "state", "ssh_host_ed25519_key"),
		Vendors:     vendors,
		Log:         slog.New(slog.NewTextHandler(testWriter{t}, nil)),
		OnFetch: func(f sftpserver.Fetch) {
			e.mu.Lock()
			e.fetches = append(e.fetches, f)
			e.mu.Unlock()
			e.fetched <- struct{}{}
		},
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := sftpserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = l.Addr().String()
	_, e.port, _ = net.SplitHostPort(e.addr)
	e.knownHosts = filepath.Join(base, "known_hosts")
	sshdtest.WriteKnownHosts(t, e.knownHosts, e.addr, srv.HostKeys()...)
	ctx, cancel := context.WithCancel(context.Background())
	e.stop, e.stopped = cancel, make(chan struct{})
	var serr error
	go func() { serr = srv.Serve(ctx, l); close(e.stopped) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-e.stopped:
			if serr != nil {
				t.Errorf("Serve: %v", serr)
			}
		case <-time.After(15 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return e
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// client logs in as vendor with key (a vendor name) over x/crypto.
func (e *env) sshClient(t *testing.T, vendor, key string) (*ssh.Client, error) {
	t.Helper()
	return ssh.Dial("tcp", e.addr, &ssh.ClientConfig{
		User:            vendor,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(e.signers[key])},
		HostKeyCallback: ssh.FixedHostKey(e.srv.HostKey()), HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		Timeout: 5 * time.Second,
	})
}

func (e *env) sftpClient(t *testing.T, vendor string) *sftp.Client {
	t.Helper()
	return e.sftpConn(t, vendor, vendor)
}

// sftpConn logs in as vendor with the key named key and opens SFTP.
func (e *env) sftpConn(t *testing.T, vendor, key string) *sftp.Client {
	t.Helper()
	sc, end := e.connWith(t, vendor, key)
	t.Cleanup(end)
	return sc
}

// openssh runs OpenSSH's sftp in batch mode as vendor, in a fresh working
// directory, and returns its output and that directory.
func (e *env) openssh(t *testing.T, vendor, batch string, extra ...string) (string, string, error) {
	t.Helper()
	bin := sshdtest.RequireTool(t, "sftp")
	wd := t.TempDir()
	args := append([]string{"-F", "/dev/null", "-b", "-", "-i", e.keys[vendor], "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + e.knownHosts, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
		"-P", e.port}, extra...)
	args = append(args, vendor+"@127.0.0.1")
	cmd := exec.Command(bin, args...)
	cmd.Dir = wd
	cmd.Stdin = strings.NewReader(batch)
	out, err := cmd.CombinedOutput()
	return string(out), wd, err
}

func (e *env) waitFetch(t *testing.T) sftpserver.Fetch {
	t.Helper()
	select {
	case <-e.fetched:
	case <-time.After(10 * time.Second):
		t.Fatal("no fetch reported")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fetches[len(e.fetches)-1]
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestOpenSSHClientListGetDelete(t *testing.T) {
	e := startServer(t, nil)
	out, wd, err := e.openssh(t, "vendor-a", "ls -1a\nget a.csv\n")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, hidden := range []string{".hidden", ".partial", "secret"} {
		if strings.Contains(out, hidden) {
			t.Errorf("listing shows %q:\n%s", hidden, out)
		}
	}
	if !strings.Contains(out, "a.csv") {
		t.Errorf("listing lacks a.csv:\n%s", out)
	}
	got, err := os.ReadFile(filepath.Join(wd, "a.csv"))
	if err != nil || !bytes.Equal(got, e.data) {
		t.Fatalf("get a.csv: %d bytes, %v", len(got), err)
	}
	f := e.waitFetch(t)
	want := sftpserver.Fetch{Vendor: "vendor-a", File: "a.csv", Size: int64(len(e.data)), Bytes: int64(len(e.data)), SHA256: sum(e.data), Complete: true, Time: f.Time}
	if f != want {
		t.Fatalf("fetch %+v, want %+v", f, want)
	}
	if out, _, err := e.openssh(t, "vendor-a", "rm a.csv\n"); err != nil {
		t.Fatalf("rm: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(e.dirs["vendor-a"], "a.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a.csv still there after rm: %v", err)
	}
}

func TestOpenSSHClientRefused(t *testing.T) {
	e := startServer(t, nil)
	os.WriteFile(filepath.Join(t.TempDir(), "x"), nil, 0o600)
	before := listAll(t, e.base)
	for _, cmd := range []string{
		"put /etc/hostname up.csv",
		"rename a.csv b.csv",
		"mkdir d",
		"rmdir other",
		"symlink a.csv l",
		"ln a.csv l",
		"chmod 600 a.csv",
		"cd ..\nget secret.txt",
		"get ../vendor-b/b.csv",
		"get /../vendor-b/b.csv",
		"get " + filepath.Join(e.base, "secret.txt"),
		"get escape",
		"get escape-abs",
		"get other/b.csv",
		"get .hidden",
		"get .x.csv.0123456789ab.partial",
		"rm .hidden",
		"rm escape",
	} {
		out, wd, err := e.openssh(t, "vendor-a", cmd+"\n")
		if err == nil {
			t.Errorf("%q succeeded:\n%s", cmd, out)
		}
		if ents, _ := os.ReadDir(wd); len(ents) != 0 {
			t.Errorf("%q fetched %v", cmd, ents)
		}
	}
	if after := listAll(t, e.base); !slices.Equal(before, after) {
		t.Fatalf("files changed:\nbefore %q\nafter  %q", before, after)
	}
	// "cd .." stays in "/": the listing is the vendor's own.
	out, _, err := e.openssh(t, "vendor-a", "cd ..\npwd\nls -1\n")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "vendor-b") || strings.Contains(out, "secret") || !strings.Contains(out, "Remote working directory: /") {
		t.Fatalf("cd .. escaped:\n%s", out)
	}
}

func listAll(t *testing.T, dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !strings.HasSuffix(p, ".key") && !strings.HasSuffix(p, ".pub") {
			out = append(out, strings.TrimPrefix(p, dir)+" "+strconv.FormatInt(info.Size(), 10))
		}
		return nil
	})
	return out
}

// The same escapes, with pkg/sftp, which sends the paths as given.
func TestConfinement(t *testing.T) {
	e := startServer(t, nil)
	c := e.sftpClient(t, "vendor-a")
	for _, p := range []string{
		"../vendor-b/b.csv", "/../vendor-b/b.csv", "../../" + filepath.Join(e.base, "secret.txt"),
		filepath.Join(e.base, "secret.txt"), "escape", "escape-abs", "other/b.csv", "/other/b.csv",
		".hidden", ".x.csv.0123456789ab.partial", "b.csv", "../secret.txt",
	} {
		if f, err := c.Open(p); err == nil {
			b, _ := io.ReadAll(f)
			f.Close()
			t.Errorf("Open(%q) succeeded, read %q", p, b)
		}
		if _, err := c.Stat(p); err == nil {
			t.Errorf("Stat(%q) succeeded", p)
		}
	}
	for _, p := range []string{"/", "..", "/..", "other", "/other"} {
		fis, err := c.ReadDir(p)
		if err != nil {
			continue
		}
		for _, fi := range fis {
			if n := fi.Name(); n == "b.csv" || n == "secret.txt" || strings.HasPrefix(n, ".") || n == "vendor-b" {
				t.Errorf("ReadDir(%q) shows %q", p, n)
			}
		}
	}
	for _, op := range []struct {
		name string
		fn   func() error
	}{
		{"create", func() error { _, err := c.Create("new.csv"); return err }},
		{"rename", func() error { return c.Rename("a.csv", "z.csv") }},
		{"posix-rename", func() error { return c.PosixRename("a.csv", "z.csv") }},
		{"mkdir", func() error { return c.Mkdir("d") }},
		{"symlink", func() error { return c.Symlink("a.csv", "l") }},
		{"link", func() error { return c.Link("a.csv", "l") }},
		{"chmod", func() error { return c.Chmod("a.csv", 0o777) }},
		{"remove outside", func() error { return c.Remove("../vendor-b/b.csv") }},
		{"remove symlink", func() error { return c.Remove("escape") }},
		{"rmdir", func() error { return c.RemoveDirectory("other") }},
	} {
		if err := op.fn(); err == nil {
			t.Errorf("%s succeeded", op.name)
		}
	}
	if _, err := os.Stat(filepath.Join(e.dirs["vendor-b"], "b.csv")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.base, "secret.txt")); err != nil {
		t.Fatal(err)
	}
	fis, err := c.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range fis {
		names = append(names, fi.Name())
	}
	slices.Sort(names)
	// Symlinks are neither listed nor followed.
	if want := []string{"a.csv"}; !slices.Equal(names, want) {
		t.Fatalf("ReadDir(/) = %q, want %q", names, want)
	}
}

func TestVendorsApart(t *testing.T) {
	e := startServer(t, nil)
	b := e.sftpClient(t, "vendor-b")
	fis, err := b.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	if len(fis) != 1 || fis[0].Name() != "b.csv" {
		t.Fatalf("vendor-b sees %v", fis)
	}
	if _, err := b.Stat("a.csv"); err == nil {
		t.Fatal("vendor-b sees vendor-a's a.csv")
	}
	// vendor-a's key does not open vendor-b's outbox.
	if c, err := e.sshClient(t, "vendor-b", "vendor-a"); err == nil {
		c.Close()
		t.Fatal("vendor-a's key logged in as vendor-b")
	}
	if c, err := e.sshClient(t, "root", "vendor-a"); err == nil {
		c.Close()
		t.Fatal("logged in as a user that is no vendor")
	}
}

func TestAuthMethodsRefused(t *testing.T) {
	e := startServer(t, nil)
	// x/crypto: password and keyboard-interactive.
	for _, m := range []ssh.AuthMethod{
		ssh.Password("secret"),
		ssh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) { return []string{"secret"}, nil }),
	} {
		c, err := ssh.Dial("tcp", e.addr, &ssh.ClientConfig{User: "vendor-a", Auth: []ssh.AuthMethod{m},
			HostKeyCallback: ssh.FixedHostKey(e.srv.HostKey()), HostKeyAlgorithms: []string{ssh.KeyAlgoED25519}, Timeout: 5 * time.Second})
		if err == nil {
			c.Close()
			t.Fatal("logged in without a key")
		}
	}
	// OpenSSH: the server offers publickey only.
	bin := sshdtest.RequireTool(t, "ssh")
	out, err := exec.Command(bin, "-F", "/dev/null", "-o", "PreferredAuthentications=password,keyboard-interactive",
		"-o", "PubkeyAuthentication=no", "-o", "BatchMode=yes", "-o", "UserKnownHostsFile="+e.knownHosts,
		"-o", "StrictHostKeyChecking=yes", "-p", e.port, "vendor-a@127.0.0.1", "true").CombinedOutput()
	if err == nil {
		t.Fatalf("ssh with password auth succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), "Permission denied (publickey)") {
		t.Fatalf("unexpected refusal:\n%s", out)
	}
}

func TestExecShellForwardingRefused(t *testing.T) {
	e := startServer(t, nil)
	bin := sshdtest.RequireTool(t, "ssh")
	out, err := exec.Command(bin, "-F", "/dev/null", "-i", e.keys["vendor-a"], "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "UserKnownHostsFile="+e.knownHosts, "-o", "StrictHostKeyChecking=yes", "-p", e.port,
		"vendor-a@127.0.0.1", "echo", "hi").CombinedOutput()
	if err == nil || strings.Contains(string(out), "hi\n") {
		t.Fatalf("ssh exec was run: %v\n%s", err, out)
	}

	c, err := e.sshClient(t, "vendor-a", "vendor-a")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Run("echo hi"); err == nil {
		t.Error("exec accepted")
	}
	sess.Close()
	for _, fn := range []func(*ssh.Session) error{
		func(s *ssh.Session) error { return s.Shell() },
		func(s *ssh.Session) error { return s.RequestPty("xterm", 24, 80, nil) },
		func(s *ssh.Session) error { return s.Setenv("LD_PRELOAD", "x") },
		func(s *ssh.Session) error { return s.RequestSubsystem("netconf") },
		func(s *ssh.Session) error {
			ok, err := s.SendRequest("auth-agent-req@openssh.com", true, nil)
			if err == nil && !ok {
				return errors.New("refused")
			}
			return nil
		},
	} {
		s, err := c.NewSession()
		if err != nil {
			t.Fatal(err)
		}
		if err := fn(s); err == nil {
			t.Error("session request accepted")
		}
		s.Close()
	}
	if conn, err := c.Dial("tcp", e.addr); err == nil {
		conn.Close()
		t.Error("direct-tcpip accepted")
	}
	if l, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
		l.Close()
		t.Error("tcpip-forward accepted")
	}
	// The connection still serves SFTP after all that.
	sc, err := sftp.NewClient(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if _, err := sc.Stat("a.csv"); err != nil {
		t.Fatal(err)
	}
}

func TestFetchReports(t *testing.T) {
	e := startServer(t, nil)
	c := e.sftpClient(t, "vendor-a")
	// Complete, with pkg/sftp's concurrent out-of-order reads.
	f, err := c.Open("a.csv")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if !bytes.Equal(buf.Bytes(), e.data) {
		t.Fatal("content differs")
	}
	got := e.waitFetch(t)
	if !got.Complete || got.Bytes != int64(len(e.data)) || got.SHA256 != sum(e.data) || got.File != "a.csv" || got.Vendor != "vendor-a" {
		t.Fatalf("complete fetch reported as %+v", got)
	}
	// Aborted: half read, then closed; reported when the connection ends.
	c1, err := e.sshClient(t, "vendor-a", "vendor-a")
	if err != nil {
		t.Fatal(err)
	}
	sc1, err := sftp.NewClient(c1)
	if err != nil {
		t.Fatal(err)
	}
	f, err = sc1.Open("a.csv")
	if err != nil {
		t.Fatal(err)
	}
	half := make([]byte, len(e.data)/2)
	if _, err := io.ReadFull(f, half); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sc1.Close()
	c1.Close()
	got = e.waitFetch(t)
	if got.Complete || got.Bytes < int64(len(half)) || got.Bytes >= int64(len(e.data)) || got.SHA256 != "" {
		t.Fatalf("half read reported as %+v", got)
	}
	// A connection dropped mid-file reports an incomplete fetch too.
	c2, err := e.sshClient(t, "vendor-a", "vendor-a")
	if err != nil {
		t.Fatal(err)
	}
	sc2, err := sftp.NewClient(c2)
	if err != nil {
		t.Fatal(err)
	}
	f, err = sc2.Open("a.csv")
	if err != nil {
		t.Fatal(err)
	}
	f.Read(make([]byte, 1000))
	c2.Close()
	got = e.waitFetch(t)
	if got.Complete {
		t.Fatalf("dropped connection reported as %+v", got)
	}
}

// 50 connections of one vendor at once: all but MaxConnsPerVendor are
// refused, and another vendor downloads meanwhile.
func TestConnectionLimits(t *testing.T) {
	e := startServer(t, func(c *sftpserver.Config) {
		c.MaxConnsPerVendor = 4
		// Both vendors come from 127.0.0.1 here: no per-source limits.
		c.Limits = sftpserver.Limits{PerSourceMaxStartups: 100, PerSourceMaxConns: 100, PerSourceRate: 1000,
			StartupsStart: 100, StartupsFull: 100}
	})
	var ok, refused atomic.Int32
	var wg sync.WaitGroup
	hold := make(chan struct{})
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := e.sshClient(t, "vendor-b", "vendor-b")
			if err != nil {
				refused.Add(1)
				return
			}
			defer c.Close()
			sc, err := sftp.NewClient(c)
			if err != nil {
				refused.Add(1)
				return
			}
			defer sc.Close()
			ok.Add(1)
			<-hold
		}()
	}
	// Meanwhile vendor-a downloads.
	out, wd, err := e.openssh(t, "vendor-a", "get a.csv\n")
	if err != nil {
		t.Fatalf("vendor-a refused while vendor-b floods: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(filepath.Join(wd, "a.csv")); !bytes.Equal(b, e.data) {
		t.Fatal("vendor-a's download differs")
	}
	for ok.Load()+refused.Load() < 50 {
		time.Sleep(10 * time.Millisecond)
	}
	close(hold)
	wg.Wait()
	if ok.Load() != 4 || refused.Load() != 46 {
		t.Fatalf("%d accepted, %d refused; want 4 and 46", ok.Load(), refused.Load())
	}
	// Once they are gone, vendor-b gets in again.
	time.Sleep(100 * time.Millisecond)
	e.sftpClient(t, "vendor-b")
}

func TestTotalConnectionLimit(t *testing.T) {
	e := startServer(t, func(c *sftpserver.Config) { c.MaxConns = 5 })
	var idle []net.Conn
	for i := 0; i < 5; i++ {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Read(make([]byte, 1)) // the server's banner: admitted
		idle = append(idle, c)
	}
	c, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 100)); err == nil {
		t.Fatalf("connection beyond the limit got %d bytes", n)
	}
	c.Close()
	for _, c := range idle {
		c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	e.sftpClient(t, "vendor-a")
}

// Garbage, a half handshake and a client that goes silent do not disturb
// the server.
func TestMisbehavingClients(t *testing.T) {
	e := startServer(t, func(c *sftpserver.Config) { c.IdleTimeout = time.Second })
	for _, junk := range [][]byte{
		[]byte("GET / HTTP/1.0\r\n\r\n"),
		[]byte("SSH-2.0-x\r\n\x00\x00\xff\xff\xff\xffgarbage"),
		bytes.Repeat([]byte{0xff}, 100000),
	} {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(junk)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c)
		c.Close()
	}
	// Idle: the server closes the connection after the idle timeout.
	sc := e.sftpClient(t, "vendor-a")
	time.Sleep(3 * time.Second)
	if _, err := sc.Stat("a.csv"); err == nil {
		t.Fatal("idle connection still open")
	}
	e.sftpClient(t, "vendor-b")
}

func TestSetVendors(t *testing.T) {
	e := startServer(t, nil)
	old := e.sftpClient(t, "vendor-b")
	err := e.srv.SetVendors([]sftpserver.Vendor{{Name: "vendor-a", Dir: e.dirs["vendor-a"], AuthorizedKeysFile: e.keys["vendor-a"] + ".pub"}})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := e.sshClient(t, "vendor-b", "vendor-b"); err == nil {
		c.Close()
		t.Fatal("removed vendor logged in")
	}
	// A removed vendor's open connections are closed.
	if _, err := old.Stat("b.csv"); err == nil {
		t.Fatal("the open connection of a removed vendor still serves")
	}
	if err := e.srv.SetVendors([]sftpserver.Vendor{{Name: "Bad Name", Dir: e.dirs["vendor-a"]}}); err == nil {
		t.Fatal("bad vendor accepted")
	}
	// authorized_keys is read at each login: a key added to it works at once.
	extra := sshdtest.Ed25519Key(t, filepath.Join(e.base, "extra.key"))
	f, _ := os.OpenFile(e.keys["vendor-a"]+".pub", os.O_APPEND|os.O_WRONLY, 0)
	f.Write(ssh.MarshalAuthorizedKey(extra.PublicKey()))
	f.Close()
	e.signers["extra"] = extra
	c, err := e.sshClient(t, "vendor-a", "extra")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

func TestHostKey(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state", "ssh_host_ed25519_key")
	k1, err := sftpserver.LoadOrCreateHostKey(p)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("host key mode %v, %v", st.Mode(), err)
	}
	k2, err := sftpserver.LoadOrCreateHostKey(p)
	if err != nil || !bytes.Equal(k1.PublicKey().Marshal(), k2.PublicKey().Marshal()) {
		t.Fatalf("second start has another key: %v", err)
	}
	os.Chmod(p, 0o644)
	if _, err := sftpserver.LoadOrCreateHostKey(p); err == nil {
		t.Fatal("world-readable host key accepted")
	}
}

// Serve returns when its context is done, closing connections.
func TestServeStops(t *testing.T) {
	base := t.TempDir()
	kp := filepath.Join(base, "k")
	sshdtest.Ed25519Key(t, kp)
	srv, err := sftpserver.New(sftpserver.Config{HostKeyPath: filepath.Join(base, "hk"),
		Vendors: []sftpserver.Vendor{{Name: "v", Dir: base, AuthorizedKeysFile: kp + ".pub"}}})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- srv.Serve(ctx, l) }()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return")
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("connection not closed: %v", err)
	}
}
