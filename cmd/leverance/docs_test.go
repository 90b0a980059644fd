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
	_ = context.Background()
	return cfgPath, stateDir
}

var shBlock = regexp.MustCompile("(?s)```sh\n(.*?)```")

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
