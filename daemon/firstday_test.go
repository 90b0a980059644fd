package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"leverance/compute"
	"leverance/config"
	"leverance/receipt"
)

// TestFirstDayStatus: a new installation, no extract ever. The first start
// writes the log's first record (startet), and from then the public lines
// follow the clock: nothing before the deadline, "forsinket" at deadline
// + 30 s, "leveres ikke i dag" after the cutoff. A second start writes no
// second startet record.
func TestFirstDayStatus(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf("state_dir = %q\n[sftp_server]\nlisten = \"\"\n[http]\nlisten = \"\"\n", dir)+vendorsTOML), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	clock := NewFakeClock(at(2016, 1, 21, 6, 30))
	start := func() (*Engine, func()) {
		ctx, stop := context.WithCancel(context.Background())
		ready := make(chan *Engine, 1)
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, RunOptions{Options: Options{Config: cfg, Clock: clock, Version: "t", Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
				Ready: func(e *Engine, _ net.Addr) { ready <- e }})
		}()
		select {
		case e := <-ready:
			return e, func() { stop(); <-done }
		case err := <-done:
			t.Fatalf("Run: %v", err)
		case <-time.After(30 * time.Second):
			t.Fatal("not ready within 30 s")
		}
		return nil, nil
	}
	e, stop := start()
	daily := func(now time.Time) string {
		clock.Set(now)
		st, err := e.Status()
		if err != nil {
			t.Fatal(err)
		}
		return st.Daily
	}
	if got := daily(at(2016, 1, 21, 7, 59)); got != "" {
		t.Errorf("before the deadline: %q", got)
	}
	if got := daily(at(2016, 1, 21, 8, 0).Add(30 * time.Second)); got != "Daglige data er forsinket" {
		t.Errorf("deadline + 30 s: %q", got)
	}
	if got := daily(at(2016, 1, 21, 9, 31)); got != "Daglige data leveres ikke i dag" {
		t.Errorf("after the cutoff: %q", got)
	}
	stop()
	_, stop = start()
	stop()
	recs, err := receipt.ReadRecords(filepath.Join(dir, "receipts"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range recs {
		if r.Event == receipt.Startet {
			n++
		}
	}
	if len(recs) == 0 || recs[0].Event != receipt.Startet || !recs[0].Time.Equal(at(2016, 1, 21, 6, 30)) || recs[0].Version != "t" || n != 1 {
		t.Fatalf("records %+v: want one startet record, the first, at the first start", recs)
	}
}

// TestSince: at the very first start Options.Since makes the daemon
// responsible from an earlier day (the weekly update of that Monday is
// published late, Monday's daily products are recorded udeladt); a later
// start ignores it.
func TestSince(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(fmt.Sprintf("state_dir = %q\n", dir)+vendorsTOML), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, cfg: cfg, clock: NewFakeClock(at(2016, 1, 27, 10, 0)), sink: &memSink{}} // Wednesday
	newEngine := func(since compute.Date) {
		e, err := New(Options{Config: cfg, Clock: h.clock, Sink: h.sink, Version: "t", Since: since,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		h.e = e
	}
	newEngine(compute.MkDate(2016, 1, 25))
	h.drop("registreringer_20160124.csv", "registreringer_20160124.csv")
	h.tick(at(2016, 1, 27, 10, 0))
	weekly, omitted := 0, 0
	for _, r := range h.sink.events(receipt.Leveret) {
		if r.Product == "ugeopdatering" && r.Day == "2016-01-25" && r.Outcome == "forsinket" {
			weekly++
		}
	}
	for _, r := range h.sink.events(receipt.Udeladt) {
		if r.Day == "2016-01-25" {
			omitted++
		}
	}
	if weekly == 0 || omitted == 0 {
		t.Fatalf("since Monday: %d late weekly deliveries, %d omitted daily slots of Monday", weekly, omitted)
	}
	if h.e.state.Since != "20160125" {
		t.Errorf("since %q", h.e.state.Since)
	}
	newEngine(compute.MkDate(2016, 1, 4))
	if h.e.state.Since != "20160125" {
		t.Errorf("a later start moved since to %q", h.e.state.Since)
	}
}
