package compute_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"leverance/compute"
	"leverance/synth"
)

// TestPipelineMatchesReference: the parallel pipeline writes the same bytes
// as the straightforward single-goroutine evaluator (ComputeReference), for a
// generated population, sorted and shuffled, with a basis snapshot so that
// daglige-beskeder has NY, AENDRING and UDGAAET rows, on a Sunday so that
// ugeopdatering is due; with 1, 2 and 3 workers, chunks of 1 MiB and of a
// few kilobytes (many citizens cut by a chunk edge), and a memory limit so
// small that the shuffled extract's partitions are split again.
// LEVERANCE_LONG=1 uses 100,000 citizens instead of 20,000.
func TestPipelineMatchesReference(t *testing.T) {
	t.Parallel()
	n := 20000
	switch {
	case raceEnabled:
		n = 2000
	case os.Getenv("LEVERANCE_LONG") != "":
		n = 100000
	}
	asOf, basisDay := compute.MkDate(2016, 1, 24), compute.MkDate(2016, 1, 21)
	opt := synth.Options{Citizens: n, Seed: 7, AsOf: basisDay}
	basisData := generate(t, opt)
	opt.Day = int(asOf - basisDay)
	sorted := generate(t, opt)
	opt.Shuffle = true
	shuffled := generate(t, opt)
	cal := compute.NewCalendar(nil, nil)

	// The basis, by the reference and by the pipeline.
	snapJob := compute.Job{AsOf: basisDay, Calendar: cal, Snapshot: true}
	oc, err := compute.ComputeReference(bytes.NewReader(basisData), snapJob, nil)
	if err != nil {
		t.Fatal(err)
	}
	basis := oc.Snapshot
	if oc, err = compute.Compute(compute.SourceOf(basisData), snapJob, nil); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(oc.Snapshot) != fmt.Sprint(basis) {
		t.Fatal("the pipeline's snapshot differs from the reference's")
	}

	vendors := testVendors()
	job := compute.Job{AsOf: asOf, Calendar: cal, Vendors: vendors, Basis: map[string]*compute.Snapshot{}, Snapshot: true}
	for _, v := range vendors {
		if v.Name != "forste" {
			job.Basis[v.Name] = basis
		}
	}
	run := func(data []byte, j compute.Job) (*compute.Outcome, buffers) {
		t.Helper()
		bs := buffers{}
		oc, err := compute.Compute(compute.SourceOf(data), j, bs)
		if err != nil {
			t.Fatal(err)
		}
		return oc, bs
	}
	reference := func(data []byte) (*compute.Outcome, buffers) {
		t.Helper()
		bs := buffers{}
		oc, err := compute.ComputeReference(bytes.NewReader(data), job, bs)
		if err != nil {
			t.Fatal(err)
		}
		return oc, bs
	}
	wantOC, want := reference(sorted)
	if oc, bs := reference(shuffled); !sameFiles(want, bs) || fmt.Sprint(oc.Files) != fmt.Sprint(wantOC.Files) {
		t.Fatal("the reference gives other files for the shuffled extract")
	}
	checkFiles(t, asOf, wantOC, want)
	kinds := map[string]bool{}
	for name, b := range want {
		if strings.Contains(name, "daglige-beskeder") {
			for _, k := range []string{"NY", "AENDRING", "UDGAAET", "SAMTALE", "INDKALDELSE"} {
				if bytes.Contains(b.Bytes(), []byte(";"+k+";")) {
					kinds[k] = true
				}
			}
		}
	}
	if len(kinds) != 5 {
		t.Fatalf("daglige-beskeder has only %v rows: the population does not exercise the comparison", kinds)
	}

	for _, c := range []struct {
		name     string
		data     []byte
		buffered bool
		workers  int
		chunk    int
		limit    int64
	}{
		{"sorted", sorted, false, 2, 0, 0},
		{"sorted, 1 worker", sorted, false, 1, 0, 0},
		{"sorted, 3 workers, small chunks", sorted, false, 3, 9000, 0},
		{"sorted, buffered", sorted, true, 2, 0, 0},
		{"shuffled", shuffled, true, 2, 0, 0},
		{"shuffled, small chunks, partitions split", shuffled, true, 3, 9000, 256 << 10},
	} {
		t.Run(c.name, func(t *testing.T) {
			j := job
			j.Buffered, j.Workers, j.MemoryLimit = c.buffered, c.workers, c.limit
			j.Tuning.ChunkSize = c.chunk
			oc, got := run(c.data, j)
			if !sameFiles(want, got) {
				for name, b := range want {
					if !bytes.Equal(b.Bytes(), got[name].Bytes()) {
						t.Errorf("%s differs from the reference's", name)
					}
				}
				t.FailNow()
			}
			if fmt.Sprint(oc.Files) != fmt.Sprint(wantOC.Files) || oc.Citizens != wantOC.Citizens || oc.NoPeriod != wantOC.NoPeriod {
				t.Errorf("outcome %+v, reference %+v", oc, wantOC)
			}
			if fmt.Sprint(oc.Snapshot) != fmt.Sprint(wantOC.Snapshot) {
				t.Error("the snapshot differs from the reference's")
			}
			if oc.Report.Rows != wantOC.Report.Rows || oc.Report.InvalidRows != 0 {
				t.Errorf("report %+v, reference %+v", oc.Report, wantOC.Report)
			}
		})
	}
	// Not told that it is shuffled, Compute finds out in a first pass and
	// makes a second, buffered one.
	if oc, got := run(shuffled, job); oc.Passes != 2 || !sameFiles(want, got) {
		t.Errorf("the shuffled extract, not said to be: %d passes, same files: %v", oc.Passes, sameFiles(want, got))
	}
}

