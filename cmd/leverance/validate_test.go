package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// These tests run the command in-process through run, with the extracts of
// testdata/basic and broken copies of them.

const basicDir = "../../testdata/basic"

var basicConfig = filepath.Join(basicDir, "leverance.toml")

// invoke runs the command line args and returns its exit code and output.
func invoke(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func readBasic(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(basicDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeFile writes data to dir/name and returns the path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var digitRun = regexp.MustCompile(`[0-9]{10,}`)

// assertNoCPR fails when output holds a run of 10 or more digits: a CPR
// number, since nothing else the command prints on a rejection is that long.
func assertNoCPR(t *testing.T, what, output string) {
	t.Helper()
	if m := digitRun.FindString(output); m != "" {
		t.Errorf("%s holds the number %s:\n%s", what, m, output)
	}
}

// badExtract is a broken version of registreringer_20160121.csv (A =
// 2016-01-21) and where the report must point.
type badExtract struct {
	name  string
	file  string // file name; registreringer_20160121.csv unless set
	data  []byte
	where string // "line N, column C" or "line N"
	why   string // part of the reason
}

func badExtracts(t *testing.T) []badExtract {
	good := readBasic(t, "registreringer_20160121.csv")
	lines := strings.SplitAfter(good, "\n")
	// Line numbers: the header is line 1; line 29 is the last data row (c4-kg)
	// and line 30 the trailer SLUT;28.
	replaceLine := func(n int, s string) []byte {
		l := append([]string(nil), lines...)
		l[n-1] = s + "\n"
		return []byte(strings.Join(l, ""))
	}
	return []badExtract{
		{name: "bad cpr birth date", data: []byte(strings.Replace(good, "c3-s1;1507904567", "c3-s1;3102904567", 1)),
			where: "line 12, column cpr", why: "birth date in it does not exist"},
		{name: "cpr not 10 digits", data: []byte(strings.Replace(good, "c6-a1;1212851234", "c6-a1;121285123", 1)),
			where: "line 24, column cpr", why: "must be 10 digits"},
		{name: "duplicate id", data: []byte(strings.Replace(good, "c5-s3;", "c5-s2;", 1)),
			where: "line 18, column id", why: "repeats the id of line 17"},
		{name: "nonexistent date", data: []byte(strings.Replace(good, "c2-a1;2201864321;AKTIVERING;101;2016-02-01", "c2-a1;2201864321;AKTIVERING;101;2016-02-30", 1)),
			where: "line 10, column fra", why: "the date 2016-02-30 does not exist"},
		{name: "bad row last (unsorted file)", data: replaceLine(29, "c4-kg;0101005001;KONTAKTGRUPPE;147;2016-01-14;;;XX;2016-01-21T09:00:00"),
			where: "line 29, column kode", why: `unknown code "XX" for type KONTAKTGRUPPE`},
		{name: "registreret after A", data: replaceLine(29, "c4-kg;0101005001;KONTAKTGRUPPE;147;2016-01-14;;;UH-A;2016-01-22T09:00:00"),
			where: "line 29, column registreret", why: "after the end of the extract's as-of date"},
		{name: "truncated", data: []byte(good[:len(good)-len(lines[29])-10]),
			where: "line 29", why: "the file is truncated"},
		{name: "wrong trailer", data: replaceLine(30, "SLUT;27"),
			where: "line 30", why: "the trailer says 27 data rows but the file has 28"},
		{name: "bad UTF-8", data: []byte(strings.Replace(good, ";SYG;", ";S\xd8G;", 1)),
			where: "line 19, column kode", why: "not valid UTF-8"},
		{name: "bad header", data: []byte(strings.Replace(good, ";kode;", ";code;", 1)),
			where: "line 1", why: `bad header: unknown column "code" (field 8)`},
		{name: "huge line", data: replaceLine(5, "c2-kg;2201864321;KONTAKTGRUPPE;101;2015-11-01;;;DP;"+strings.Repeat("x", 5000)),
			where: "line 5", why: "longer than 4096 bytes"},
		{name: "truncated gzip", file: "registreringer_20160121.csv.gz", data: gzipBytes(t, []byte(good))[:300],
			where: "", why: "the gzip stream is truncated"},
		{name: "not gzip", file: "registreringer_20160121.csv.gz", data: []byte(good),
			where: "", why: "the gzip stream is corrupt"},
	}
}

func (b badExtract) fileName() string {
	if b.file != "" {
		return b.file
	}
	return "registreringer_20160121.csv"
}

func TestValidateRejects(t *testing.T) {
	for _, c := range badExtracts(t) {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), c.fileName(), c.data)
			code, stdout, stderr := invoke(t, "validate", path)
			if code != exitInvalid {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitInvalid, stdout, stderr)
			}
			summary, _, _ := strings.Cut(stdout, "\n")
			if !strings.HasPrefix(summary, c.fileName()+": rejected: ") || !strings.Contains(summary, c.where) || !strings.Contains(summary, c.why) {
				t.Errorf("summary %q does not name the file, %q and %q", summary, c.where, c.why)
			}
			if c.where != "" && !strings.Contains(stdout, "  "+c.where+": ") {
				t.Errorf("report does not list %q:\n%s", c.where, stdout)
			}
			assertNoCPR(t, "stdout", stdout)
			assertNoCPR(t, "stderr", stderr)
		})
	}
}

