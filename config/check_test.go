package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckFiles(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	os.MkdirAll(filepath.Join(state, "inbox"), 0o750)
	key := filepath.Join(dir, "id_ed25519")
	kh := filepath.Join(dir, "known_hosts")
	ak := filepath.Join(dir, "ak.pub")
	os.WriteFile(key, []byte("key"), 0o644) // readable by others: unsafe
	os.WriteFile(ak, []byte("ssh-ed25519 AAAA x"), 0o644)
	text := "state_dir = \"" + state + "\"\n" + `
[[vendor]]
name = "a"
municipalities = ["101"]
products = ["ugeopdatering"]
  [vendor.outbox]
  kind = "local"
  authorized_keys = "` + ak + `"
[[vendor]]
name = "b"
municipalities = ["147"]
products = ["ugeopdatering"]
  [vendor.outbox]
  kind = "sftp"
  address = "h:22"
  user = "u"
  identity = "` + key + `"
  known_hosts = "` + kh + `"
  directory = "/in"
`
	c, err := Parse([]byte(text), "l.toml")
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckFiles()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want problems, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"vendor[1].outbox.identity: " + key + " is a private key readable by group or others", "vendor[1].outbox.known_hosts: " + kh + " does not exist"} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in\n%s", want, msg)
		}
	}
	os.Chmod(key, 0o600)
	os.WriteFile(kh, []byte("h ssh-ed25519 AAAA\n"), 0o644)
	os.Chmod(filepath.Join(state, "inbox"), 0o777)
	err = c.CheckFiles()
	if err == nil || !strings.Contains(err.Error(), "world-writable") {
		t.Fatalf("a world-writable inbox not reported: %v", err)
	}
	os.Chmod(filepath.Join(state, "inbox"), 0o750)
	if err := c.CheckFiles(); err != nil {
		t.Fatalf("a safe installation reported: %v", err)
	}
}

func TestSigningKeyPath(t *testing.T) {
	c, err := Parse([]byte(minimal), "l.toml")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", "")
	if got := c.SigningKeyPath(); got != "/var/lib/leverance/keys/receipts.key" {
		t.Errorf("default %s", got)
	}
	creds := t.TempDir()
	os.WriteFile(filepath.Join(creds, "receipts.key"), []byte("k"), 0o600)
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	if got := c.SigningKeyPath(); got != filepath.Join(creds, "receipts.key") {
		t.Errorf("with LoadCredential: %s", got)
	}
	c.Receipts.SigningKey = "/etc/leverance/receipts.key"
	if got := c.SigningKeyPath(); got != "/etc/leverance/receipts.key" {
		t.Errorf("configured: %s", got)
	}
}
