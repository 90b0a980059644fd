// Package synth writes synthetic registration extracts (docs/formats.md#content) for tests,
// demos and benchmarks.
//
// # What it writes
//
// Generate writes one valid extract: the header
// id;cpr;type;kommune;fra;til;timer;kode;registreret, the data rows and the
// trailer SLUT;<data rows>, with LF line ends. Every row passes the checks of
// docs/formats.md#validation-and-the-error-report for the extract's as-of date, so compute.Compute (with
// ValidateOnly) reports no problem.
//
// The population is realistic enough to exercise every rule of docs/rules.md and
// every product of docs/formats.md#output-the-products, and about 25 rows per citizen on average:
//
//   - kontaktgrupper: about 60 % DP, the rest spread over KH-J, KH-A, UH-J,
//     UH-A, IY-J and IY-A; about a tenth of the citizens change group (a
//     second KONTAKTGRUPPE row, sometimes overlapping the first, sometimes
//     starting after the as-of date, sometimes in another municipality);
//   - about 8 % left their kontaktgruppe before the as-of date (not in the
//     snapshot), about 6 % leave within the next weeks, about 6 % are new:
//     registered within the last week, on the as-of day itself, or later;
//   - DP citizens have a DAGPENGEPERIODE (a few have two: an old one or a
//     restart; about 3 % have none) and LEDIG rows of about a month each, the
//     current one usually open-ended, at 37 hours (written 37, 37,00, 37.00
//     or 37,0) or part time with a decimal comma or point, with gaps and
//     sometimes overlapping rows;
//   - 0–8 SAMTALE JOB and, for DP, 0–3 SAMTALE FAELLES interviews, most of
//     them preceded by an INDKALDELSE summons (summonses for interviews after
//     the as-of date are in the extract, the interviews are not);
//   - AKTIVERING offers VEJL, PRAK and LTS (some shorter than 14 days, some
//     open-ended) and FRITAGELSE periods (some open-ended);
//   - CPR numbers with valid birth dates and the century digit of docs/rules.md#cpr-and-age,
//     unique, with ages 18–67 on AsOf spread evenly (so some citizens turn
//     30 or 50 while unemployed); kommune codes drawn evenly from
//     Options.Kommuner;
//   - ids of 8 base-36 digits (a counter over every generated row, so that
//     byte order is numeric order), unique in the file.
//
// # Determinism and series
//
// The same Options give byte-identical output. Randomness comes from
// math/rand/v2 PCG generators seeded from Options.Seed only: one stream
// chooses the CPR numbers, each citizen's history comes from its own stream
// (seeded from Seed and the citizen's number), and Shuffle uses a third one.
//
// Options.AsOf is the anchor of the population. Each citizen's history is
// generated once, relative to AsOf, reaching Horizon days past it: rows
// registered after AsOf are the registrations "still to come". The extract
// written is as of AsOf+Day and holds exactly the rows registered (date of
// registreret) on or before that day. Rows never change once registered:
// an end known only later in reality (of a kontaktgruppe, of a LEDIG period)
// is in the row from the start. Extracts with the same Seed, Citizens, AsOf and Kommuner and Day = 0, 1, 2,
// ... therefore form a daily series of one population: each is the previous
// one plus the new registrations of its day (new citizens, interviews,
// summonses, activations, group changes), and citizens whose kontaktgruppe
// ended leave the snapshot. That is what daglige-beskeder reports. Day may be
// negative (an earlier extract of the same population) and lies in
// [-Horizon, Horizon]. A row keeps its id through the series.
//
// # Order
//
// By default the rows are sorted by cpr (byte order of the 10 digits), then
// by id: the order a streaming compute needs. Generation is streamed: memory
// does not grow with the number of citizens.
//
// With Shuffle, "shuffled" means exactly this: the data rows of the sorted
// order are cut into consecutive blocks of ShuffleBlock rows (the last one
// shorter), and the rows of each block are written in a uniformly random
// order, block after block; the header stays first and the trailer last. An
// extract of at most ShuffleBlock rows is therefore a uniform random
// permutation of the sorted one; in a larger one every row stays within its
// block, and the rows of one citizen lie in at most two adjacent blocks.
// Memory is bounded by one block (about 80 MB of rows). The permutation is
// made by a scatter shuffle (see shuffler), which is uniform and keeps to
// the CPU cache.
//
// # Speed
//
// Rows are formatted with byte appends into a bufio.Writer, without fmt, and
// dates come from a table; a national extract of 1,000,000 citizens (about
// 24 million rows, 1.8 GB) takes a few seconds sorted, somewhat more
// shuffled.
package synth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"

	"leverance/compute"
)

