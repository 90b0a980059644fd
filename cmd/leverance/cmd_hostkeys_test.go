package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"leverance/transfer/sftpserver"
)

// sftpConfig writes a configuration with one vendor served by the
// built-in server, whose authorized_keys holds keyLines.
func sftpConfig(t *testing.T, algorithms string, keyLines ...string) (cfgPath, stateDir string) {
	t.Helper()
	dir := t.TempDir()
	stateDir = filepath.Join(dir, "state")
	ak := filepath.Join(dir, "vendor.keys")
	if err := os.WriteFile(ak, []byte(strings.Join(keyLines, "\n")+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	cfg := "state_dir = \"" + stateDir + "\"\n" + `
[[vendor]]
name = "kmd-opera"
municipalities = ["101"]
products = ["ugeopdatering"]
  [vendor.outbox]
  kind = "local"
  authorized_keys = "` + ak + `"
[sftp_server]
listen = ""
algorithms = "` + algorithms + `"
`
	cfgPath = filepath.Join(dir, "leverance.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o640); err != nil {
		t.Fatal(err)
	}
	return cfgPath, stateDir
}

func keyLine(t *testing.T, opts string) string {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	k, _ := ssh.NewPublicKey(pub)
	return strings.TrimSpace(opts + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k))))
}

func TestHostkeysCommand(t *testing.T) {
	cfgPath, stateDir := sftpConfig(t, "compatible", keyLine(t, ""))
	var out, errb bytes.Buffer
	if code := run([]string{"hostkeys", "-c", cfgPath}, &out, &errb); code != exitFailure ||
		strings.Count(errb.String(), "not created yet") != 3 {
		t.Fatalf("before the first start: exit %d\n%s%s", code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"hostkeys", "-c", cfgPath, "--create"}, &out, &errb); code != exitOK {
		t.Fatalf("--create: exit %d: %s", code, errb.String())
	}
	created := out.String()
	out.Reset()
	if code := run([]string{"hostkeys", "-c", cfgPath}, &out, &errb); code != exitOK || out.String() != created {
		t.Fatalf("exit %d, %q then %q", code, created, out.String())
	}
	lines := strings.Split(strings.TrimSpace(created), "\n")
	want := []string{"256 SHA256:", "256 SHA256:", "3072 SHA256:"}
	suffix := []string{"ssh_host_ed25519_key (ED25519)", "ssh_host_ecdsa_key (ECDSA)", "ssh_host_rsa_key (RSA)"}
	if len(lines) != 3 {
		t.Fatalf("%q", created)
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, want[i]) || !strings.HasSuffix(l, filepath.Join(stateDir, "keys", suffix[i])) {
			t.Errorf("line %d: %q", i, l)
		}
	}
	// known_hosts lines for the name vendors connect to: x/crypto's
	// knownhosts (OpenSSH's format) accepts every offered key for that
	// host and port, and not for another port.
	out.Reset()
	if code := run([]string{"hostkeys", "-c", cfgPath, "--known-hosts", "127.0.0.1:2222"}, &out, &errb); code != exitOK {
		t.Fatalf("--known-hosts: exit %d %s", code, errb.String())
	}
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, out.Bytes(), 0o644)
	cb, err := knownhosts.New(kh)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	keys, _, _ := sftpserver.ReadHostKeys(filepath.Join(stateDir, "keys", "ssh_host_ed25519_key"))
	if len(keys) != 3 || strings.Count(out.String(), "[127.0.0.1]:2222 ") != 3 {
		t.Fatalf("%d keys; known_hosts:\n%s", len(keys), out.String())
	}
	addr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2222}
	for _, k := range keys {
		if err := cb("127.0.0.1:2222", addr, k.Signer.PublicKey()); err != nil {
			t.Errorf("%s: %v", k.Path, err)
		}
		if err := cb("127.0.0.1:22", &net.TCPAddr{IP: addr.IP, Port: 22}, k.Signer.PublicKey()); err == nil {
			t.Errorf("%s: accepted for port 22", k.Path)
		}
	}
	// With modern, the ECDSA and RSA keys exist but are not offered.
	cfgModern, stateModern := sftpConfig(t, "modern", keyLine(t, ""))
	os.MkdirAll(stateModern, 0o750)
	if err := os.Rename(filepath.Join(stateDir, "keys"), filepath.Join(stateModern, "keys")); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	run([]string{"hostkeys", "-c", cfgModern}, &out, &errb)
	if strings.Count(out.String(), `not offered with algorithms = "modern"`) != 2 {
		t.Errorf("modern: %q", out.String())
	}
}

func TestCheckConfigAuthorizedKeys(t *testing.T) {
	for _, c := range []struct {
		algorithms string
		lines      []string
		code       int
		stderr     string
	}{
		{"compatible", []string{keyLine(t, `from="10.0.0.0/8",restrict`)}, exitOK, ""},
		{"legacy", []string{keyLine(t, "")}, exitOK, `WARNING: sftp_server.algorithms = "legacy"`},
		{"compatible", []string{keyLine(t, ""), keyLine(t, `command="/bin/sh"`)}, exitUsage, "vendor.keys:2: command= is not supported"},
		{"compatible", []string{keyLine(t, "cert-authority")}, exitUsage, "vendor.keys:1: cert-authority is not supported"},
		{"compatible", []string{keyLine(t, "bogus-option")}, exitUsage, `vendor.keys:1: unknown option "bogus-option"`},
		{"compatible", []string{keyLine(t, "pty")}, exitOK, "WARNING: authorized_keys: "},
	} {
		cfgPath, _ := sftpConfig(t, c.algorithms, c.lines...)
		var out, errb bytes.Buffer
		code := run([]string{"check-config", "-c", cfgPath}, &out, &errb)
		if code != c.code || !strings.Contains(errb.String(), c.stderr) {
			t.Errorf("%s %q: exit %d, stderr %q; want %d and %q", c.algorithms, c.lines, code, errb.String(), c.code, c.stderr)
		}
	}
}
