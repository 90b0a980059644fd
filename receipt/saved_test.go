package receipt

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// writeLog writes a log with the signing key skey holding the records
// named by files, in order.
func writeLog(t testing.TB, skey string, files []string) (dir string, l *Log) {
	t.Helper()
	dir = t.TempDir()
	l, err := OpenLog(dir, skey, quiet())
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		r := &Record{Time: time.Date(2016, 1, 22, 6, i, 0, 0, time.UTC), Event: Leveret, Product: "daglige-beskeder",
			Day: "2016-01-22", Vendor: "kmd-opera", File: f, Outcome: "rettidig"}
		if err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	return dir, l
}

func names(n int) []string {
	var s []string
	for i := 1; i <= n; i++ {
		s = append(s, fmt.Sprintf("f%d.csv", i))
	}
	return s
}

// TestCheckSaved: a checkpoint a vendor saved after 6 records is extended
// by the genuine log of 9; a history rewritten and signed again with the
// log's own key (so that it verifies on its own), a log cut short, and a
// checkpoint signed with another key are not, and the finding says so.
func TestCheckSaved(t *testing.T) {
	skey, vkey, err := GenerateKey("leverance-test")
	if err != nil {
		t.Fatal(err)
	}
	_, l := writeLog(t, skey, names(6))
	saved, err := l.Checkpoint()
	if err != nil {
		t.Fatal(err)
	}
	rewrite := func(edit func([]string) []string) string {
		dir, _ := writeLog(t, skey, edit(names(9)))
		if v := mustVerify(t, dir, vkey); !v.OK() {
			t.Fatalf("the rewritten log should verify on its own: %v", v.Findings)
		}
		return dir
	}
	otherKey, _, _ := GenerateKey("leverance-test")
	_, other := writeLog(t, otherKey, names(6))
	otherCP, _ := other.Checkpoint()
	cases := []struct {
		name   string
		dir    string
		saved  []byte
		record int64
		what   string
	}{
		{"genuine", rewrite(func(s []string) []string { return s }), saved, 0, ""},
		{"altered", rewrite(func(s []string) []string { s[2] = "g3.csv"; return s }), saved, 6, "history was rewritten"},
		{"removed", rewrite(func(s []string) []string { return append(s[:2], s[3:]...) }), saved, 6, "history was rewritten"},
		{"reordered", rewrite(func(s []string) []string { s[1], s[2] = s[2], s[1]; return s }), saved, 6, "history was rewritten"},
		{"cut short", rewrite(func(s []string) []string { return s[:4] }), saved, 5, "were removed"},
		{"another key", rewrite(func(s []string) []string { return s }), otherCP, 0, "not signed by the log's key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := CheckSaved(c.dir, vkey, c.saved)
			if err != nil {
				t.Fatal(err)
			}
			if c.what == "" {
				if !res.OK() || res.Size != 6 || res.Records != 9 || len(res.Proof) == 0 {
					t.Fatalf("genuine: %+v", res)
				}
				return
			}
			if res.OK() {
				t.Fatal("not detected")
			}
			f := res.Findings[len(res.Findings)-1]
			if f.Record != c.record || !strings.Contains(f.What, c.what) {
				t.Fatalf("finding %v, want record %d and %q", f, c.record, c.what)
			}
		})
	}
}

// TestCheckSavedEditedLog: records edited in place (the log no longer
// verifies on its own) are named by the log's own findings too.
func TestCheckSavedEditedLog(t *testing.T) {
	dir, vkey, l := newLog(t, 12)
	saved, _ := l.Checkpoint()
	for _, c := range tamperings[:3] { // flip, delete, reorder
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			copyDir(t, dir, d)
			c.tamper(t, d)
			res, err := CheckSaved(d, vkey, saved)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK() || res.Findings[0].Record != c.record || !strings.Contains(res.Findings[0].What, "does not verify on its own") {
				t.Fatalf("findings %v, want record %d first", res.Findings, c.record)
			}
		})
	}
}

// FuzzCheckSaved: whatever a vendor sends as its saved checkpoint, the
// check neither panics nor errs, and passes only for a checkpoint the log's
// key signed over records the log still holds.
func FuzzCheckSaved(f *testing.F) {
	skey, vkey, err := GenerateKey("leverance-test")
	if err != nil {
		f.Fatal(err)
	}
	dir, l := writeLog(f, skey, names(5))
	genuine, _ := l.Checkpoint()
	f.Add(genuine)
	f.Add([]byte("leverance-test\n5\nAAAA\n\n— leverance-test AAAA\n"))
	f.Add([]byte(strings.Replace(string(genuine), "\n5\n", "\n9\n", 1)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, saved []byte) {
		res, err := CheckSaved(dir, vkey, saved)
		if err != nil {
			t.Fatal(err)
		}
		if res.OK() && !bytes.Equal(saved, genuine) && res.Size > 5 {
			t.Fatalf("passed a checkpoint of %d records for a log of 5", res.Size)
		}
	})
}
