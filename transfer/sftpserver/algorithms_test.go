package sftpserver_test

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"

	"leverance/internal/sshdtest"
	"leverance/transfer/sftpserver"
)

// logBuf collects a server's log lines (DEBUG and up) for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) lines(substr string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}

// waitLines waits (bounded) until at least n lines contain substr.
func (l *logBuf) waitLines(t *testing.T, substr string, n int) []string {
	t.Helper()
	for i := 0; i < 200; i++ {
		if ls := l.lines(substr); len(ls) >= n {
			return ls
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("fewer than %d log lines with %q:\n%s", n, substr, strings.Join(l.lines(""), "\n"))
	return nil
}

func withProfile(p sftpserver.Profile, lb *logBuf) func(*sftpserver.Config) {
	return func(c *sftpserver.Config) {
		c.Algorithms = p
		if lb != nil {
			c.Log = slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
	}
}

// kexinit reads the server's first KEXINIT and returns its name-lists:
// kex, host key, ciphers c→s, ciphers s→c, MACs c→s, MACs s→c, ...
func kexinit(t *testing.T, addr string) [][]string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(nc, "SSH-2.0-probe\r\n")
	r := bufio.NewReader(nc)
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "SSH-2.0-") {
		t.Fatalf("version line %q: %v", line, err)
	}
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatal(err)
	}
	pkt := make([]byte, binary.BigEndian.Uint32(hdr[:4])-1)
	if _, err := io.ReadFull(r, pkt); err != nil {
		t.Fatal(err)
	}
	if pkt[0] != 20 {
		t.Fatalf("first packet is type %d, want KEXINIT", pkt[0])
	}
	b := pkt[17:]
	var lists [][]string
	for i := 0; i < 10; i++ {
		n := binary.BigEndian.Uint32(b)
		lists = append(lists, strings.Split(string(b[4:4+n]), ","))
		b = b[4+n:]
	}
	return lists
}

// TestAlgorithmProfilesOffered checks what each profile offers, name by
// name, on the wire.
func TestAlgorithmProfilesOffered(t *testing.T) {
	modernKex := []string{"mlkem768x25519-sha256", "curve25519-sha256", "curve25519-sha256@libssh.org"}
	compatKex := append(slices.Clone(modernKex), "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
		"diffie-hellman-group16-sha512", "diffie-hellman-group14-sha256")
	compatCiphers := []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes192-ctr", "aes256-ctr",
		"chacha20-poly1305@openssh.com"}
	compatMACs := []string{"hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-sha2-256", "hmac-sha2-512"}
	compatHost := []string{"ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256"}
	for _, c := range []struct {
		p                        sftpserver.Profile
		kex, host, ciphers, macs []string
	}{
		{sftpserver.Modern, modernKex, []string{"ssh-ed25519"}, []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com"},
			[]string{"hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"}},
		{"", compatKex, compatHost, compatCiphers, compatMACs}, // the default is compatible
		{sftpserver.Compatible, compatKex, compatHost, compatCiphers, compatMACs},
		{sftpserver.Legacy, append(slices.Clone(compatKex), "diffie-hellman-group14-sha1"), append(slices.Clone(compatHost), "ssh-rsa"),
			compatCiphers, append(slices.Clone(compatMACs), "hmac-sha1")},
	} {
		name := string(c.p)
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			e := startServer(t, withProfile(c.p, nil))
			l := kexinit(t, e.addr)
			kex := slices.DeleteFunc(slices.Clone(l[0]), func(s string) bool { return strings.HasPrefix(s, "ext-info") || strings.HasPrefix(s, "kex-strict") })
			if !slices.Equal(kex, c.kex) {
				t.Errorf("kex %q, want %q", kex, c.kex)
			}
			if !slices.Contains(l[0], "kex-strict-s-v00@openssh.com") {
				t.Errorf("strict kex not offered: %q", l[0])
			}
			host := slices.Clone(l[1])
			slices.Sort(host)
			want := slices.Clone(c.host)
			slices.Sort(want)
			if !slices.Equal(host, want) {
				t.Errorf("host key algorithms %q, want %q", l[1], c.host)
			}
			for i, w := range [][]string{c.ciphers, c.ciphers, c.macs, c.macs} {
				if !slices.Equal(l[2+i], w) {
					t.Errorf("list %d: %q, want %q", 2+i, l[2+i], w)
				}
			}
		})
	}
}

