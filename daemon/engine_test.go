package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"leverance/config"
	"leverance/receipt"
	"leverance/transfer"
)

var cph = func() *time.Location {
	l, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		panic(err)
	}
	return l
}()

func at(y, m, d, h, mi int) time.Time { return time.Date(y, time.Month(m), d, h, mi, 0, 0, cph) }

// memSink keeps the records in memory.
type memSink struct {
	mu   sync.Mutex
	recs []receipt.Record
}

func (s *memSink) Append(_ context.Context, r *receipt.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Seq = int64(len(s.recs) + 1)
	s.recs = append(s.recs, *r)
	return nil
}

func (s *memSink) events(event string) []receipt.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []receipt.Record
	for _, r := range s.recs {
		if r.Event == event {
			out = append(out, r)
		}
	}
	return out
}

// The vendors of testdata/basic.
const vendorsTOML = `
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
[[vendor]]
name = "schultz-fasit"
municipalities = ["147"]
products = ["daglig-opdatering"]
  [vendor.outbox]
  kind = "local"
[[vendor]]
name = "alle"
municipalities = ["*"]
products = ["daglig-opdatering", "daglige-beskeder", "ugeopdatering"]
  [vendor.outbox]
  kind = "local"
`

type harness struct {
	t     *testing.T
	dir   string
	cfg   *config.Config
	clock *FakeClock
	sink  *memSink
	e     *Engine
}

func newHarness(t *testing.T, start time.Time, extra string) *harness {
	t.Helper()
	dir := t.TempDir()
	cfg, err := config.Parse([]byte("state_dir = \""+dir+"\"\n"+extra+vendorsTOML), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, cfg: cfg, clock: NewFakeClock(start), sink: &memSink{}}
	h.restart()
	return h
}

// restart makes a new Engine on the same state directory, as a restarted
// daemon would.
func (h *harness) restart() {
	h.t.Helper()
	e, err := New(Options{Config: h.cfg, Clock: h.clock, Sink: h.sink, Version: "test",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		h.t.Fatal(err)
	}
	h.e = e
}

// drop places an extract in the inbox (atomically, as writers must) with the
// content of a file from testdata and accepts it.
func (h *harness) drop(name, from string) {
	h.t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "basic", from))
	if err != nil {
		h.t.Fatal(err)
	}
	h.dropData(name, data)
}

func (h *harness) dropData(name string, data []byte) {
	h.t.Helper()
	tmp := filepath.Join(h.e.layout.Inbox(), "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(h.e.layout.Inbox(), name)); err != nil {
		h.t.Fatal(err)
	}
	if err := h.e.Accept(name); err != nil {
		h.t.Fatal(err)
	}
}

// tick sets the clock and runs the scheduler.
func (h *harness) tick(t time.Time) time.Time {
	h.clock.Set(t)
	return h.e.Tick()
}

// outbox lists a vendor's outbox.
func (h *harness) outbox(vendor string) []string {
	ents, _ := os.ReadDir(filepath.Join(h.dir, "outbox", vendor))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func (h *harness) slot(key string) *SlotState {
	s := h.e.Snapshot()
	return s.Slots[sk(key)]
}

func (h *harness) wantSlot(key, status, outcome string) {
	h.t.Helper()
	s := h.slot(key)
	if s == nil {
		h.t.Fatalf("slot %s: not finished", key)
	}
	if s.Status != status || s.Outcome != outcome {
		h.t.Fatalf("slot %s: %s/%s, want %s/%s", key, s.Status, s.Outcome, status, outcome)
	}
}

func (h *harness) wantOutbox(vendor string, want ...string) {
	h.t.Helper()
	got := h.outbox(vendor)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		h.t.Fatalf("outbox %s:\n got  %v\n want %v", vendor, got, want)
	}
	for _, n := range got {
		if strings.HasSuffix(n, ".sha256") {
			h.checkSum(vendor, n)
		}
	}
}

