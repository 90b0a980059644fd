package synth

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"leverance/compute"
)

var asOf = compute.MkDate(2016, 1, 20) // a Wednesday

// size is a population size for a test, smaller under the race detector.
func size(n int) int {
	if raceEnabled {
		return n / 3
	}
	return n
}

func generate(t testing.TB, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Generate(&b, opt); err != nil {
		t.Fatalf("Generate(%+v): %v", opt, err)
	}
	return b.Bytes()
}

// readAll validates an extract with compute — any problem fails the test —
// and returns its rows, split here.
func readAll(t *testing.T, data []byte, a compute.Date) []compute.Row {
	t.Helper()
	src := func() (io.Reader, error) { return bytes.NewReader(data), nil }
	oc, err := compute.Compute(src, compute.Job{AsOf: a, ValidateOnly: true}, nil)
	if err != nil {
		t.Fatalf("extract rejected: %v\n%v", err, oc.Report.Problems)
	}
	ls := lines(data)
	if ls[0] != strings.Join(compute.Columns, ";") {
		t.Fatalf("header %q", ls[0])
	}
	var rows []compute.Row
	for i, l := range ls[1 : len(ls)-1] {
		rows = append(rows, splitRow(t, i+2, l))
	}
	if rep := oc.Report; rep.ProblemCount != 0 || rep.InvalidRows != 0 || rep.Rows != len(rows) {
		t.Fatalf("report: %d problems, %d invalid rows, %d rows (%d read): %v",
			rep.ProblemCount, rep.InvalidRows, rep.Rows, len(rows), rep.Problems)
	}
	return rows
}

// splitRow splits a data row that compute found valid, in the order of
// compute.Columns.
func splitRow(t *testing.T, line int, l string) compute.Row {
	f := strings.Split(l, ";")
	date := func(s string) compute.Date {
		if s == "" {
			return compute.NoDate
		}
		d, ok := compute.ParseDate([]byte(s[:10]))
		if !ok {
			t.Fatalf("line %d: date %q", line, s)
		}
		return d
	}
	k, _ := strconv.Atoi(f[3])
	r := compute.Row{Line: line, ID: f[0], Kommune: uint16(k), Fra: date(f[4]), Til: date(f[5]), Kode: f[7], Registreret: date(f[8])}
	copy(r.CPR[:], f[1])
	for typ := compute.TypeKontaktgruppe; typ <= compute.TypeFritagelse; typ++ {
		if typ.String() == f[2] {
			r.Type = typ
		}
	}
	for _, g := range compute.Groups() {
		if r.Type == compute.TypeKontaktgruppe && g.String() == r.Kode {
			r.Group = g
		}
	}
	if r.Type == 0 || r.Type == compute.TypeKontaktgruppe && r.Group == compute.GroupNone {
		t.Fatalf("line %d: type or group not known", line)
	}
	return r
}

