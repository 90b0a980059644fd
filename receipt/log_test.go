package receipt

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newLog(t *testing.T, n int) (dir, vkey string, l *Log) {
	t.Helper()
	dir = t.TempDir()
	skey, vkey, err := GenerateKey("leverance-test")
	if err != nil {
		t.Fatal(err)
	}
	l, err = OpenLog(dir, skey, quiet())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		vendor := []string{"kmd-opera", "kmd-workbase", "schultz-fasit"}[i%3]
		r := &Record{Time: time.Date(2016, 1, 22, 6, i, 0, 0, time.UTC), Event: Leveret, Product: "daglige-beskeder",
			Day: "2016-01-22", Vendor: vendor, File: fmt.Sprintf("f%d.csv", i), SHA256: strings.Repeat("ab", 32), Outcome: "rettidig"}
		if err := l.Append(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if r.Seq != int64(i+1) {
			t.Fatalf("seq %d, want %d", r.Seq, i+1)
		}
	}
	return dir, vkey, l
}

func mustVerify(t *testing.T, dir, vkey string) *Verification {
	t.Helper()
	v, err := Verify(dir, vkey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestAppendVerify(t *testing.T) {
	dir, vkey, _ := newLog(t, 20)
	v := mustVerify(t, dir, vkey)
	if !v.OK() || v.Records != 20 || v.Size != 20 || v.Checkpoints != 21 { // the empty log's, then one per append
		t.Fatalf("verification %+v", v)
	}
	recs, err := ReadRecords(dir)
	if err != nil || len(recs) != 20 || recs[19].Seq != 20 {
		t.Fatalf("records: %v %d", err, len(recs))
	}
}

func editLines(t *testing.T, dir string, edit func(lines []string) []string) {
	t.Helper()
	p := filepath.Join(dir, RecordsFile)
	data, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	lines = edit(lines)
	out := strings.Join(lines, "\n")
	if len(lines) > 0 {
		out += "\n"
	}
	if err := os.WriteFile(p, []byte(out), 0o640); err != nil {
		t.Fatal(err)
	}
}

// tamperings are the ways a log of 12 records is altered in the tests.
var tamperings = []struct {
	name   string
	tamper func(t *testing.T, dir string)
	record int64  // the record that must be named (0: the finding names none)
	what   string // a word of the finding
}{
	{"flip one byte", func(t *testing.T, dir string) {
		editLines(t, dir, func(l []string) []string { l[6] = strings.Replace(l[6], "rettidig", "rettidiG", 1); return l })
	}, 7, "changed"},
	{"delete a line", func(t *testing.T, dir string) {
		editLines(t, dir, func(l []string) []string { return append(l[:4], l[5:]...) })
	}, 5, "removed"},
	{"reorder two lines", func(t *testing.T, dir string) {
		editLines(t, dir, func(l []string) []string { l[2], l[3] = l[3], l[2]; return l })
	}, 3, "reordered"},
	{"truncate", func(t *testing.T, dir string) {
		editLines(t, dir, func(l []string) []string { return l[:8] })
	}, 9, "removed"},
	{"older checkpoint", func(t *testing.T, dir string) {
		f, _ := os.ReadFile(filepath.Join(dir, CheckpointsFile))
		var msg string
		json.Unmarshal([]byte(strings.Split(string(f), "\n")[4]), &msg)
		os.WriteFile(filepath.Join(dir, CheckpointFile), []byte(msg), 0o640)
	}, 0, "older"},
	{"rewritten with another key", func(t *testing.T, dir string) {
		editLines(t, dir, func(l []string) []string { l[0] = strings.Replace(l[0], "kmd-opera", "kmd-operA", 1); return l })
		os.Remove(filepath.Join(dir, HashesFile))
		os.Remove(filepath.Join(dir, CheckpointFile))
		os.Remove(filepath.Join(dir, CheckpointsFile))
		skey, _, _ := GenerateKey("leverance-test")
		if _, err := OpenLog(dir, skey, quiet()); err != nil { // recomputes and signs with the other key
			t.Fatal(err)
		}
	}, 0, "signature"},
}

// TestTamperDetected: every kind of tampering is found and the record named.
func TestTamperDetected(t *testing.T) {
	for _, c := range tamperings {
		t.Run(c.name, func(t *testing.T) {
			dir, vkey, _ := newLog(t, 12)
			c.tamper(t, dir)
			v := mustVerify(t, dir, vkey)
			if v.OK() {
				t.Fatal("tampering not detected")
			}
			f := v.Findings[0]
			if f.Record != c.record || !strings.Contains(strings.Join(findingTexts(v), "\n"), c.what) {
				t.Fatalf("findings %v: want record %d and %q first", v.Findings, c.record, c.what)
			}
		})
	}
}

func findingTexts(v *Verification) []string {
	var s []string
	for _, f := range v.Findings {
		s = append(s, f.String())
	}
	return s
}

// TestCrashUnrepaired: before the repair, verify reports the crash debris.
func TestCrashUnrepaired(t *testing.T) {
	dir, vkey, _ := newLog(t, 5)
	// Simulate: record 6 written and synced, crash before hashes and checkpoint.
	line := `{"seq":6,"time":"2016-01-22T07:00:00Z","event":"leveret","vendor":"kmd-opera"}` + "\n"
	f, _ := os.OpenFile(filepath.Join(dir, RecordsFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(line)
	f.WriteString(`{"seq":7,"time":"2016-01`) // torn
	f.Close()
	if v := mustVerify(t, dir, vkey); v.OK() {
		t.Fatal("an unrepaired log verified")
	}
}

// TestCrashRepair: a torn line and missing hashes and checkpoint after a
// crash between the write steps are repaired at start, and the log verifies.
func TestCrashRepair(t *testing.T) {
	dir := t.TempDir()
	skey, vkey, _ := GenerateKey("leverance-test")
	l, err := OpenLog(dir, skey, quiet())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		l.Append(context.Background(), &Record{Event: Modtaget, File: fmt.Sprint(i)})
	}
	f, _ := os.OpenFile(filepath.Join(dir, RecordsFile), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"seq":6,"time":"2016-01-22T07:00:00Z","event":"leveret"}` + "\n")
	f.WriteString(`{"seq":7,"time":"2016-01`)
	f.Close()
	var logged bytes.Buffer
	l, err = OpenLog(dir, skey, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "torn last record cut away") {
		t.Errorf("repair not logged: %s", logged.String())
	}
	v := mustVerify(t, dir, vkey)
	if !v.OK() || v.Records != 6 {
		t.Fatalf("after repair: %+v", v)
	}
	r := &Record{Event: Modtaget}
	if err := l.Append(context.Background(), r); err != nil || r.Seq != 7 {
		t.Fatalf("append after repair: seq %d %v", r.Seq, err)
	}
	if v := mustVerify(t, dir, vkey); !v.OK() {
		t.Fatalf("%v", v.Findings)
	}
}

// TestBundle: one vendor's record is proven with the public key alone and
// the bundle holds no other record.
func TestBundle(t *testing.T) {
	dir, vkey, _ := newLog(t, 9)
	b, err := Prove(dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	r, err := CheckBundle(b, vkey)
	if err != nil || r.Seq != 5 || r.Vendor != "kmd-workbase" {
		t.Fatalf("check: %+v %v", r, err)
	}
	js, _ := json.Marshal(b)
	for _, other := range []string{"f0.csv", "f3.csv", "f8.csv"} {
		if bytes.Contains(js, []byte(other)) {
			t.Errorf("bundle reveals another record (%s)", other)
		}
	}
	bad := *b
	bad.Record = strings.Replace(b.Record, "kmd-workbase", "kmd-opera", 1)
	if _, err := CheckBundle(&bad, vkey); err == nil {
		t.Error("a changed record passed")
	}
	_, otherKey, _ := GenerateKey("leverance-test")
	if _, err := CheckBundle(b, otherKey); err == nil {
		t.Error("a bundle passed with another key")
	}
	if _, err := Prove(dir, 10); err == nil {
		t.Error("proved a record beyond the checkpoint")
	}
}

// TestConcurrentAppenders: two handles on one log (the daemon and an
// operator's command) interleave without losing or duplicating a record.
func TestConcurrentAppenders(t *testing.T) {
	dir := t.TempDir()
	skey, vkey, _ := GenerateKey("leverance-test")
	a, _ := OpenLog(dir, skey, quiet())
	b, _ := OpenLog(dir, skey, quiet())
	done := make(chan bool)
	for _, l := range []*Log{a, b} {
		go func(l *Log) {
			for i := 0; i < 15; i++ {
				if err := l.Append(context.Background(), &Record{Event: Operatoer}); err != nil {
					t.Error(err)
				}
			}
			done <- true
		}(l)
	}
	<-done
	<-done
	v := mustVerify(t, dir, vkey)
	if !v.OK() || v.Records != 30 {
		t.Fatalf("%+v", v)
	}
}

func TestVerifierKey(t *testing.T) {
	for i := 0; i < 50; i++ { // base64 of some keys holds "+"
		skey, vkey, err := GenerateKey("leverance.example.dk")
		if err != nil {
			t.Fatal(err)
		}
		got, err := VerifierKey(skey + "\n")
		if err != nil || got != vkey {
			t.Fatalf("VerifierKey(%q) = %q, %v; want %q", skey, got, err, vkey)
		}
	}
	if _, err := VerifierKey("leverance+1234+abcd"); err == nil {
		t.Error("a verifier key taken for a signer key")
	}
}
