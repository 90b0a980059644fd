// Package outboxtest is the conformance suite that every transfer.Outbox
// implementation runs (in the manner of restic's backend test suite): the
// local directory and the SFTP push against a real OpenSSH server pass the
// same tests.
package outboxtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"leverance/transfer"
)

// Inspector looks at the outbox's directory from the side, as a vendor (or
// an earlier delivery) would: independent of the implementation under test.
type Inspector interface {
	// List returns every name in the directory, hidden ones too, sorted.
	List(t testing.TB) []string
	// Read returns a file's content.
	Read(t testing.TB, name string) []byte
	// Write puts a file there, as an earlier delivery would have.
	Write(t testing.TB, name string, data []byte)
}

// Factory returns a fresh, empty outbox and its inspector.
type Factory func(t *testing.T) (transfer.Outbox, Inspector)

// Run runs the suite.
func Run(t *testing.T, newOutbox Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, transfer.Outbox, Inspector)
	}{
		{"StageCommit", testStageCommit},
		{"CommitIdempotent", testCommitIdempotent},
		{"StagedInvisible", testStagedInvisible},
		{"Discard", testDiscard},
		{"ExistsDifferent", testExistsDifferent},
		{"Exists", testExists},
		{"BigFile", testBigFile},
		{"Readers", testReaders},
		{"Concurrent", testConcurrent},
		{"Replace", testReplace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ob, in := newOutbox(t)
			tc.fn(t, ob, in)
		})
	}
}

var ctx = context.Background()

func stage(t *testing.T, ob transfer.Outbox, name string, data []byte) string {
	t.Helper()
	tmp, err := ob.Stage(ctx, name, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Stage(%s): %v", name, err)
	}
	if !transfer.IsTemporary(tmp) {
		t.Fatalf("Stage returned %q, not a temporary name", tmp)
	}
	return tmp
}

func wantList(t *testing.T, in Inspector, want ...string) {
	t.Helper()
	got := in.List(t)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("directory holds %q, want %q", got, want)
	}
}

func testStageCommit(t *testing.T, ob transfer.Outbox, in Inspector) {
	data := []byte("cpr;kommune\n0101010101;101\n")
	tmp := stage(t, ob, "a.csv", data)
	wantList(t, in, tmp)
	if err := ob.Commit(ctx, tmp, "a.csv"); err != nil {
		t.Fatal(err)
	}
	wantList(t, in, "a.csv")
	if got := in.Read(t, "a.csv"); !bytes.Equal(got, data) {
		t.Fatalf("content %q, want %q", got, data)
	}
}

func testCommitIdempotent(t *testing.T, ob transfer.Outbox, in Inspector) {
	data := []byte("x;y\n")
	tmp := stage(t, ob, "b.csv", data)
	for i := 0; i < 3; i++ {
		if err := ob.Commit(ctx, tmp, "b.csv"); err != nil {
			t.Fatalf("commit %d: %v", i+1, err)
		}
	}
	wantList(t, in, "b.csv")
	if got := in.Read(t, "b.csv"); !bytes.Equal(got, data) {
		t.Fatalf("content %q, want %q", got, data)
	}
}

func testStagedInvisible(t *testing.T, ob transfer.Outbox, in Inspector) {
	tmp := stage(t, ob, "c.csv", []byte("staged"))
	if ok, err := ob.Exists(ctx, "c.csv"); err != nil || ok {
		t.Fatalf("Exists(final name) of a staged file = %v, %v; want false", ok, err)
	}
	if ok, err := ob.Exists(ctx, tmp); err != nil || !ok {
		t.Fatalf("Exists(tmp) = %v, %v; want true", ok, err)
	}
	for _, n := range in.List(t) {
		if !transfer.IsTemporary(n) {
			t.Fatalf("a vendor would see %q listed before the commit", n)
		}
	}
}

func testDiscard(t *testing.T, ob transfer.Outbox, in Inspector) {
	tmp := stage(t, ob, "d.csv", []byte("discard me"))
	if err := ob.Discard(ctx, tmp); err != nil {
		t.Fatal(err)
	}
	wantList(t, in)
	if err := ob.Discard(ctx, tmp); err != nil {
		t.Fatalf("second Discard: %v", err)
	}
}

