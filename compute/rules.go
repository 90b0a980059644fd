package compute

import (
	"slices"
	"sort"
)

// Thresholds of docs/rules.md#cumulative-unemployment in centi-hours.
const (
	hoursWeek      = 3700   // 1 week = 37 h
	hoursMonth     = 16033  // 1 M = 160,33 h
	hours6Weeks    = 22200  // 222 h
	hours13Weeks   = 48100  // 481 h
	hours6Months   = 96198  // 6 M
	hours16Months  = 256528 // 16 M
	horizonDays    = 3650   // a date later than A + 3650 days is empty
	minActivation  = 14     // days an activation must last to count
	interviewsRule = 6      // from this many interviews on, docs/rules.md#guiding-interview-date's second rule
)

// Result is what the rules of docs/rules.md give for one citizen on as-of date A.
type Result struct {
	CPR        [10]byte
	InSnapshot bool   // a KONTAKTGRUPPE row covers A
	Kommune    uint16 // of the current KONTAKTGRUPPE row
	Group      Group
	// Computed is false for a DP citizen without a dagpengeperiode: every
	// field below is then empty.
	Computed bool
	HasCum   bool  // DP with a dagpengeperiode: the cumulative fields apply
	CumSum   int64 // Σ rate(x) for x in [P, A], in centi-hours; cum(A) = CumSum/7
	N        int   // job interviews counted by docs/rules.md#guiding-interview-date
	L        Date  // the latest of them, or NoDate
	// Due dates after docs/rules.md#adjusting-a-due-date, and the activation that fulfils docs/rules.md#first-activation; NoDate = empty.
	Vejledende, Faelles, Frist, Opfyldt Date
	// Rows are the citizen's rows, for the products that list registrations.
	Rows []Row
}

// HoursCenti is cum(A) in hours, rounded half up to 2 decimals, in hundredths.
func (r *Result) HoursCenti() int64 { return roundDiv(r.CumSum, 7) }

// WeeksCenti is cum(A)/37 in weeks, rounded half up from the exact value.
func (r *Result) WeeksCenti() int64 { return roundDiv(r.CumSum, 7*37) }

func roundDiv(a, b int64) int64 { return (2*a + b) / (2 * b) }

// Evaluate applies the rules of docs/rules.md to the rows of one citizen (all rows
// with the same cpr) for as-of date asOf. It is a pure function of its
// arguments.
func Evaluate(rows []Row, asOf Date, cal *Calendar) Result {
	return evaluate(rows, asOf, cal, &evalScratch{})
}

// evalScratch is memory that evaluate reuses from one citizen to the next.
type evalScratch struct {
	points []Date
	ledig  []*Row
	active []*Row
	c      cum
}

func evaluate(rows []Row, asOf Date, cal *Calendar, sc *evalScratch) Result {
	res := Result{Rows: rows, L: NoDate, Vejledende: NoDate, Faelles: NoDate, Frist: NoDate, Opfyldt: NoDate}
	if len(rows) == 0 {
		return res
	}
	res.CPR = rows[0].CPR
	var cur *Row
	for i := range rows {
		r := &rows[i]
		if r.Type != TypeKontaktgruppe || !r.covers(asOf) {
			continue
		}
		if cur == nil || r.Fra > cur.Fra || r.Fra == cur.Fra && r.ID > cur.ID {
			cur = r
		}
	}
	if cur == nil {
		return res
	}
	res.InSnapshot, res.Kommune, res.Group = true, cur.Kommune, cur.Group
	if res.Group == GroupDP {
		evaluateDP(&res, rows, asOf, cal, sc)
	} else {
		evaluateKontanthjaelp(&res, rows, cur.Fra, asOf, cal)
	}
	return res
}

// interviews counts the SAMTALE rows in [from, to]: the JOB ones, with the
// latest of them, and the FAELLES ones (one pass for both).
func interviews(rows []Row, from, to Date) (job int, latestJob Date, faelles int) {
	latestJob = NoDate
	for i := range rows {
		r := &rows[i]
		if r.Type != TypeSamtale || r.Fra < from || r.Fra > to {
			continue
		}
		switch r.Kode {
		case KodeJob:
			job++
			if latestJob == NoDate || r.Fra > latestJob {
				latestJob = r.Fra
			}
		case KodeFaelles:
			faelles++
		}
	}
	return job, latestJob, faelles
}

