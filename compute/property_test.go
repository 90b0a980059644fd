package compute_test

// Property tests over synthetic populations (package synth). They live in
// the external test package because synth imports compute; export_test.go
// exposes what they need of the unexported rules.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"testing"

	"leverance/compute"
	"leverance/synth"
)

func generate(t testing.TB, opt synth.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := synth.Generate(&b, opt); err != nil {
		t.Fatalf("synth.Generate: %v", err)
	}
	return b.Bytes()
}

// citizens reads a valid extract and groups its rows by cpr, in file order.
func citizens(t testing.TB, data []byte, asOf compute.Date) map[[10]byte][]compute.Row {
	t.Helper()
	rd, err := compute.NewReader(bytes.NewReader(data), compute.ReaderOptions{AsOf: asOf})
	if err != nil {
		t.Fatal(err)
	}
	by := map[[10]byte][]compute.Row{}
	for {
		r, err := rd.Next()
		if err == io.EOF {
			return by
		}
		if err != nil {
			t.Fatalf("synthetic extract rejected: %v", err)
		}
		by[r.CPR] = append(by[r.CPR], r)
	}
}

// period is P of docs/rules.md#cumulative-unemployment: the latest DAGPENGEPERIODE with fra ≤ A.
func period(rows []compute.Row, asOf compute.Date) compute.Date {
	p := compute.NoDate
	for _, r := range rows {
		if r.Type == compute.TypeDagpengeperiode && r.Fra <= asOf && (p == compute.NoDate || r.Fra > p) {
			p = r.Fra
		}
	}
	return p
}

// rate is the rate of docs/rules.md#cumulative-unemployment on day x, straight from the definition: the
// largest timer of the LEDIG rows covering x, or 0.
func rate(rows []compute.Row, x compute.Date) int64 {
	var m int64
	for _, r := range rows {
		if r.Type == compute.TypeLedig && r.Fra <= x && x <= r.Til && r.Timer > m {
			m = r.Timer
		}
	}
	return m
}

// TestPropertyCum: for every DP citizen with a dagpengeperiode, cum(d) never
// decreases; each day adds exactly that day's rate (overlaps never add up);
// it is 0 before P; cum(A) is what Evaluate reports; and reach finds the
// first day on which the sum gets to a threshold, also from a later day (as
// the activation deadline asks around the 30th and 50th birthdays).
func TestPropertyCum(t *testing.T) {
	t.Parallel()
	thresholds := []int64{7 * 3700, 7 * 16033, 7 * 22200, 7 * 48100, 7 * 96198, 7 * 256528, 7 * 6 * 16033}
	checked, n, seeds := 0, 1500, []int64{1, 2}
	if raceEnabled {
		n, seeds = 500, seeds[:1]
	}
	for _, seed := range seeds {
		asOf := compute.MkDate(2016, 1, 20)
		by := citizens(t, generate(t, synth.Options{Citizens: n, Seed: seed, AsOf: asOf}), asOf)
		for _, rows := range by {
			res := compute.Evaluate(rows, asOf, nil)
			if !res.InSnapshot || res.Group != compute.GroupDP || !res.HasCum {
				continue
			}
			checked++
			p := period(rows, asOf)
			c := compute.NewCumForTest(rows, p)
			if got := c.Sum(asOf); got != res.CumSum {
				t.Fatalf("seed %d, line %d: Sum(A) = %d, Evaluate's CumSum = %d", seed, rows[0].Line, got, res.CumSum)
			}
			last := asOf.AddDays(400)
			sums := map[compute.Date]int64{}
			prev := int64(0)
			for d := p - 5; d <= last; d++ {
				s := c.Sum(d)
				want := prev
				if d >= p {
					want += rate(rows, d)
				}
				if s < prev {
					t.Fatalf("seed %d, line %d: cum decreases on day %v: %d after %d", seed, rows[0].Line, d, s, prev)
				}
				if s != want {
					t.Fatalf("seed %d, line %d: Sum(%v) = %d, want %d (day's rate %d)", seed, rows[0].Line, d, s, want, rate(rows, d))
				}
				sums[d] = s
				prev = s
			}
			// reach against a scan of the sums, from P and from later days.
			for _, from := range []compute.Date{p, p + 17, asOf - 40, asOf} {
				if from < p {
					continue
				}
				for _, target := range thresholds {
					want := compute.NoDate
					for d := from; d <= last; d++ {
						if sums[d] >= target {
							want = d
							break
						}
					}
					got := c.Reach(from, target)
					switch {
					case want != compute.NoDate && got != want:
						t.Fatalf("seed %d, line %d: Reach(%v, %d) = %v, want %v", seed, rows[0].Line, from, target, got, want)
					case want == compute.NoDate && got != compute.NoDate && (got <= last || c.Sum(got) < target || c.Sum(got-1) >= target && got > from):
						t.Fatalf("seed %d, line %d: Reach(%v, %d) = %v, not the first day at the target", seed, rows[0].Line, from, target, got)
					}
				}
			}
		}
	}
	if checked < n*len(seeds)/3 {
		t.Fatalf("only %d DP citizens with a dagpengeperiode checked", checked)
	}
}