// Horizon is how many days past Options.AsOf the generated histories reach,
// and so the range of Options.Day.
const Horizon = 42

// ShuffleBlock is the number of rows shuffled together with Options.Shuffle.
const ShuffleBlock = 1 << 20

// shuffleBlock is ShuffleBlock; tests make it smaller.
var shuffleBlock = ShuffleBlock

// Header is the header row written by Generate.
const Header = "id;cpr;type;kommune;fra;til;timer;kode;registreret"

// DefaultKommuner are the codes of the 98 Danish municipalities, from 101
// (København) to 860 (Hjørring); they include 101, 147 and 173.
var DefaultKommuner = []uint16{
	101, 147, 151, 153, 155, 157, 159, 161, 163, 165, 167, 169, 173, 175,
	183, 185, 187, 190, 201, 210, 217, 219, 223, 230, 240, 250, 253, 259,
	260, 265, 269, 270, 306, 316, 320, 326, 329, 330, 336, 340, 350, 360,
	370, 376, 390, 400, 410, 420, 430, 440, 450, 461, 479, 480, 482, 492,
	510, 530, 540, 550, 561, 563, 573, 575, 580, 607, 615, 621, 630, 657,
	661, 665, 671, 706, 707, 710, 727, 730, 740, 741, 746, 751, 756, 760,
	766, 773, 779, 787, 791, 810, 813, 820, 825, 840, 846, 849, 851, 860,
}

// Options say what to generate.
type Options struct {
	// Citizens is the number of citizens (distinct CPR numbers) in the
	// population. Those who are not registered yet on AsOf+Day (new
	// citizens of later days) have no rows in the extract.
	Citizens int
	// Seed selects the population: the same Seed gives the same output.
	Seed int64
	// AsOf is the as-of date of the extract when Day is 0, and the anchor of
	// the population's history. Its year must lie in 1930–2070.
	AsOf compute.Date
	// Day shifts the extract's as-of date to AsOf+Day, in [-Horizon,
	// Horizon]: the same population, with the registrations up to that day.
	Day int
	// Shuffle writes the rows in random order (see the package doc) instead
	// of sorted by cpr, then id.
	Shuffle bool
	// Kommuner are the municipality codes (101–860) that citizens live in;
	// empty means DefaultKommuner.
	Kommuner []uint16
}

// ExtractDate is the as-of date of the extract that Generate writes:
// AsOf + Day.
func (o Options) ExtractDate() compute.Date { return o.AsOf.AddDays(o.Day) }

// FileName is the extract's file name, registreringer_YYYYMMDD.csv.
func (o Options) FileName() string {
	return "registreringer_" + o.ExtractDate().Compact() + ".csv"
}

// Check reports what is wrong with the options, if anything; Generate
// checks them too before it writes anything.
func (o Options) Check() error {
	if err := o.check(); err != nil {
		return err
	}
	_, err := newCPRs(o.AsOf, o.Citizens, o.Seed)
	return err
}

