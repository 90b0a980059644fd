package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"leverance/receipt"
)

// The command-line slips a vendor, an operator and an auditor ran into,
// one test each.

func TestVersionFlag(t *testing.T) {
	code, stdout, _ := invoke(t, "--version")
	if code != exitOK || !strings.HasPrefix(stdout, "leverance ") {
		t.Fatalf("--version: exit %d, %q", code, stdout)
	}
	if _, v, _ := invoke(t, "version"); v != stdout {
		t.Errorf("--version %q and version %q differ", stdout, v)
	}
}

func TestHelpCommand(t *testing.T) {
	code, stdout, _ := invoke(t, "help", "run")
	_, want, _ := invoke(t, "run", "--help")
	if code != exitOK || stdout != want || !strings.Contains(stdout, "Usage: leverance run") {
		t.Fatalf("help run: exit %d\n%s\nwant run --help:\n%s", code, stdout, want)
	}
	if code, _, stderr := invoke(t, "help", "nosuch"); code != exitUsage || !strings.Contains(stderr, `unknown command "nosuch"`) {
		t.Errorf("help nosuch: exit %d, %q", code, stderr)
	}
}

// TestKeygenHelpNamesPublicKey: the file --help names is the file written.
func TestKeygenHelpNamesPublicKey(t *testing.T) {
	_, help, _ := invoke(t, "keygen", "--help")
	if strings.Contains(help, "KEYFILE.pub") || !strings.Contains(help, "receipts.key: receipts.pub") {
		t.Errorf("keygen --help: %s", help)
	}
	dir := t.TempDir()
	code, stdout, stderr := invoke(t, "keygen", "--receipts", filepath.Join(dir, "receipts.key"))
	if code != exitOK {
		t.Fatalf("keygen: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "receipts.pub")); err != nil || !strings.Contains(stdout, filepath.Join(dir, "receipts.pub")) {
		t.Errorf("the public key is not where --help says: %v\n%s", err, stdout)
	}
}

// TestValidateMissingFile: a file that cannot be read is an operational
// failure, exit 3 (README, docs/cli.md), and the message names it.
func TestValidateMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "registreringer_20160121.csv")
	code, _, stderr := invoke(t, "validate", p)
	if code != exitFailure || !strings.Contains(stderr, p) {
		t.Fatalf("exit %d, %q", code, stderr)
	}
}

