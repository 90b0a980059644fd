// Package systemd holds the unit files; its tests check them with
// systemd-analyze.
package systemd

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("LEVERANCE_TEST_DISALLOW_SKIP") != "" {
			t.Fatalf("%s is needed and missing (install the systemd package)", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// units copies the units to a temporary directory with ExecStart pointing at
// an executable that exists (systemd-analyze checks it).
func units(t *testing.T) string {
	dir := t.TempDir()
	bin := filepath.Join(dir, "leverance")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"leverance.service", "leverance.socket"} {
		data, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ReplaceAll(string(data), "/usr/bin/leverance", bin)
		if err := os.WriteFile(filepath.Join(dir, u), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestVerify(t *testing.T) {
	sa := requireTool(t, "systemd-analyze")
	dir := units(t)
	cmd := exec.Command(sa, "verify", "--man=no", filepath.Join(dir, "leverance.service"), filepath.Join(dir, "leverance.socket"))
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify must print nothing: %v\n%s", err, out)
	}
}

func TestSecurity(t *testing.T) {
	sa := requireTool(t, "systemd-analyze")
	dir := units(t)
	out, err := exec.Command(sa, "security", "--offline=yes", "--threshold=20", filepath.Join(dir, "leverance.service")).CombinedOutput()
	if err != nil {
		t.Fatalf("exposure above 2.0: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "OK") {
		t.Fatalf("not rated OK:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Log(lines[len(lines)-1])
}

// TestMakeInstall installs into a temporary DESTDIR and checks the tree.
func TestMakeInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	requireTool(t, "make")
	dest := t.TempDir()
	cmd := exec.Command("make", "-C", "..", "install", "DESTDIR="+dest, "PREFIX=/usr")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	for path, mode := range map[string]os.FileMode{
		"usr/bin/leverance":                        0o755,
		"usr/lib/systemd/system/leverance.service": 0o644,
		"usr/lib/systemd/system/leverance.socket":  0o644,
		"usr/lib/sysusers.d/leverance.conf":        0o644,
		"usr/lib/tmpfiles.d/leverance.conf":        0o644,
		"etc/leverance/leverance.toml":             0o640,
		"usr/share/doc/leverance/formats.md":       0o644,
	} {
		fi, err := os.Stat(filepath.Join(dest, path))
		if err != nil {
			t.Errorf("not installed: %s", path)
			continue
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %04o, want %04o", path, fi.Mode().Perm(), mode)
		}
	}
	unit, _ := os.ReadFile(filepath.Join(dest, "usr/lib/systemd/system/leverance.service"))
	if !strings.Contains(string(unit), "ExecStart=/usr/bin/leverance run") {
		t.Errorf("unit's ExecStart not pointing at the installed binary")
	}
	// A second install keeps an edited configuration.
	cfg := filepath.Join(dest, "etc/leverance/leverance.toml")
	os.WriteFile(cfg, []byte("# edited\n"), 0o640)
	if out, err := exec.Command("make", "-C", "..", "install", "DESTDIR="+dest, "PREFIX=/usr").CombinedOutput(); err != nil {
		t.Fatalf("second make install: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(cfg); string(b) != "# edited\n" {
		t.Error("make install overwrote an existing configuration")
	}
}

// TestUnitSettings: what the first start needs and the resource limits.
// LoadCredential= of a file nothing creates failed the first start with
// status=243/CREDENTIALS (the key is made in the state directory, or handed
// over by an operator's drop-in); ConfigurationDirectory= fought the modes
// of /etc/leverance that the package sets.
func TestUnitSettings(t *testing.T) {
	data, err := os.ReadFile("leverance.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(data)
	for _, bad := range []string{"\nLoadCredential", "\nConfigurationDirectory", "\nSetCredential"} {
		if strings.Contains(unit, bad) {
			t.Errorf("leverance.service has %s=", strings.TrimSpace(bad))
		}
	}
	for _, want := range []string{"\nRestartPreventExitStatus=4\n", "\nMemoryMax=", "\nMemoryHigh=", "\nTasksMax=", "\nLimitNOFILE=",
		"\nStateDirectoryMode=0750\n", "\nUser=leverance\n", "\nGroup=leverance\n", "\nType=notify\n"} {
		if !strings.Contains(unit, want) {
			t.Errorf("leverance.service lacks %s", strings.TrimSpace(want))
		}
	}
	tmpfiles, _ := os.ReadFile("leverance.tmpfiles")
	for _, want := range []string{"d /etc/leverance 0750 root leverance -\n", "z /etc/leverance/leverance.toml 0640 root leverance -\n"} {
		if !strings.Contains(string(tmpfiles), want) {
			t.Errorf("leverance.tmpfiles lacks %q", want)
		}
	}
}
