// Package sshdtest runs real OpenSSH peers for the transfer tests: an sshd
// on a free loopback port with its own host keys and authorized_keys, key
// generation, a known_hosts writer, and a TCP proxy that can reset or stall
// a connection. It is for tests only.
//
// When the tests run as root, sshd's sessions log in as the unprivileged
// user "nobody": root ignores file permissions, so a permission test (a
// directory made read-only) would prove nothing as root. The directories a
// test hands to sshd are made reachable for that user.
package sshdtest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// DisallowSkipEnv is the environment variable that turns a skip for a
// missing tool into a failure (CI sets it).
const DisallowSkipEnv = "LEVERANCE_TEST_DISALLOW_SKIP"

// Known locations of tools that are not on a normal user's PATH.
var toolPaths = map[string][]string{
	"sshd":        {"/usr/sbin/sshd"},
	"proftpd":     {"/usr/sbin/proftpd"},
	"sftp-server": {"/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server", "/usr/libexec/sftp-server"},
}

// RequireTool returns the path of the program name, or skips the test when
// it is missing — or fails it when LEVERANCE_TEST_DISALLOW_SKIP is set.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range toolPaths[name] {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if os.Getenv(DisallowSkipEnv) != "" {
		t.Fatalf("%s is required (install it; %s is set, so this test may not skip)", name, DisallowSkipEnv)
	}
	t.Skipf("%s not installed", name)
	return ""
}

// Dir returns a new temporary directory that the sshd session user can
// reach and (when owned) write, removed at cleanup.
func Dir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "sshdtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		filepath.Walk(d, func(p string, info os.FileInfo, err error) error {
			if err == nil && info.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		os.RemoveAll(d)
	})
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

