package compute_test

// Benchmarks over a synthetic extract of 100,000 citizens (about 2.5
// million rows, 180 MB), generated once per process and only when a
// benchmark runs:
//
//	go test -run='^$' -bench=. -benchmem ./compute/

import (
	"bytes"
	"io"
	"sync"
	"testing"

	"leverance/compute"
	"leverance/synth"
)

var bench struct {
	once  sync.Once
	asOf  compute.Date
	data  []byte            // the extract as of asOf, sorted
	shuf  []byte            // the same rows, shuffled
	basis *compute.Snapshot // the snapshot of the day before
	err   error
}

// benchInput generates the extract of a Sunday (so every product is due)
// and the basis snapshot of the Saturday before it.
func benchInput(b *testing.B) {
	bench.once.Do(func() {
		bench.asOf = compute.MkDate(2016, 1, 24)
		opt := synth.Options{Citizens: 100000, Seed: 1, AsOf: bench.asOf, Day: -1}
		var buf bytes.Buffer
		if bench.err = synth.Generate(&buf, opt); bench.err != nil {
			return
		}
		job := compute.Job{AsOf: bench.asOf - 1, Snapshot: true}
		oc, err := compute.Compute(compute.SourceOf(buf.Bytes()), job, nil)
		if bench.err = err; err != nil {
			return
		}
		bench.basis = oc.Snapshot
		buf = bytes.Buffer{}
		opt.Day = 0
		if bench.err = synth.Generate(&buf, opt); bench.err != nil {
			return
		}
		bench.data = buf.Bytes()
		var shuf bytes.Buffer
		opt.Shuffle = true
		bench.err = synth.Generate(&shuf, opt)
		bench.shuf = shuf.Bytes()
	})
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	b.SetBytes(int64(len(bench.data)))
	b.ResetTimer()
}

// BenchmarkParse reads and validates the extract (docs/formats.md#input-registration-extracts) without computing.
func BenchmarkParse(b *testing.B) {
	benchInput(b)
	for b.Loop() {
		if _, err := compute.Compute(compute.SourceOf(bench.data), compute.Job{AsOf: bench.asOf, ValidateOnly: true}, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseReference is BenchmarkParse with the tests'
// one-line-at-a-time reference reader.
func BenchmarkParseReference(b *testing.B) {
	benchInput(b)
	for b.Loop() {
		rd, err := compute.NewReader(bytes.NewReader(bench.data), compute.ReaderOptions{AsOf: bench.asOf})
		for err == nil {
			_, err = rd.Next()
		}
		if err != io.EOF {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompute100k computes every product for three vendors (one serving
// every municipality, two serving a part), with a basis snapshot, streaming
// the sorted extract with the parallel pipeline; the files go to io.Discard
// (but are hashed).
func BenchmarkCompute100k(b *testing.B) { benchCompute(b, false) }

// BenchmarkCompute100kShuffled is BenchmarkCompute100k with the rows
// shuffled: partitioned in memory (no Scratch) and sorted back.
func BenchmarkCompute100kShuffled(b *testing.B) { benchCompute(b, false, true) }

// BenchmarkCompute100kSequential is BenchmarkCompute100k with the tests'
// single-goroutine reference (ComputeReference).
func BenchmarkCompute100kSequential(b *testing.B) { benchCompute(b, true) }

func benchCompute(b *testing.B, sequential bool, shuffled ...bool) {
	benchInput(b)
	all := compute.Products()
	vendors := []compute.Vendor{
		{Name: "alle", All: true, Products: all},
		{Name: "hovedstaden", Kommuner: vendorSet(101, 147, 151, 153, 155, 157, 159, 161, 163, 165, 167, 169, 173, 175), Products: all},
		{Name: "jylland", Kommuner: vendorSet(607, 615, 621, 630, 657, 661, 665, 671, 706, 707, 710, 727, 730, 740, 741, 746, 751, 756, 760, 766, 773, 779, 787, 791, 810, 813, 820, 825, 840, 846, 849, 851, 860), Products: all},
	}
	job := compute.Job{AsOf: bench.asOf, Calendar: compute.NewCalendar(nil, nil), Vendors: vendors, Basis: map[string]*compute.Snapshot{}}
	for _, v := range vendors {
		job.Basis[v.Name] = bench.basis
	}
	data := bench.data
	if len(shuffled) > 0 {
		data, job.Buffered = bench.shuf, true
	}
	var out discardOutput
	for b.Loop() {
		var oc *compute.Outcome
		var err error
		if sequential {
			oc, err = compute.ComputeReference(bytes.NewReader(bench.data), job, out)
		} else {
			oc, err = compute.Compute(compute.SourceOf(data), job, out)
		}
		if err != nil {
			b.Fatal(err)
		}
		if len(oc.Files) != 9 {
			b.Fatalf("%d files, want 9", len(oc.Files))
		}
	}
}

// discardOutput is an Output whose files go to io.Discard.
type discardOutput struct{}

func (discardOutput) Create(string, compute.Product, string) (io.Writer, error) {
	return io.Discard, nil
}

func (discardOutput) Discard() {}
