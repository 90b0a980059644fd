package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/cli.md from the commands' --help")

// cliDoc renders docs/cli.md from the program's own help texts, so the
// reference cannot drift from the code.
func cliDoc() []byte {
	var b bytes.Buffer
	b.WriteString("# Command-line reference\n\nGenerated from `leverance <command> --help` by `go test ./cmd/leverance -run TestCLIDoc -update`; a test fails when it is out of date.\n\n")
	b.WriteString("Exit codes, the same for every command:\n\n| code | meaning |\n| --- | --- |\n" +
		"| 0 | success (validate: the extract is valid; receipts verify / check-bundle / witness: verified; recompute: identical) |\n" +
		"| 1 | the input is invalid or a check failed (an invalid extract, with its report; a log or bundle that does not verify; a recomputed file that differs) |\n" +
		"| 2 | usage or configuration error (the message names the flag, or the file, key and problem) |\n" +
		"| 3 | operational failure (a file cannot be read or written, the daemon failed) |\n\n")
	var out, errb bytes.Buffer
	run([]string{"help"}, &out, &errb)
	fmt.Fprintf(&b, "```\n%s```\n", out.String())
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if n == "help" {
			continue
		}
		out.Reset()
		errb.Reset()
		run([]string{n, "--help"}, &out, &errb)
		fmt.Fprintf(&b, "\n## %s\n\n```\n%s```\n", n, out.String())
		if n == "receipts" {
			for _, sub := range []string{"verify", "list", "show", "prove", "check-bundle", "witness"} {
				out.Reset()
				run([]string{n, sub, "--help"}, &out, &errb)
				fmt.Fprintf(&b, "\n### receipts %s\n\n```\n%s```\n", sub, out.String())
			}
		}
	}
	return b.Bytes()
}

func TestCLIDoc(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "cli.md")
	got := cliDoc()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/cli.md is out of date: go test ./cmd/leverance -run TestCLIDoc -update")
	}
}

// TestEveryCommandHasHelp: --help exits 0 and prints a usage line on stdout.
func TestEveryCommandHasHelp(t *testing.T) {
	for n := range commands {
		var out, errb bytes.Buffer
		if code := run([]string{n, "--help"}, &out, &errb); code != exitOK || !bytes.Contains(out.Bytes(), []byte("Usage")) {
			t.Errorf("%s --help: exit %d, stdout %q, stderr %q", n, code, out.String(), errb.String())
		}
	}
}
