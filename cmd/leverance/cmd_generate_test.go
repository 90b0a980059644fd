package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"leverance/compute"
	"leverance/synth"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// TestGenerateValidate: a generated extract, plain and gzipped, sorted and
// shuffled, passes `leverance validate` with exit code 0, and is written
// 0640 without temporary files left behind.
func TestGenerateValidate(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name  string
		extra []string
	}{
		{"registreringer_20160120.csv", nil},
		{"registreringer_20160121.csv.gz", []string{"--shuffle", "--base", "2016-01-20"}},
	} {
		path := filepath.Join(dir, c.name)
		n, _ := compute.ParseExtractName(c.name)
		args := append([]string{"generate", "--citizens", "300", "--seed", "7", "--as-of", n.AsOf.String(), "--out", path}, c.extra...)
		if code, out, errs := runCmd(t, args...); code != exitOK || !strings.Contains(out, path) {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, want 0640", c.name, fi.Mode().Perm())
		}
		code, out, errs := runCmd(t, "validate", path)
		if code != exitOK || !strings.Contains(out, "valid") {
			t.Fatalf("validate %s: exit %d, stdout %q, stderr %q", c.name, code, out, errs)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("%d files in the output directory, want 2 (no temporary files)", len(entries))
	}
}

// TestGenerateStdoutAndDir: stdout gets exactly synth.Generate's bytes; a
// directory as --out gets registreringer_YYYYMMDD.csv.
func TestGenerateStdoutAndDir(t *testing.T) {
	code, out, errs := runCmd(t, "generate", "--citizens", "50", "--seed", "3", "--as-of", "2016-01-24", "--kommuner", "101,147")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var want bytes.Buffer
	opt := synth.Options{Citizens: 50, Seed: 3, AsOf: compute.MkDate(2016, 1, 24), Kommuner: []uint16{101, 147}}
	if err := synth.Generate(&want, opt); err != nil {
		t.Fatal(err)
	}
	if out != want.String() {
		t.Error("stdout differs from synth.Generate's output")
	}

	dir := t.TempDir()
	if code, _, errs := runCmd(t, "generate", "--citizens", "20", "--as-of", "2016-01-24", "--out", dir); code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if code, out, errs := runCmd(t, "validate", filepath.Join(dir, "registreringer_20160124.csv")); code != exitOK {
		t.Fatalf("validate: exit %d: %s %s", code, out, errs)
	}
}

func TestGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		code int
		args []string
	}{
		{exitUsage, []string{"generate"}},
		{exitUsage, []string{"generate", "--as-of", "2016-02-30"}},
		{exitUsage, []string{"generate", "--as-of", "2016-01-20", "--citizens", "-1"}},
		{exitUsage, []string{"generate", "--as-of", "2016-01-20", "--base", "2015-01-20"}},
		{exitUsage, []string{"generate", "--as-of", "2016-01-20", "--kommuner", "101,x"}},
		{exitUsage, []string{"generate", "--as-of", "2016-01-20", "--kommuner", "99"}},
		{exitUsage, []string{"generate", "--as-of", "2016-01-20", "extra"}},
		{exitUsage, []string{"generate", "--bogus"}},
		{exitFailure, []string{"generate", "--as-of", "2016-01-20", "--out", filepath.Join(dir, "missing", "x.csv")}},
		{exitOK, []string{"generate", "--help"}},
	} {
		if code, _, _ := runCmd(t, c.args...); code != c.code {
			t.Errorf("%v: exit %d, want %d", c.args, code, c.code)
		}
	}
}