func evaluateKontanthjaelp(res *Result, rows []Row, s, asOf Date, cal *Calendar) {
	res.Computed = true
	res.N, res.L, _ = interviews(rows, s, asOf)
	var due Date
	switch {
	case res.N == 0:
		due = s.AddDays(7)
	case res.Group.Jobparat() && res.N <= 2:
		due = min(res.L.AddMonths(1), s.AddMonths(3))
	default:
		due = res.L.AddMonths(3)
	}
	res.Vejledende = adjust(due, rows, cal, false)
}

func evaluateDP(res *Result, rows []Row, asOf Date, cal *Calendar, sc *evalScratch) {
	p := NoDate
	for i := range rows {
		r := &rows[i]
		if r.Type == TypeDagpengeperiode && r.Fra <= asOf && (p == NoDate || r.Fra > p) {
			p = r.Fra
		}
	}
	if p == NoDate {
		return // no dagpengeperiode: every computed field stays empty
	}
	res.Computed, res.HasCum = true, true
	c := sc.newCum(rows, p)
	res.CumSum = c.sum(asOf)
	horizon := asOf.AddDays(horizonDays)
	within := func(d Date) Date {
		if d > horizon {
			return NoDate
		}
		return d
	}

	// docs/rules.md#guiding-interview-date: vejledende samtaledato (and f, the FAELLES interviews of docs/rules.md#next-joint-interview).
	var f int
	res.N, res.L, f = interviews(rows, p, asOf)
	var target int64
	if res.N < interviewsRule {
		target = 7 * int64(res.N+1) * hoursMonth
	} else {
		target = max(c.sum(res.L), 7*hours6Months) + 7*3*hoursMonth
	}
	res.Vejledende = adjust(within(c.reach(p, target)), rows, cal, false)

	// docs/rules.md#next-joint-interview: næste fælles samtale.
	if f < 3 {
		t := [...]int64{hours6Weeks, hours6Months, hours16Months}[f]
		res.Faelles = adjust(within(c.reach(p, 7*t)), rows, cal, false)
	}

	// docs/rules.md#first-activation: førstegangsaktivering.
	res.Frist = adjust(within(activationDeadline(c, rows[0].CPR[:], p)), rows, cal, true)
	for i := range rows {
		r := &rows[i]
		if r.Type == TypeAktivering && r.Fra >= p && (r.Til == NoDate || int(r.Til-r.Fra)+1 >= minActivation) {
			if res.Opfyldt == NoDate || r.Fra < res.Opfyldt {
				res.Opfyldt = r.Fra
			}
		}
	}
}

// activationDeadline is the first d ≥ p with cum(d) ≥ threshold(age(d)):
// 481 h under 30 and from 50 on, 961,98 h in between.
func activationDeadline(c *cum, cpr []byte, p Date) Date {
	birth, ok := BirthDate(cpr)
	if !ok {
		return NoDate // cannot happen for a validated row
	}
	b30, b50 := Birthday(birth, 30), Birthday(birth, 50)
	periods := [...]struct {
		from, to  Date // inclusive; NoDate = unbounded
		threshold int64
	}{
		{NoDate, b30 - 1, hours13Weeks},
		{b30, b50 - 1, hours6Months},
		{b50, NoDate, hours13Weeks},
	}
	for _, per := range periods {
		from := p
		if per.from != NoDate && per.from > from {
			from = per.from
		}
		if from > per.to {
			continue
		}
		if d := c.reach(from, 7*per.threshold); d != NoDate && d <= per.to {
			return d
		}
	}
	return NoDate
}