func TestValidate(t *testing.T) {
	for _, name := range []string{"registreringer_20160120.csv", "registreringer_20160121.csv", "registreringer_20160124.csv"} {
		code, stdout, stderr := invoke(t, "validate", filepath.Join(basicDir, name))
		if code != exitOK || !strings.HasPrefix(stdout, name+": valid, ") {
			t.Errorf("validate %s: exit %d\n%s%s", name, code, stdout, stderr)
		}
	}
	// Gzipped, and under another name with --as-of.
	dir := t.TempDir()
	good := []byte(readBasic(t, "registreringer_20160121.csv"))
	gz := writeFile(t, dir, "registreringer_20160121_2.csv.gz", gzipBytes(t, good))
	if code, stdout, stderr := invoke(t, "validate", gz); code != exitOK {
		t.Errorf("validate .gz: exit %d\n%s%s", code, stdout, stderr)
	}
	other := writeFile(t, dir, "udtraek.csv", good)
	if code, stdout, stderr := invoke(t, "validate", "--as-of", "2016-01-21", other); code != exitOK {
		t.Errorf("validate --as-of: exit %d\n%s%s", code, stdout, stderr)
	}
	// The as-of date decides: A = 2016-01-20 puts rows after A.
	code, stdout, _ := invoke(t, "validate", "--as-of", "2016-01-20", other)
	if code != exitInvalid || !strings.Contains(stdout, "column registreret: is after the end of the extract's as-of date") {
		t.Errorf("validate --as-of 2016-01-20: exit %d\n%s", code, stdout)
	}
	assertNoCPR(t, "stdout", stdout)
	// A tolerance accepts the invalid rows and says so.
	bad := writeFile(t, dir, "registreringer_20160122.csv", []byte(strings.Replace(string(good), "c3-s1;1507904567", "c3-s1;3102904567", 1)))
	code, stdout, _ = invoke(t, "validate", "--max-rejected-rows", "1", bad)
	if code != exitOK || !strings.HasPrefix(stdout, "registreringer_20160122.csv: accepted without 1 invalid rows of 28") || !strings.Contains(stdout, "line 12, column cpr") {
		t.Errorf("validate with tolerance: exit %d\n%s", code, stdout)
	}
	assertNoCPR(t, "stdout", stdout)
}

// outputFiles lists the regular files below dir, relative to it.
func outputFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	sort.Strings(files)
	return files
}

func TestComputeRejects(t *testing.T) {
	for _, c := range badExtracts(t) {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			path := writeFile(t, dir, c.fileName(), c.data)
			out := filepath.Join(dir, "out")
			// A file of an earlier run stays as it was.
			if err := os.MkdirAll(filepath.Join(out, "alle"), 0o750); err != nil {
				t.Fatal(err)
			}
			earlier := writeFile(t, filepath.Join(out, "alle"), "daglig-opdatering_20160121.csv", []byte("earlier\n"))

			code, stdout, stderr := invoke(t, "compute", "-c", basicConfig, "--extract", path, "--out", out)
			if code != exitInvalid {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitInvalid, stdout, stderr)
			}
			summary, _, _ := strings.Cut(stderr, "\n")
			if !strings.HasPrefix(summary, c.fileName()+": rejected: ") || !strings.Contains(summary, c.where) || !strings.Contains(summary, c.why) {
				t.Errorf("stderr %q does not name the file, %q and %q", summary, c.where, c.why)
			}
			assertNoCPR(t, "stdout", stdout)
			assertNoCPR(t, "stderr", stderr)
			if got := outputFiles(t, out); len(got) != 1 || got[0] != filepath.Join("alle", "daglig-opdatering_20160121.csv") {
				t.Errorf("files in --out after a rejection: %q", got)
			}
			if b, _ := os.ReadFile(earlier); string(b) != "earlier\n" {
				t.Errorf("an earlier file was changed: %q", b)
			}
		})
	}
}