func (o *Options) check() error {
	if o.Citizens < 0 {
		return errors.New("synth: the number of citizens is negative")
	}
	if y, _, _ := o.AsOf.YMD(); y < 1930 || y > 2070 {
		return fmt.Errorf("synth: the as-of date must lie in the years 1930–2070, not %d", y)
	}
	if o.Day < -Horizon || o.Day > Horizon {
		return fmt.Errorf("synth: day %d is outside [-%d, %d]", o.Day, Horizon, Horizon)
	}
	for _, k := range o.Kommuner {
		if k < 101 || k > 860 {
			return fmt.Errorf("synth: municipality code %d is outside 101–860", k)
		}
	}
	return nil
}

// Generate writes the extract that opt describes to w.
func Generate(w io.Writer, opt Options) error {
	if err := opt.check(); err != nil {
		return err
	}
	if len(opt.Kommuner) == 0 {
		opt.Kommuner = DefaultKommuner
	}
	g := newGen(opt)
	cprs, err := newCPRs(opt.AsOf, opt.Citizens, opt.Seed)
	if err != nil {
		return err
	}
	df := newDates(opt.AsOf-3000, opt.AsOf+500)
	bw := bufio.NewWriterSize(w, 256<<10)
	bw.WriteString(Header)
	bw.WriteByte('\n')
	var sh *shuffler
	if opt.Shuffle {
		sh = &shuffler{w: bw, rng: rand.New(rand.NewPCG(mix(uint64(opt.Seed)), streamShuffle))}
	}
	var rows int64
	var buf []byte
	for i := 0; i < opt.Citizens; i++ {
		cpr, birth := cprs.next()
		g.citizen(uint64(i), birth)
		for j := range g.rows {
			r := &g.rows[j]
			id := g.nextID
			g.nextID++
			if r.reg > g.extract {
				continue // registered after the extract's day
			}
			rows++
			if sh != nil {
				b := sh.next()
				b.data = df.appendRow(b.data, id, &cpr, r)
				if err := sh.push(b); err != nil {
					return err
				}
				continue
			}
			buf = df.appendRow(buf[:0], id, &cpr, r)
			if _, err := bw.Write(buf); err != nil {
				return err
			}
		}
	}
	if sh != nil {
		if err := sh.flush(); err != nil {
			return err
		}
	}
	buf = append(buf[:0], "SLUT;"...)
	buf = strconv.AppendInt(buf, rows, 10)
	buf = append(buf, '\n')
	bw.Write(buf)
	return bw.Flush()
}

// Streams of the PCG generators (the second seed word), so that the CPR
// numbers, the histories and the shuffle do not depend on one another.
const (
	streamCPR     = 0x6370722d6e756d72
	streamShuffle = 0x73687566666c6521
	streamHistory = 0x686973746f727921 // the first word: the second is the citizen's number
)

// mix is splitmix64's finaliser: it spreads nearby seeds apart.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// ---------------------------------------------------------------------------
// CPR numbers in sorted order

// cprs hands out unique CPR numbers in increasing byte order. Birth dates are
// enumerated in the order of their DDMMYY digits; every valid one that gives
// an age of 18–67 on the anchor date gets base or base+1 citizens (the +1s
// chosen by selection sampling, so that the total is exact), and their
// serial numbers (the last 4 digits, with a century digit that fits the
// birth year) are spread evenly over the serials that year allows.
type cprs struct {
	rng       *rand.Rand
	dates     []cprDate // valid birth dates in DDMMYY order
	base, rem int
	di        int // next date
	left      int // dates not yet drawn from, for the remainder
	serials   []int
	si        int
	cur       cprDate
}

type cprDate struct {
	ddmmyy [6]byte
	birth  compute.Date
	cap    int // serial numbers the birth year allows
}

