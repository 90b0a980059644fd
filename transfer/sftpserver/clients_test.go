package sftpserver_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"leverance/internal/sshdtest"
	"leverance/transfer/sftpserver"
)

// The client matrix: real SFTP clients from Debian packages (.ci/run
// installs them) against the built-in server with the default
// configuration. Each client lists the outbox, downloads a file and its
// .sha256 and checks it, resumes a download, deletes a file and is refused
// an upload — each step the client can do (the ones it cannot are named
// in cannot, and in docs/vendors.md).

// matrix is one client's run: a server, a working directory and the keys
// and pins in the formats the clients read.
type matrix struct {
	*env
	t       *testing.T
	dir     string // the client's local directory
	keyRSA  string // PKCS#1 PEM RSA key (Java, Ruby), with .pub
	keyEC   string // SEC 1 PEM ECDSA key (PHP ssh2), with .pub
	ppk     string // PuTTY's form of the ed25519 key
	fps     string // host key fingerprints: SHA256:..., sha1:hex, md5:hex
	known   string // known_hosts with every host key
	bin     string // compiled drivers
	timeout time.Duration
	log     *logBuf // the server's log
}

type matrixClient struct {
	name    string
	tools   []string
	profile sftpserver.Profile
	setup   func(m *matrix) error
	// run performs one step: ls DIR, get REMOTE LOCAL, reget REMOTE LOCAL,
	// rm REMOTE, put LOCAL REMOTE.
	run    func(m *matrix, op string, args ...string) (string, error)
	cannot map[string]string // step → why the client cannot do it
}

var rsaPEM = sync.OnceValues(func() ([]byte, error) {
	k, err := rsa.GenerateKey(rand.Reader, 3072)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
})

func newMatrix(t *testing.T, profile sftpserver.Profile) *matrix {
	lb := &logBuf{}
	e := startServer(t, withProfile(profile, lb))
	m := &matrix{env: e, t: t, dir: t.TempDir(), bin: t.TempDir(), timeout: 60 * time.Second, log: lb}
	os.WriteFile(filepath.Join(e.dirs["vendor-a"], "a.csv.sha256"), []byte(sum(e.data)+"  a.csv\n"), 0o640)
	os.WriteFile(filepath.Join(e.dirs["vendor-a"], "old.csv"), []byte("fetched already\n"), 0o640)
	os.WriteFile(filepath.Join(m.dir, "up.csv"), []byte("an upload\n"), 0o640)
	// RSA and ECDSA keys in PEM beside the ed25519 one in vendor-a's
	// authorized_keys.
	rsaKey, err := rsaPEM()
	if err != nil {
		t.Fatal(err)
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	m.keyRSA, m.keyEC = filepath.Join(e.base, "vendor-a-rsa.pem"), filepath.Join(e.base, "vendor-a-ec.pem")
	for path, b := range map[string][]byte{m.keyRSA: rsaKey,
		m.keyEC: pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER})} {
		os.WriteFile(path, b, 0o600)
		signer, err := ssh.ParsePrivateKey(b)
		if err != nil {
			t.Fatal(err)
		}
		pub := ssh.MarshalAuthorizedKey(signer.PublicKey())
		os.WriteFile(path+".pub", pub, 0o644)
		ak := e.keys["vendor-a"] + ".pub"
		old, _ := os.ReadFile(ak)
		os.WriteFile(ak, append(old, pub...), 0o600)
	}
	var fps []string
	for _, k := range e.srv.HostKeys() {
		s1, m5 := sha1.Sum(k.Marshal()), md5.Sum(k.Marshal())
		fps = append(fps, ssh.FingerprintSHA256(k), "sha1:"+hex.EncodeToString(s1[:]), "md5:"+hex.EncodeToString(m5[:]))
	}
	m.fps = strings.Join(fps, ",")
	m.known = e.knownHosts
	return m
}

// env is the environment of a driver program.
func (m *matrix) driverEnv(key string) []string {
	return append(os.Environ(), "LV_HOST=127.0.0.1", "LV_PORT="+m.port, "LV_USER=vendor-a", "LV_KEY="+key,
		"LV_PUB="+key+".pub", "LV_KNOWN="+m.known, "LV_FPS="+m.fps, "HOME="+m.dir)
}

// exec runs a command with a deadline in the client's directory.
func (m *matrix) exec(env []string, stdin string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), m.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = m.dir
	cmd.Env = env
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s timed out: %w", name, ctx.Err())
	}
	return string(out), err
}

