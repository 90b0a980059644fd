package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"leverance/config"
	"leverance/daemon"
)

// scratch makes a state directory with a receipts log that holds what a
// day of deliveries leaves: accepted extracts, computed and delivered
// products (records 1 modtaget, 2 beregnet, …).
func scratch(t *testing.T) (cfgPath, stateDir string) {
	t.Helper()
	dir := t.TempDir()
	stateDir = filepath.Join(dir, "state")
	cfgText := "state_dir = \"" + stateDir + "\"\n" + `
[[vendor]]
name = "kmd-opera"
municipalities = ["101"]
products = ["daglige-beskeder", "ugeopdatering"]
  [vendor.outbox]
  kind = "local"
[[vendor]]
name = "schultz-fasit"
municipalities = ["147"]
products = ["daglig-opdatering"]
  [vendor.outbox]
  kind = "local"
[sftp_server]
listen = ""
[http]
listen = ""
`
	cfgPath = filepath.Join(dir, "leverance.toml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o640); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := daemon.OpenReceipts(cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	cph, _ := time.LoadLocation("Europe/Copenhagen")
	clock := daemon.NewFakeClock(time.Date(2016, 1, 21, 0, 30, 0, 0, cph))
	e, err := daemon.New(daemon.Options{Config: cfg, Clock: clock, Sink: l, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for _, day := range []struct {
		name string
		at   time.Time
	}{{"registreringer_20160120.csv", time.Date(2016, 1, 21, 7, 0, 0, 0, cph)}, {"registreringer_20160121.csv", time.Date(2016, 1, 22, 7, 0, 0, 0, cph)}} {
		data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "basic", day.name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(stateDir, "inbox", day.name), data, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := e.Accept(day.name); err != nil {
			t.Fatal(err)
		}
		clock.Set(day.at)
		e.Tick()
	}
	if code := run([]string{"hostkeys", "-c", cfgPath, "--create"}, io.Discard, io.Discard); code != exitOK {
		t.Fatalf("hostkeys --create: exit %d", code)
	}
	_ = context.Background()
	return cfgPath, stateDir
}

var shBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

// savedCheckpoint is a vendor's saved checkpoint in the docs' examples.
var savedCheckpoint = regexp.MustCompile(`\bcheckpoint[-0-9TZ]*\.txt\b`)

// splitArgs splits a command line on spaces, keeping "quoted strings".
func splitArgs(line string) []string {
	var out []string
	var cur strings.Builder
	quoted, any := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted, any = !quoted, true
		case r == ' ' && !quoted:
			if any || cur.Len() > 0 {
				out = append(out, cur.String())
			}
			cur.Reset()
			any = false
		default:
			cur.WriteRune(r)
		}
	}
	if any || cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// TestDocumentedCommands runs every leverance command of the docs' sh
// blocks against a scratch installation, so the docs cannot drift.
func TestDocumentedCommands(t *testing.T) {
	cfgPath, stateDir := scratch(t)
	work := t.TempDir()
	t.Chdir(filepath.Join("..", "..")) // the README's paths are relative to the repository
	docs, _ := filepath.Glob(filepath.Join("docs", "*.md"))
	readme := "README.md"
	ran := 0
	for _, doc := range append(docs, readme) {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range shBlock.FindAllStringSubmatch(string(data), -1) {
			for _, line := range strings.Split(strings.ReplaceAll(m[1], "\\\n", " "), "\n") {
				line = strings.TrimSpace(line)
				if !strings.HasPrefix(line, "leverance ") || strings.HasPrefix(line, "leverance run ") {
					continue // the daemon itself is run by the e2e tests
				}
				line = savedCheckpoint.ReplaceAllString(line, filepath.Join(stateDir, "receipts", "checkpoint.txt"))
				line = strings.NewReplacer(
					"/etc/leverance/leverance.toml", cfgPath,
					"/var/lib/leverance", stateDir,
					"/etc/leverance/", work+"/",
					"bundle.json", filepath.Join(work, "bundle.json"),
					"--out out/", "--out "+filepath.Join(work, "out"),
					"--out registreringer_", "--out "+filepath.Join(work, "registreringer_"),
				).Replace(line)
				args := splitArgs(line)[1:]
				var out, errb bytes.Buffer
				code := run(args, &out, &errb)
				if code != exitOK {
					t.Errorf("%s: %q exited %d\nstdout: %s\nstderr: %s", filepath.Base(doc), line, code, out.String(), errb.String())
				}
				ran++
			}
		}
	}
	if ran < 10 {
		t.Fatalf("only %d documented commands found", ran)
	}
	t.Logf("%d documented commands ran", ran)
}

// blockRunner says which test runs a documented sh block: the systemd
// walk (TestBootWalk runs the blocks marked <!-- walk: … --> on a booted
// system), the vendor import (TestVendorImportScript), or, for blocks of
// leverance commands only, TestDocumentedCommands (`leverance run`, the
// daemon, is run by the daemon's end-to-end tests). "" when none does.
func blockRunner(before, block string) string {
	before = strings.TrimRight(before, "\n ")
	switch {
	case walkMark.MatchString(before):
		return "TestBootWalk"
	case strings.HasSuffix(before, "<!-- run: vendor-import -->"):
		return "TestVendorImportScript"
	}
	for _, line := range strings.Split(strings.ReplaceAll(block, "\\\n", " "), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "leverance ") {
			return ""
		}
	}
	return "TestDocumentedCommands"
}

var walkMark = regexp.MustCompile(`<!-- walk: [a-z-]+ -->$`)

// TestEveryShellBlockIsRun: every sh block of the docs and the README is
// run by some test, so none can drift from what the program does.
func TestEveryShellBlockIsRun(t *testing.T) {
	docs, _ := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	n := 0
	for _, doc := range append(docs, filepath.Join("..", "..", "README.md")) {
		data, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		for _, m := range shBlock.FindAllStringSubmatchIndex(text, -1) {
			n++
			if blockRunner(text[:m[0]], text[m[2]:m[3]]) == "" {
				line := strings.Count(text[:m[0]], "\n") + 1
				t.Errorf("%s:%d: an sh block no test runs (mark it, make it leverance commands only, or make it a plain block)", filepath.Base(doc), line)
			}
		}
	}
	if n < 15 {
		t.Fatalf("only %d sh blocks found", n)
	}
}