// adjust applies docs/rules.md#adjusting-a-due-date to a due date: out of exemptions (forward to a
// working day), else back to a working day.
func adjust(d Date, rows []Row, cal *Calendar, activation bool) Date {
	if d == NoDate {
		return NoDate
	}
	moved := false
	for {
		end, covered, open := Date(0), false, false
		for i := range rows {
			r := &rows[i]
			if r.Type == TypeFritagelse && r.covers(d) {
				covered = true
				if r.Til == NoDate {
					open = true
				} else if r.Til > end {
					end = r.Til
				}
			}
		}
		if !covered {
			break
		}
		if open {
			return NoDate
		}
		if activation {
			d = end.AddMonths(1)
		} else {
			d = end + 1
		}
		moved = true
	}
	if moved {
		return cal.NextWorkingDay(d)
	}
	return cal.PrevWorkingDay(d)
}

// cum is the cumulative unemployment from P as a step function of the daily
// rate: segments of constant rate, each with the sum before it, in
// centi-hours (docs/rules.md#cumulative-unemployment). cum(d) in hours is sum(d)/700.
type cum struct {
	segs []segment
}

type segment struct {
	start  Date
	rate   int64 // centi-hours on each day of the segment (the max of the covering LEDIG rows)
	before int64 // Σ rate(x) for x in [P, start)
}

func newCum(rows []Row, p Date) *cum { return (&evalScratch{}).newCum(rows, p) }

// newCum builds the cum of rows from p in the scratch space: the result is
// valid until the next call.
func (sc *evalScratch) newCum(rows []Row, p Date) *cum {
	ledig := sc.ledig[:0]
	points := append(sc.points[:0], p)
	for i := range rows {
		r := &rows[i]
		if r.Type != TypeLedig {
			continue
		}
		ledig = append(ledig, r)
		if r.Fra > p {
			points = append(points, r.Fra)
		}
		if r.Til != NoDate && r.Til+1 > p {
			points = append(points, r.Til+1)
		}
	}
	slices.Sort(points)
	// The rate at each point: a sweep over the LEDIG rows by fra, keeping
	// those that have begun and not ended (few: they rarely overlap).
	slices.SortFunc(ledig, func(a, b *Row) int { return int(a.Fra - b.Fra) })
	active := sc.active[:0]
	next := 0
	c := &sc.c
	c.segs = c.segs[:0]
	var total int64
	for i, start := range points {
		if i > 0 && start == points[i-1] {
			continue
		}
		for next < len(ledig) && ledig[next].Fra <= start {
			active = append(active, ledig[next])
			next++
		}
		var rate int64
		k := 0
		for _, r := range active {
			if r.Til >= start {
				active[k] = r
				k++
				rate = max(rate, r.Timer)
			}
		}
		active = active[:k]
		if n := len(c.segs); n > 0 {
			prev := &c.segs[n-1]
			// Measured from the segment's own start: after a merge, prev
			// spans several points, so adding per point would count the
			// merged days again.
			total = prev.before + prev.rate*int64(start-prev.start)
			if prev.rate == rate {
				continue // merge equal neighbours
			}
		}
		c.segs = append(c.segs, segment{start: start, rate: rate, before: total})
	}
	sc.points, sc.ledig, sc.active = points, ledig, active
	return c
}

// sum returns Σ rate(x) for x in [P, d], 0 for d < P.
func (c *cum) sum(d Date) int64 {
	i := sort.Search(len(c.segs), func(i int) bool { return c.segs[i].start > d }) - 1
	if i < 0 {
		return 0
	}
	s := &c.segs[i]
	return s.before + s.rate*int64(d-s.start+1)
}

// reach returns the first d ≥ from with sum(d) ≥ target, or NoDate if the
// sum never gets there.
func (c *cum) reach(from Date, target int64) Date {
	for i := range c.segs {
		s := &c.segs[i]
		end := NoDate
		if i+1 < len(c.segs) {
			end = c.segs[i+1].start - 1
		}
		if end < from {
			continue
		}
		lo := max(s.start, from)
		if c.sum(lo) >= target {
			return lo
		}
		if s.rate == 0 {
			continue
		}
		need := target - s.before // > 0 here
		days := (need + s.rate - 1) / s.rate
		d := s.start + Date(days) - 1
		if end == NoDate || d <= end {
			return d
		}
	}
	return NoDate
}
