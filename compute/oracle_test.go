package compute_test

import (
	"fmt"
	"testing"

	"leverance/compute"
	"leverance/synth"
)

// Centi-hour thresholds of docs/rules.md#cumulative-unemployment, written out again from the text.
const (
	refM       = 16033 // 1 M = 160,33 h
	ref222     = 22200
	ref481     = 48100
	ref6M      = 96198
	ref16M     = 256528
	refHorizon = 3650
)

// reference evaluates docs/rules.md for one citizen day by day, as literally as the
// text reads, without the step-function shortcuts of rules.go. It returns
// the fields that Evaluate reports.
func reference(rows []compute.Row, a compute.Date, cal *compute.Calendar) compute.Result {
	none := compute.NoDate
	res := compute.Result{L: none, Vejledende: none, Faelles: none, Frist: none, Opfyldt: none}
	var cur *compute.Row
	for i := range rows {
		r := &rows[i]
		if r.Type == compute.TypeKontaktgruppe && r.Fra <= a && (r.Til == none || r.Til >= a) {
			if cur == nil || r.Fra > cur.Fra || r.Fra == cur.Fra && r.ID > cur.ID {
				cur = r
			}
		}
	}
	if cur == nil {
		return res
	}
	res.InSnapshot, res.Kommune, res.Group = true, cur.Kommune, cur.Group

	count := func(kode string, from compute.Date) (n int, latest compute.Date) {
		latest = none
		for _, r := range rows {
			if r.Type == compute.TypeSamtale && r.Kode == kode && r.Fra >= from && r.Fra <= a {
				n++
				if latest == none || r.Fra > latest {
					latest = r.Fra
				}
			}
		}
		return n, latest
	}
	adjust := func(d compute.Date, activation bool) compute.Date {
		if d == none {
			return none
		}
		moved := false
		for {
			covered, open, e := false, false, compute.Date(0)
			for _, r := range rows {
				if r.Type == compute.TypeFritagelse && r.Fra <= d && (r.Til == none || d <= r.Til) {
					covered = true
					if r.Til == none {
						open = true
					} else if r.Til > e {
						e = r.Til
					}
				}
			}
			if !covered {
				break
			}
			if open {
				return none
			}
			if activation {
				d = e.AddMonths(1)
			} else {
				d = e + 1
			}
			moved = true
		}
		if moved {
			for !cal.IsWorkingDay(d) {
				d++
			}
			return d
		}
		for !cal.IsWorkingDay(d) {
			d--
		}
		return d
	}

	if cur.Group != compute.GroupDP {
		res.Computed = true
		s := cur.Fra
		res.N, res.L = count(compute.KodeJob, s)
		var due compute.Date
		switch {
		case res.N == 0:
			due = s + 7
		case cur.Group.Jobparat() && res.N <= 2:
			due = min(res.L.AddMonths(1), s.AddMonths(3))
		default:
			due = res.L.AddMonths(3)
		}
		res.Vejledende = adjust(due, false)
		return res
	}

	p := none
	for _, r := range rows {
		if r.Type == compute.TypeDagpengeperiode && r.Fra <= a && (p == none || r.Fra > p) {
			p = r.Fra
		}
	}
	if p == none {
		return res
	}
	res.Computed, res.HasCum = true, true
	// sum[i] = Σ rate(x) for x in [p, p+i].
	last := a + refHorizon
	sum := make([]int64, int(last-p)+1)
	var total int64
	for x := p; x <= last; x++ {
		var rate int64
		for _, r := range rows {
			if r.Type == compute.TypeLedig && r.Fra <= x && (r.Til == none || x <= r.Til) && r.Timer > rate {
				rate = r.Timer
			}
		}
		total += rate
		sum[x-p] = total
	}
	cum := func(d compute.Date) int64 { return sum[d-p] }
	res.CumSum = cum(a)
	reach := func(target int64) compute.Date {
		for d := p; d <= last; d++ {
			if cum(d) >= target {
				return d
			}
		}
		return none
	}
	res.N, res.L = count(compute.KodeJob, p)
	if res.N < 6 {
		res.Vejledende = adjust(reach(7*int64(res.N+1)*refM), false)
	} else {
		res.Vejledende = adjust(reach(max(cum(res.L), 7*ref6M)+7*3*refM), false)
	}
	if f, _ := count(compute.KodeFaelles, p); f < 3 {
		res.Faelles = adjust(reach(7*[]int64{ref222, ref6M, ref16M}[f]), false)
	}
	birth, _ := compute.BirthDate(rows[0].CPR[:])
	frist := none
	for d := p; d <= last; d++ {
		th := int64(ref481)
		if age := compute.Age(birth, d); age >= 30 && age < 50 {
			th = ref6M
		}
		if cum(d) >= 7*th {
			frist = d
			break
		}
	}
	res.Frist = adjust(frist, true)
	for _, r := range rows {
		if r.Type == compute.TypeAktivering && r.Fra >= p && (r.Til == none || int(r.Til-r.Fra)+1 >= 14) {
			if res.Opfyldt == none || r.Fra < res.Opfyldt {
				res.Opfyldt = r.Fra
			}
		}
	}
	return res
}

// TestPropertyReference: Evaluate agrees with the day-by-day reference for
// every citizen of generated populations, on several as-of dates (around
// Easter and Christmas, where working days are scarce).
func TestPropertyReference(t *testing.T) {
	t.Parallel()
	cal := compute.NewCalendar(nil, nil)
	n := 800
	if raceEnabled {
		n = 200
	}
	dates := []compute.Date{compute.MkDate(2016, 1, 20), compute.MkDate(2016, 3, 24), compute.MkDate(2019, 12, 22)}
	checked := 0
	for i, a := range dates {
		by := citizens(t, generate(t, synth.Options{Citizens: n, Seed: int64(i + 100), AsOf: a}), a)
		for _, rows := range by {
			got, want := compute.Evaluate(rows, a, cal), reference(rows, a, cal)
			got.Rows, got.CPR = nil, [10]byte{}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("as of %v, citizen at line %d:\n got %+v\nwant %+v", a, rows[0].Line, got, want)
			}
			checked++
		}
	}
	if checked < len(dates)*n*8/10 {
		t.Fatalf("only %d citizens checked", checked)
	}
}
