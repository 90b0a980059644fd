// Package status derives the public delivery status (docs/status.md) from the
// receipts log and the clock alone, so that it is the same after a restart
// and can be recomputed by anyone holding the log.
package status

import (
	"fmt"
	"sort"
	"time"

	"leverance/compute"
	"leverance/receipt"
	"leverance/schedule"
)

// Vendor states of a slot in the detail table.
const (
	StateDelivered = "leveret"   // published (outcome says in time or late)
	StateWaiting   = "afventer"  // before the deadline, not yet published
	StateLate      = "forsinket" // after the deadline, before the cutoff
	StateOmitted   = "udeladt"   // the cutoff passed without publication
)

// Status is what the public box, `leverance status` and /status.json show.
type Status struct {
	Now time.Time `json:"now"`
	// Daily and Weekly are the public lines of docs/status.md#the-public-lines ("" when there is no
	// line; Why says why).
	Daily     string `json:"daily"`
	DailyWhy  string `json:"daily_why,omitempty"`
	Weekly    string `json:"weekly"`
	WeeklyWhy string `json:"weekly_why,omitempty"`
	// Products has, per product, its line and the detail per vendor.
	Products []Product `json:"products"`
	// Calendar holds 8 weeks, Monday to Sunday, oldest first; the last
	// one is this week.
	Calendar []Day `json:"calendar"`
	// Node and Role ("leader" or "follower") name the cluster node that
	// answered and its role; absent without [cluster].
	Node string `json:"node,omitempty"`
	Role string `json:"role,omitempty"`
}

// Product is one product's line and slots for the delivery day its line is
// about.
type Product struct {
	Product string `json:"product"`
	Line    string `json:"line"`
	Why     string `json:"why,omitempty"`
	Day     string `json:"day,omitempty"` // the delivery day the line is about
	Slots   []Slot `json:"slots"`
}

// Slot is one vendor's state for a product on a delivery day.
type Slot struct {
	Vendor    string     `json:"vendor"`
	State     string     `json:"state"`
	Published *time.Time `json:"published,omitempty"`
	Outcome   string     `json:"outcome,omitempty"`
	File      string     `json:"file,omitempty"`
}

// Day is one calendar day's outcome per product: "rettidig", "forsinket",
// "udeladt", "afventer", or "" when it is no delivery day for it. Future
// marks the days of this week still to come (no outcomes).
type Day struct {
	Date     string            `json:"date"`
	Outcomes map[string]string `json:"outcomes"`
	Future   bool              `json:"future,omitempty"`
}

// Input is what status is derived from: the receipts, as an Index built
// up as the log grows or as the records themselves.
type Input struct {
	Index    *Index
	Records  []receipt.Record // used when Index is nil
	Schedule *schedule.Schedule
	Vendors  []compute.Vendor
	Now      time.Time
}

type slotKey struct{ product, day, vendor string }

type expectation struct {
	target string
	at     time.Time
}

// Index is what the status needs of the receipts log, built up one record
// at a time: a status costs the same however long the log is. Records are
// kept with their times, so the status at a past moment is the status the
// log gave then. An Index is not safe for concurrent use.
type Index struct {
	delivered map[slotKey]receipt.Record
	omitted   map[slotKey]time.Time
	expected  map[[2]string]expectation // (product, day) → the newest expected date
	first     time.Time                 // the earliest record (the service's first start): no status before its day
	// recorded holds the (product, day)s before that day with a delivery
	// or an omission recorded (a late extract of an earlier day): they count.
	recorded map[[2]string]time.Time
	n        int
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{delivered: map[slotKey]receipt.Record{}, omitted: map[slotKey]time.Time{}, expected: map[[2]string]expectation{},
		recorded: map[[2]string]time.Time{}}
}

// Len returns how many records were added.
func (ix *Index) Len() int { return ix.n }