func (h *harness) checkSum(vendor, sumName string) {
	h.t.Helper()
	dir := filepath.Join(h.dir, "outbox", vendor)
	line, err := os.ReadFile(filepath.Join(dir, sumName))
	if err != nil {
		h.t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, strings.TrimSuffix(sumName, ".sha256")))
	if err != nil {
		h.t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if want := hex.EncodeToString(sum[:]) + "  " + strings.TrimSuffix(sumName, ".sha256") + "\n"; string(line) != want {
		h.t.Fatalf("%s/%s = %q, want %q", vendor, sumName, line, want)
	}
}

func (h *harness) file(vendor, name string) string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.dir, "outbox", vendor, name))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// TestNormalDays: Wednesday's and Thursday's extracts, delivered Thursday and
// Friday at their releases; Friday's daily messages compare with Thursday's
// delivery and equal testdata/basic/expected byte for byte.
func TestNormalDays(t *testing.T) {
	h := newHarness(t, at(2016, 1, 21, 0, 30), "")
	h.drop("registreringer_20160120.csv", "registreringer_20160120.csv")
	if next := h.tick(at(2016, 1, 21, 4, 59)); !next.Equal(at(2016, 1, 21, 5, 0)) {
		t.Fatalf("next wake %v, want the 05:00 release", next)
	}
	h.wantOutbox("schultz-fasit")
	h.tick(at(2016, 1, 21, 5, 0))
	h.wantSlot("daglig-opdatering/20160121/schultz-fasit", "leveret", Rettidig)
	h.wantOutbox("schultz-fasit", "daglig-opdatering_20160121.csv", "daglig-opdatering_20160121.csv.sha256")
	h.wantOutbox("kmd-opera") // messages wait for 07:00
	h.tick(at(2016, 1, 21, 7, 6))
	h.wantSlot("daglige-beskeder/20160121/kmd-opera", "leveret", Rettidig)
	h.wantOutbox("kmd-opera", "daglige-beskeder_20160121.csv", "daglige-beskeder_20160121.csv.sha256")
	if s := h.slot("daglige-beskeder/20160121/kmd-opera"); !s.Time.Equal(at(2016, 1, 21, 7, 6)) {
		t.Errorf("publication time %v", s.Time)
	}

	h.clock.Set(at(2016, 1, 22, 1, 0))
	h.drop("registreringer_20160121.csv", "registreringer_20160121.csv")
	h.tick(at(2016, 1, 22, 7, 0))
	for _, v := range []string{"kmd-opera", "kmd-workbase", "alle"} {
		got := h.file(v, "daglige-beskeder_20160122.csv")
		want, _ := os.ReadFile(filepath.Join("..", "testdata", "basic", "expected", v, "daglige-beskeder_20160122.csv"))
		if got != string(want) {
			t.Errorf("%s daglige-beskeder_20160122.csv:\n%s\nwant\n%s", v, got, want)
		}
	}
	for _, v := range []string{"schultz-fasit", "alle"} {
		want, _ := os.ReadFile(filepath.Join("..", "testdata", "basic", "expected", v, "daglig-opdatering_20160122.csv"))
		if got := h.file(v, "daglig-opdatering_20160122.csv"); got != string(want) {
			t.Errorf("%s daglig-opdatering_20160122.csv differs", v)
		}
	}
	if b := h.e.Snapshot().Basis["kmd-opera"]; b.AsOf != "20160121" {
		t.Errorf("basis after Friday: %v", b)
	}
	if n := len(h.sink.events(receipt.Leveret)); n != 2*2+2*3 {
		t.Errorf("%d leveret receipts, want 10", n)
	}
	// Ticking again delivers nothing twice.
	h.tick(at(2016, 1, 22, 7, 30))
	if n := len(h.sink.events(receipt.Leveret)); n != 10 {
		t.Errorf("after another tick: %d leveret receipts", n)
	}
}