// dial logs in with the x/crypto client limited to the given algorithms.
func dialWith(e *env, algs ssh.Algorithms, signer ssh.Signer) error {
	c, err := ssh.Dial("tcp", e.addr, &ssh.ClientConfig{
		User: "vendor-a", Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		Config:            ssh.Config{KeyExchanges: algs.KeyExchanges, Ciphers: algs.Ciphers, MACs: algs.MACs},
		HostKeyAlgorithms: algs.HostKeys,
		HostKeyCallback: func(_ string, _ net.Addr, k ssh.PublicKey) error {
			for _, h := range e.srv.HostKeys() {
				if bytes.Equal(h.Marshal(), k.Marshal()) {
					return nil
				}
			}
			return io.ErrUnexpectedEOF
		},
		Timeout: 5 * time.Second,
	})
	if err != nil {
		return err
	}
	defer c.Close()
	sc, err := sftp.NewClient(c)
	if err != nil {
		return err
	}
	defer sc.Close()
	_, err = sc.Stat("a.csv")
	return err
}

// TestAlgorithmProfilesNegotiate logs in with one algorithm at a time and
// checks it is accepted or refused as the profile says; a refusal is
// logged once at INFO with what was offered and what is accepted.
// negotiation is one login attempt with chosen algorithms, and the
// profiles that accept it.
type negotiation struct {
	name string
	algs ssh.Algorithms
	sha1 bool // log in with an RSA key signing with ssh-rsa
	ok   map[sftpserver.Profile]bool
}

func negotiations() []negotiation {
	type try = negotiation
	all := map[sftpserver.Profile]bool{sftpserver.Modern: true, sftpserver.Compatible: true, sftpserver.Legacy: true}
	notModern := map[sftpserver.Profile]bool{sftpserver.Compatible: true, sftpserver.Legacy: true}
	legacy := map[sftpserver.Profile]bool{sftpserver.Legacy: true}
	tries := []try{
		{"curve25519+gcm+ed25519", ssh.Algorithms{KeyExchanges: []string{ssh.KeyExchangeCurve25519}, Ciphers: []string{ssh.CipherAES128GCM}, HostKeys: []string{ssh.KeyAlgoED25519}}, false, all},
		{"mlkem", ssh.Algorithms{KeyExchanges: []string{ssh.KeyExchangeMLKEM768X25519}}, false, all},
		{"aes128-ctr+hmac-sha2-256", ssh.Algorithms{Ciphers: []string{ssh.CipherAES128CTR}, MACs: []string{ssh.HMACSHA256}}, false, notModern},
		{"aes256-ctr+hmac-sha2-512-etm", ssh.Algorithms{Ciphers: []string{ssh.CipherAES256CTR}, MACs: []string{ssh.HMACSHA512ETM}}, false, notModern},
		{"chacha20", ssh.Algorithms{Ciphers: []string{ssh.CipherChaCha20Poly1305}}, false, notModern},
		{"ecdh-nistp256", ssh.Algorithms{KeyExchanges: []string{ssh.KeyExchangeECDHP256}}, false, notModern},
		{"ecdh-nistp521", ssh.Algorithms{KeyExchanges: []string{ssh.KeyExchangeECDHP521}}, false, notModern},
		{"dh-group14-sha256", ssh.Algorithms{KeyExchanges: []string{ssh.KeyExchangeDH14SHA256}}, false, notModern},
		{"dh-group16-sha512", ssh.Algorithms{KeyExchanges: []string{ssh.KeyExchangeDH16SHA512}}, false, notModern},
		{"host ecdsa", ssh.Algorithms{HostKeys: []string{ssh.KeyAlgoECDSA256}}, false, notModern},
		{"host rsa-sha2-256", ssh.Algorithms{HostKeys: []string{ssh.KeyAlgoRSASHA256}}, false, notModern},
		{"host rsa-sha2-512", ssh.Algorithms{HostKeys: []string{ssh.KeyAlgoRSASHA512}}, false, notModern},
		{"dh-group14-sha1", ssh.Algorithms{KeyExchanges: []string{ssh.InsecureKeyExchangeDH14SHA1}}, false, legacy},
		{"host ssh-rsa (sha1)", ssh.Algorithms{HostKeys: []string{ssh.KeyAlgoRSA}}, false, legacy},
		{"client ssh-rsa (sha1) signature", ssh.Algorithms{}, true, legacy},
		{"dh-group1-sha1", ssh.Algorithms{KeyExchanges: []string{ssh.InsecureKeyExchangeDH1SHA1}}, false, nil},
		{"aes128-cbc", ssh.Algorithms{Ciphers: []string{ssh.InsecureCipherAES128CBC}}, false, nil},
		{"hmac-sha1", ssh.Algorithms{Ciphers: []string{ssh.CipherAES128CTR}, MACs: []string{ssh.HMACSHA1}}, false, legacy},
		{"hmac-sha1-96", ssh.Algorithms{Ciphers: []string{ssh.CipherAES128CTR}, MACs: []string{ssh.InsecureHMACSHA196}}, false, nil},
	}
	return tries
}

