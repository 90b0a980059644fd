package daemon

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"leverance/config"
	"leverance/transfer"
)

// TestStrayTempsRemovedAtStart: a publication killed after staging its file
// but before saving the intent leaves a temporary file that nothing would
// commit; the next start removes it (and a stray checkpoint.txt temporary),
// keeps the temporary files an unfinished intent names, and leaves other
// names alone. Found by TestE2ECrash (kill -9 in the binary).
func TestStrayTempsRemovedAtStart(t *testing.T) {
	h := newHarness(t, at(2016, 1, 22, 0, 30), "")
	h.drop("registreringer_20160121.csv", "registreringer_20160121.csv")
	h.clock.Set(at(2016, 1, 22, 7, 0))
	key := "daglige-beskeder/20160122/kmd-opera"
	h.e.outboxes["kmd-opera"] = failingCommit{h.e.outboxes["kmd-opera"]}
	h.e.Tick() // the intent stays, its files staged
	in := h.e.Snapshot().Intents[sk(key)]
	if in == nil {
		t.Fatal("no intent left behind")
	}
	opera, alle := filepath.Join(h.dir, "outbox", "kmd-opera"), filepath.Join(h.dir, "outbox", "alle")
	strays := []string{
		filepath.Join(opera, transfer.TempName("daglige-beskeder_20160122.csv")),
		filepath.Join(alle, transfer.TempName("checkpoint.txt")),
	}
	for _, p := range append(strays, filepath.Join(alle, ".keep-me")) {
		if err := os.WriteFile(p, []byte("partial"), 0o640); err != nil {
			t.Fatal(err)
		}
	}

	// A start whose recovery cannot commit (the intent stays): the intent's
	// files are kept, the strays go.
	e, err := New(Options{Config: h.cfg, Clock: h.clock, Sink: h.sink, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewOutbox: func(c *config.Config, v config.Vendor) (transfer.Outbox, error) {
			ob, err := LocalOutbox(c, v)
			return failingCommit{ob}, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	if e.Snapshot().Intents[sk(key)] == nil {
		t.Fatal("the intent was dropped")
	}
	for _, f := range in.Files {
		if _, err := os.Stat(filepath.Join(opera, f.Tmp)); err != nil {
			t.Errorf("a file of the unfinished intent was removed: %v", err)
		}
	}
	for _, p := range strays {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s left in the outbox", p)
		}
	}
	if _, err := os.Stat(filepath.Join(alle, ".keep-me")); err != nil {
		t.Errorf("a file that is not a temporary publish name was removed: %v", err)
	}

	// The next start finishes the intent: the outbox holds the delivery only.
	h.restart()
	h.wantSlot(key, "leveret", Rettidig)
	h.wantOutbox("kmd-opera", "daglige-beskeder_20160122.csv", "daglige-beskeder_20160122.csv.sha256")
}