func newCPRs(asOf compute.Date, n int, seed int64) (*cprs, error) {
	c := &cprs{rng: rand.New(rand.NewPCG(mix(uint64(seed)), streamCPR))}
	ay, _, _ := asOf.YMD()
	for dd := 1; dd <= 31; dd++ {
		for mm := 1; mm <= 12; mm++ {
			for yy := 0; yy <= 99; yy++ {
				// The birth years of ages 18–67 span 51 years: yy names one.
				y := ay - 68 + (yy-(ay-68)%100+100)%100
				if !compute.ValidDate(y, mm, dd) {
					continue
				}
				b := compute.MkDate(y, mm, dd)
				if a := compute.Age(b, asOf); a < 18 || a > 67 {
					continue
				}
				c.dates = append(c.dates, cprDate{
					ddmmyy: [6]byte{byte('0' + dd/10), byte('0' + dd%10), byte('0' + mm/10), byte('0' + mm%10), byte('0' + yy/10), byte('0' + yy%10)},
					birth:  b,
					cap:    1000 * len(centuryDigits(y)),
				})
			}
		}
	}
	c.base, c.rem = n/len(c.dates), n%len(c.dates)
	c.left = len(c.dates)
	if c.base+1 > 4000 {
		return nil, fmt.Errorf("synth: at most %d citizens fit in one generation of birth dates", 3999*len(c.dates))
	}
	return c, nil
}

// centuryDigits are the values of the 7th digit that give birth year y
// (docs/rules.md#cpr-and-age), in increasing order.
func centuryDigits(y int) []byte {
	switch {
	case y >= 1858 && y <= 1899, y >= 2037 && y <= 2057:
		return digits5678
	case y >= 1900 && y <= 1936:
		return digits0123
	case y >= 1937 && y <= 1999:
		return digits012349
	case y >= 2000 && y <= 2036:
		return digits456789
	}
	return nil
}

var (
	digits5678   = []byte{5, 6, 7, 8}
	digits0123   = []byte{0, 1, 2, 3}
	digits012349 = []byte{0, 1, 2, 3, 4, 9}
	digits456789 = []byte{4, 5, 6, 7, 8, 9}
)

// next returns the next CPR number and its birth date.
func (c *cprs) next() (cpr [10]byte, birth compute.Date) {
	for c.si >= len(c.serials) {
		d := c.dates[c.di]
		c.di++
		k := c.base
		if c.rem > 0 && c.rng.IntN(c.left) < c.rem {
			k++
			c.rem--
		}
		c.left--
		// One serial from each of k equal strata: distinct and sorted.
		c.serials = c.serials[:0]
		for j := 0; j < k; j++ {
			lo, hi := j*d.cap/k, (j+1)*d.cap/k
			c.serials = append(c.serials, lo+c.rng.IntN(hi-lo))
		}
		c.si, c.cur = 0, d
	}
	s := c.serials[c.si]
	c.si++
	y, _, _ := c.cur.birth.YMD()
	copy(cpr[:6], c.cur.ddmmyy[:])
	cpr[6] = '0' + centuryDigits(y)[s/1000]
	s %= 1000
	cpr[7], cpr[8], cpr[9] = byte('0'+s/100), byte('0'+s/10%10), byte('0'+s%10)
	return cpr, c.cur.birth
}

// ---------------------------------------------------------------------------
// Citizens' histories

// row is one generated registration.
type row struct {
	typ     compute.Type
	kommune uint16
	fra     compute.Date
	til     compute.Date // NoDate: empty
	timer   string
	kode    string
	reg     compute.Date // date of registreret
	regSec  int32        // its time of day, seconds after midnight
}

type gen struct {
	opt      Options
	anchor   compute.Date // A0 = Options.AsOf
	extract  compute.Date // the extract's as-of date
	seed     uint64
	pcg      *rand.PCG
	rng      *rand.Rand
	rows     []row
	nextID   uint64
	when     []compute.Date // interview dates
	kommune  uint16
	kommune2 uint16
	s2       compute.Date // start of the second KONTAKTGRUPPE row, or NoDate
	intake   compute.Date // registration of the first KONTAKTGRUPPE row
}