// LoginUser is the user sshd's sessions run as: the current user, or
// "nobody" when the tests run as root (see the package doc).
func LoginUser(t testing.TB) (name string, uid, gid int) {
	t.Helper()
	if os.Geteuid() != 0 {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		return u.Username, os.Geteuid(), os.Getegid()
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("running as root needs the user nobody: %v", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return u.Username, uid, gid
}

// MakeWritable gives dir to the session user so that sshd can write there.
func MakeWritable(t testing.TB, dir string) {
	t.Helper()
	_, uid, gid := LoginUser(t)
	if os.Geteuid() == 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// Ed25519Key writes a new ed25519 private key to path (OpenSSH format, 0600)
// and its public key to path+".pub".
func Ed25519Key(t testing.TB, path string) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return writeKey(t, path, priv)
}

// RSAKey writes a new RSA private key of bits to path and path+".pub".
func RSAKey(t testing.TB, path string, bits int) ssh.Signer {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return writeKey(t, path, priv)
}

// ECDSAKey writes a new ECDSA P-256 private key to path and path+".pub".
func ECDSAKey(t testing.TB, path string) ssh.Signer {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return writeKey(t, path, priv)
}

func writeKey(t testing.TB, path string, priv any) ssh.Signer {
	t.Helper()
	blk, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(s.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

// WriteKnownHosts writes a known_hosts file at path that records keys for
// addr (host:port).
func WriteKnownHosts(t testing.TB, path, addr string, keys ...ssh.PublicKey) {
	t.Helper()
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(knownhosts.Line([]string{knownhosts.Normalize(addr)}, k) + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Options configure an Sshd.
type Options struct {
	// HostKeyTypes are the host keys sshd gets: "ed25519" (default),
	// "ecdsa", "rsa".
	HostKeyTypes []string
	// AuthorizedKeys are the public keys that may log in.
	AuthorizedKeys []ssh.PublicKey
	// SftpServer uses the sftp-server binary instead of internal-sftp. As
	// root, the sessions then run as root (sshd starts the binary through
	// the user's shell, and nobody's is nologin).
	SftpServer bool
	// Ciphers is sshd's Ciphers line (default: OpenSSH's own default).
	Ciphers string
	// Extra lines appended to sshd_config.
	Extra []string
}

// Sshd is a running OpenSSH server.
type Sshd struct {
	t        testing.TB
	Addr     string // 127.0.0.1:port
	Port     int
	User     string // the user to log in as
	HostKeys []ssh.PublicKey
	dir      string
	config   string
	bin      string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    *logBuffer
}

// Start runs sshd on a free port; it is stopped at the end of the test.
func Start(t testing.TB, o Options) *Sshd {
	t.Helper()
	bin := RequireTool(t, "sshd")
	if os.Geteuid() == 0 {
		// sshd refuses to start without its privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	login, _, _ := LoginUser(t)
	if o.SftpServer && os.Geteuid() == 0 {
		// sshd runs a subsystem binary through the user's shell, and
		// nobody's shell is nologin.
		login = "root"
	}
	dir := Dir(t)
	s := &Sshd{t: t, dir: dir, bin: bin, User: login, Port: FreePort(t), log: &logBuffer{}}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port))
	types := o.HostKeyTypes
	if len(types) == 0 {
		types = []string{"ed25519"}
	}
	var cfg strings.Builder
	for _, typ := range types {
		p := filepath.Join(dir, "host_"+typ)
		var sg ssh.Signer
		switch typ {
		case "ed25519":
			sg = Ed25519Key(t, p)
		case "ecdsa":
			sg = ECDSAKey(t, p)
		case "rsa":
			sg = RSAKey(t, p, 3072)
		default:
			t.Fatalf("unknown host key type %q", typ)
		}
		s.HostKeys = append(s.HostKeys, sg.PublicKey())
		fmt.Fprintf(&cfg, "HostKey %s\n", p)
	}
	var ak strings.Builder
	for _, k := range o.AuthorizedKeys {
		ak.Write(ssh.MarshalAuthorizedKey(k))
	}
	akPath := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(akPath, []byte(ak.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	// The session user must read authorized_keys (sshd reads it as that
	// user): Dir made dir reachable.
	sub := "internal-sftp"
	if o.SftpServer {
		sub = RequireTool(t, "sftp-server")
	}
	fmt.Fprintf(&cfg, "ListenAddress 127.0.0.1:%d\n", s.Port)
	fmt.Fprintf(&cfg, "PidFile %s\n", filepath.Join(dir, "sshd.pid"))
	fmt.Fprintf(&cfg, "AuthorizedKeysFile %s\n", akPath)
	fmt.Fprintf(&cfg, "Subsystem sftp %s\n", sub)
	cfg.WriteString("UsePAM no\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n")
	cfg.WriteString("PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nLogLevel ERROR\n")
	cfg.WriteString("MaxStartups 100\nMaxSessions 100\nAllowTcpForwarding no\nX11Forwarding no\n")
	if o.Ciphers != "" {
		fmt.Fprintf(&cfg, "Ciphers %s\n", o.Ciphers)
	}
	for _, l := range o.Extra {
		cfg.WriteString(l + "\n")
	}
	s.config = filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(s.config, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// Restart starts sshd again (after Stop) on the same port with the same keys.
func (s *Sshd) Restart() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(s.bin, "-D", "-e", "-f", s.config)
	cmd.Stderr = s.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start sshd: %v", err)
	}
	s.cmd = cmd
	exited := make(chan struct{})
	s.exited = exited
	go func() { cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			s.cmd = nil
			s.t.Fatalf("sshd exited: %s", s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("sshd did not listen on %s: %v\n%s", s.Addr, err, s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills sshd and every session process it forked, as a crash or a
// power cut of the server would.
func (s *Sshd) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	KillTree(s.cmd.Process.Pid)
	<-s.exited
	s.cmd = nil
}

// Log returns what sshd wrote to stderr.
func (s *Sshd) Log() string { return s.log.String() }

// KillTree SIGKILLs pid and all its descendants (sshd's session processes
// start new sessions, so a process group does not reach them).
func KillTree(pid int) {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces; split after ')'.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		children[pp] = append(children[pp], p)
	}
	var kill func(int)
	kill = func(p int) {
		syscall.Kill(p, syscall.SIGSTOP)
		for _, c := range children[p] {
			kill(c)
		}
		syscall.Kill(p, syscall.SIGKILL)
	}
	kill(pid)
}

type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Lines returns the non-empty lines of s.
func Lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