// buffers collects the product files that Compute writes.
// buffers is an Output that keeps the product files in memory.
type buffers = compute.Files

func vendorSet(codes ...uint16) map[uint16]bool {
	m := map[uint16]bool{}
	for _, k := range codes {
		m[k] = true
	}
	return m
}

// testVendors serve different sets of municipalities and take different
// products.
func testVendors() []compute.Vendor {
	all := compute.Products()
	jylland := vendorSet()
	for _, k := range synth.DefaultKommuner {
		if k >= 600 {
			jylland[k] = true
		}
	}
	return []compute.Vendor{
		{Name: "alle", All: true, Products: all},
		{Name: "kbh", Kommuner: vendorSet(101, 147), Products: []compute.Product{compute.DagligeBeskeder, compute.Ugeopdatering}},
		{Name: "jylland", Kommuner: jylland, Products: all},
		{Name: "forste", Kommuner: vendorSet(173, 175, 183, 185, 187, 190, 201), Products: []compute.Product{compute.DagligeBeskeder}},
		{Name: "opdatering", Kommuner: vendorSet(151, 153, 155, 157, 159, 161, 163, 165, 167, 169), Products: []compute.Product{compute.DagligOpdatering}},
	}
}

// TestPropertyShuffle: Compute gives byte-identical files whether the extract
// is sorted and streamed or shuffled and buffered, for every product and
// vendor, with a basis snapshot (also computed from a sorted and a shuffled
// extract: the same) so that daglige-beskeder holds every kind of row; and
// every FileSum describes exactly the bytes written (docs/formats.md#output-the-products).
func TestPropertyShuffle(t *testing.T) {
	t.Parallel()
	cal := compute.NewCalendar(nil, nil)
	n := 3000
	if raceEnabled {
		n = 1000
	}
	for _, c := range []struct {
		name    string
		asOf    compute.Date
		basis   compute.Date
		weekly  bool
		citizen int
	}{
		// The last delivered basis is Monday's (Tuesday's was not delivered).
		{"wednesday", compute.MkDate(2016, 1, 20), compute.MkDate(2016, 1, 18), false, n},
		// Easter Sunday: the weekly product is due; the basis is Wednesday.
		{"easter-sunday", compute.MkDate(2016, 3, 27), compute.MkDate(2016, 3, 23), true, n},
	} {
		t.Run(c.name, func(t *testing.T) {
			opt := synth.Options{Citizens: c.citizen, Seed: int64(c.asOf), AsOf: c.basis}
			basisSorted := generate(t, opt)
			opt.Shuffle = true
			basisShuffled := generate(t, opt)
			opt.Day = int(c.asOf - c.basis)
			shuffled := generate(t, opt)
			opt.Shuffle = false
			sorted := generate(t, opt)

			// The basis, from the sorted and from the shuffled extract.
			snapJob := compute.Job{AsOf: c.basis, Calendar: cal, Snapshot: true}
			oc, err := compute.Compute(compute.SourceOf(basisSorted), snapJob, nil)
			if err != nil {
				t.Fatal(err)
			}
			snap := oc.Snapshot
			snapJob.Buffered = true
			oc, err = compute.Compute(compute.SourceOf(basisShuffled), snapJob, nil)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(oc.Snapshot) != fmt.Sprint(snap) || len(snap.States) < c.citizen/2 {
				t.Fatalf("basis snapshots differ between sorted and shuffled input, or are too small (%d states)", len(snap.States))
			}

			vendors := testVendors()
			job := compute.Job{AsOf: c.asOf, Calendar: cal, Vendors: vendors, Basis: map[string]*compute.Snapshot{}}
			for _, v := range vendors {
				if v.Name != "forste" { // forste gets its first delivery
					job.Basis[v.Name] = snap
				}
			}
			run := func(data []byte, buffered bool) (*compute.Outcome, buffers, error) {
				job := job
				job.Buffered = buffered
				bs := buffers{}
				oc, err := compute.Compute(compute.SourceOf(data), job, bs)
				return oc, bs, err
			}
			ocSorted, want, err := run(sorted, false)
			if err != nil {
				t.Fatal(err)
			}
			checkFiles(t, c.asOf, ocSorted, want)
			for _, in := range []struct {
				name string
				data []byte
			}{{"shuffled", shuffled}, {"sorted, buffered", sorted}} {
				oc, got, err := run(in.data, true)
				if err != nil {
					t.Fatalf("%s: %v", in.name, err)
				}
				checkFiles(t, c.asOf, oc, got)
				if fmt.Sprint(oc.Files) != fmt.Sprint(ocSorted.Files) || oc.Citizens != ocSorted.Citizens || oc.NoPeriod != ocSorted.NoPeriod {
					t.Errorf("%s: outcome %+v, sorted %+v", in.name, oc, ocSorted)
				}
				for name, b := range want {
					if !bytes.Equal(got[name].Bytes(), b.Bytes()) {
						t.Errorf("%s: %s differs from the one of the sorted extract", in.name, name)
					}
				}
			}
			// Not told that it is shuffled, Compute finds out in a first
			// pass and makes a second, buffered one.
			if oc, got, err := run(shuffled, false); err != nil {
				t.Errorf("a shuffled extract, not said to be: %v", err)
			} else if oc.Passes != 2 || !sameFiles(got, want) {
				t.Errorf("a shuffled extract, not said to be: %d passes, same files: %v", oc.Passes, sameFiles(got, want))
			}

			// The test means something only if every kind of row occurs.
			kinds := map[string]int{}
			for name, b := range want {
				vendor, file, _ := strings.Cut(name, "/")
				lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
				kinds[file[:strings.IndexAny(file, "_")]] += len(lines) - 2
				for _, l := range lines[1 : len(lines)-1] {
					f := strings.Split(l, ";")
					switch {
					case strings.HasPrefix(file, "daglige-beskeder"):
						kinds["beskeder "+f[2]]++
						if vendor == "forste" && (f[2] == "NY" || f[2] == "AENDRING" || f[2] == "UDGAAET") {
							t.Errorf("first delivery to forste has a %s row", f[2])
						}
					case strings.HasPrefix(file, "ugeopdatering"):
						kinds["uge "+f[2]]++
					}
				}
			}
			need := []string{"daglig-opdatering", "daglige-beskeder",
				"beskeder NY", "beskeder INDKALDELSE", "beskeder SAMTALE", "beskeder AENDRING", "beskeder UDGAAET"}
			if c.weekly {
				need = append(need, "ugeopdatering", "uge A", "uge L")
			} else if kinds["ugeopdatering"] != 0 || len(want) != 7 {
				t.Errorf("%d files: want 7 and no ugeopdatering on a Wednesday", len(want))
			}
			for _, k := range need {
				if kinds[k] == 0 {
					t.Errorf("no %q rows: the population does not exercise it", k)
				}
			}
			t.Logf("rows: %v", kinds)
		})
	}
}