func testExistsDifferent(t *testing.T, ob transfer.Outbox, in Inspector) {
	old := []byte("delivered yesterday")
	in.Write(t, "e.csv", old)
	tmp := stage(t, ob, "e.csv", []byte("a new, different file"))
	err := ob.Commit(ctx, tmp, "e.csv")
	if !errors.Is(err, transfer.ErrExists) {
		t.Fatalf("Commit onto an existing file: %v, want ErrExists", err)
	}
	if c := transfer.Class(err); c != transfer.ClassExists || !transfer.Permanent(err) {
		t.Fatalf("class %q permanent %v, want exists, true", c, transfer.Permanent(err))
	}
	if got := in.Read(t, "e.csv"); !bytes.Equal(got, old) {
		t.Fatalf("the delivered file was replaced by %q", got)
	}
	wantList(t, in, "e.csv", tmp)
	if err := ob.Discard(ctx, tmp); err != nil {
		t.Fatal(err)
	}
	wantList(t, in, "e.csv")
}

func testExists(t *testing.T, ob transfer.Outbox, in Inspector) {
	if ok, err := ob.Exists(ctx, "f.csv"); err != nil || ok {
		t.Fatalf("Exists(missing) = %v, %v", ok, err)
	}
	in.Write(t, "f.csv", []byte("here"))
	if ok, err := ob.Exists(ctx, "f.csv"); err != nil || !ok {
		t.Fatalf("Exists(present) = %v, %v", ok, err)
	}
}

func testBigFile(t *testing.T, ob transfer.Outbox, in Inspector) {
	data := make([]byte, 8<<20+12345)
	rand.Read(data)
	// From an *os.File, as the daemon hands it over.
	p := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tmp, err := ob.Stage(ctx, "big.csv", f)
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Commit(ctx, tmp, "big.csv"); err != nil {
		t.Fatal(err)
	}
	wantList(t, in, "big.csv")
	if got := in.Read(t, "big.csv"); sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatalf("content differs: %d bytes, want %d", len(got), len(data))
	}
}

// testReaders stages from a reader of unknown size and from a file whose
// offset is not at the start.
func testReaders(t *testing.T, ob transfer.Outbox, in Inspector) {
	data := make([]byte, 300<<10+7)
	rand.Read(data)
	pr, pw := io.Pipe()
	go func() {
		for b := data; len(b) > 0; {
			n := min(len(b), 1000)
			pw.Write(b[:n])
			b = b[n:]
		}
		pw.Close()
	}()
	tmp, err := ob.Stage(ctx, "pipe.csv", pr)
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Commit(ctx, tmp, "pipe.csv"); err != nil {
		t.Fatal(err)
	}
	if got := in.Read(t, "pipe.csv"); !bytes.Equal(got, data) {
		t.Fatalf("pipe: %d bytes, want %d", len(got), len(data))
	}

	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, data, 0o600)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Seek(1000, io.SeekStart)
	tmp, err = ob.Stage(ctx, "seeked.csv", f)
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Commit(ctx, tmp, "seeked.csv"); err != nil {
		t.Fatal(err)
	}
	if got := in.Read(t, "seeked.csv"); !bytes.Equal(got, data[1000:]) {
		t.Fatalf("file from offset 1000: %d bytes, want %d", len(got), len(data)-1000)
	}
	wantList(t, in, "pipe.csv", "seeked.csv")
}

func testConcurrent(t *testing.T, ob transfer.Outbox, in Inspector) {
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	var want []string
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("par-%d.csv", i)
		want = append(want, name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := bytes.Repeat([]byte(name), 10000)
			tmp, err := ob.Stage(ctx, name, bytes.NewReader(data))
			if err == nil {
				err = ob.Commit(ctx, tmp, name)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	wantList(t, in, want...)
	for _, name := range want {
		if got := in.Read(t, name); !bytes.Equal(got, bytes.Repeat([]byte(name), 10000)) {
			t.Fatalf("%s: wrong content", name)
		}
	}
}

// DirInspector inspects an outbox that is a directory on this machine (a
// local outbox, or the directory a loopback sshd writes to). Files it
// writes are readable by everyone, like a delivered file seen by sshd.
type DirInspector string

// List implements Inspector.
func (d DirInspector) List(t testing.TB) []string {
	t.Helper()
	ents, err := os.ReadDir(string(d))
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// Read implements Inspector.
func (d DirInspector) Read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(string(d), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Write implements Inspector.
func (d DirInspector) Write(t testing.TB, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(string(d), name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testReplace: transfer.Replace (checkpoint.txt at every publication)
// replaces the file each time, leaving nothing else behind.
func testReplace(t *testing.T, ob transfer.Outbox, in Inspector) {
	for i := 1; i <= 3; i++ {
		data := []byte(fmt.Sprintf("checkpoint %d\n", i))
		if err := transfer.Replace(ctx, ob, "checkpoint.txt", data); err != nil {
			t.Fatalf("Replace %d: %v", i, err)
		}
		wantList(t, in, "checkpoint.txt")
		if got := in.Read(t, "checkpoint.txt"); !bytes.Equal(got, data) {
			t.Fatalf("after Replace %d: %q, want %q", i, got, data)
		}
	}
}
