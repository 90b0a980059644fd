package daemon

import (
	"io"
	"log/slog"
	"testing"

	"leverance/receipt"
)

// TestReconcileReceipts: receipts lost by a crash between a step and its
// receipt are written at the next start, once, from the state.
func TestReconcileReceipts(t *testing.T) {
	h := newHarness(t, at(2016, 1, 22, 0, 30), "")
	h.drop("registreringer_20160121.csv", "registreringer_20160121.csv")
	h.dropData("notes.txt", []byte("not an extract"))
	h.tick(at(2016, 1, 22, 9, 31)) // daglig-opdatering delivered late, messages omitted
	full := len(h.sink.recs)
	count := func(recs []receipt.Record) map[string]int {
		c := map[string]int{}
		for _, r := range recs {
			c[r.Event]++
		}
		return c
	}
	want := count(h.sink.recs)
	if want[receipt.Leveret] == 0 || want[receipt.Udeladt] == 0 || want[receipt.Afvist] == 0 {
		t.Fatalf("the day should have every kind of receipt: %v", want)
	}

	// The crash lost every receipt after the first.
	lost := &memSink{recs: append([]receipt.Record(nil), h.sink.recs[:1]...)}
	restart := func() {
		e, err := New(Options{Config: h.cfg, Clock: h.clock, Sink: lost, Version: "test",
			Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
			Records: func() ([]receipt.Record, error) { return append([]receipt.Record(nil), lost.recs...), nil }})
		if err != nil {
			t.Fatal(err)
		}
		h.e = e
	}
	restart()
	got := count(lost.recs)
	for _, ev := range []string{receipt.Modtaget, receipt.Beregnet, receipt.Leveret, receipt.Udeladt, receipt.Afvist} {
		if got[ev] != want[ev] {
			t.Errorf("%s: %d receipts after the repair, want %d", ev, got[ev], want[ev])
		}
	}
	if len(lost.recs) != full {
		t.Errorf("%d receipts after the repair, want %d", len(lost.recs), full)
	}
	// A second start adds nothing.
	restart()
	if len(lost.recs) != full {
		t.Errorf("a second start added receipts: %d, want %d", len(lost.recs), full)
	}
}
