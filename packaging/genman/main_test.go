package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzVerbatim: whatever the help says, its lines stay text: none becomes a
// roff request (a line starting with . or '), no backslash is left to start
// an escape, and every line of the input is there.
func FuzzVerbatim(f *testing.F) {
	f.Add("Usage: leverance <command>\n.TH x\n'x\n\\fBbold\n\t-c file\n")
	f.Fuzz(func(t *testing.T, text string) {
		if strings.ContainsAny(text, "\r\x00") {
			return
		}
		var b bytes.Buffer
		verbatim(&b, text)
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if lines[0] != ".PP" || lines[1] != ".nf" || lines[len(lines)-1] != ".fi" {
			t.Fatalf("not a no-fill block: %q", b.String())
		}
		body := lines[2 : len(lines)-1]
		for _, l := range body {
			if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
				t.Fatalf("line %q would be a request", l)
			}
			if strings.Contains(strings.NewReplacer(`\e`, "", `\-`, "", `\&`, "").Replace(l), `\`) {
				t.Fatalf("line %q holds an unescaped backslash", l)
			}
		}
		if want := len(strings.Split(strings.TrimRight(text, "\n"), "\n")); len(body) != want {
			t.Fatalf("%d lines out of %d", len(body), want)
		}
	})
}

// TestManPage generates the page from the real binary's help: every
// command has its section, and man(1) renders it without a warning.
func TestManPage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "leverance")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/leverance").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var page bytes.Buffer
	if err := write(&page, bin, "0.0.0-test"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".SS check\\-config", ".SS run", ".SS receipts", "\\-user"} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("no %q in the page", want)
		}
	}
	man, err := exec.LookPath("man")
	if err != nil {
		t.Log("man not installed: rendering not checked (lintian checks it in make package)")
		return
	}
	p := filepath.Join(t.TempDir(), "leverance.1")
	os.WriteFile(p, page.Bytes(), 0o644)
	var warnings bytes.Buffer
	cmd := exec.Command(man, "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", p)
	cmd.Env = append(os.Environ(), "MANWIDTH=80", "LC_ALL=C.UTF-8")
	cmd.Stderr = &warnings
	if err := cmd.Run(); err != nil {
		t.Fatalf("man: %v\n%s", err, warnings.String())
	}
	if warnings.Len() > 0 {
		t.Errorf("man warns:\n%s", warnings.String())
	}
}