// Add adds the next record of the log.
func (ix *Index) Add(r receipt.Record) {
	ix.n++
	if ix.first.IsZero() || r.Time.Before(ix.first) {
		ix.first = r.Time
	}
	k := slotKey{r.Product, r.Day, r.Vendor}
	switch r.Event {
	case receipt.Leveret:
		if _, dup := ix.delivered[k]; !dup { // a re-delivery does not move the first publication
			ix.delivered[k] = r
		}
		ix.record(r)
	case receipt.Udeladt:
		if _, dup := ix.omitted[k]; !dup {
			ix.omitted[k] = r.Time
		}
		ix.record(r)
	case receipt.Operatoer:
		if r.Action == "expect" {
			ix.expected[[2]string{r.Product, r.Day}] = expectation{r.Target, r.Time}
		}
	}
}

func (ix *Index) record(r receipt.Record) {
	k := [2]string{r.Product, r.Day}
	if t, ok := ix.recorded[k]; !ok || r.Time.Before(t) {
		ix.recorded[k] = r.Time
	}
}

// counts reports whether the status counts product p's delivery day d: from
// the day of the service's first start on, and before it the days with a
// delivery or omission recorded by now.
func (v view) counts(p compute.Product, d compute.Date) bool {
	if d >= v.first {
		return v.first != compute.NoDate
	}
	t, ok := v.ix.recorded[[2]string{p.String(), d.String()}]
	return ok && !t.After(v.now)
}

// view is the index as of a moment.
type view struct {
	ix    *Index
	now   time.Time
	first compute.Date
}

func (ix *Index) at(s *schedule.Schedule, now time.Time) view {
	v := view{ix: ix, now: now, first: compute.NoDate}
	if !ix.first.IsZero() && !ix.first.After(now) {
		v.first = s.Day(ix.first)
	}
	return v
}

func (v view) delivered(k slotKey) (receipt.Record, bool) {
	r, ok := v.ix.delivered[k]
	return r, ok && !r.Time.After(v.now)
}

func (v view) omitted(k slotKey) bool {
	t, ok := v.ix.omitted[k]
	return ok && !t.After(v.now)
}

func (v view) expected(p, d string) string {
	e := v.ix.expected[[2]string{p, d}]
	if e.at.After(v.now) {
		return ""
	}
	return e.target
}

// Compute derives the status at in.Now.
func Compute(in Input) *Status {
	s := in.Schedule
	in.Now = in.Now.In(s.Loc)
	if in.Index == nil {
		in.Index = NewIndex()
		for _, r := range in.Records {
			in.Index.Add(r)
		}
	}
	ix := in.Index.at(s, in.Now)
	st := &Status{Now: in.Now}
	for _, p := range compute.Products() {
		pr := productStatus(in, ix, p)
		st.Products = append(st.Products, pr)
		switch p {
		case compute.DagligeBeskeder:
			st.Daily, st.DailyWhy = pr.Line, pr.Why
		case compute.Ugeopdatering:
			st.Weekly, st.WeeklyWhy = pr.Line, pr.Why
		}
	}
	today := s.Day(in.Now)
	start := today.AddDays(-today.Weekday() - 7*7) // Monday, seven weeks before this week's
	for d := start; d < start.AddDays(7*8); d++ {
		day := Day{Date: d.String(), Outcomes: map[string]string{}, Future: d > today}
		for _, p := range compute.Products() {
			vendors := takers(in.Vendors, p)
			if len(vendors) == 0 || !s.IsDeliveryDay(p, d) || !ix.counts(p, d) || d > today {
				continue // no delivery day, before the service's first start, or still to come
			}
			day.Outcomes[p.String()] = summarize(slots(in, ix, p, d, vendors))
		}
		st.Calendar = append(st.Calendar, day)
	}
	return st
}

func takers(vs []compute.Vendor, p compute.Product) []string {
	var names []string
	for _, v := range vs {
		if v.Takes(p) {
			names = append(names, v.Name)
		}
	}
	sort.Strings(names)
	return names
}

// slots returns each vendor's state for product p on delivery day d.
func slots(in Input, ix view, p compute.Product, d compute.Date, vendors []string) []Slot {
	times := in.Schedule.SlotTimes(p, d)
	var out []Slot
	for _, v := range vendors {
		k := slotKey{p.String(), d.String(), v}
		sl := Slot{Vendor: v}
		switch r, ok := ix.delivered(k); {
		case ok:
			t := r.Time.In(in.Schedule.Loc)
			sl.State, sl.Published, sl.Outcome, sl.File = StateDelivered, &t, r.Outcome, r.File
		case ix.omitted(k) || times.Closed(in.Now):
			sl.State, sl.Outcome = StateOmitted, schedule.Udeladt
		case in.Now.After(times.Deadline):
			sl.State = StateLate
		default:
			sl.State = StateWaiting
		}
		out = append(out, sl)
	}
	return out
}