// A bad basis is reported as such and writes nothing.
func TestComputeRejectsBasis(t *testing.T) {
	dir := t.TempDir()
	basis := writeFile(t, dir, "registreringer_20160120.csv", []byte(strings.Replace(readBasic(t, "registreringer_20160120.csv"), "SLUT;", "SLUT;9", 1)))
	out := filepath.Join(dir, "out")
	code, stdout, stderr := invoke(t, "compute", "-c", basicConfig, "--extract", filepath.Join(basicDir, "registreringer_20160121.csv"), "--basis", basis, "--out", out)
	if code != exitInvalid || !strings.HasPrefix(stderr, "basis: registreringer_20160120.csv: rejected: line ") || !strings.Contains(stderr, "the trailer says") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	assertNoCPR(t, "stderr", stderr)
	if got := outputFiles(t, out); len(got) != 0 {
		t.Errorf("files in --out: %q", got)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	good := readBasic(t, "registreringer_20160121.csv")
	oddName := writeFile(t, dir, "udtraek_20160121.csv", []byte(good))
	badCfg := writeFile(t, dir, "bad.toml", []byte("state_dir = \"/var/lib/leverance\"\nno_such_key = 1\n"))
	extract := filepath.Join(basicDir, "registreringer_20160121.csv")
	out := filepath.Join(dir, "out")
	cases := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"compute", "-c", basicConfig, "--extract", extract}, "--extract and --out are required"},
		{[]string{"compute", "-c", basicConfig, "--out", out}, "--extract and --out are required"},
		{[]string{"compute", "-c", basicConfig, "--extract", extract, "--out", out, "--frobnicate"}, "flag provided but not defined: -frobnicate"},
		{[]string{"compute", "-c", basicConfig, "--extract", extract, "--out", out, "extra"}, "Usage: leverance compute"},
		{[]string{"compute", "-c", basicConfig, "--extract", oddName, "--out", out}, "udtraek_20160121.csv: the name is not registreringer_YYYYMMDD"},
		{[]string{"compute", "-c", filepath.Join(dir, "missing.toml"), "--extract", extract, "--out", out}, "missing.toml"},
		{[]string{"compute", "-c", badCfg, "--extract", extract, "--out", out}, "no_such_key: unknown key"},
		{[]string{"validate", oddName}, "give the as-of date with --as-of"},
		{[]string{"compute", "-c", basicConfig, "--basis", oddName, "--extract", extract, "--out", out}, "name the file registreringer_YYYYMMDD.csv"},
		{[]string{"validate", "--as-of", "2016-02-30", oddName}, `--as-of "2016-02-30" is not a date`},
		{[]string{"validate"}, "Usage: leverance validate"},
		{[]string{"validate", "--frobnicate", extract}, "flag provided but not defined"},
		{[]string{"nosuchcommand"}, `unknown command "nosuchcommand"`},
		{nil, "Usage: leverance"},
	}
	for _, c := range cases {
		code, stdout, stderr := invoke(t, c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, want %d with %q on stderr\nstdout:\n%s\nstderr:\n%s", c.args, code, exitUsage, c.want, stdout, stderr)
		}
	}
	if got := outputFiles(t, out); len(got) != 0 {
		t.Errorf("files in --out after usage errors: %q", got)
	}
}

// --help exits 0 with the usage on stdout. (The options are printed to
// stderr, and the usage twice, by newFlags in main.go: reported, not asserted
// here.)
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"compute", "--help"}, {"validate", "--help"}, {"validate", "-h"}} {
		code, stdout, stderr := invoke(t, args...)
		if code != exitOK || !strings.HasPrefix(stdout, "Usage: leverance") {
			t.Errorf("%q: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
		}
	}
	_, stdout, stderr := invoke(t, "compute", "--help")
	for _, opt := range []string{"-c", "-extract", "-basis", "-out"} {
		if !strings.Contains(stdout+stderr, "  "+opt+" ") {
			t.Errorf("compute --help does not describe %s:\n%s", opt, stdout+stderr)
		}
	}
}

var umask = sync.OnceValue(func() os.FileMode {
	m := syscall.Umask(0)
	syscall.Umask(m)
	return os.FileMode(m)
})