func newGen(opt Options) *gen {
	g := &gen{opt: opt, anchor: opt.AsOf, extract: opt.ExtractDate(), seed: mix(uint64(opt.Seed) ^ streamHistory)}
	g.pcg = rand.NewPCG(0, 0)
	g.rng = rand.New(g.pcg)
	return g
}

var (
	groups      = []string{"DP", "KH-J", "KH-A", "UH-J", "UH-A", "IY-J", "IY-A"}
	fullTime    = []string{"37", "37", "37", "37", "37", "37,00", "37,00", "37.00", "37.00", "37,0"}
	partTime    = []string{"18,5", "18.50", "29,6", "30", "20", "25.5", "7,4", "14,8", "33,3", "22.25", "12", "9,25"}
	activations = []string{"VEJL", "VEJL", "VEJL", "VEJL", "PRAK", "PRAK", "PRAK", "LTS", "LTS", "LTS"}
	exemptions  = []string{"SYG", "SYG", "SYG", "BARSEL", "ORLOV", "FERIE", "UDD", "SYG2", "HELBRED"}
)

// between returns a uniform date in [lo, hi]; lo when hi < lo.
func (g *gen) between(lo, hi compute.Date) compute.Date {
	if hi <= lo {
		return lo
	}
	return lo + compute.Date(g.rng.IntN(int(hi-lo)+1))
}

func (g *gen) pct(p int) bool { return g.rng.IntN(100) < p }

