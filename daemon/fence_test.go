package daemon

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"leverance/config"
	"leverance/receipt"
)

// fenceGate is a fence hook that passes while open and records the steps.
type fenceGate struct {
	mu     sync.Mutex
	closed bool
	steps  []string
}

var errFenced = errors.New("not the leader (test)")

func (g *fenceGate) fence(step string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.steps = append(g.steps, step)
	if g.closed {
		return errFenced
	}
	return nil
}

// TestFenceRefusesEveryStep: an engine of a cluster node (Options.Fence,
// the journal's fence) whose leadership check fails changes nothing in the
// shared state: no extract accepted or quarantined, no file published (no
// temporary file left either), no state saved, nothing removed by
// retention, no receipt appended. While the check passes, every kind of
// step is checked, and every receipt names the node.
func TestFenceRefusesEveryStep(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte("state_dir = \""+dir+"\"\nretention_days = 1\noutbox_retention_days = 1\n"+vendorsTOML), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	gate := &fenceGate{}
	clock := NewFakeClock(at(2016, 1, 21, 0, 30))
	opt := Options{Config: cfg, Clock: clock, Version: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Fence: gate.fence, Node: "a"}
	if err := openJournal(&opt); err != nil {
		t.Fatal(err)
	}
	opt.Sink.(*journal).log.Fence = func(context.Context) error { return gate.fence("receipt") }
	e, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, cfg: cfg, clock: clock, e: e}
	h.drop("registreringer_20160120.csv", "registreringer_20160120.csv")
	h.tick(at(2016, 1, 21, 5, 0))
	h.wantSlot("daglig-opdatering/20160121/schultz-fasit", "leveret", Rettidig)
	kinds := strings.Join(gate.steps, "|")
	for _, k := range []string{"save state", "accept registreringer_20160120.csv", "commit daglig-opdatering/20160121/schultz-fasit", "receipt"} {
		if !strings.Contains(kinds, k) {
			t.Errorf("no fenced step %q among %v", k, gate.steps)
		}
	}
	recs, err := receipt.ReadRecords(filepath.Join(dir, "receipts"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Node != "a" {
			t.Errorf("receipt %d (%s) names node %q, want a", r.Seq, r.Event, r.Node)
		}
	}

	// The lease is gone: nothing may change from here on.
	gate.mu.Lock()
	gate.closed = true
	gate.mu.Unlock()
	before := snapshotTree(t, dir)
	name := "registreringer_20160121.csv"
	data, _ := os.ReadFile(filepath.Join("..", "testdata", "basic", name))
	for n, d := range map[string][]byte{name: data, "not-an-extract.txt": []byte("x\n")} {
		if err := os.WriteFile(filepath.Join(dir, "inbox", n), d, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Accept(name); !errors.Is(err, errFenced) {
		t.Errorf("Accept without the lease: %v, want the fence's error", err)
	}
	if err := e.Accept("not-an-extract.txt"); !errors.Is(err, errFenced) {
		t.Errorf("a quarantine without the lease: %v, want the fence's error", err)
	}
	os.Remove(filepath.Join(dir, "inbox", name))
	os.Remove(filepath.Join(dir, "inbox", "not-an-extract.txt"))
	h.tick(at(2016, 1, 21, 7, 6)) // daglige-beskeder due: refused
	clock.Set(at(2016, 3, 1, 12, 0))
	e.Retain() // everything is past retention: refused
	if after := snapshotTree(t, dir); after != before {
		t.Errorf("the state directory changed without the lease:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// snapshotTree lists every file below dir (but the inbox and scratch)
// with its content's SHA-256, as one string to compare.
func snapshotTree(t *testing.T, dir string) string {
	t.Helper()
	var b bytes.Buffer
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "inbox" || rel == "scratch" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			b.WriteString(rel + "/\n")
			return nil
		}
		data, _ := os.ReadFile(p)
		sum := sha256.Sum256(data)
		b.WriteString(rel + " " + hex.EncodeToString(sum[:]) + "\n")
		return nil
	})
	return b.String()
}
