package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckAccess: the files as user 4242 (group 4242) sees them, whoever
// runs the test. Group ownership needs root (CI runs as root).
func TestCheckAccess(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	top := t.TempDir()
	for d := top; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		os.Chmod(d, 0o755) // the test's own temporary directories are 0700
	}
	etc := filepath.Join(top, "etc")
	state := filepath.Join(top, "state")
	os.Mkdir(etc, 0o750)
	os.MkdirAll(filepath.Join(state, "inbox"), 0o750)
	ak := filepath.Join(etc, "ak.pub")
	os.WriteFile(ak, []byte("ssh-ed25519 AAAA x\n"), 0o600)
	cfgPath := filepath.Join(etc, "leverance.toml")
	os.WriteFile(cfgPath, []byte("state_dir = \""+state+"\"\n"+`
[[vendor]]
name = "a"
municipalities = ["101"]
products = ["ugeopdatering"]
  [vendor.outbox]
  kind = "local"
  authorized_keys = "`+ak+`"
`), 0o640)
	c, err := Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	a := &Account{Name: "svc", UID: 4242, GIDs: []uint32{4242}}
	problems := func() string {
		err := c.CheckAccess(a)
		if err == nil {
			return ""
		}
		return err.Error()
	}

	// root:root 0750: the user cannot even reach the configuration.
	got := problems()
	for _, want := range []string{
		"(configuration file): " + cfgPath + ": user svc cannot reach it: " + etc + " is mode 0750",
		"vendor[0].outbox.authorized_keys: " + ak + ": user svc cannot reach it",
		"state_dir: " + state + ": user svc cannot write in it: " + state + " is mode 0750",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}

	// The installation's modes: the directory and file in the service's
	// group, the state directory the user's own; the vendor's key still 0600.
	for _, p := range []string{etc, cfgPath, ak} {
		if err := os.Chown(p, 0, 4242); err != nil {
			t.Fatal(err)
		}
	}
	os.Chown(state, 4242, 4242)
	os.Chown(filepath.Join(state, "inbox"), 4242, 4242)
	got = problems()
	if strings.Contains(got, "configuration file") || strings.Contains(got, "state_dir") {
		t.Errorf("readable by the group, yet:\n%s", got)
	}
	if !strings.Contains(got, "vendor[0].outbox.authorized_keys: "+ak+": user svc cannot read it: "+ak+" is mode 0600") {
		t.Errorf("an 0600 key of root not named:\n%s", got)
	}
	os.Chmod(ak, 0o640)
	if got := problems(); got != "" {
		t.Errorf("all readable, yet:\n%s", got)
	}

	// The owner's bits decide for the owner, even when the group's would allow.
	os.Chown(ak, 4242, 4242)
	os.Chmod(ak, 0o040)
	if got := problems(); !strings.Contains(got, "cannot read it") {
		t.Errorf("owner without read bits not caught:\n%s", got)
	}
}
