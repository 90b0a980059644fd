package sshdtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// ProFTPD is a running ProFTPD with mod_sftp (Debian proftpd-core and
// proftpd-mod-crypto) on a free loopback port: one virtual user, User,
// logs in with the given keys and lands in Home (chrooted there), as the
// session user of LoginUser.
type ProFTPD struct {
	Addr     string
	User     string
	Home     string
	HostKeys []ssh.PublicKey
	log      string
}

// ProFTPDOptions configure a ProFTPD.
type ProFTPDOptions struct {
	AuthorizedKeys []ssh.PublicKey
	// Extensions is mod_sftp's SFTPExtensions line, e.g. "-posixRename
	// -fsync" to take those extensions away ("" keeps the defaults).
	Extensions string
}

// StartProFTPD runs proftpd in the foreground; it is stopped at the end of
// the test. ProFTPD must start as root (it switches to the session user).
func StartProFTPD(t testing.TB, o ProFTPDOptions) *ProFTPD {
	t.Helper()
	bin := RequireTool(t, "proftpd")
	mod := "/usr/lib/proftpd/mod_sftp.so"
	if _, err := os.Stat(mod); err != nil {
		if os.Getenv(DisallowSkipEnv) != "" {
			t.Fatalf("%s is required (Debian proftpd-mod-crypto)", mod)
		}
		t.Skipf("%s missing (Debian proftpd-mod-crypto)", mod)
	}
	if os.Geteuid() != 0 {
		t.Skip("ProFTPD needs root to start")
	}
	dir := Dir(t)
	p := &ProFTPD{User: "vendor", Home: filepath.Join(dir, "home"), log: filepath.Join(dir, "sftp.log")}
	if err := os.Mkdir(p.Home, 0o755); err != nil {
		t.Fatal(err)
	}
	MakeWritable(t, p.Home)
	login, uid, gid := LoginUser(t)
	files := map[string]string{
		"passwd":          fmt.Sprintf("vendor:x:%d:%d::%s:/bin/sh\n", uid, gid, p.Home),
		"group":           fmt.Sprintf("vendors:x:%d:\n", gid),
		"authorized_keys": rfc4716(o.AuthorizedKeys),
		"hostkey":         p.hostKey(t),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port := FreePort(t)
	p.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cfg := filepath.Join(dir, "proftpd.conf")
	if err := os.WriteFile(cfg, []byte(proftpdConfig(dir, login, port, o.Extensions)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-n", "-c", cfg)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &logBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		KillTree(cmd.Process.Pid)
		<-done
	})
	for i := 0; ; i++ {
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err == nil {
			c.Close()
			return p
		}
		select {
		case <-done:
			t.Fatalf("proftpd exited: %s", out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if i > 200 {
			t.Fatalf("proftpd does not listen on %s: %s", p.Addr, out.String())
		}
	}
}

// Log is mod_sftp's log.
func (p *ProFTPD) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

func proftpdConfig(dir, user string, port int, extensions string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `ServerType standalone
DefaultServer on
Port %d
DefaultAddress 127.0.0.1
UseIPv6 off
PidFile %[2]s/proftpd.pid
ScoreboardFile %[2]s/scoreboard
DelayTable none
WtmpLog off
TransferLog none
SystemLog %[2]s/system.log
User %[3]s
RequireValidShell off
AuthOrder mod_auth_file.c
AuthUserFile %[2]s/passwd
AuthGroupFile %[2]s/group
DefaultRoot ~
ModulePath /usr/lib/proftpd
LoadModule mod_sftp.c
<IfModule mod_sftp.c>
SFTPEngine on
SFTPLog %[2]s/sftp.log
SFTPHostKey %[2]s/hostkey
SFTPAuthorizedUserKeys file:%[2]s/authorized_keys
SFTPAuthMethods publickey
</IfModule>
`, port, dir, user)
	if extensions != "" {
		fmt.Fprintf(&b, "<IfModule mod_sftp.c>\nSFTPExtensions %s\n</IfModule>\n", extensions)
	}
	return b.String()
}

// hostKey makes an ECDSA P-256 host key in the PEM form ProFTPD reads.
func (p *ProFTPD) hostKey(t testing.TB) string {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	p.HostKeys = append(p.HostKeys, pub)
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

// rfc4716 writes public keys in the RFC 4716 form of SFTPAuthorizedUserKeys.
func rfc4716(keys []ssh.PublicKey) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("---- BEGIN SSH2 PUBLIC KEY ----\n")
		s := base64.StdEncoding.EncodeToString(k.Marshal())
		for len(s) > 70 {
			b.WriteString(s[:70] + "\n")
			s = s[70:]
		}
		b.WriteString(s + "\n---- END SSH2 PUBLIC KEY ----\n")
	}
	return b.String()
}