// checkOutputDir checks every file below dir: data files are 0640 and have a
// .sha256 companion that verifies, directories are 0750, and there is no
// temporary file. It returns the data files, relative to dir.
func checkOutputDir(t *testing.T, dir string) []string {
	t.Helper()
	var data []string
	sums := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if want := 0o750 &^ umask(); fi.Mode().Perm() != want {
				t.Errorf("%s: directory mode %v, want %v", rel, fi.Mode().Perm(), want)
			}
			return nil
		}
		if fi.Mode().Perm() != 0o640 {
			t.Errorf("%s: mode %v, want 0640", rel, fi.Mode().Perm())
		}
		name := d.Name()
		if strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tmp") {
			t.Errorf("%s: a temporary file is left", rel)
		}
		if dataName, ok := strings.CutSuffix(name, ".sha256"); ok {
			sums[filepath.Join(filepath.Dir(rel), dataName)] = true
			content, err := os.ReadFile(filepath.Join(filepath.Dir(p), dataName))
			if err != nil {
				t.Errorf("%s: no data file: %v", rel, err)
				return nil
			}
			sum := sha256.Sum256(content)
			want := hex.EncodeToString(sum[:]) + "  " + dataName + "\n"
			if got, _ := os.ReadFile(p); string(got) != want {
				t.Errorf("%s = %q, want %q", rel, got, want)
			}
			return nil
		}
		data = append(data, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range data {
		if !sums[f] {
			t.Errorf("%s has no .sha256 file", f)
		}
	}
	sort.Strings(data)
	return data
}

// TestComputeGolden computes the examples of testdata/basic and compares
// them byte for byte with testdata/basic/expected: the daily files from
// registreringer_20160121.csv with the basis registreringer_20160120.csv, the
// weekly one from registreringer_20160124.csv (a Sunday).
func TestComputeGolden(t *testing.T) {
	root := t.TempDir()
	daily, weekly := filepath.Join(root, "daily"), filepath.Join(root, "weekly")
	runs := []struct {
		out  string
		args []string
	}{
		{daily, []string{"--extract", filepath.Join(basicDir, "registreringer_20160121.csv"), "--basis", filepath.Join(basicDir, "registreringer_20160120.csv")}},
		{weekly, []string{"--extract", filepath.Join(basicDir, "registreringer_20160124.csv")}},
	}
	for _, r := range runs {
		args := append([]string{"compute", "-c", basicConfig, "--out", r.out}, r.args...)
		code, stdout, stderr := invoke(t, args...)
		if code != exitOK {
			t.Fatalf("%q: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
		}
		// stdout lists each file with its hash.
		for _, f := range checkOutputDir(t, r.out) {
			b, _ := os.ReadFile(filepath.Join(r.out, f))
			sum := sha256.Sum256(b)
			if !strings.Contains(stdout, filepath.ToSlash(f)+"\t") || !strings.Contains(stdout, hex.EncodeToString(sum[:])) {
				t.Errorf("stdout does not list %s with its hash:\n%s", f, stdout)
			}
		}
	}

	expectedDir := filepath.Join(basicDir, "expected")
	var expected []string
	filepath.WalkDir(expectedDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(expectedDir, p)
			expected = append(expected, rel)
		}
		return nil
	})
	if len(expected) != 8 {
		t.Fatalf("%d expected files: %q", len(expected), expected)
	}
	var wantDaily []string
	for _, rel := range expected {
		out := daily
		if strings.Contains(rel, "ugeopdatering_") {
			out = weekly
		} else {
			wantDaily = append(wantDaily, rel)
		}
		want, _ := os.ReadFile(filepath.Join(expectedDir, rel))
		got, err := os.ReadFile(filepath.Join(out, rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the expected file:\n%s", rel, lineDiff(string(want), string(got)))
		}
	}
	// The daily run makes exactly the expected daily files: D = 2016-01-22
	// is a Friday, A is not a Sunday, so no weekly file.
	sort.Strings(wantDaily)
	if got := checkOutputDir(t, daily); strings.Join(got, ",") != strings.Join(wantDaily, ",") {
		t.Errorf("daily run made %q, want %q", got, wantDaily)
	}

	// The same inputs give the same bytes.
	again := filepath.Join(root, "again")
	if code, _, stderr := invoke(t, "compute", "-c", basicConfig, "--out", again, "--extract", filepath.Join(basicDir, "registreringer_20160121.csv"), "--basis", filepath.Join(basicDir, "registreringer_20160120.csv")); code != exitOK {
		t.Fatal(stderr)
	}
	for _, f := range wantDaily {
		a, _ := os.ReadFile(filepath.Join(daily, f))
		b, _ := os.ReadFile(filepath.Join(again, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", f)
		}
	}
}

// lineDiff shows the lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %q\n  got  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}