// TestLateExtracts: an extract after the release is published when ready
// (rettidig), after the deadline forsinket, after the cutoff not at all.
func TestLateExtracts(t *testing.T) {
	for _, c := range []struct {
		arrives         time.Time
		status, outcome string
	}{
		{at(2016, 1, 22, 7, 30), "leveret", Rettidig},
		{at(2016, 1, 22, 8, 0), "leveret", Rettidig}, // the deadline itself is in time
		{at(2016, 1, 22, 8, 15), "leveret", Forsinket},
		{at(2016, 1, 22, 9, 29), "leveret", Forsinket},
		{at(2016, 1, 22, 9, 30), "udeladt", Udeladt},
	} {
		t.Run(c.arrives.Format("15:04"), func(t *testing.T) {
			h := newHarness(t, at(2016, 1, 22, 0, 30), "")
			h.tick(at(2016, 1, 22, 7, 0)) // nothing to publish yet
			h.clock.Set(c.arrives)
			h.drop("registreringer_20160121.csv", "registreringer_20160121.csv")
			h.tick(c.arrives)
			h.wantSlot("daglige-beskeder/20160122/kmd-opera", c.status, c.outcome)
			if c.status == "udeladt" {
				h.wantOutbox("kmd-opera")
				if r := h.sink.events(receipt.Udeladt); len(r) == 0 || !strings.Contains(r[0].Reason, "cutoff") {
					t.Errorf("udeladt receipts %+v", r)
				}
				// daglig-opdatering (cutoff 17:00) is still published, late.
				h.wantSlot("daglig-opdatering/20160122/schultz-fasit", "leveret", Forsinket)
			} else {
				h.wantOutbox("kmd-opera", "daglige-beskeder_20160122.csv", "daglige-beskeder_20160122.csv.sha256")
			}
		})
	}
}

// TestOmittedDayIsCovered: Friday's messages pass their cutoff; Monday's
// compare with Thursday's delivery, so they hold Friday's changes too.
func TestOmittedDayIsCovered(t *testing.T) {
	h := newHarness(t, at(2016, 1, 21, 0, 30), "")
	h.drop("registreringer_20160120.csv", "registreringer_20160120.csv")
	h.tick(at(2016, 1, 21, 7, 0))
	h.tick(at(2016, 1, 22, 9, 31)) // Friday: no extract by the cutoff
	h.wantSlot("daglige-beskeder/20160122/kmd-opera", "udeladt", Udeladt)
	if r := h.sink.events(receipt.Udeladt); len(r) == 0 || !strings.Contains(r[0].Reason, "no accepted extract") {
		t.Fatalf("udeladt receipts %+v", r)
	}
	// The extract comes late; it is kept but Friday's messages stay omitted.
	h.drop("registreringer_20160121.csv", "registreringer_20160121.csv")
	h.tick(at(2016, 1, 22, 10, 0))
	h.wantOutbox("kmd-opera", "daglige-beskeder_20160121.csv", "daglige-beskeder_20160121.csv.sha256")

	h.clock.Set(at(2016, 1, 25, 1, 0))
	h.drop("registreringer_20160124.csv", "registreringer_20160124.csv")
	h.tick(at(2016, 1, 25, 7, 0))
	got := h.file("kmd-opera", "daglige-beskeder_20160125.csv")
	// Registered on Thursday the 21st, after the basis (Wednesday the 20th).
	for _, want := range []string{"1005801234;101;SAMTALE;2016-01-21;c1-s1;", "2201864321;101;INDKALDELSE;2016-02-02;c2-i1;", "1005801234;101;AENDRING;"} {
		if !strings.Contains(got, want) {
			t.Errorf("Monday's messages lack %q:\n%s", want, got)
		}
	}
	if b := h.e.Snapshot().Basis["kmd-opera"]; b.AsOf != "20160124" {
		t.Errorf("basis after Monday %v", b)
	}
	// Monday also brings the weekly update, equal to testdata/basic/expected.
	want, _ := os.ReadFile(filepath.Join("..", "testdata", "basic", "expected", "kmd-opera", "ugeopdatering_2016-W03.csv"))
	if got := h.file("kmd-opera", "ugeopdatering_2016-W03.csv"); got != string(want) {
		t.Errorf("weekly:\n%s\nwant\n%s", got, want)
	}
}