func TestAlgorithmProfilesNegotiate(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaSigner, _ := ssh.NewSignerFromKey(rsaKey)
	sha1Signer, _ := ssh.NewSignerWithAlgorithms(rsaSigner.(ssh.AlgorithmSigner), []string{ssh.KeyAlgoRSA})
	tries := negotiations()
	for _, p := range sftpserver.Profiles {
		t.Run(string(p), func(t *testing.T) {
			lb := &logBuf{}
			e := startServer(t, withProfile(p, lb))
			pub := ssh.MarshalAuthorizedKey(e.signers["vendor-a"].PublicKey())
			pub = append(pub, ssh.MarshalAuthorizedKey(rsaSigner.PublicKey())...)
			os.WriteFile(e.keys["vendor-a"]+".pub", pub, 0o600)
			refused := 0
			for _, tr := range tries {
				signer := e.signers["vendor-a"]
				if tr.sha1 {
					signer = sha1Signer
				}
				err := dialWith(e, tr.algs, signer)
				if tr.ok[p] && err != nil {
					t.Errorf("%s: refused: %v", tr.name, err)
				}
				if !tr.ok[p] {
					if err == nil {
						t.Errorf("%s: accepted", tr.name)
					}
					refused++
				}
			}
			checkRefusalLog(t, e, p, lb, refused)
		})
	}
}

// checkRefusalLog: one INFO line per refused handshake, with source and
// reasons; the legacy warning and the host key fingerprints at start.
func checkRefusalLog(t *testing.T, e *env, p sftpserver.Profile, lb *logBuf, refused int) {
	lines := lb.waitLines(t, "ssh handshake refused", refused)
	time.Sleep(100 * time.Millisecond) // let a duplicate line, if any, arrive
	if n := len(lb.lines("ssh handshake refused")); n != refused {
		t.Errorf("%d refusal lines for %d refused handshakes", n, refused)
	}
	for _, l := range lines {
		if !strings.Contains(l, "level=INFO") || !strings.Contains(l, "remote=127.0.0.1:") {
			t.Errorf("refusal line without level INFO or source: %s", l)
		}
	}
	if p == sftpserver.Modern && !slices.ContainsFunc(lines, func(l string) bool {
		return strings.Contains(l, `reason="no common client to server cipher"`) && strings.Contains(l, "client_offered=aes128-ctr") &&
			strings.Contains(l, "accepted=aes128-gcm@openssh.com,aes256-gcm@openssh.com")
	}) {
		t.Errorf("no refusal line naming the cipher offered and those accepted:\n%s", strings.Join(lines, "\n"))
	}
	if p != sftpserver.Legacy && !slices.ContainsFunc(lines, func(l string) bool {
		return strings.Contains(l, `user="\"vendor-a\""`) && strings.Contains(l, "reason=\"authentication failed\"")
	}) {
		t.Errorf("no refusal line with the user and the reason of a refused login:\n%s", strings.Join(lines, "\n"))
	}
	if p == sftpserver.Compatible && !slices.ContainsFunc(lines, func(l string) bool {
		return strings.Contains(l, `signature algorithm \"ssh-rsa\" not accepted (accepted: ssh-ed25519,`)
	}) {
		t.Errorf("no refusal line naming the refused signature algorithm:\n%s", strings.Join(lines, "\n"))
	}
	warned := len(lb.lines("level=WARN msg=\"sftp_server.algorithms = \\\"legacy\\\"")) > 0
	if warned != (p == sftpserver.Legacy) {
		t.Errorf("legacy warning logged: %v", warned)
	}
	if n := len(lb.lines("msg=\"sftp host key\"")); n != len(e.srv.HostKeys()) {
		t.Errorf("%d host key fingerprints logged, want %d", n, len(e.srv.HostKeys()))
	}
}

// TestHostKeysCreated: all three host keys are made at first start, 0600,
// kept across starts, and one that others can read is refused.
func TestHostKeysCreated(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	p := filepath.Join(dir, "ssh_host_ed25519_key")
	keys, err := sftpserver.LoadOrCreateHostKeys(p)
	if err != nil {
		t.Fatal(err)
	}
	wantTypes := []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoRSA}
	for i, k := range keys {
		if k.Path != sftpserver.HostKeyPaths(dir)[i] || k.Signer.PublicKey().Type() != wantTypes[i] {
			t.Errorf("key %d: %s %s", i, k.Path, k.Signer.PublicKey().Type())
		}
		st, err := os.Stat(k.Path)
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", k.Path, st.Mode(), err)
		}
	}
	if fp := sftpserver.Fingerprint(keys[2]); !strings.HasPrefix(fp, "3072 SHA256:") || !strings.HasSuffix(fp, "(RSA)") {
		t.Errorf("RSA fingerprint line %q", fp)
	}
	again, missing, err := sftpserver.ReadHostKeys(p)
	if err != nil || len(missing) != 0 || len(again) != 3 {
		t.Fatalf("ReadHostKeys: %d keys, missing %q, %v", len(again), missing, err)
	}
	for i := range keys {
		if !bytes.Equal(keys[i].Signer.PublicKey().Marshal(), again[i].Signer.PublicKey().Marshal()) {
			t.Errorf("key %d changed between starts", i)
		}
	}
	os.Remove(keys[1].Path)
	if _, missing, _ := sftpserver.ReadHostKeys(p); !slices.Equal(missing, []string{keys[1].Path}) {
		t.Errorf("missing %q", missing)
	}
	os.Chmod(keys[2].Path, 0o640)
	if _, err := sftpserver.LoadOrCreateHostKeys(p); err == nil || !strings.Contains(err.Error(), "accessible by others") {
		t.Errorf("group-readable RSA host key: %v", err)
	}
}

