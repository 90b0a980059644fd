// Package archtest holds the test that keeps the dependency direction of the
// architecture: compute is pure, its engine knows nothing of its domain,
// transfer knows nothing of the rules, and only daemon and the command wire
// things together.
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

// pure is what compute's packages must not import: no files, clock,
// network or logging.
var pure = []string{"os", "os/exec", "os/signal", "net", "net/http", "time", "io/fs", "path/filepath", "log", "log/slog", "syscall"}

// forbidden lists, per package — or, for a key ending in "/", per package
// under it — imports it must not have directly, unless allowed.
var forbidden = map[string][]string{
	// compute, the domain, is pure and uses no other leverance package but
	// its engine.
	"leverance/compute": append(pure, "leverance/"),
	// compute's engine is pure and knows nothing of the domain: it calls it
	// through the interfaces that the domain hands in.
	"leverance/compute/internal/": append(pure, "leverance/"),
	"leverance/config":            {"leverance/daemon", "leverance/transfer", "net"},
	"leverance/synth":             {"leverance/daemon", "leverance/transfer"},
	// transfer moves bytes; it knows nothing of the rules.
	"leverance/transfer": {"leverance/compute", "leverance/daemon"},
	// the built-in SFTP server serves files; the daemon wires it.
	"leverance/transfer/sftpserver": {"leverance/compute", "leverance/daemon"},
}

// allowed are exceptions to forbidden, keyed the same way.
var allowed = map[string][]string{
	"leverance/compute":           {"leverance/compute/internal/"},
	"leverance/compute/internal/": {"leverance/compute/internal/"},
}

// matches reports whether path is rule: the same, or under it when rule
// ends in "/".
func matches(path, rule string) bool {
	return path == rule || strings.HasSuffix(rule, "/") && strings.HasPrefix(path, rule)
}

// rulesOf returns the forbidden and allowed imports of a package.
func rulesOf(path string) (bad, ok []string, ruled bool) {
	for key, rules := range forbidden {
		if matches(path, key) {
			bad, ok, ruled = append(bad, rules...), append(ok, allowed[key]...), true
		}
	}
	return bad, ok, ruled
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
		bad, ok, ruled := rulesOf(p.ImportPath)
		if !ruled {
			continue
		}
		seen++
	imports:
		for _, imp := range p.Imports {
			for _, a := range ok {
				if matches(imp, a) {
					continue imports
				}
			}
			for _, b := range bad {
				if matches(imp, b) {
					t.Errorf("%s imports %s: not allowed by the architecture", p.ImportPath, imp)
				}
			}
		}
	}
	if seen == 0 {
		t.Fatal("no package checked: go list found none of the ruled packages")
	}
}