// TestWeekend: the weekend's extracts are computed and kept, not published;
// Monday publishes from Sunday's, comparing with Friday's delivery.
func TestWeekend(t *testing.T) {
	h := newHarness(t, at(2016, 1, 22, 0, 30), "")
	h.drop("registreringer_20160121.csv", "registreringer_20160121.csv")
	h.tick(at(2016, 1, 22, 7, 0))
	h.clock.Set(at(2016, 1, 23, 1, 0))
	h.drop("registreringer_20160122.csv", "registreringer_20160121.csv")
	h.tick(at(2016, 1, 23, 12, 0))
	h.clock.Set(at(2016, 1, 24, 1, 0))
	h.drop("registreringer_20160123.csv", "registreringer_20160121.csv")
	h.tick(at(2016, 1, 24, 12, 0))
	h.wantOutbox("schultz-fasit", "daglig-opdatering_20160122.csv", "daglig-opdatering_20160122.csv.sha256")
	if n := len(h.sink.events(receipt.Modtaget)); n != 3 {
		t.Errorf("%d extracts accepted, want 3", n)
	}
	h.clock.Set(at(2016, 1, 25, 0, 10))
	h.drop("registreringer_20160124.csv", "registreringer_20160124.csv")
	h.tick(at(2016, 1, 25, 7, 0))
	h.wantOutbox("schultz-fasit", "daglig-opdatering_20160122.csv", "daglig-opdatering_20160122.csv.sha256",
		"daglig-opdatering_20160125.csv", "daglig-opdatering_20160125.csv.sha256")
	h.wantSlot("ugeopdatering/20160125/alle", "leveret", Rettidig)
	if s := h.slot("daglige-beskeder/20160125/kmd-opera"); s == nil || s.Input != "20160124_r1" {
		t.Fatalf("Monday's messages from %+v", s)
	}
	if s := h.slot("daglig-opdatering/20160123/schultz-fasit"); s != nil {
		t.Errorf("a Saturday slot exists: %+v", s)
	}
}

// TestEaster: no daily delivery from Maundy Thursday to Easter Monday; the
// weekly update still comes on Easter Monday; Tuesday publishes from
// Monday's extract.
func TestEaster(t *testing.T) {
	h := newHarness(t, at(2016, 3, 23, 0, 30), "")
	for d := 23; d <= 29; d++ {
		if ok := h.e.sched.IsDeliveryDay(0, mk(2016, 3, d)); ok != (d == 23 || d == 29) {
			t.Errorf("2016-03-%d delivery day = %v", d, ok)
		}
	}
	h.clock.Set(at(2016, 3, 28, 0, 5))
	h.drop("registreringer_20160327.csv", "registreringer_20160124.csv")
	h.tick(at(2016, 3, 28, 19, 0))
	h.wantSlot("ugeopdatering/20160328/kmd-opera", "leveret", Rettidig)
	h.wantOutbox("kmd-opera", "ugeopdatering_2016-W12.csv", "ugeopdatering_2016-W12.csv.sha256")
	h.wantOutbox("schultz-fasit")
	h.clock.Set(at(2016, 3, 29, 0, 5))
	h.drop("registreringer_20160328.csv", "registreringer_20160124.csv")
	h.tick(at(2016, 3, 29, 5, 0))
	h.wantOutbox("schultz-fasit", "daglig-opdatering_20160329.csv", "daglig-opdatering_20160329.csv.sha256")
}

// TestDST: windows are local clock times on both sides of the changes.
func TestDST(t *testing.T) {
	h := newHarness(t, at(2016, 10, 28, 0, 0), "")
	s := h.e.sched
	for _, c := range []struct {
		day  [3]int
		utc  string
		desc string
	}{
		{[3]int{2016, 10, 28}, "2016-10-28T03:00:00Z", "Friday before the October change (CEST)"},
		{[3]int{2016, 10, 31}, "2016-10-31T04:00:00Z", "Monday after the October change (CET)"},
		{[3]int{2017, 3, 24}, "2017-03-24T04:00:00Z", "Friday before the March change (CET)"},
		{[3]int{2017, 3, 27}, "2017-03-27T03:00:00Z", "Monday after the March change (CEST)"},
	} {
		r := s.SlotTimes(0, mk(c.day[0], c.day[1], c.day[2])).Release.UTC().Format(time.RFC3339)
		if r != c.utc {
			t.Errorf("%s: release %s, want %s", c.desc, r, c.utc)
		}
	}
	// The Sunday of the change (25 hours long) gives Monday's delivery.
	h.clock.Set(at(2016, 10, 30, 23, 30))
	h.drop("registreringer_20161030.csv", "registreringer_20160124.csv")
	if next := h.tick(at(2016, 10, 31, 0, 0).Add(-time.Minute)); !next.Equal(at(2016, 10, 31, 0, 0)) {
		t.Errorf("next wake %v, want Monday 00:00 (weekly release)", next)
	}
	h.tick(time.Date(2016, 10, 31, 4, 0, 0, 0, time.UTC))
	h.wantSlot("daglig-opdatering/20161031/schultz-fasit", "leveret", Rettidig)
	if s := h.slot("daglig-opdatering/20161031/schultz-fasit"); !s.Time.Equal(at(2016, 10, 31, 5, 0)) {
		t.Errorf("published %v", s.Time)
	}
}