func pick[T any](g *gen, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// add appends a row registered on reg (no earlier than the citizen's intake)
// at a random time of day between 07:00 and 18:00.
func (g *gen) add(t compute.Type, fra, til compute.Date, timer, kode string, reg compute.Date) {
	if til != compute.NoDate && til < fra {
		til = fra
	}
	k := g.kommune
	if g.s2 != compute.NoDate && fra >= g.s2 {
		k = g.kommune2
	}
	g.rows = append(g.rows, row{typ: t, kommune: k, fra: fra, til: til, timer: timer, kode: kode,
		reg: max(reg, g.intake), regSec: int32(7*3600 + g.rng.IntN(11*3600))})
}

// citizen generates the whole history of citizen number i (born on birth)
// into g.rows, in id order.
func (g *gen) citizen(i uint64, birth compute.Date) {
	g.pcg.Seed(g.seed, mix(i))
	g.rows = g.rows[:0]
	a0 := g.anchor
	none := compute.NoDate
	b18 := compute.Birthday(birth, 18)

	// The kontaktgruppe timeline: start S, end T (none = open), and the
	// last day W on which anything happens.
	var s, t compute.Date = 0, none
	isNew := false
	switch k := g.rng.IntN(100); {
	case k < 8: // left before the as-of date
		s = a0 - 60 - compute.Date(g.rng.IntN(840))
		s = max(s, b18)
		if s+30 <= a0-1 {
			t = g.between(s+30, a0-1)
		}
	case k < 14: // leaves within the horizon
		s = max(a0-30-compute.Date(g.rng.IntN(700)), b18)
		t = g.between(a0, a0+Horizon)
	case k < 20: // new: starts in the last week, today or later
		s = max(g.between(a0-7, a0+Horizon), b18)
		isNew = true
	default: // ongoing, for up to about three years
		s = max(a0-8-compute.Date(g.rng.IntN(1100)), b18)
	}
	w := a0 + Horizon
	if t != none {
		w = min(t, w)
	}
	// The first KONTAKTGRUPPE row is registered on the first day (new
	// citizens) or up to two days later; no row is registered before it.
	g.intake = s
	if !isNew {
		g.intake += compute.Date(g.rng.IntN(3))
	}

	g1 := pick(g, groups[1:])
	if g.pct(60) {
		g1 = "DP"
	}
	g.kommune = pick(g, g.opt.Kommuner)
	g.kommune2, g.s2 = g.kommune, none
	g2 := ""
	overlap := false
	if w-s > 60 && g.pct(12) {
		s2 := g.between(s+30, w)
		g2 = pick(g, groups)
		for g2 == g1 {
			g2 = pick(g, groups)
		}
		if g.pct(25) {
			g.kommune2 = pick(g, g.opt.Kommuner)
		}
		overlap = t == none && g.pct(40)
		g.s2 = s2
	}

	// KONTAKTGRUPPE rows.
	if g2 == "" {
		g.add(compute.TypeKontaktgruppe, s, t, "", g1, g.intake)
	} else {
		t1 := g.s2 - 1
		if overlap {
			t1 = none
		}
		g.add(compute.TypeKontaktgruppe, s, t1, "", g1, g.intake)
		g.add(compute.TypeKontaktgruppe, g.s2, t, "", g2, g.s2-compute.Date(g.rng.IntN(6)))
	}

	// DAGPENGEPERIODE and LEDIG rows for the time in DP, [dpFrom, dpTo].
	dp := true
	dpFrom, dpTo := s, t
	switch {
	case g1 == "DP" && g2 == "":
	case g1 == "DP" && overlap:
	case g1 == "DP":
		dpTo = g.s2 - 1
	case g2 == "DP":
		dpFrom = g.s2
	default:
		dp = false
	}
	if dp {
		g.dagpenge(dpFrom, dpTo)
	}

	g.allInterviews(s, w, dp, dpFrom, dpTo)

	g.activations(s, w, dp)
	g.exemptions(s, w)
}

// allInterviews writes a citizen's interviews, most of them summoned; joint
// ones in the time in DP, [dpFrom, dpTo] (dpTo none: still in DP).
func (g *gen) allInterviews(s, w compute.Date, dp bool, dpFrom, dpTo compute.Date) {
	span := int(w - s)
	nJob := max(0, min(8, span/45+g.rng.IntN(3)-1))
	g.interviews(compute.KodeJob, nJob, s, w)
	if dp {
		if dpTo == compute.NoDate {
			dpTo = w
		}
		nFaelles := max(0, min(3, int(dpTo-dpFrom)/150+g.rng.IntN(2)))
		g.interviews(compute.KodeFaelles, nFaelles, dpFrom, min(dpTo, w))
	}
}

// activations writes a citizen's activation offers, more of them in DP.
func (g *gen) activations(s, w compute.Date, dp bool) {
	none := compute.NoDate
	nAkt := 0
	switch u := g.rng.IntN(100); {
	case dp && u >= 93, !dp && u >= 95:
		nAkt = 3
	case dp && u >= 73, !dp && u >= 80:
		nAkt = 2
	case dp && u >= 35, !dp && u >= 50:
		nAkt = 1
	}
	for range nAkt {
		fra := g.between(s+7, w+20)
		til := none
		switch u := g.rng.IntN(100); {
		case u < 20:
			til = fra + compute.Date(2+g.rng.IntN(12)) // 3–13 days
		case u < 85:
			til = fra + compute.Date(13+g.rng.IntN(170)) // 14–182 days
		}
		g.add(compute.TypeAktivering, fra, til, "", pick(g, activations), fra-compute.Date(g.rng.IntN(21)))
	}
}

// exemptions writes a citizen's exemptions.
func (g *gen) exemptions(s, w compute.Date) {
	none := compute.NoDate
	nFri := 0
	if u := g.rng.IntN(100); u < 3 {
		nFri = 2
	} else if u < 18 {
		nFri = 1
	}
	for range nFri {
		fra := g.between(s, w)
		til := none
		if !g.pct(12) {
			til = fra + compute.Date(4+g.rng.IntN(85))
		}
		g.add(compute.TypeFritagelse, fra, til, "", pick(g, exemptions), fra-compute.Date(g.rng.IntN(4)))
	}
}

// dagpenge writes the DAGPENGEPERIODE and LEDIG rows of a time in DP from
// start to end (none: still in DP).
func (g *gen) dagpenge(start, end compute.Date) {
	a0, none := g.anchor, compute.NoDate
	if end != none && end < start {
		return
	}
	p := start + compute.Date(g.rng.IntN(3))
	switch u := g.rng.IntN(100); {
	case u < 3: // no dagpengeperiode: a data-quality warning
	case u < 6: // an old period before this one
		old := p - 400 - compute.Date(g.rng.IntN(600))
		g.add(compute.TypeDagpengeperiode, old, none, "", "", old)
		g.add(compute.TypeDagpengeperiode, p, none, "", "", p+compute.Date(g.rng.IntN(2)))
	case u < 10: // a restart within the time in DP
		g.add(compute.TypeDagpengeperiode, p, none, "", "", p+compute.Date(g.rng.IntN(2)))
		last := a0 + Horizon
		if end != none {
			last = min(last, end)
		}
		if last-p > 150 {
			p2 := g.between(p+150, last)
			g.add(compute.TypeDagpengeperiode, p2, none, "", "", p2)
		}
	default:
		g.add(compute.TypeDagpengeperiode, p, none, "", "", p+compute.Date(g.rng.IntN(2)))
	}

	base := pick(g, fullTime)
	if g.pct(25) {
		base = pick(g, partTime)
	}
	// Rows of about a month; the one that reaches the as-of date (or the
	// end) is the last: open-ended while still in DP.
	for f := start; ; {
		til := f + compute.Date(27+g.rng.IntN(8))
		rate := base
		if g.pct(12) {
			rate = pick(g, partTime)
		}
		last := til >= a0 || end != none && til >= end
		if last {
			switch {
			case end != none:
				til = end
			case g.pct(90):
				til = none
			}
		}
		g.add(compute.TypeLedig, f, til, rate, "", f+compute.Date(g.rng.IntN(4)))
		if last {
			break
		}
		f = til + 1
		if g.pct(8) { // a gap: no unemployment for a while
			f += compute.Date(7 + g.rng.IntN(24))
		}
		if end != none && f > end || f > a0+Horizon {
			break
		}
	}
	// Overlapping rows: overlaps never add up (docs/rules.md#cumulative-unemployment).
	if g.pct(10) {
		lim := min(a0, max(start, a0-30))
		if end != none {
			lim = min(lim, end)
		}
		f := g.between(start, lim)
		til := f + compute.Date(g.rng.IntN(45))
		switch {
		case end != none:
			til = min(til, end)
		case g.pct(25):
			til = none
		}
		g.add(compute.TypeLedig, f, til, pick(g, partTime), "", f+compute.Date(g.rng.IntN(4)))
	}
}

// interviews writes n interviews of kode dated in (s, w], in date order, each
// with its summons (INDKALDELSE) in 85 % of the cases. A SAMTALE is
// registered on its day or up to two days later, so it is never dated after
// the as-of date of an extract that holds it.
func (g *gen) interviews(kode string, n int, s, w compute.Date) {
	g.when = g.when[:0]
	for range n {
		g.when = append(g.when, g.between(s+1, w))
	}
	for i := 1; i < len(g.when); i++ { // insertion sort: n ≤ 8
		for j := i; j > 0 && g.when[j] < g.when[j-1]; j-- {
			g.when[j], g.when[j-1] = g.when[j-1], g.when[j]
		}
	}
	for _, d := range g.when {
		if g.pct(85) {
			g.add(compute.TypeIndkaldelse, d, compute.NoDate, "", kode, d-3-compute.Date(g.rng.IntN(18)))
		}
		reg := d
		if g.pct(20) {
			reg += compute.Date(1 + g.rng.IntN(2))
		}
		g.add(compute.TypeSamtale, d, compute.NoDate, "", kode, reg)
	}
}

// ---------------------------------------------------------------------------
// Formatting

const base36 = "0123456789abcdefghijklmnopqrstuvwxyz"

// dates formats the dates around the anchor from a table: most of the
// formatting time would otherwise go into calendar arithmetic.
type dates struct {
	lo compute.Date
	s  []byte // 10 bytes for each date from lo on
}

func newDates(lo, hi compute.Date) *dates {
	t := &dates{lo: lo, s: make([]byte, 0, 10*int(hi-lo+1))}
	for d := lo; d <= hi; d++ {
		t.s = compute.AppendDate(t.s, d)
	}
	return t
}

// append appends d as YYYY-MM-DD, nothing for NoDate.
func (t *dates) append(b []byte, d compute.Date) []byte {
	if i := (int(d) - int(t.lo)) * 10; i >= 0 && i < len(t.s) {
		return append(b, t.s[i:i+10]...)
	}
	return compute.AppendDate(b, d)
}

// appendRow appends one data line with its LF.
func (t *dates) appendRow(b []byte, id uint64, cpr *[10]byte, r *row) []byte {
	// The id: 8 base-36 digits, so that byte order is numeric order.
	var idb [8]byte
	for i := 7; i >= 0; i-- {
		idb[i] = base36[id%36]
		id /= 36
	}
	b = append(b, idb[:]...)
	b = append(b, ';')
	b = append(b, cpr[:]...)
	b = append(b, ';')
	b = append(b, r.typ.String()...)
	b = append(b, ';', byte('0'+r.kommune/100), byte('0'+r.kommune/10%10), byte('0'+r.kommune%10), ';')
	b = t.append(b, r.fra)
	b = append(b, ';')
	b = t.append(b, r.til)
	b = append(b, ';')
	b = append(b, r.timer...)
	b = append(b, ';')
	b = append(b, r.kode...)
	b = append(b, ';')
	b = t.append(b, r.reg)
	h, m, s := r.regSec/3600, r.regSec/60%60, r.regSec%60
	return append(b, 'T', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10), '\n')
}