// checkFiles: every FileSum matches the bytes written: sha256, size, rows,
// name; each file is the product's header, rows sorted by cpr and the
// trailer SLUT;<rows>.
func checkFiles(t *testing.T, asOf compute.Date, oc *compute.Outcome, bs buffers) {
	t.Helper()
	if len(oc.Files) != len(bs) {
		t.Fatalf("%d FileSums for %d files written", len(oc.Files), len(bs))
	}
	for _, f := range oc.Files {
		b := bs[f.Vendor+"/"+f.Name]
		if b == nil {
			t.Fatalf("FileSum for %s/%s, which was not written", f.Vendor, f.Name)
		}
		sum := sha256.Sum256(b.Bytes())
		if f.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s/%s: SHA256 %s, but the bytes written hash to %x", f.Vendor, f.Name, f.SHA256, sum)
		}
		if f.Size != int64(b.Len()) {
			t.Errorf("%s/%s: Size %d, %d bytes written", f.Vendor, f.Name, f.Size, b.Len())
		}
		if f.Name != f.Product.FileName(asOf) || f.SumLine() != f.SHA256+"  "+f.Name+"\n" {
			t.Errorf("%s/%s: name or sum line wrong: %q", f.Vendor, f.Name, f.SumLine())
		}
		lines := strings.Split(b.String(), "\n")
		if lines[len(lines)-1] != "" {
			t.Fatalf("%s/%s: does not end in a line end", f.Vendor, f.Name)
		}
		lines = lines[:len(lines)-1]
		if lines[0] != f.Product.Header() {
			t.Errorf("%s/%s: header %q", f.Vendor, f.Name, lines[0])
		}
		if got, want := lines[len(lines)-1], "SLUT;"+strconv.Itoa(f.Rows); got != want || len(lines)-2 != f.Rows {
			t.Errorf("%s/%s: trailer %q, %d rows; FileSum.Rows %d", f.Vendor, f.Name, got, len(lines)-2, f.Rows)
		}
		data := lines[1 : len(lines)-1]
		if !sort.SliceIsSorted(data, func(i, j int) bool { return data[i][:10] < data[j][:10] }) {
			t.Errorf("%s/%s: rows not sorted by cpr", f.Vendor, f.Name)
		}
	}
}