// TestComputeAsOf: compute has the --as-of its message suggests.
func TestComputeAsOf(t *testing.T) {
	dir := t.TempDir()
	odd := writeFile(t, dir, "udtraek.csv", []byte(readBasic(t, "registreringer_20160121.csv")))
	out := filepath.Join(dir, "out")
	code, _, stderr := invoke(t, "compute", "-c", basicConfig, "--extract", odd, "--out", out)
	if code != exitUsage || !strings.Contains(stderr, "--as-of YYYY-MM-DD") {
		t.Fatalf("without --as-of: exit %d, %q", code, stderr)
	}
	code, stdout, stderr := invoke(t, "compute", "-c", basicConfig, "--extract", odd, "--as-of", "2016-01-21", "--out", out)
	if code != exitOK || !strings.Contains(stdout, "_20160122.csv") {
		t.Fatalf("with --as-of: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestStatusNeverUsed: a state directory that does not exist, or in which
// the service never started, is an error (exit 2) that says so, not a
// status of missed deliveries.
func TestStatusNeverUsed(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	cfg := writeFile(t, dir, "l.toml", []byte("state_dir = \""+state+"\"\n"+`[[vendor]]
name = "kmd-opera"
municipalities = ["101"]
products = ["daglige-beskeder"]
  [vendor.outbox]
  kind = "local"
`))
	code, stdout, stderr := invoke(t, "status", "-c", cfg)
	if code != exitUsage || !strings.Contains(stderr, "does not exist") || stdout != "" {
		t.Errorf("missing state_dir: exit %d\n%s%s", code, stdout, stderr)
	}
	if err := os.MkdirAll(state, 0o750); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = invoke(t, "status", "-c", cfg)
	if code != exitUsage || !strings.Contains(stderr, "never started") || strings.Contains(stdout, "forsinket") {
		t.Errorf("empty state_dir: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestCheckBundleFlagAfterFile: `check-bundle BUNDLE --key K` works as
// `check-bundle --key K BUNDLE` does.
func TestCheckBundleFlagAfterFile(t *testing.T) {
	cfgPath, stateDir := scratch(t)
	bundle := filepath.Join(t.TempDir(), "bundle.json")
	if code, _, stderr := invoke(t, "receipts", "prove", "-c", cfgPath, "--seq", "2", "--out", bundle); code != exitOK {
		t.Fatalf("prove: %d %s", code, stderr)
	}
	pub := filepath.Join(stateDir, "keys", "receipts.pub")
	for _, args := range [][]string{{bundle, "--key", pub}, {"--key", pub, bundle}} {
		code, stdout, stderr := invoke(t, append([]string{"receipts", "check-bundle"}, args...)...)
		if code != exitOK || !strings.HasPrefix(stdout, "OK: record 2") {
			t.Errorf("check-bundle %q: exit %d\n%s%s", args, code, stdout, stderr)
		}
	}
}

// TestReceiptsWitness: a vendor's genuine saved checkpoint.txt is extended
// by the log (exit 0); after an earlier record is altered, removed or
// reordered (exit 1, naming the record), and for a checkpoint signed with
// another key (exit 1); without a file, a usage error (exit 2).
func TestReceiptsWitness(t *testing.T) {
	cfgPath, stateDir := scratch(t)
	rdir := filepath.Join(stateDir, "receipts")
	saved := filepath.Join(t.TempDir(), "checkpoint.txt")
	cp, err := os.ReadFile(filepath.Join(rdir, receipt.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(saved, cp, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := invoke(t, "receipts", "witness", "-c", cfgPath, saved)
	if code != exitOK || !strings.HasPrefix(stdout, "OK: the log") {
		t.Fatalf("genuine: exit %d\n%s%s", code, stdout, stderr)
	}
	records := filepath.Join(rdir, receipt.RecordsFile)
	orig, _ := os.ReadFile(records)
	lines := strings.SplitAfter(string(orig), "\n")
	for _, c := range []struct {
		name  string
		edit  func(l []string) []string
		names string
	}{
		{"altered", func(l []string) []string { l[1] = strings.Replace(l[1], `"seq":2`, `"seq":2 `, 1); return l }, "record 2"},
		{"removed", func(l []string) []string { return append(l[:1:1], l[2:]...) }, "record 2"},
		{"reordered", func(l []string) []string { l[1], l[2] = l[2], l[1]; return l }, "record 2"},
	} {
		edited := c.edit(append([]string(nil), lines...))
		if err := os.WriteFile(records, []byte(strings.Join(edited, "")), 0o640); err != nil {
			t.Fatal(err)
		}
		code, stdout, _ := invoke(t, "receipts", "witness", "-c", cfgPath, saved)
		if code != exitInvalid || !strings.HasPrefix(stdout, "FAILED") || !strings.Contains(stdout, c.names) {
			t.Errorf("%s: exit %d\n%s", c.name, code, stdout)
		}
	}
	if err := os.WriteFile(records, orig, 0o640); err != nil {
		t.Fatal(err)
	}
	// A checkpoint signed by another key (same origin name).
	otherKey, _, _ := receipt.GenerateKey("leverance")
	other, err := receipt.OpenLog(t.TempDir(), otherKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	ocp, _ := other.Checkpoint()
	os.WriteFile(saved, ocp, 0o644)
	if code, stdout, _ := invoke(t, "receipts", "witness", "-c", cfgPath, saved); code != exitInvalid || !strings.Contains(stdout, "not signed by the log's key") {
		t.Errorf("another key: exit %d\n%s", code, stdout)
	}
	if code, _, stderr := invoke(t, "receipts", "witness", "-c", cfgPath); code != exitUsage || !strings.Contains(stderr, "one checkpoint file") {
		t.Errorf("no file: exit %d %q", code, stderr)
	}
}

func TestRunSinceBadDate(t *testing.T) {
	code, _, stderr := invoke(t, "run", "-c", basicConfig, "--since", "2016-02-30")
	if code != exitUsage || !strings.Contains(stderr, `--since "2016-02-30" is not a date`) {
		t.Fatalf("exit %d %q", code, stderr)
	}
}
