package sftpserver_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"leverance/internal/sshdtest"
	"leverance/transfer/sftpserver"
)

func authLine(t testing.TB, opts string, key any) string {
	t.Helper()
	pub, err := ssh.NewPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	l := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " someone@example"
	if opts != "" {
		l = opts + " " + l
	}
	return l
}

func TestParseAuthorizedKeys(t *testing.T) {
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	cases := []struct {
		line    string
		refused string // substring of the reason; "" = accepted
		warning string
	}{
		{authLine(t, "", edPub), "", ""},
		{authLine(t, "restrict", edPub), "", ""},
		{authLine(t, "no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc", edPub), "", ""},
		{authLine(t, `from="10.0.0.0/8,!10.1.2.3,192.168.*,::1"`, edPub), "", ""},
		{authLine(t, `expiry-time="20991231"`, edPub), "", ""},
		{authLine(t, `restrict,pty`, edPub), "", "grants nothing"},
		{authLine(t, `command="/bin/true"`, edPub), "command= is not supported", ""},
		{authLine(t, `cert-authority`, edPub), "cert-authority is not supported", ""},
		{authLine(t, `frobnicate`, edPub), `unknown option "frobnicate"`, ""},
		{authLine(t, `from="10.0.0.0/33"`, edPub), "not an address/prefix", ""},
		{authLine(t, `from=""`, edPub), "empty value", ""},
		{authLine(t, `expiry-time="2099"`, edPub), "YYYYMMDD", ""},
		{authLine(t, `expiry-time="20991340"`, edPub), "YYYYMMDD", ""},
		{authLine(t, "", &rsa1024.PublicKey), "RSA key of 1024 bits refused", ""},
		{authLine(t, "", &rsa2048.PublicKey), "", "RSA key of 2048 bits: accepted"},
		{"ssh-ed25519 AAAAnotbase64", "not a public key line", ""},
	}
	for _, c := range cases {
		keys, refused, warnings := sftpserver.ParseAuthorizedKeys("ak", []byte("# comment\n\n"+c.line+"\n"))
		switch {
		case c.refused != "":
			if len(keys) != 0 || len(refused) != 1 || !strings.Contains(refused[0].String(), c.refused) ||
				!strings.HasPrefix(refused[0].String(), "ak:3: ") {
				t.Errorf("%s: keys %d, refused %v; want refused with %q at ak:3", c.line, len(keys), refused, c.refused)
			}
		case len(keys) != 1 || len(refused) != 0:
			t.Errorf("%s: keys %d, refused %v; want accepted", c.line, len(keys), refused)
		case c.warning != "" && (len(warnings) != 1 || !strings.Contains(warnings[0].Reason, c.warning)):
			t.Errorf("%s: warnings %v; want %q", c.line, warnings, c.warning)
		case c.warning == "" && len(warnings) != 0:
			t.Errorf("%s: unexpected warnings %v", c.line, warnings)
		}
	}
}

func TestAuthorizedKeyAllows(t *testing.T) {
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		opts string
		addr string
		ok   bool
	}{
		{"", "203.0.113.9", true},
		{`from="127.0.0.1"`, "127.0.0.1", true},
		{`from="127.0.0.1"`, "127.0.0.2", false},
		{`from="127.0.0.0/8"`, "127.9.9.9", true},
		{`from="127.0.0.0/8"`, "::ffff:127.0.0.1", true}, // v4-mapped
		{`from="10.0.0.0/8"`, "127.0.0.1", false},
		{`from="127.0.0.*"`, "127.0.0.42", true},
		{`from="127.0.0.?"`, "127.0.0.42", false},
		{`from="!127.0.0.1,127.0.0.0/8"`, "127.0.0.1", false},
		{`from="!127.0.0.1,127.0.0.0/8"`, "127.0.0.2", true},
		{`from="*,!::1"`, "::1", false},
		{`from="::1"`, "::1", true},
		{`from="fd00::/8"`, "fd12::1", true},
		{`from="vendor.example.com"`, "127.0.0.1", false}, // no DNS: names never match an address
		{`expiry-time="20000101"`, "127.0.0.1", false},
		{`expiry-time="202612041159Z"`, "127.0.0.1", false},
		{`expiry-time="20261204120001Z"`, "127.0.0.1", true},
	}
	for _, c := range cases {
		keys, refused, _ := sftpserver.ParseAuthorizedKeys("ak", []byte(authLine(t, c.opts, edPub)))
		if len(keys) != 1 {
			t.Fatalf("%s: refused %v", c.opts, refused)
		}
		if ok, why := keys[0].Allows(netip.MustParseAddr(c.addr), now); ok != c.ok {
			t.Errorf("%s from %s: %v (%s), want %v", c.opts, c.addr, ok, why, c.ok)
		}
	}
}