func sameFiles(a, b buffers) bool {
	if len(a) != len(b) {
		return false
	}
	for name, x := range a {
		if y := b[name]; y == nil || !bytes.Equal(x.Bytes(), y.Bytes()) {
			return false
		}
	}
	return true
}

// TestPipelineRepeatedIDs: ids that repeat are found at the end. Rejected,
// the report is the reference's word for word; accepted within the
// tolerance, Compute makes a third pass that leaves the rows out, and then
// writes what the reference writes.
func TestPipelineRepeatedIDs(t *testing.T) {
	t.Parallel()
	asOf := compute.MkDate(2016, 1, 24)
	data := generate(t, synth.Options{Citizens: 300, Seed: 3, AsOf: asOf})
	lines := strings.Split(string(data), "\n")
	// Lines 40 and 41 (1-based) repeat the id of line 10; line 2000 also
	// has a bad kommune.
	id := func(l int) string { return strings.SplitN(lines[l-1], ";", 2)[0] }
	for _, l := range []int{40, 41, 2000} {
		lines[l-1] = id(10) + lines[l-1][len(id(l)):]
	}
	f := strings.Split(lines[1999], ";")
	f[3] = "999"
	lines[1999] = strings.Join(f, ";")
	bad := []byte(strings.Join(lines, "\n"))
	cal := compute.NewCalendar(nil, nil)
	for _, tolerance := range []int{0, 2, 3} {
		t.Run(fmt.Sprint("tolerance ", tolerance), func(t *testing.T) {
			job := compute.Job{AsOf: asOf, Calendar: cal, Vendors: testVendors(), Reader: compute.ReaderOptions{MaxRejectedRows: tolerance}}
			want := buffers{}
			roc, rerr := compute.ComputeReference(bytes.NewReader(bad), job, want)
			// The first pass finds one id hash twice; the second the rows
			// with that id, which complete the report of a rejected extract
			// or, within the tolerance, call for a third pass without them.
			got := buffers{}
			oc, err := compute.Compute(compute.SourceOf(bad), job, got)
			if want := map[bool]int{false: 2, true: 3}[tolerance >= 3]; oc.Passes != want {
				t.Errorf("%d passes, want %d", oc.Passes, want)
			}
			if fmt.Sprint(err) != fmt.Sprint(rerr) {
				t.Fatalf("error %v, reference %v", err, rerr)
			}
			var a, b bytes.Buffer
			roc.Report.WriteTo(&a)
			oc.Report.WriteTo(&b)
			if a.String() != b.String() {
				t.Fatalf("report:\n%s\nreference:\n%s", &b, &a)
			}
			if rerr == nil && !sameFiles(want, got) {
				t.Error("the files differ from the reference's")
			}
			if !strings.Contains(a.String(), "line 40, column id: repeats the id of line 10") {
				t.Errorf("the report does not name both lines:\n%s", &a)
			}
		})
	}
}