func summarize(ss []Slot) string {
	worst := ""
	rank := map[string]int{"": 0, schedule.Rettidig: 1, StateWaiting: 2, schedule.Forsinket: 3, StateOmitted: 4}
	for _, s := range ss {
		o := s.State
		if s.State == StateDelivered {
			o = s.Outcome
		}
		if rank[o] > rank[worst] {
			worst = o
		}
	}
	return worst
}

// productStatus finds the delivery day whose line stands: the latest one up
// to today that is delivered or past its deadline (docs/status.md#the-public-lines).
func productStatus(in Input, ix view, p compute.Product) Product {
	pr := Product{Product: p.String()}
	vendors := takers(in.Vendors, p)
	if len(vendors) == 0 {
		pr.Why = "ingen leverandør modtager dette produkt"
		return pr
	}
	s := in.Schedule
	today := s.Day(in.Now)
	for d := today; d >= today.AddDays(-60); d-- {
		if !s.IsDeliveryDay(p, d) || !ix.counts(p, d) {
			continue
		}
		ss := slots(in, ix, p, d, vendors)
		times := s.SlotTimes(p, d)
		all := true
		var last time.Time
		for _, sl := range ss {
			if sl.State != StateDelivered {
				all = false
			} else if sl.Published.After(last) {
				last = *sl.Published
			}
		}
		if !all && !in.Now.After(times.Deadline) {
			continue // the line of an earlier delivery day stands
		}
		pr.Day, pr.Slots = d.String(), ss
		omitted := false
		for _, sl := range ss {
			omitted = omitted || sl.State == StateOmitted
		}
		switch {
		case all:
			pr.Line = delivered(p, last)
		case omitted:
			pr.Line = notToday(p)
		case p == compute.Ugeopdatering && ix.expected(p.String(), d.String()) != "":
			pr.Line = expected(ix.expected(p.String(), d.String()))
		default:
			pr.Line = late(p)
		}
		return pr
	}
	pr.Why = noLineWhy(ix)
	// Show today's (or the next) slots all the same.
	for d := today; d <= today.AddDays(7); d++ {
		if s.IsDeliveryDay(p, d) {
			pr.Day, pr.Slots = d.String(), slots(in, ix, p, d, vendors)
			break
		}
	}
	return pr
}

// noLineWhy says why a product has no line yet.
func noLineWhy(ix view) string {
	if ix.first == compute.NoDate {
		return "tjenesten har ikke været startet endnu"
	}
	return "ingen leveringsdag siden tjenesten startede " + dmy(ix.first) + " er leveret eller har passeret sin frist endnu"
}

// dmy formats a date as the public texts do: DD.MM.YY.
func dmy(d compute.Date) string {
	y, m, day := d.YMD()
	return fmt.Sprintf("%02d.%02d.%02d", day, m, y%100)
}

func subject(p compute.Product) string {
	switch p {
	case compute.DagligOpdatering:
		return "Daglig opdateringsfil"
	case compute.Ugeopdatering:
		return "Ugedata"
	}
	return "Daglige data"
}

// clock formats H:MM, the hour without a leading zero.
func clock(t time.Time) string { return fmt.Sprintf("%d:%02d", t.Hour(), t.Minute()) }

func delivered(p compute.Product, t time.Time) string {
	if p == compute.Ugeopdatering {
		return fmt.Sprintf("Ugedata er leveret %s kl. %s", t.Format("02.01.06"), clock(t))
	}
	return fmt.Sprintf("%s er leveret kl. %s", subject(p), clock(t))
}

func late(p compute.Product) string { return subject(p) + " er forsinket" }

func notToday(p compute.Product) string { return subject(p) + " leveres ikke i dag" }

func expected(date string) string {
	if d, ok := compute.ParseDate([]byte(date)); ok {
		return "Ugedata forventes leveret " + dmy(d)
	}
	return "Ugedata er forsinket"
}
