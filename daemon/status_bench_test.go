package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"leverance/config"
	"leverance/receipt"
)

// BenchmarkStatus derives the status from a receipts log of 1,000 and of
// 1,000,000 records (the log is read once, before the timer): a request
// costs the same however long the log is (docs/performance.md).
func BenchmarkStatus(b *testing.B) {
	for _, n := range []int{1000, 1000000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			e := statusEngine(b, n)
			if _, err := e.Status(); err != nil { // reads the log into the index
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.Status(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// statusEngine is an engine whose status is read from a receipts log of n
// records: a year of deliveries and fetches for four vendors, repeated.
func statusEngine(b *testing.B, n int) *Engine {
	b.Helper()
	dir := b.TempDir()
	cfg, err := config.Parse([]byte("state_dir = \""+dir+"\"\n"+vendorsTOML), "bench.toml")
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(dir, "receipts.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	day := time.Date(2016, 1, 4, 5, 30, 0, 0, time.UTC)
	vendors := []string{"kmd-opera", "kmd-workbase", "schultz-fasit", "alle"}
	for i := range n {
		d := day.AddDate(0, 0, (i/8)%365)
		r := receipt.Record{Seq: int64(i + 1), Time: d, Event: receipt.Leveret, Product: "daglige-beskeder",
			Day: d.Format("2006-01-02"), Vendor: vendors[i%4], File: "daglige-beskeder_x.csv", Outcome: Rettidig}
		if i%2 == 1 {
			r.Event, r.Product, r.Outcome = receipt.Hentet, "", ""
		}
		line, _ := json.Marshal(r)
		w.Write(append(line, '\n'))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	e, err := New(Options{Config: cfg, Clock: NewFakeClock(day.AddDate(1, 0, 0)), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewRecords: (&logTail{path: path}).next})
	if err != nil {
		b.Fatal(err)
	}
	return e
}