// TestPipelineBadInputMatchesReference: for broken extracts the pipeline
// gives the reference's verdict and report, word for word, also when the
// problem lies at a chunk edge or a line is longer than a chunk.
func TestPipelineBadInputMatchesReference(t *testing.T) {
	t.Parallel()
	asOf := compute.MkDate(2016, 1, 24)
	good := string(generate(t, synth.Options{Citizens: 200, Seed: 5, AsOf: asOf}))
	lines := strings.SplitAfter(good, "\n")
	n := len(lines) - 1 // the last element is ""
	with := func(f func(l []string) []string) string {
		return strings.Join(f(append([]string(nil), lines...)), "")
	}
	long := strings.Repeat("x", 20000) + "\n"
	id := func(line string) string { return line[:strings.IndexByte(line, ';')] }
	var gzBuf bytes.Buffer
	gzBuf.Write(gzipped(t, []byte(good)))
	truncGz := gzBuf.Bytes()[:gzBuf.Len()/2]
	cases := []struct {
		name      string
		text      string
		gz        []byte
		tolerance int
	}{
		{"valid", good, nil, 0},
		{"no trailer", with(func(l []string) []string { return l[:n-1] }), nil, 0},
		{"wrong trailer", with(func(l []string) []string { l[n-1] = "SLUT;7\n"; return l }), nil, 0},
		{"data after the trailer", good + lines[5], nil, 0},
		{"empty line after the trailer", good + "\n", nil, 0},
		{"bad UTF-8", with(func(l []string) []string { l[1500] = "\xff" + l[1500]; return l }), nil, 0},
		{"invalid rows", with(func(l []string) []string {
			l[100] = strings.Replace(l[100], ";", ";;", 1)
			l[2999] = "x\n"
			return l
		}), nil, 0},
		{"invalid rows tolerated", with(func(l []string) []string {
			l[100] = strings.Replace(l[100], ";", ";;", 1)
			l[2999] = "x\n"
			return l
		}), nil, 2},
		{"long lines tolerated", with(func(l []string) []string { l[700], l[701] = long, long; return l }), nil, 2},
		{"long last line", with(func(l []string) []string { l[n-1] = strings.TrimSuffix(long, "\n"); return l }), nil, 1},
		{"CRLF and a BOM", "\uFEFF" + strings.ReplaceAll(good, "\n", "\r\n"), nil, 0},
		{"no line end at the end", strings.TrimSuffix(good, "\n"), nil, 0},
		{"unsorted", with(func(l []string) []string { l[1000], l[3000] = l[3000], l[1000]; return l }), nil, 0},
		{"repeated id", with(func(l []string) []string { l[40] = id(l[10]) + l[40][len(id(l[40])):]; return l }), nil, 0},
		{"repeated id tolerated", with(func(l []string) []string { l[40] = id(l[10]) + l[40][len(id(l[40])):]; return l }), nil, 1},
		{"truncated gzip", "", truncGz, 0},
	}
	cal := compute.NewCalendar(nil, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Streamed, buffered, and only validated (in any order).
			for _, mode := range []string{"streamed", "buffered", "validated"} {
				job := compute.Job{AsOf: asOf, Calendar: cal, Vendors: testVendors(), Buffered: mode == "buffered",
					ValidateOnly: mode == "validated", Reader: compute.ReaderOptions{MaxRejectedRows: c.tolerance},
					Tuning: compute.Tuning{ChunkSize: 9000}}
				open := func() (io.Reader, error) {
					if c.gz != nil {
						return compute.Decompress(bytes.NewReader(c.gz), true, 0)
					}
					return strings.NewReader(c.text), nil
				}
				r, err := open()
				if err != nil {
					t.Fatal(err)
				}
				want, got := buffers{}, buffers{}
				roc, rerr := compute.ComputeReference(r, job, want)
				oc, err := compute.Compute(open, job, got)
				if fmt.Sprint(err) != fmt.Sprint(rerr) {
					t.Fatalf("%s: %v, reference %v", mode, err, rerr)
				}
				var a, b bytes.Buffer
				roc.Report.WriteTo(&a)
				oc.Report.WriteTo(&b)
				if a.String() != b.String() {
					t.Fatalf("%s: report\n%s\nreference\n%s", mode, &b, &a)
				}
				if err == nil && !sameFiles(want, got) {
					t.Fatalf("%s: the files differ from the reference's", mode)
				}
				if mode == "validated" && (len(got) > 0 || oc.Report.Rows == 0 && err == nil) {
					t.Fatalf("validated: %d files, %d rows", len(got), oc.Report.Rows)
				}
			}
		})
	}
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestColumnOrder: an extract whose header names the columns in another
// order gives the same files, from the pipeline (which reorders each line
// and then may not point into it) and from the reference, sorted and
// shuffled, valid rows and invalid ones alike.
func TestColumnOrder(t *testing.T) {
	t.Parallel()
	asOf := compute.MkDate(2016, 1, 24)
	data := string(generate(t, synth.Options{Citizens: 500, Seed: 11, AsOf: asOf}))
	lines := strings.SplitAfter(data, "\n")
	lines[200] = strings.Replace(lines[200], ";", ";;", 1) // an invalid row
	lines[201] = "x;" + lines[201]                         // and another
	data = strings.Join(lines, "")
	order := []int{8, 3, 0, 7, 1, 6, 2, 5, 4} // new field i is old field order[i]
	var b strings.Builder
	for _, l := range strings.SplitAfter(data, "\n") {
		body := strings.TrimSuffix(l, "\n")
		f := strings.Split(body, ";")
		if len(f) != len(order) {
			b.WriteString(l) // the trailer, the invalid rows, the end
			continue
		}
		for i, o := range order {
			if i > 0 {
				b.WriteByte(';')
			}
			b.WriteString(f[o])
		}
		b.WriteString(l[len(body):])
	}
	reordered := b.String()
	if reordered == data {
		t.Fatal("nothing reordered")
	}
	cal := compute.NewCalendar(nil, nil)
	for _, seq := range []bool{false, true} {
		job := compute.Job{AsOf: asOf, Calendar: cal, Vendors: testVendors(), Reader: compute.ReaderOptions{MaxRejectedRows: 2}}
		run := func(text string, out compute.Output) (*compute.Outcome, error) {
			if seq {
				return compute.ComputeReference(strings.NewReader(text), job, out)
			}
			return compute.Compute(compute.SourceOfString(text), job, out)
		}
		want, got := buffers{}, buffers{}
		if _, err := run(data, want); err != nil {
			t.Fatal(err)
		}
		oc, err := run(reordered, got)
		if err != nil {
			t.Fatal(err)
		}
		if !sameFiles(want, got) || len(got) == 0 {
			t.Errorf("sequential %v: the files differ from those of the usual column order", seq)
		}
		if oc.Report.InvalidRows != 2 {
			t.Errorf("sequential %v: %d invalid rows, want 2", seq, oc.Report.InvalidRows)
		}
	}
}
