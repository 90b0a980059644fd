package receipt

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckWritableRefusesAltered: a writer refuses every altered log and
// names the record the verification names.
func TestCheckWritableRefusesAltered(t *testing.T) {
	for _, c := range tamperings {
		t.Run(c.name, func(t *testing.T) {
			dir, vkey, l := newLog(t, 12)
			w := l.Head()
			c.tamper(t, dir)
			_, err := CheckWritable(dir, vkey, w)
			var altered *AlteredError
			if !errors.As(err, &altered) {
				t.Fatalf("CheckWritable = %v, want an AlteredError", err)
			}
			if altered.First.Record != c.record || !strings.Contains(err.Error(), "does not verify") {
				t.Fatalf("error %q names record %d, want %d", err, altered.First.Record, c.record)
			}
		})
	}
}

// TestCheckWritableWitness: a log rolled back to an earlier state verifies
// on its own (records, hashes and checkpoints all of that time) but does
// not extend the witness of the writer that went further.
func TestCheckWritableWitness(t *testing.T) {
	dir, vkey, l := newLog(t, 6)
	early := t.TempDir()
	copyDir(t, dir, early)
	for i := 0; i < 3; i++ {
		if err := l.Append(context.Background(), &Record{Event: Modtaget}); err != nil {
			t.Fatal(err)
		}
	}
	w := l.Head()
	if w.Size != 9 {
		t.Fatalf("head %+v", w)
	}
	if _, err := CheckWritable(dir, vkey, w); err != nil {
		t.Fatalf("the log as written: %v", err)
	}
	copyDir(t, early, dir) // the backup of an earlier state put back
	if v := mustVerify(t, dir, vkey); !v.OK() {
		t.Fatalf("the earlier state should verify on its own: %v", v.Findings)
	}
	_, err := CheckWritable(dir, vkey, w)
	var altered *AlteredError
	if !errors.As(err, &altered) || altered.First.Record != 7 || !strings.Contains(err.Error(), "removed") {
		t.Fatalf("CheckWritable after a rollback = %v, want record 7 named", err)
	}
	// A different history of the same length is refused too.
	dir2, _, l2 := newLog(t, 9)
	if _, err := CheckWritable(dir2, vkey, l2.Head()); err == nil {
		t.Fatal("a log signed with another key was taken")
	}
	copyDir(t, early, dir)
	for i := 0; i < 3; i++ {
		l.Append(context.Background(), &Record{Event: Afvist})
	}
	if _, err := CheckWritable(dir, vkey, w); err == nil || !strings.Contains(err.Error(), "rewritten") {
		t.Fatalf("a rewritten history of the same length: %v", err)
	}
}

// TestCheckWritableAllowsCrashes: what a crash leaves between the write
// steps of an append is not taken for tampering, and is repaired.
func TestCheckWritableAllowsCrashes(t *testing.T) {
	steps := []struct {
		name string
		keep []string // the files as they were before the last append
	}{
		{"record written, nothing else", []string{HashesFile, CheckpointsFile, CheckpointFile}},
		{"hashes written, no checkpoint", []string{CheckpointsFile, CheckpointFile}},
		{"checkpoint kept, not replaced", []string{CheckpointFile}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			dir, vkey, l := newLog(t, 5)
			w := l.Head()
			before := t.TempDir()
			copyDir(t, dir, before)
			if err := l.Append(context.Background(), &Record{Event: Modtaget}); err != nil {
				t.Fatal(err)
			}
			for _, f := range s.keep {
				data, _ := os.ReadFile(filepath.Join(before, f))
				os.WriteFile(filepath.Join(dir, f), data, 0o640)
			}
			if v := mustVerify(t, dir, vkey); v.OK() || len(v.Altered()) != 0 {
				t.Fatalf("findings %v: want only crash findings", v.Findings)
			}
			if _, err := CheckWritable(dir, vkey, w); err != nil {
				t.Fatalf("crash debris refused: %v", err)
			}
		})
	}
	t.Run("torn last record", func(t *testing.T) {
		dir, vkey, l := newLog(t, 5)
		f, _ := os.OpenFile(filepath.Join(dir, RecordsFile), os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString(`{"seq":6,"time":"2016-01`)
		f.Close()
		if _, err := CheckWritable(dir, vkey, l.Head()); err != nil {
			t.Fatalf("a torn last record refused: %v", err)
		}
	})
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	for _, name := range []string{RecordsFile, HashesFile, CheckpointsFile, CheckpointFile} {
		data, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, name), data, 0o640); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzRecordSeq: the fast reading of a record's seq agrees with decoding
// the line.
func FuzzRecordSeq(f *testing.F) {
	f.Add([]byte(`{"seq":12,"time":"2016-01-22T06:00:00Z","event":"leveret"}`))
	f.Add([]byte(`{"seq":1,"seq":2}`))
	f.Add([]byte(`{"seq":007,"x":1}`))
	f.Add([]byte(`{"seq":-3,"x":1}`))
	f.Add([]byte(`{"seq":1e3,"x":1}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var r struct {
			Seq int64 `json:"seq"`
		}
		werr := json.Unmarshal(line, &r)
		got, err := recordSeq(line)
		if (err == nil) != (werr == nil) || err == nil && got != r.Seq {
			t.Fatalf("recordSeq(%q) = %d, %v; decoding gives %d, %v", line, got, err, r.Seq, werr)
		}
	})
}