// TestSCPExitsZero: OpenSSH's scp (SFTP protocol) downloads and exits 0:
// the server sends exit-status before closing the session channel.
func TestSCPExitsZero(t *testing.T) {
	bin := sshdtest.RequireTool(t, "scp")
	e := startServer(t, nil)
	dst := filepath.Join(t.TempDir(), "a.csv")
	out, err := exec.Command(bin, "-F", "/dev/null", "-i", e.keys["vendor-a"], "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "UserKnownHostsFile="+e.knownHosts, "-o", "StrictHostKeyChecking=yes", "-P", e.port,
		"vendor-a@127.0.0.1:a.csv", dst).CombinedOutput()
	if err != nil {
		t.Fatalf("scp: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, e.data) {
		t.Error("scp copy differs")
	}
}

// TestProbesQuiet: exec, shell and pty probes are refused; a connection
// logs at most one INFO line for them, the rest at DEBUG.
func TestProbesQuiet(t *testing.T) {
	lb := &logBuf{}
	e := startServer(t, withProfile("", lb))
	c, err := e.sshClient(t, "vendor-a", "vendor-a")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, cmd := range []string{"md5sum", "sha1sum", "echo 'abc' | md5sum", "df -P .", "shell", "pty"} {
		// The server counts a closed session out when it has seen the
		// close, a moment after the client: under load the next session
		// can meet the per-connection cap (4) still full. Retry briefly.
		s, err := c.NewSession()
		for try := 0; err != nil && strings.Contains(err.Error(), "too many sessions") && try < 40; try++ {
			time.Sleep(50 * time.Millisecond)
			s, err = c.NewSession()
		}
		if err != nil {
			t.Fatal(err)
		}
		switch cmd {
		case "shell":
			err = s.Shell()
		case "pty":
			err = s.RequestPty("xterm", 24, 80, nil)
		default:
			err = s.Run(cmd)
		}
		if err == nil {
			t.Errorf("%s accepted", cmd)
		}
		s.Close()
	}
	lb.waitLines(t, "level=DEBUG msg=\"session request refused\"", 6)
	info := lb.lines("level=INFO msg=\"session request refused")
	warn := lb.lines("level=WARN")
	if len(info) != 1 || len(warn) != 0 {
		t.Errorf("%d INFO and %d WARN lines for 6 probes:\n%s", len(info), len(warn), strings.Join(lb.lines("refused"), "\n"))
	}
}

// TestStatVFS: statvfs@openssh.com is answered with the outbox's file
// system figures, read-only; hidden names do not exist.
func TestStatVFS(t *testing.T) {
	e := startServer(t, nil)
	sc := e.sftpClient(t, "vendor-a")
	got, err := sc.StatVFS("/")
	if err != nil {
		t.Fatal(err)
	}
	var want unix.Statfs_t
	if err := unix.Statfs(e.dirs["vendor-a"], &want); err != nil {
		t.Fatal(err)
	}
	if got.Blocks != want.Blocks || got.Frsize != uint64(want.Frsize) || got.Namemax != uint64(want.Namelen) || got.Flag&1 == 0 {
		t.Errorf("statvfs %+v, file system %+v", got, want)
	}
	if _, err := sc.StatVFS("a.csv"); err != nil {
		t.Errorf("statvfs of a file: %v", err)
	}
	// OpenSSH's sftp "df" uses it.
	out, _, err := e.openssh(t, "vendor-a", "df /\n")
	if err != nil || !strings.Contains(out, "Avail") || strings.Contains(out, "does not support") {
		t.Errorf("sftp df: %v\n%s", err, out)
	}
	for _, p := range []string{".hidden", "missing", "../"} {
		if v, err := sc.StatVFS(p); err == nil && p != "../" {
			t.Errorf("statvfs %q answered: %+v", p, v)
		}
	}
}