// TestStartAfterWindow: a daemon down during the morning catches up at
// 10:00 with the outcome the real publication time gives.
func TestStartAfterWindow(t *testing.T) {
	h := newHarness(t, at(2016, 1, 21, 12, 0), "")
	h.clock.Set(at(2016, 1, 22, 10, 0))
	h.restart()
	h.drop("registreringer_20160121.csv", "registreringer_20160121.csv")
	h.tick(at(2016, 1, 22, 10, 0))
	h.wantSlot("daglig-opdatering/20160122/schultz-fasit", "leveret", Forsinket)
	h.wantSlot("daglige-beskeder/20160122/kmd-opera", "udeladt", Udeladt)
	h.wantOutbox("kmd-opera")
}

// TestRevisions: the highest revision wins until publication; later ones are
// kept but not published.
func TestRevisions(t *testing.T) {
	h := newHarness(t, at(2016, 1, 22, 0, 30), "")
	h.drop("registreringer_20160121.csv", "registreringer_20160120.csv")
	h.drop("registreringer_20160121_2.csv", "registreringer_20160121.csv")
	h.tick(at(2016, 1, 22, 5, 0))
	if s := h.slot("daglig-opdatering/20160122/alle"); s.Input != "20160121_r2" {
		t.Fatalf("published from %s, want revision 2", s.Input)
	}
	h.drop("registreringer_20160121_3.csv", "registreringer_20160120.csv")
	h.tick(at(2016, 1, 22, 7, 0))
	if s := h.slot("daglige-beskeder/20160122/alle"); s.Input != "20160121_r2" {
		t.Fatalf("messages from %s, want revision 2 (already published)", s.Input)
	}
	if r := h.sink.events(receipt.Modtaget); len(r) != 3 || !strings.Contains(r[2].Reason, "re-delivery") {
		t.Errorf("the late revision is not recorded as kept: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "archive", "registreringer_20160121_3.csv")); err != nil {
		t.Errorf("late revision not archived: %v", err)
	}
}

// TestQuarantine: a bad extract goes to quarantine with its report, the
// inbox is left empty and the staged state is unchanged.
func TestQuarantine(t *testing.T) {
	h := newHarness(t, at(2016, 1, 22, 0, 30), "")
	data, _ := os.ReadFile("../testdata/basic/registreringer_20160121.csv")
	bad := strings.Replace(string(data), "SLUT;28", "SLUT;27", 1)
	h.dropData("registreringer_20160121.csv", []byte(bad))
	h.dropData("notes.txt", []byte("hello"))
	if names, _ := h.e.ScanInbox(); len(names) != 0 {
		t.Fatalf("inbox not empty: %v", names)
	}
	rep, err := os.ReadFile(filepath.Join(h.dir, "quarantine", "registreringer_20160121.csv.error.txt"))
	if err != nil || !strings.Contains(string(rep), "trailer says 27 data rows but the file has 28") {
		t.Fatalf("report: %q %v", rep, err)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "quarantine", "notes.txt.error.txt")); err != nil {
		t.Errorf("unknown file not quarantined with a report: %v", err)
	}
	if r := h.sink.events(receipt.Afvist); len(r) != 2 || r[0].SHA256 == "" {
		t.Errorf("afvist receipts %+v", r)
	}
	if len(h.e.staged) != 0 {
		t.Error("a rejected extract was staged")
	}
	// The good file afterwards is accepted and published.
	h.drop("registreringer_20160121.csv", "registreringer_20160121.csv")
	h.tick(at(2016, 1, 22, 5, 0))
	h.wantSlot("daglig-opdatering/20160122/alle", "leveret", Rettidig)
	// Sent again unchanged: archived already, so it just leaves the inbox.
	h.drop("registreringer_20160121.csv", "registreringer_20160121.csv")
	if names, _ := h.e.ScanInbox(); len(names) != 0 {
		t.Fatalf("inbox not empty: %v", names)
	}
}

