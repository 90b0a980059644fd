// Package archtest holds the test that keeps the dependency direction of the
// architecture: compute is pure, transfer knows nothing of the rules, and
// only daemon and the command wire things together.
package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

type pkg struct {
	ImportPath string
	Imports    []string
}

// forbidden lists, per package, imports it must not have directly.
var forbidden = map[string][]string{
	// compute is pure: no files, clock, network, logging or other leverance packages.
	"leverance/compute": {"os", "os/exec", "os/signal", "net", "net/http", "time", "io/fs", "path/filepath", "log", "log/slog", "syscall", "leverance/"},
	"leverance/config":  {"leverance/daemon", "leverance/transfer", "net"},
	"leverance/synth":   {"leverance/daemon", "leverance/transfer"},
	// transfer moves bytes; it knows nothing of the rules.
	"leverance/transfer": {"leverance/compute", "leverance/daemon"},
	// the built-in SFTP server serves files; the daemon wires it.
	"leverance/transfer/sftpserver": {"leverance/compute", "leverance/daemon"},
}

func TestDependencyDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "leverance/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rules, ok := forbidden[p.ImportPath]
		if !ok {
			continue
		}
		seen++
		for _, imp := range p.Imports {
			for _, bad := range rules {
				if imp == bad || strings.HasSuffix(bad, "/") && strings.HasPrefix(imp, bad) {
					t.Errorf("%s imports %s: not allowed by the architecture", p.ImportPath, imp)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no package checked: go list found none of the ruled packages")
	}
}