// shuffler collects blocks of shuffleBlock lines and writes each in a
// uniformly random order. It does so by a scatter shuffle (Rao–Sandelius):
// every line goes to one of shuffleBuckets buckets chosen uniformly at
// random, and when the block is full each bucket is shuffled (Fisher–Yates)
// and written in turn. That gives every order of the block the same
// probability, as one Fisher–Yates over the whole block would, but works on
// buckets that fit in the CPU cache instead of jumping about 80 MB.
type shuffler struct {
	w       *bufio.Writer
	rng     *rand.Rand
	buckets [shuffleBuckets]bucket
	n       int // lines in the block
	perm    []int32
}

const shuffleBuckets = 256

type bucket struct {
	data []byte
	ends []int32 // end offset of each line in data
}

// next chooses the bucket of the next line: the caller appends the line to
// its data and calls push.
func (s *shuffler) next() *bucket { return &s.buckets[s.rng.IntN(shuffleBuckets)] }

// push ends the line just appended to b.data; a full block is written.
func (s *shuffler) push(b *bucket) error {
	b.ends = append(b.ends, int32(len(b.data)))
	s.n++
	if s.n == shuffleBlock {
		return s.flush()
	}
	return nil
}

func (s *shuffler) flush() error {
	for k := range s.buckets {
		b := &s.buckets[k]
		n := len(b.ends)
		s.perm = s.perm[:0]
		for i := range n {
			s.perm = append(s.perm, int32(i))
		}
		s.rng.Shuffle(n, func(i, j int) { s.perm[i], s.perm[j] = s.perm[j], s.perm[i] })
		for _, i := range s.perm {
			start := int32(0)
			if i > 0 {
				start = b.ends[i-1]
			}
			if _, err := s.w.Write(b.data[start:b.ends[i]]); err != nil {
				return err
			}
		}
		b.data, b.ends = b.data[:0], b.ends[:0]
	}
	s.n = 0
	return nil
}
