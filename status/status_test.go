package status

import (
	"strings"
	"testing"
	"time"

	"leverance/compute"
	"leverance/config"
	"leverance/receipt"
	"leverance/schedule"
)

var cph, _ = time.LoadLocation("Europe/Copenhagen")

func at(y, m, d, h, mi int) time.Time { return time.Date(y, time.Month(m), d, h, mi, 0, 0, cph) }

const cfgTOML = `
state_dir = "/var/lib/leverance"
[[vendor]]
name = "kmd-opera"
municipalities = ["101"]
products = ["daglige-beskeder", "ugeopdatering"]
  [vendor.outbox]
  kind = "local"
[[vendor]]
name = "kmd-workbase"
municipalities = ["173"]
products = ["daglige-beskeder", "ugeopdatering"]
  [vendor.outbox]
  kind = "local"
`

type world struct {
	t    *testing.T
	recs []receipt.Record
	in   Input
}

func testSchedule(t *testing.T) (*config.Config, *schedule.Schedule) {
	c, err := config.Parse([]byte(cfgTOML), "t.toml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := schedule.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func newWorld(t *testing.T, logStart time.Time) *world {
	c, s := testSchedule(t)
	w := &world{t: t, in: Input{Schedule: s, Vendors: c.ComputeVendors()}}
	// The log starts a while before the days tested.
	w.add(receipt.Record{Time: logStart, Event: receipt.Modtaget})
	return w
}

func (w *world) add(r receipt.Record) { w.recs = append(w.recs, r) }

func (w *world) deliver(p, day, vendor string, t time.Time, outcome string) {
	w.add(receipt.Record{Time: t.UTC(), Event: receipt.Leveret, Product: p, Day: day, Vendor: vendor, Outcome: outcome})
}

func (w *world) omit(p, day, vendor string, t time.Time) {
	w.add(receipt.Record{Time: t.UTC(), Event: receipt.Udeladt, Product: p, Day: day, Vendor: vendor})
}

func (w *world) at(now time.Time) *Status {
	w.in.Records, w.in.Now = w.recs, now
	return Compute(w.in)
}

func (w *world) wantDaily(now time.Time, want string) {
	w.t.Helper()
	if got := w.at(now).Daily; got != want {
		w.t.Errorf("%s: daily line %q, want %q", now.Format("Mon 2006-01-02 15:04"), got, want)
	}
}

func (w *world) wantWeekly(now time.Time, want string) {
	w.t.Helper()
	if got := w.at(now).Weekly; got != want {
		w.t.Errorf("%s: weekly line %q, want %q", now.Format("Mon 2006-01-02 15:04"), got, want)
	}
}

const bes = "daglige-beskeder"

// TestDailyLines walks through whole days with an injected clock.
func TestDailyLines(t *testing.T) {
	w := newWorld(t, at(2016, 1, 21, 0, 30)) // the log starts on Thursday
	// Thursday 21 January: delivered on time, the last vendor at 7:06.
	w.deliver(bes, "2016-01-21", "kmd-workbase", at(2016, 1, 21, 7, 1), "rettidig")
	w.deliver(bes, "2016-01-21", "kmd-opera", at(2016, 1, 21, 7, 6), "rettidig")
	w.wantDaily(at(2016, 1, 21, 7, 3), "")                                 // one of two delivered, and no earlier delivery day in the log
	w.wantDaily(at(2016, 1, 21, 7, 6), "Daglige data er leveret kl. 7:06") // no leading zero
	// Friday 22: partial delivery is not "leveret"; the line of Thursday stands until the deadline.
	w.deliver(bes, "2016-01-22", "kmd-opera", at(2016, 1, 22, 7, 2), "rettidig")
	w.wantDaily(at(2016, 1, 22, 6, 0), "Daglige data er leveret kl. 7:06")
	w.wantDaily(at(2016, 1, 22, 7, 59), "Daglige data er leveret kl. 7:06")
	w.wantDaily(at(2016, 1, 22, 8, 1), "Daglige data er forsinket")
	w.wantDaily(at(2016, 1, 22, 9, 29), "Daglige data er forsinket")
	w.wantDaily(at(2016, 1, 22, 9, 30), "Daglige data leveres ikke i dag")
	w.omit(bes, "2016-01-22", "kmd-workbase", at(2016, 1, 22, 9, 30))
	w.wantDaily(at(2016, 1, 22, 12, 0), "Daglige data leveres ikke i dag")
	// The weekend shows Friday's line.
	w.wantDaily(at(2016, 1, 23, 12, 0), "Daglige data leveres ikke i dag")
	w.wantDaily(at(2016, 1, 24, 23, 0), "Daglige data leveres ikke i dag")
	// Monday 25: delivered after the deadline, at 9:12.
	w.wantDaily(at(2016, 1, 25, 7, 30), "Daglige data leveres ikke i dag")
	w.deliver(bes, "2016-01-25", "kmd-opera", at(2016, 1, 25, 9, 10), "forsinket")
	w.deliver(bes, "2016-01-25", "kmd-workbase", at(2016, 1, 25, 9, 12), "forsinket")
	w.wantDaily(at(2016, 1, 25, 9, 15), "Daglige data er leveret kl. 9:12")
	// Easter 2016: Thursday 24 March to Monday 28 are holidays; Wednesday's line stands.
	w.deliver(bes, "2016-03-23", "kmd-opera", at(2016, 3, 23, 7, 0), "rettidig")
	w.deliver(bes, "2016-03-23", "kmd-workbase", at(2016, 3, 23, 7, 0), "rettidig")
	w.wantDaily(at(2016, 3, 28, 10, 0), "Daglige data er leveret kl. 7:00")
	// Summer time: the line shows local time (CEST).
	w.deliver(bes, "2016-03-29", "kmd-opera", at(2016, 3, 29, 7, 4), "rettidig")
	w.deliver(bes, "2016-03-29", "kmd-workbase", at(2016, 3, 29, 7, 5), "rettidig")
	w.wantDaily(at(2016, 3, 29, 7, 30), "Daglige data er leveret kl. 7:05")
}

func TestNoLineBeforeAnyDelivery(t *testing.T) {
	w := newWorld(t, at(2016, 1, 4, 1, 0))
	st := w.at(at(2016, 1, 4, 6, 0))
	if st.Daily != "" || st.DailyWhy == "" {
		t.Fatalf("line %q why %q", st.Daily, st.DailyWhy)
	}
	if len(st.Calendar) != 56 {
		t.Errorf("calendar has %d days, want 56", len(st.Calendar))
	}
}

func TestWeeklyLines(t *testing.T) {
	w := newWorld(t, at(2016, 1, 4, 1, 0))
	const u = "ugeopdatering"
	w.deliver(u, "2016-01-18", "kmd-opera", at(2016, 1, 18, 3, 0), "rettidig")
	w.deliver(u, "2016-01-18", "kmd-workbase", at(2016, 1, 18, 3, 1), "rettidig")
	// Monday 25: before the deadline last week's line stands.
	w.wantWeekly(at(2016, 1, 25, 12, 0), "Ugedata er leveret 18.01.16 kl. 3:01")
	w.wantWeekly(at(2016, 1, 25, 19, 1), "Ugedata er forsinket")
	w.add(receipt.Record{Time: at(2016, 1, 25, 20, 0).UTC(), Event: receipt.Operatoer, Action: "expect", Product: u, Day: "2016-01-25", Target: "2016-01-26"})
	w.wantWeekly(at(2016, 1, 25, 20, 1), "Ugedata forventes leveret 26.01.16")
	w.deliver(u, "2016-01-25", "kmd-opera", at(2016, 1, 26, 16, 0), "forsinket")
	w.wantWeekly(at(2016, 1, 26, 16, 5), "Ugedata forventes leveret 26.01.16") // one of two
	w.deliver(u, "2016-01-25", "kmd-workbase", at(2016, 1, 26, 16, 17), "forsinket")
	w.wantWeekly(at(2016, 1, 26, 16, 20), "Ugedata er leveret 26.01.16 kl. 16:17")
	// Monday 28 March 2016 is Easter Monday: the weekly update is still due.
	w.wantWeekly(at(2016, 3, 28, 19, 30), "Ugedata er forsinket")
}

func TestCalendarAndDetail(t *testing.T) {
	w := newWorld(t, at(2016, 1, 4, 1, 0))
	w.deliver(bes, "2016-01-21", "kmd-opera", at(2016, 1, 21, 7, 6), "rettidig")
	w.deliver(bes, "2016-01-21", "kmd-workbase", at(2016, 1, 21, 8, 6), "forsinket")
	w.deliver(bes, "2016-01-22", "kmd-opera", at(2016, 1, 22, 7, 6), "rettidig")
	w.deliver(bes, "2016-01-22", "kmd-workbase", at(2016, 1, 22, 7, 6), "rettidig")
	st := w.at(at(2016, 1, 25, 9, 45))
	got := map[string]string{}
	for _, d := range st.Calendar {
		got[d.Date] = d.Outcomes[bes]
	}
	for date, want := range map[string]string{"2016-01-21": "forsinket", "2016-01-22": "rettidig", "2016-01-23": "", "2016-01-25": "udeladt"} {
		if got[date] != want {
			t.Errorf("calendar %s = %q, want %q", date, got[date], want)
		}
	}
	var p Product
	for _, x := range st.Products {
		if x.Product == bes {
			p = x
		}
	}
	if p.Day != "2016-01-25" || len(p.Slots) != 2 || p.Slots[0].State != StateOmitted {
		t.Errorf("detail %+v", p)
	}
	if !strings.Contains(st.Products[0].Why, "ingen leverandør") {
		t.Errorf("daglig-opdatering has no taker here: %+v", st.Products[0])
	}
	_ = compute.DagligOpdatering
}

func TestHTML(t *testing.T) {
	w := newWorld(t, at(2016, 1, 4, 1, 0))
	w.deliver(bes, "2016-01-21", "kmd-opera", at(2016, 1, 21, 7, 6), "rettidig")
	w.deliver(bes, "2016-01-21", "kmd-workbase", at(2016, 1, 21, 7, 2), "rettidig")
	var b strings.Builder
	if err := w.at(at(2016, 1, 21, 9, 0)).WriteHTML(&b, 60); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<p id="daily">Daglige data er leveret kl. 7:06</p>`, `http-equiv="refresh" content="60"`, `data-date="2016-01-21"`, `lang="da"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(b.String(), "<script") {
		t.Error("the page must work without JavaScript")
	}
}

// TestFirstDay: on a new installation the log holds only the service's
// first start; the public lines follow the clock from that day on: before
// the deadline no line (the detail says why), at deadline + 30 s
// "forsinket", after the cutoff "leveres ikke i dag".
func TestFirstDay(t *testing.T) {
	c, s := testSchedule(t)
	recs := []receipt.Record{{Seq: 1, Time: at(2016, 1, 21, 6, 0).UTC(), Event: receipt.Startet}}
	get := func(now time.Time) *Status {
		return Compute(Input{Records: recs, Schedule: s, Vendors: c.ComputeVendors(), Now: now})
	}
	if st := get(at(2016, 1, 21, 7, 59)); st.Daily != "" || !strings.Contains(st.DailyWhy, "siden tjenesten startede 21.01.16") {
		t.Errorf("before the deadline: %q (why %q)", st.Daily, st.DailyWhy)
	}
	if st := get(at(2016, 1, 21, 8, 0).Add(30 * time.Second)); st.Daily != "Daglige data er forsinket" {
		t.Errorf("deadline + 30 s: %q (why %q)", st.Daily, st.DailyWhy)
	}
	if st := get(at(2016, 1, 21, 9, 31)); st.Daily != "Daglige data leveres ikke i dag" {
		t.Errorf("after the cutoff: %q", st.Daily)
	}
	// An earlier day's product delivered after the first start (a late
	// Sunday extract: Monday's weekly update) counts; the days before the
	// start with nothing recorded do not.
	for _, v := range []string{"kmd-opera", "kmd-workbase"} {
		recs = append(recs, receipt.Record{Time: at(2016, 1, 21, 10, 0).UTC(), Event: receipt.Leveret, Product: "ugeopdatering",
			Day: "2016-01-18", Vendor: v, Outcome: "forsinket"})
	}
	st := get(at(2016, 1, 21, 10, 5))
	if st.Weekly != "Ugedata er leveret 21.01.16 kl. 10:00" {
		t.Errorf("a late weekly update of Monday before the first start: %q (%s)", st.Weekly, st.WeeklyWhy)
	}
	for _, d := range st.Calendar {
		if o := d.Outcomes["daglige-beskeder"]; d.Date < "2016-01-21" && o != "" {
			t.Errorf("%s: daglige-beskeder %q before the first start", d.Date, o)
		}
	}
	if st := Compute(Input{Schedule: s, Vendors: c.ComputeVendors(), Now: at(2016, 1, 21, 9, 31)}); st.Daily != "" ||
		!strings.Contains(st.DailyWhy, "ikke været startet") {
		t.Errorf("an empty log: %q (why %q)", st.Daily, st.DailyWhy)
	}
}

// TestCalendarWeeks: the calendar is 8 weeks, Monday to Sunday, the last
// one this week; the days still to come have no outcome.
func TestCalendarWeeks(t *testing.T) {
	w := newWorld(t, at(2015, 11, 1, 1, 0))
	st := w.at(at(2016, 1, 21, 9, 0)) // a Thursday
	if len(st.Calendar) != 56 || st.Calendar[0].Date != "2015-11-30" || st.Calendar[55].Date != "2016-01-24" {
		t.Fatalf("calendar %s … %s (%d days), want Monday 2015-11-30 … Sunday 2016-01-24", st.Calendar[0].Date, st.Calendar[len(st.Calendar)-1].Date, len(st.Calendar))
	}
	for _, d := range st.Calendar {
		future := d.Date > "2016-01-21"
		if d.Future != future || future && len(d.Outcomes) != 0 {
			t.Errorf("%s: future %v, outcomes %v", d.Date, d.Future, d.Outcomes)
		}
	}
	var b strings.Builder
	if err := st.WriteHTML(&b, 60); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	head := page[strings.Index(page, `<table class="cal"`):]
	if i := strings.Index(head, "<th"); i < 0 || !strings.Contains(head[i:i+80], `"mandag"`) {
		t.Errorf("the calendar's first column is not Monday: %.200s", head)
	}
	for _, bad := range []string{"kvitteringslog", "2016-01-21 ", "21.01.2016"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page says %q", bad)
		}
	}
	if !strings.Contains(page, "21.01.16 kl. 9:00") {
		t.Error("the page does not say when it was made as the public texts write it (21.01.16 kl. 9:00)")
	}
}