// TestRecoverIntent: a crash between recording the intent and committing
// is rolled forward at start; after the cutoff an uncommitted one rolls back.
func TestRecoverIntent(t *testing.T) {
	for _, c := range []struct {
		name     string
		restart  time.Time
		delivers bool
	}{
		{"forward", at(2016, 1, 22, 7, 1), true},
		{"back after cutoff", at(2016, 1, 22, 9, 45), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, at(2016, 1, 22, 0, 30), "")
			h.drop("registreringer_20160121.csv", "registreringer_20160121.csv")
			h.clock.Set(at(2016, 1, 22, 7, 0))
			// Publish with an outbox whose commits fail: the intent stays.
			key := "daglige-beskeder/20160122/kmd-opera"
			h.e.outboxes["kmd-opera"] = failingCommit{h.e.outboxes["kmd-opera"]}
			h.e.Tick()
			if st := h.e.Snapshot(); st.Intents[sk(key)] == nil || st.Slots[sk(key)] != nil {
				t.Fatalf("intent not left behind: %+v", st.Intents)
			}
			for _, n := range h.outbox("kmd-opera") {
				if !strings.HasPrefix(n, ".") {
					t.Fatalf("a vendor sees %s before the commit", n)
				}
			}
			h.clock.Set(c.restart)
			h.restart()
			if c.delivers {
				h.wantSlot(key, "leveret", Rettidig)
				h.wantOutbox("kmd-opera", "daglige-beskeder_20160122.csv", "daglige-beskeder_20160122.csv.sha256")
			} else {
				h.wantOutbox("kmd-opera")
				h.tick(c.restart)
				h.wantSlot(key, "udeladt", Udeladt)
			}
		})
	}
}

type failingCommit struct{ transfer.Outbox }

func (f failingCommit) Commit(context.Context, string, string) error { return os.ErrDeadlineExceeded }

func TestRetention(t *testing.T) {
	h := newHarness(t, at(2016, 1, 21, 0, 30), "")
	h.drop("registreringer_20160120.csv", "registreringer_20160120.csv")
	h.tick(at(2016, 1, 21, 7, 0))
	h.drop("registreringer_20160121.csv", "registreringer_20160121.csv")
	h.tick(at(2016, 1, 22, 7, 0))
	old := at(2016, 1, 21, 7, 0)
	for _, p := range []string{"outbox/kmd-opera/daglige-beskeder_20160121.csv", "archive/registreringer_20160120.csv"} {
		os.Chtimes(filepath.Join(h.dir, p), old, old)
	}
	h.clock.Set(at(2016, 2, 6, 12, 0)) // 16 days later: past the outbox's 14
	h.e.Retain()
	names := strings.Join(h.outbox("kmd-opera"), " ")
	if strings.Contains(names, "daglige-beskeder_20160121.csv ") || !strings.Contains(names, "daglige-beskeder_20160122.csv") {
		t.Errorf("outbox after retention: %s", names)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "archive", "registreringer_20160120.csv")); err != nil {
		t.Errorf("archive removed before retention_days: %v", err)
	}
	h.clock.Set(at(2016, 2, 25, 12, 0)) // 35 days: past retention_days (30)
	h.e.Retain()
	if _, err := os.Stat(filepath.Join(h.dir, "archive", "registreringer_20160120.csv")); err == nil {
		t.Error("archived extract kept past retention_days")
	}
	if _, ok := h.e.staged[ExtractRef{"20160120", 1}]; ok {
		t.Error("staged products kept past retention_days")
	}
	if _, ok := h.e.staged[ExtractRef{"20160121", 1}]; !ok {
		t.Error("the vendors' basis was removed")
	}
	if len(h.sink.events(receipt.Slettet)) < 3 {
		t.Errorf("removals not recorded: %+v", h.sink.events(receipt.Slettet))
	}
}