// driver runs a driver program (testdata/clients) with argv prefix.
func driver(key func(*matrix) string, prefix ...string) func(*matrix, string, ...string) (string, error) {
	return func(m *matrix, op string, args ...string) (string, error) {
		argv := append(append(append([]string(nil), prefix...), op), args...)
		return m.exec(m.driverEnv(key(m)), "", argv[0], argv[1:]...)
	}
}

func edKey(m *matrix) string  { return m.keys["vendor-a"] }
func rsaKey(m *matrix) string { return m.keyRSA }
func ecKey(m *matrix) string  { return m.keyEC }

func testdata(name string) string {
	p, _ := filepath.Abs(filepath.Join("testdata", "clients", name))
	return p
}

// checkClient runs the five steps.
func checkClient(t *testing.T, m *matrix, c matrixClient) {
	step := func(op string, args ...string) (string, bool) {
		if why, ok := c.cannot[op]; ok {
			t.Logf("%s: %s: not done: %s", c.name, op, why)
			return "", false
		}
		start := time.Now()
		out, err := c.run(m, op, args...)
		t.Logf("%s: %s: %v", c.name, op, time.Since(start).Round(time.Millisecond))
		if op == "put" {
			if errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%s: upload hung instead of being refused:\n%s", c.name, out)
			} else if err == nil {
				t.Errorf("%s: upload not refused:\n%s", c.name, out)
			}
			return out, true
		}
		if err != nil {
			t.Fatalf("%s: %s %q: %v\n%s", c.name, op, args, err, out)
		}
		return out, true
	}
	if out, ok := step("ls", "/"); ok {
		if !strings.Contains(out, "a.csv.sha256") || !strings.Contains(out, "old.csv") || strings.Contains(out, ".hidden") {
			t.Errorf("%s: listing:\n%s", c.name, out)
		}
	}
	local := filepath.Join(m.dir, "a.csv")
	if _, ok := step("get", "/a.csv", local); ok {
		step("get", "/a.csv.sha256", local+".sha256")
		got, _ := os.ReadFile(local)
		sumLine, _ := os.ReadFile(local + ".sha256")
		if !bytes.Equal(got, m.data) || !strings.HasPrefix(string(sumLine), sum(got)+"  a.csv") {
			t.Errorf("%s: download of %d bytes does not match its .sha256 %q", c.name, len(got), sumLine)
		}
	}
	res := filepath.Join(m.dir, "res.csv")
	os.WriteFile(res, m.data[:1<<20+1], 0o640)
	if _, ok := step("reget", "/a.csv", res); ok {
		if got, _ := os.ReadFile(res); !bytes.Equal(got, m.data) {
			t.Errorf("%s: resumed download: %d bytes, differs", c.name, len(got))
		}
	}
	if _, ok := step("rm", "/old.csv"); ok {
		if _, err := os.Stat(filepath.Join(m.dirs["vendor-a"], "old.csv")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: old.csv not deleted: %v", c.name, err)
		}
	}
	step("put", filepath.Join(m.dir, "up.csv"), "/up.csv")
	if _, err := os.Stat(filepath.Join(m.dirs["vendor-a"], "up.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s: an upload reached the outbox", c.name)
	}
}

func TestClientMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("the client matrix runs real clients (seconds each); not with -short")
	}
	for _, c := range matrixClients() {
		t.Run(c.name, func(t *testing.T) {
			for _, tool := range c.tools {
				sshdtest.RequireTool(t, tool)
			}
			m := newMatrix(t, c.profile)
			if c.setup != nil {
				if err := c.setup(m); err != nil {
					t.Fatalf("setup: %v", err)
				}
			}
			checkClient(t, m, c)
			// A client's ordinary use logs no WARN or ERROR (rclone's exec
			// probes among it), and at most one INFO line per connection
			// about refused session requests.
			for _, l := range m.log.lines("") {
				if (strings.Contains(l, "level=WARN") && !strings.Contains(l, `algorithms = \"legacy\"`)) || strings.Contains(l, "level=ERROR") {
					t.Errorf("%s: %s", c.name, l)
				}
			}
			if probes, conns := len(m.log.lines(`level=INFO msg="session request refused`)), len(m.log.lines(`msg="vendor connected"`)); probes > conns {
				t.Errorf("%s: %d INFO lines about refused requests for %d connections", c.name, probes, conns)
			}
			if t.Failed() {
				t.Logf("server log:\n%s", strings.Join(m.log.lines(""), "\n"))
			}
		})
	}
}