func lines(data []byte) []string {
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// TestValid: extracts of 2,000 citizens for several seeds and days, sorted
// and shuffled, pass every check of docs/formats.md#validation-and-the-error-report with zero problems; sorted ones
// are in cpr, then id, order; ages are 18–67.
func TestValid(t *testing.T) {
	cases := []struct {
		seed int64
		day  int
	}{{1, 0}, {2, 1}, {3, -3}, {20160120, Horizon}}
	for _, c := range cases {
		for _, shuffle := range []bool{false, true} {
			opt := Options{Citizens: size(2000), Seed: c.seed, AsOf: asOf, Day: c.day, Shuffle: shuffle}
			t.Run(fmt.Sprintf("seed=%d/day=%d/shuffle=%v", c.seed, c.day, shuffle), func(t *testing.T) {
				rows := readAll(t, generate(t, opt), opt.ExtractDate())
				citizens := map[[10]byte]bool{}
				for i, r := range rows {
					citizens[r.CPR] = true
					birth, _ := compute.BirthDate(r.CPR[:])
					if a := compute.Age(birth, asOf); a < 18 || a > 67 {
						t.Fatalf("line %d: age %d on the anchor date", r.Line, a)
					}
					if shuffle || i == 0 {
						continue
					}
					p := rows[i-1]
					if c := bytes.Compare(p.CPR[:], r.CPR[:]); c > 0 || c == 0 && p.ID >= r.ID {
						t.Fatalf("line %d: not sorted by cpr, then id", r.Line)
					}
				}
				if len(citizens) < opt.Citizens*9/10 || len(citizens) > opt.Citizens {
					t.Errorf("%d citizens have rows, want most of %d", len(citizens), opt.Citizens)
				}
				if n := len(rows) / len(citizens); n < 20 || n > 30 {
					t.Errorf("%d rows per citizen, want about 25", n)
				}
			})
		}
	}
}

// TestVariety checks that a population holds the cases that the rules and
// products need (the package doc promises them).
func TestVariety(t *testing.T) {
	rows := readAll(t, generate(t, Options{Citizens: 2000, Seed: 7, AsOf: asOf}), asOf)
	type citizen struct {
		dp, periods, kgs int
	}
	by := map[[10]byte]*citizen{}
	count := map[string]int{}
	for i := range rows {
		r := &rows[i]
		c := by[r.CPR]
		if c == nil {
			c = &citizen{}
			by[r.CPR] = c
		}
		count[r.Type.String()]++
		switch r.Type {
		case compute.TypeKontaktgruppe:
			count["group "+r.Kode]++
			c.kgs++
			if r.Group == compute.GroupDP {
				c.dp++
			}
			if r.Til != compute.NoDate && r.Til < asOf {
				count["kontaktgruppe ended"]++
			}
		case compute.TypeDagpengeperiode:
			c.periods++
		case compute.TypeLedig:
			if r.Timer < 3700 {
				count["part time"]++
			}
			if r.Til == compute.NoDate {
				count["open LEDIG"]++
			}
		case compute.TypeSamtale:
			count["SAMTALE "+r.Kode]++
		case compute.TypeIndkaldelse:
			if r.Fra > asOf {
				count["future INDKALDELSE"]++
			}
		case compute.TypeAktivering:
			count["AKTIVERING "+r.Kode]++
			switch {
			case r.Til == compute.NoDate:
				count["open AKTIVERING"]++
			case int(r.Til-r.Fra)+1 < 14:
				count["short AKTIVERING"]++
			}
			if r.Registreret > asOf-7 {
				count["AKTIVERING this week"]++
			}
		case compute.TypeFritagelse:
			if r.Til == compute.NoDate {
				count["open FRITAGELSE"]++
			}
		}
		if r.Registreret == asOf {
			count["registered on A"]++
		}
		if r.Registreret == asOf && r.Type == compute.TypeKontaktgruppe {
			count["new on A"]++
		}
	}
	for _, c := range by {
		if c.dp > 0 {
			switch c.periods {
			case 0:
				count["DP without period"]++
			case 2:
				count["DP with two periods"]++
			}
		}
		if c.kgs == 2 {
			count["two kontaktgrupper"]++
		}
	}
	birthdays := map[int]int{}
	for cpr := range by {
		b, _ := compute.BirthDate(cpr[:])
		birthdays[compute.Age(b, asOf)]++
	}
	for _, a := range []int{18, 29, 30, 49, 50, 67} {
		count[fmt.Sprintf("age %d", a)] = birthdays[a]
	}
	for _, k := range []string{
		"KONTAKTGRUPPE", "DAGPENGEPERIODE", "LEDIG", "SAMTALE", "INDKALDELSE", "AKTIVERING", "FRITAGELSE",
		"group DP", "group KH-J", "group KH-A", "group UH-J", "group UH-A", "group IY-J", "group IY-A",
		"kontaktgruppe ended", "part time", "open LEDIG", "SAMTALE JOB", "SAMTALE FAELLES", "future INDKALDELSE",
		"AKTIVERING VEJL", "AKTIVERING PRAK", "AKTIVERING LTS", "open AKTIVERING", "short AKTIVERING",
		"AKTIVERING this week", "open FRITAGELSE", "registered on A", "new on A",
		"DP without period", "DP with two periods", "two kontaktgrupper",
		"age 18", "age 29", "age 30", "age 49", "age 50", "age 67",
	} {
		if count[k] == 0 {
			t.Errorf("no case of %q", k)
		}
	}
	if count["group DP"] < count["KONTAKTGRUPPE"]/2 {
		t.Errorf("DP is not the majority: %d of %d", count["group DP"], count["KONTAKTGRUPPE"])
	}
	// Both decimal separators, as the text shows them.
	data := string(generate(t, Options{Citizens: 500, Seed: 7, AsOf: asOf}))
	for _, s := range []string{";LEDIG;", ",5;;", ".50;;", ";37;;", ";37,00;;", ";37.00;;"} {
		if !strings.Contains(data, s) {
			t.Errorf("no row contains %q", s)
		}
	}
}

// TestDeterministic: the same options give the same bytes; another seed
// gives another population.
func TestDeterministic(t *testing.T) {
	for _, shuffle := range []bool{false, true} {
		opt := Options{Citizens: size(1000), Seed: 99, AsOf: asOf, Shuffle: shuffle}
		a, b := generate(t, opt), generate(t, opt)
		if !bytes.Equal(a, b) {
			t.Errorf("shuffle=%v: two runs with the same options differ", shuffle)
		}
		opt.Seed++
		if bytes.Equal(a, generate(t, opt)) {
			t.Errorf("shuffle=%v: seeds 99 and 100 give the same extract", shuffle)
		}
	}
}

// TestShuffle: the shuffled extract has the header first, the trailer last
// and the same multiset of lines as the sorted one, in another order.
func TestShuffle(t *testing.T) {
	opt := Options{Citizens: size(2000), Seed: 5, AsOf: asOf}
	sorted := lines(generate(t, opt))
	opt.Shuffle = true
	shuffled := lines(generate(t, opt))
	if len(sorted) != len(shuffled) {
		t.Fatalf("%d lines sorted, %d shuffled", len(sorted), len(shuffled))
	}
	n := len(sorted)
	if shuffled[0] != Header || shuffled[n-1] != sorted[n-1] || !strings.HasPrefix(shuffled[n-1], "SLUT;") {
		t.Fatalf("header or trailer moved: %q … %q", shuffled[0], shuffled[n-1])
	}
	if slices.Equal(sorted, shuffled) {
		t.Fatal("the shuffled extract is sorted")
	}
	a, b := slices.Clone(sorted[1:n-1]), slices.Clone(shuffled[1:n-1])
	slices.Sort(a)
	slices.Sort(b)
	if !slices.Equal(a, b) {
		t.Fatal("sorted and shuffled extracts hold different lines")
	}
	if !slices.Equal(a, sorted[1:n-1]) {
		t.Fatal("the sorted extract's lines are not in byte order (cpr, then id)")
	}
}

// TestShuffleBlocks: with more rows than a block, each block of the sorted
// order is permuted within itself.
func TestShuffleBlocks(t *testing.T) {
	defer func(n int) { shuffleBlock = n }(shuffleBlock)
	shuffleBlock = 1000
	opt := Options{Citizens: 300, Seed: 8, AsOf: asOf}
	sorted := lines(generate(t, opt))
	opt.Shuffle = true
	shuffled := lines(generate(t, opt))
	data := len(sorted) - 2
	if data < 3*shuffleBlock {
		t.Fatalf("only %d rows: too few for the test", data)
	}
	for lo := 1; lo < len(sorted)-1; lo += shuffleBlock {
		hi := min(lo+shuffleBlock, len(sorted)-1)
		a, b := slices.Clone(sorted[lo:hi]), slices.Clone(shuffled[lo:hi])
		if slices.Equal(a, b) {
			t.Errorf("block at line %d is not shuffled", lo)
		}
		slices.Sort(a)
		slices.Sort(b)
		if !slices.Equal(a, b) {
			t.Errorf("block at line %d holds other lines than its sorted block", lo)
		}
	}
}

// TestSeries: the extract of day k+1 is the extract of day k plus the rows
// registered on day k+1, ids included.
func TestSeries(t *testing.T) {
	opt := Options{Citizens: size(2000), Seed: 11, AsOf: asOf}
	prev := lines(generate(t, opt))
	for day := 1; day <= 3; day++ {
		opt.Day = day
		cur := lines(generate(t, opt))
		d := opt.ExtractDate().String()
		old := map[string]bool{}
		for _, l := range prev[1 : len(prev)-1] {
			old[l] = true
		}
		added, kinds := 0, map[string]int{}
		for _, l := range cur[1 : len(cur)-1] {
			if old[l] {
				delete(old, l)
				continue
			}
			added++
			f := strings.Split(l, ";")
			if !strings.HasPrefix(f[8], d+"T") {
				t.Fatalf("day %d: a new row is registered on %s, not %s", day, f[8][:10], d)
			}
			kinds[f[2]]++
		}
		if len(old) > 0 {
			t.Fatalf("day %d: %d rows of day %d are gone", day, len(old), day-1)
		}
		if added == 0 || kinds["SAMTALE"] == 0 || kinds["INDKALDELSE"] == 0 {
			t.Errorf("day %d: new rows %v, want interviews and summonses", day, kinds)
		}
		if want := fmt.Sprintf("SLUT;%d", len(prev)-2+added); cur[len(cur)-1] != want {
			t.Errorf("day %d: trailer %q, want %q", day, cur[len(cur)-1], want)
		}
		prev = cur
	}
}

func TestKommuner(t *testing.T) {
	opt := Options{Citizens: 500, Seed: 3, AsOf: asOf, Kommuner: []uint16{101, 860}}
	for _, r := range readAll(t, generate(t, opt), asOf) {
		if r.Kommune != 101 && r.Kommune != 860 {
			t.Fatalf("line %d: kommune %d", r.Line, r.Kommune)
		}
	}
}

// TestEdges: no citizens gives an empty extract; other as-of dates (a leap
// day, near the 2000 and 2036 century boundaries of docs/rules.md#cpr-and-age) give valid ones.
func TestEdges(t *testing.T) {
	if got := string(generate(t, Options{AsOf: asOf})); got != Header+"\nSLUT;0\n" {
		t.Errorf("0 citizens: %q", got)
	}
	for _, a := range []compute.Date{compute.MkDate(2020, 2, 29), compute.MkDate(2018, 12, 31), compute.MkDate(2054, 6, 1), compute.MkDate(1931, 1, 1)} {
		readAll(t, generate(t, Options{Citizens: size(300), Seed: 1, AsOf: a}), a)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, opt := range []Options{
		{Citizens: -1, AsOf: asOf},
		{Citizens: 1, AsOf: compute.MkDate(1900, 1, 1)},
		{Citizens: 1, AsOf: asOf, Day: Horizon + 1},
		{Citizens: 1, AsOf: asOf, Day: -Horizon - 1},
		{Citizens: 1, AsOf: asOf, Kommuner: []uint16{100}},
		{Citizens: 1 << 40, AsOf: asOf},
	} {
		if err := Generate(io.Discard, opt); err == nil {
			t.Errorf("Generate(%+v) succeeded", opt)
		}
	}
}

func TestFileName(t *testing.T) {
	if got := (Options{AsOf: asOf, Day: 12}).FileName(); got != "registreringer_20160201.csv" {
		t.Errorf("FileName = %q", got)
	}
}

// BenchmarkGenerate measures generation speed (sorted, to io.Discard).
func BenchmarkGenerate(b *testing.B) {
	opt := Options{Citizens: 20000, Seed: 1, AsOf: asOf}
	var cw countWriter
	if err := Generate(&cw, opt); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(cw.n)
	for b.Loop() {
		if err := Generate(io.Discard, opt); err != nil {
			b.Fatal(err)
		}
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// TestCPRs: the CPR numbers come out strictly increasing (so unique), valid,
// with ages 18–67, also when many citizens share a birth date.
func TestCPRs(t *testing.T) {
	for _, n := range []int{1, 999, 50000} {
		c, err := newCPRs(asOf, n, 4)
		if err != nil {
			t.Fatal(err)
		}
		var prev [10]byte
		for i := range n {
			cpr, birth := c.next()
			if i > 0 && bytes.Compare(prev[:], cpr[:]) >= 0 {
				t.Fatalf("n=%d: CPR number %d is not above the one before", n, i)
			}
			b, ok := compute.BirthDate(cpr[:])
			if !ok || b != birth {
				t.Fatalf("n=%d: CPR number %d: birth date %v, %v; want %v", n, i, b, ok, birth)
			}
			if a := compute.Age(b, asOf); a < 18 || a > 67 {
				t.Fatalf("n=%d: age %d", n, a)
			}
			prev = cpr
		}
	}
}