// TestAuthorizedKeysOptionsEnforced logs in for real: a key pinned to
// another address, or expired, is refused; a weak RSA key, a world-writable
// file and a refused line fail PrepareVendors with file and line; removing
// a key in a reload closes that key's connections only.
// keysEnv is a server whose vendor-a has a second key, "second", and a
// fixed clock, with helpers to rewrite vendor-a's authorized_keys.
type keysEnv struct {
	*env
	t      *testing.T
	lb     *logBuf
	ak     string
	a      ssh.PublicKey
	second ssh.PublicKey
}

func newKeysEnv(t *testing.T) *keysEnv {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	lb := &logBuf{}
	e := startServer(t, func(c *sftpserver.Config) {
		withProfile("", lb)(c)
		c.Now = func() time.Time { return now }
	})
	second := sshdtest.Ed25519Key(t, filepath.Join(e.base, "second.key"))
	e.signers["second"] = second
	return &keysEnv{env: e, t: t, lb: lb, ak: e.keys["vendor-a"] + ".pub", a: e.signers["vendor-a"].PublicKey(), second: second.PublicKey()}
}

func (k *keysEnv) write(lines ...string) {
	k.t.Helper()
	if err := os.WriteFile(k.ak, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		k.t.Fatal(err)
	}
}

func keyLineOf(opts string, k ssh.PublicKey) string {
	l := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	if opts != "" {
		l = opts + " " + l
	}
	return l
}

func (k *keysEnv) login(key string) error {
	c, err := k.sshClient(k.t, "vendor-a", key)
	if err == nil {
		c.Close()
	}
	return err
}

func (k *keysEnv) vendors() []sftpserver.Vendor {
	return []sftpserver.Vendor{{Name: "vendor-a", Dir: k.dirs["vendor-a"], AuthorizedKeysFile: k.ak},
		{Name: "vendor-b", Dir: k.dirs["vendor-b"], AuthorizedKeysFile: k.keys["vendor-b"] + ".pub"}}
}

func TestAuthorizedKeysOptionsEnforced(t *testing.T) {
	k := newKeysEnv(t)
	write, line, login, lb, a, second, ak := k.write, keyLineOf, k.login, k.lb, k.a, k.second, k.ak
	for _, c := range []struct {
		opts string
		ok   bool
	}{
		{`from="10.0.0.0/8"`, false},
		{`expiry-time="20000101"`, false},
		{`from="127.0.0.1",expiry-time="20991231",restrict`, true},
		{`from="!127.0.0.1,*"`, false},
	} {
		write(line(c.opts, a))
		if err := login("vendor-a"); (err == nil) != c.ok {
			t.Errorf("%s: login error %v, want ok=%v", c.opts, err, c.ok)
		}
	}
	if len(lb.lines("source address not allowed by from=")) == 0 || len(lb.lines("key expired at 2000-01-01")) == 0 {
		t.Errorf("refusals do not say why:\n%s", strings.Join(lb.lines("handshake refused"), "\n"))
	}

	// A refused line fails the whole preparation, naming file and line.
	write(line("", a), line(`command="/bin/sh"`, second))
	vs := k.vendors()
	if _, err := sftpserver.PrepareVendors(vs); err == nil || !strings.Contains(err.Error(), ak+":2: command=") {
		t.Errorf("PrepareVendors with command=: %v", err)
	}
	// ... while logins with the other lines still work, and the refused
	// line logs in nobody.
	if err := login("vendor-a"); err != nil {
		t.Errorf("good line beside a refused one: %v", err)
	}
	if err := login("second"); err == nil {
		t.Error("the key of a command= line logged in")
	}
	// StrictModes.
	write(line("", a))
	os.Chmod(ak, 0o666)
	if _, err := sftpserver.PrepareVendors(vs); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Errorf("world-writable authorized_keys: %v", err)
	}
	if err := login("vendor-a"); err == nil {
		t.Error("login with a world-writable authorized_keys")
	}
	os.Chmod(ak, 0o600)
}

// TestReloadClosesRemovedKeys: a reload that removes a key closes its
// connections, not the others'.
func TestReloadClosesRemovedKeys(t *testing.T) {
	k := newKeysEnv(t)
	k.write(keyLineOf("", k.a), keyLineOf("", k.second))
	ca, sa := k.sftpConn(t, "vendor-a", "vendor-a"), k.sftpConn(t, "vendor-a", "second")
	k.write(keyLineOf("", k.a))
	p, err := sftpserver.PrepareVendors(k.vendors())
	if err != nil {
		t.Fatal(err)
	}
	k.srv.ApplyVendors(p)
	if _, err := sa.Stat("a.csv"); err == nil {
		t.Error("the connection of a removed key still serves")
	}
	if _, err := ca.Stat("a.csv"); err != nil {
		t.Errorf("the connection of a kept key: %v", err)
	}
	if len(k.lb.lines("connection closed: its key is no longer authorized")) != 1 {
		t.Error("closing not logged once")
	}
}