// TestLegacyClientsRefused: the old Java clients that log in with legacy
// are refused with the other profiles (SHA-1 signatures, group14-sha1 and
// hmac-sha1 are not offered), promptly.
func TestLegacyClientsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Java clients; not with -short")
	}
	for _, c := range matrixClients() {
		if c.profile != sftpserver.Legacy {
			continue
		}
		for _, p := range []sftpserver.Profile{sftpserver.Compatible, sftpserver.Modern} {
			t.Run(c.name+"/"+string(p), func(t *testing.T) {
				for _, tool := range c.tools {
					sshdtest.RequireTool(t, tool)
				}
				m := newMatrix(t, p)
				if err := c.setup(m); err != nil {
					t.Fatal(err)
				}
				out, err := c.run(m, "ls", "/")
				if err == nil || errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s with %s: %v\n%s", c.name, p, err, out)
				}
			})
		}
	}
}

// TestSSHAudit runs ssh-audit (Debian's) on each profile: modern has no
// finding but Debian 12's ssh-audit 2.5.0 not knowing two names; compatible
// has only the findings docs/operations.md names and explains.
func TestSSHAudit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ssh-audit; not with -short")
	}
	bin := sshdtest.RequireTool(t, "ssh-audit")
	tooOld := []string{"(kex) mlkem768x25519-sha256: unknown algorithm", "(kex) kex-strict-s-v00@openssh.com: unknown algorithm"}
	compatible := append([]string{
		"(kex) ecdh-sha2-nistp256: using weak elliptic curves",
		"(kex) ecdh-sha2-nistp384: using weak elliptic curves",
		"(kex) ecdh-sha2-nistp521: using weak elliptic curves",
		"(key) ecdsa-sha2-nistp256: using weak elliptic curves",
		"(key) ecdsa-sha2-nistp256: using weak random number generator could reveal the key",
		"(mac) hmac-sha2-256: using encrypt-and-MAC mode",
		"(mac) hmac-sha2-512: using encrypt-and-MAC mode",
	}, tooOld...)
	for _, c := range []struct {
		p       sftpserver.Profile
		allowed []string
	}{{sftpserver.Modern, tooOld}, {sftpserver.Compatible, compatible}} {
		t.Run(string(c.p), func(t *testing.T) {
			m := newMatrix(t, c.p)
			out, _ := m.exec(os.Environ(), "", bin, "-n", "-l", "warn", "-p", m.port, "127.0.0.1")
			findings := auditFindings(out)
			if !strings.Contains(out, "# key exchange algorithms") {
				t.Fatalf("ssh-audit did not audit:\n%s", out)
			}
			for _, f := range findings {
				if !slices.Contains(c.allowed, f) {
					t.Errorf("%s: finding not documented: %s", c.p, f)
				}
			}
			t.Logf("%s: %d findings:\n%s", c.p, len(findings), strings.Join(findings, "\n"))
		})
	}
}

// auditFindings turns ssh-audit's lines "(kex) name -- [warn] text" and
// their continuation lines "`- [warn] text" into "(kex) name: text".
func auditFindings(out string) []string {
	var fs []string
	last := ""
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "(") && strings.Contains(l, " -- ") {
			f := strings.Fields(l)
			last = f[0] + " " + f[1]
		}
		for _, lvl := range []string{"[fail] ", "[warn] "} {
			if i := strings.Index(l, lvl); i >= 0 && last != "" && !strings.HasPrefix(l, "(rec)") {
				fs = append(fs, last+": "+strings.TrimSpace(l[i+len(lvl):]))
			}
		}
	}
	return fs
}

// TestLftpMirrorParallel: lftp's mirror with parallel downloads fetches
// exactly the outbox's regular files, whole.
func TestLftpMirrorParallel(t *testing.T) {
	if testing.Short() {
		t.Skip("runs lftp; not with -short")
	}
	sshdtest.RequireTool(t, "lftp")
	sshdtest.RequireTool(t, "ssh")
	m := newMatrix(t, "")
	dst := filepath.Join(m.dir, "mirror")
	script := fmt.Sprintf(`set sftp:connect-program "ssh -a -x %s"; set net:max-retries 1; set net:timeout 10; `+
		`set cmd:fail-exit yes; open -u vendor-a, -p %s sftp://127.0.0.1; mirror --parallel=4 / %s`,
		strings.Join(opensshArgs(m), " "), m.port, dst)
	if out, err := m.exec(os.Environ(), "", "lftp", "-c", script); err != nil {
		t.Fatalf("lftp mirror: %v\n%s", err, out)
	}
	var got []string
	entries, _ := os.ReadDir(dst)
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if want := []string{"a.csv", "a.csv.sha256", "old.csv"}; !slices.Equal(got, want) {
		t.Errorf("mirrored %q, want %q", got, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "a.csv")); !bytes.Equal(b, m.data) {
		t.Error("mirrored a.csv differs")
	}
}
