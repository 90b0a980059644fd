package daemon

// Tests of the HTTP endpoints (docs/status.md) in process: an Engine driven by the
// FakeClock through a delivery day, served with net/http/httptest. The same
// page in a real browser is browser_test.go's.

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"leverance/receipt"
	"leverance/status"
	"leverance/transfer"
)

// records returns a copy of the records, for Options.Records.
func (s *memSink) records() ([]receipt.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]receipt.Record(nil), s.recs...), nil
}

// restartWithStatus restarts the Engine with its status derived from the
// harness's receipts (the daemon reads its receipts log the same way).
func (h *harness) restartWithStatus() {
	h.t.Helper()
	e, err := New(Options{Config: h.cfg, Clock: h.clock, Sink: h.sink, Version: "test", Records: h.sink.records,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		h.t.Fatal(err)
	}
	h.e = e
}

// failingStage is an outbox that refuses to stage: a publication attempt
// fails before any intent is recorded, and the next tick tries again.
type failingStage struct{ transfer.Outbox }

func (failingStage) Stage(context.Context, string, io.Reader) (string, error) {
	return "", &fs.PathError{Op: "open", Path: "outbox", Err: fs.ErrPermission}
}

// get fetches path from srv and returns the status, Content-Type and body.
func get(t *testing.T, srv *httptest.Server, path string) (int, string, string) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
}

func getStatus(t *testing.T, srv *httptest.Server) *status.Status {
	t.Helper()
	code, ctype, body := get(t, srv, "/status.json")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "application/json") {
		t.Fatalf("/status.json: %d %q", code, ctype)
	}
	var st status.Status
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		t.Fatalf("/status.json does not parse: %v", err)
	}
	return &st
}

func product(st *status.Status, name string) *status.Product {
	for i := range st.Products {
		if st.Products[i].Product == name {
			return &st.Products[i]
		}
	}
	return nil
}

// cprLike matches a CPR number (ten digits on their own), which no public
// output may hold (docs/audit.md#records, docs/status.md).
var cprLike = regexp.MustCompile(`(^|[^0-9])[0-9]{6}-?[0-9]{4}([^0-9]|$)`)

// TestHTTPStatus drives a Thursday: the extract at 00:30 (and a bad one),
// daglig-opdatering at its 05:00 release, daglige-beskeder at 07:00 except
// for kmd-opera, whose outbox refuses the first attempt and takes the retry
// at 07:06. Every endpoint is checked against what happened.
func TestHTTPStatus(t *testing.T) {
	h := newHarness(t, at(2016, 1, 21, 0, 30), "")
	h.restartWithStatus()
	var ready atomic.Bool
	srv := httptest.NewServer(h.e.Handler(&ready))
	defer srv.Close()

	if code, _, _ := get(t, srv, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz before ready: %d, want 200 (alive)", code)
	}
	if code, _, _ := get(t, srv, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz before ready: %d, want 503", code)
	}
	if code, _, body := get(t, srv, "/nothing-here"); code != http.StatusNotFound {
		t.Errorf("/nothing-here: %d %q, want 404", code, body)
	}
	if st := getStatus(t, srv); st.Daily != "" || st.DailyWhy == "" {
		t.Errorf("before any delivery: daily %q, why %q; want no line and a reason", st.Daily, st.DailyWhy)
	}

	h.drop("registreringer_20160120.csv", "registreringer_20160120.csv")
	data, err := os.ReadFile("../testdata/basic/registreringer_20160121.csv")
	if err != nil {
		t.Fatal(err)
	}
	h.dropData("registreringer_20160119.csv", []byte(strings.Replace(string(data), "SLUT;28", "SLUT;27", 1)))

	h.tick(at(2016, 1, 21, 5, 0))
	good := h.e.outboxes["kmd-opera"]
	h.e.outboxes["kmd-opera"] = failingStage{good}
	h.tick(at(2016, 1, 21, 7, 0))
	st := getStatus(t, srv)
	if p := product(st, "daglig-opdatering"); p == nil || p.Line != "Daglig opdateringsfil er leveret kl. 5:00" {
		t.Errorf("daglig-opdatering at 07:00: %+v", p)
	}
	if st.Daily != "" {
		t.Errorf("at 07:00 with kmd-opera waiting: daily line %q, want none (no earlier delivery day)", st.Daily)
	}
	if p := product(st, "daglige-beskeder"); p == nil || len(p.Slots) != 3 || p.Slots[1].Vendor != "kmd-opera" || p.Slots[1].State != status.StateWaiting {
		t.Errorf("daglige-beskeder at 07:00: %+v", p)
	}

	h.e.outboxes["kmd-opera"] = good
	h.tick(at(2016, 1, 21, 7, 6))
	ready.Store(true)
	if code, _, _ := get(t, srv, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz when ready: %d, want 200", code)
	}
	if code, _, _ := get(t, srv, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}

	// /status.json: the docs/status.md#the-public-lines lines and the detail.
	h.clock.Set(at(2016, 1, 21, 9, 0))
	st = getStatus(t, srv)
	const daily = "Daglige data er leveret kl. 7:06"
	if st.Daily != daily {
		t.Errorf("daily line %q, want %q", st.Daily, daily)
	}
	if st.Weekly != "" || st.WeeklyWhy == "" {
		t.Errorf("weekly line %q (why %q): no weekly delivery is in the log", st.Weekly, st.WeeklyWhy)
	}
	if !st.Now.Equal(at(2016, 1, 21, 9, 0)) {
		t.Errorf("now = %v: the status is not derived from the engine's clock", st.Now)
	}
	p := product(st, "daglige-beskeder")
	if p == nil || p.Day != "2016-01-21" || len(p.Slots) != 3 {
		t.Fatalf("daglige-beskeder: %+v", p)
	}
	for _, sl := range p.Slots {
		want := at(2016, 1, 21, 7, 0)
		if sl.Vendor == "kmd-opera" {
			want = at(2016, 1, 21, 7, 6)
		}
		if sl.State != status.StateDelivered || sl.Outcome != Rettidig || sl.Published == nil || !sl.Published.Equal(want) ||
			sl.File != "daglige-beskeder_20160121.csv" {
			t.Errorf("daglige-beskeder slot %+v, want leveret rettidig at %v", sl, want)
		}
	}
	if n := len(st.Calendar); n != 56 || st.Calendar[0].Date != "2015-11-30" || st.Calendar[n-1].Date != "2016-01-24" {
		t.Errorf("calendar of %d days, want 56 (8 weeks, Monday 2015-11-30 to Sunday 2016-01-24)", n)
	} else if today := st.Calendar[n-4]; today.Date != "2016-01-21" || today.Outcomes["daglige-beskeder"] != Rettidig ||
		today.Outcomes["daglig-opdatering"] != Rettidig {
		t.Errorf("today in the calendar: %+v", today)
	}

	// The page: HTML with the box line, accessible markup.
	code, ctype, page := get(t, srv, "/")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/html") {
		t.Fatalf("/: %d %q", code, ctype)
	}
	doc, err := parseHTML(page)
	if err != nil {
		t.Fatalf("/ does not parse: %v", err)
	}
	if box := doc.byID("daily"); box == nil || box.text() != daily {
		t.Errorf("the page's box does not hold %q:\n%s", daily, page)
	}
	checkPage(t, doc, "2016-01-21")
	checkAccessible(t, doc)
	for path, body := range map[string]string{"/": page, "/status.json": func() string { _, _, b := get(t, srv, "/status.json"); return b }()} {
		if cprLike.MatchString(body) {
			t.Errorf("%s holds something like a CPR number", path)
		}
	}

	// /metrics: every metric of docs/status.md, with the values of the day.
	checkMetrics(t, srv, h)
}

// checkMetrics parses /metrics with the Prometheus text parser and checks
// every metric docs/status.md names, by name, type and the values of
// TestHTTPStatus's day.
func checkMetrics(t *testing.T, srv *httptest.Server, h *harness) {
	t.Helper()
	code, ctype, body := get(t, srv, "/metrics")
	if code != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("/metrics: %d %q", code, ctype)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse as the Prometheus text format: %v\n%s", err, body)
	}
	// value returns the value of the series of name with exactly the
	// labels given (name=value pairs), and whether it exists.
	value := func(name, typ string, labels ...string) (float64, bool) {
		t.Helper()
		mf := fams[name]
		if mf == nil {
			t.Errorf("metric %s missing", name)
			return 0, false
		}
		if got := strings.ToLower(mf.GetType().String()); got != typ {
			t.Errorf("metric %s is a %s, want a %s", name, got, typ)
		}
		want := map[string]string{}
		for i := 0; i+1 < len(labels); i += 2 {
			want[labels[i]] = labels[i+1]
		}
	series:
		for _, m := range mf.GetMetric() {
			if len(m.GetLabel()) != len(want) {
				continue
			}
			for _, l := range m.GetLabel() {
				if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
					continue series
				}
			}
			switch typ {
			case "counter":
				return m.GetCounter().GetValue(), true
			case "gauge":
				return m.GetGauge().GetValue(), true
			case "histogram":
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
		t.Errorf("metric %s has no series %v", name, labels)
		return 0, false
	}
	want := func(v float64, name, typ string, labels ...string) {
		t.Helper()
		if got, ok := value(name, typ, labels...); ok && got != v {
			t.Errorf("%s%v = %v, want %v", name, labels, got, v)
		}
	}
	size := func(vendor, file string) float64 {
		t.Helper()
		fi, err := os.Stat(filepath.Join(h.dir, "outbox", vendor, file))
		if err != nil {
			t.Fatal(err)
		}
		return float64(fi.Size())
	}

	// Extracts accepted and rejected.
	want(1, "leverance_extracts_total", "counter", "result", "accepted")
	want(1, "leverance_extracts_total", "counter", "result", "rejected")
	// Compute duration: both extracts were read and validated.
	want(2, "leverance_compute_duration_seconds", "histogram")
	// Publications by outcome; a series for every outcome exists from the
	// start, at 0.
	want(1, "leverance_publications_total", "counter", "product", "daglige-beskeder", "vendor", "kmd-opera", "outcome", "rettidig")
	want(0, "leverance_publications_total", "counter", "product", "daglige-beskeder", "vendor", "kmd-opera", "outcome", "forsinket")
	want(0, "leverance_publications_total", "counter", "product", "daglige-beskeder", "vendor", "kmd-opera", "outcome", "udeladt")
	want(1, "leverance_publications_total", "counter", "product", "daglig-opdatering", "vendor", "schultz-fasit", "outcome", "rettidig")
	want(0, "leverance_publications_total", "counter", "product", "ugeopdatering", "vendor", "alle", "outcome", "rettidig")
	// Attempts, and failures by class: kmd-opera's first attempt failed.
	want(2, "leverance_publication_attempts_total", "counter", "product", "daglige-beskeder", "vendor", "kmd-opera")
	want(1, "leverance_publication_attempts_total", "counter", "product", "daglige-beskeder", "vendor", "kmd-workbase")
	want(1, "leverance_publication_failures_total", "counter", "class", "permission")
	if n := len(h.sink.events(receipt.Fejl)); n != 1 {
		t.Errorf("%d fejl receipts, want 1", n)
	}
	// Bytes sent: the product files' sizes.
	want(size("kmd-opera", "daglige-beskeder_20160121.csv"), "leverance_sent_bytes_total", "counter", "vendor", "kmd-opera")
	want(size("alle", "daglige-beskeder_20160121.csv")+size("alle", "daglig-opdatering_20160121.csv"),
		"leverance_sent_bytes_total", "counter", "vendor", "alle")
	// Fetches: nobody has downloaded anything, but the series of the
	// vendors the built-in server serves exist.
	for _, v := range []string{"kmd-opera", "kmd-workbase", "schultz-fasit", "alle"} {
		want(0, "leverance_fetches_total", "counter", "vendor", v, "complete", "true")
		want(0, "leverance_fetches_total", "counter", "vendor", v, "complete", "false")
	}
	// The built-in server's limit hits: every limit's series exists at 0.
	for _, l := range []string{"max_startups", "per_source_max_conns", "max_handles", "memory_budget"} {
		want(0, "leverance_sftp_limit_hits_total", "counter", "limit", l)
	}
	// Slot states, from the receipts log.
	want(3, "leverance_slots", "gauge", "product", "daglige-beskeder", "state", status.StateDelivered)
	want(2, "leverance_slots", "gauge", "product", "daglig-opdatering", "state", status.StateDelivered)
	want(3, "leverance_slots", "gauge", "product", "ugeopdatering", "state", status.StateWaiting)
	// The receipts log's size.
	recs, _ := h.sink.records()
	want(float64(len(recs)), "leverance_receipts_records", "gauge")
	// Last successful publication per product and vendor.
	want(float64(at(2016, 1, 21, 7, 6).Unix()), "leverance_last_publication_timestamp_seconds", "gauge",
		"product", "daglige-beskeder", "vendor", "kmd-opera")
	want(float64(at(2016, 1, 21, 5, 0).Unix()), "leverance_last_publication_timestamp_seconds", "gauge",
		"product", "daglig-opdatering", "vendor", "schultz-fasit")
	// Build info.
	if mf := fams["leverance_build_info"]; mf == nil || len(mf.GetMetric()) != 1 {
		t.Errorf("leverance_build_info: %v", mf)
	} else {
		m := mf.GetMetric()[0]
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["version"] != "test" || !strings.HasPrefix(labels["goversion"], "go") || m.GetGauge().GetValue() != 1 {
			t.Errorf("leverance_build_info %v = %v", labels, m.GetGauge().GetValue())
		}
	}
	// Configuration reloads.
	want(1, "leverance_config_last_reload_successful", "gauge")
	want(0, "leverance_config_reload_failures_total", "counter")
	// The standard collectors.
	if fams["go_goroutines"] == nil {
		t.Error("the Go collector's metrics are missing")
	}
	for name, mf := range fams {
		if strings.HasPrefix(name, "leverance_") && mf.GetHelp() == "" {
			t.Errorf("metric %s has no HELP", name)
		}
		if mf.GetType().String() == "COUNTER" && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s does not end in _total", name)
		}
	}
	for _, m := range fams["leverance_compute_duration_seconds"].GetMetric() {
		if s := m.GetHistogram().GetSampleSum(); s <= 0 || math.IsNaN(s) {
			t.Errorf("compute duration sum %v", s)
		}
	}
}

// checkPage checks the page's detail tables and calendar against the day of
// TestHTTPStatus and the browser test: the basic example's vendors, all
// delivered on time today.
func checkPage(t *testing.T, doc *node, today string) {
	t.Helper()
	rows := map[string][]string{} // product → "vendor state outcome file"
	for _, tbl := range doc.findAll(func(n *node) bool { return n.tag == "table" && n.hasClass("detail") }) {
		product := tbl.attr["data-product"]
		for _, tr := range tbl.findAll(func(n *node) bool { return n.tag == "tr" && n.parent != nil && n.parent.tag == "tbody" }) {
			var cells []string
			for _, c := range tr.kids {
				if c.tag == "th" || c.tag == "td" {
					cells = append(cells, c.text())
				}
			}
			if len(cells) != 5 {
				t.Errorf("%s: a detail row of %d cells: %q", product, len(cells), cells)
				continue
			}
			rows[product] = append(rows[product], fmt.Sprintf("%s %s %s %s", cells[0], cells[1], cells[3], cells[4]))
		}
	}
	compact := strings.ReplaceAll(today, "-", "")
	for product, vendors := range map[string][]string{
		"daglige-beskeder":  {"alle", "kmd-opera", "kmd-workbase"},
		"daglig-opdatering": {"alle", "schultz-fasit"},
	} {
		var want []string
		for _, v := range vendors {
			want = append(want, fmt.Sprintf("%s leveret rettidig %s_%s.csv", v, product, compact))
		}
		if got := rows[product]; strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("detail table %s:\n got  %q\n want %q", product, got, want)
		}
	}
	if got := rows["ugeopdatering"]; len(got) != 3 {
		t.Errorf("detail table ugeopdatering: %q, want a row per taker", got)
	}

	cells := doc.findAll(func(n *node) bool { return n.tag == "td" && n.attr["data-date"] != "" })
	if len(cells) != 56 {
		t.Fatalf("%d calendar cells td[data-date], want 56", len(cells))
	}
	dates := make([]string, len(cells))
	var last *node
	for i, c := range cells {
		dates[i] = c.attr["data-date"]
		if dates[i] == today {
			last = c
		}
	}
	if !sort.StringsAreSorted(dates) || weekday(dates[0]) != time.Monday || weekday(dates[55]) != time.Sunday || last == nil || dates[55] < today || dates[49] > today {
		t.Fatalf("calendar dates %s … %s, want Monday to Sunday, the last week holding today (%s), in order", dates[0], dates[55], today)
	}
	div := last.find(func(n *node) bool { return n.tag == "div" && n.attr["data-product"] == "daglige-beskeder" })
	if div == nil || !div.hasClass("rettidig") || !strings.Contains(div.text(), "rettidig") {
		t.Errorf("today's calendar cell has no daglige-beskeder div of class rettidig saying so: %s", last.text())
	}
}

func weekday(date string) time.Weekday {
	d, _ := time.Parse("2006-01-02", date)
	return d.Weekday()
}

// checkAccessible checks the markup docs/status.md's page needs to be usable with a
// screen reader and without colour vision: the language, table headers with
// scope, every table named, and a text in every coloured cell.
func checkAccessible(t *testing.T, doc *node) {
	t.Helper()
	if html := doc.find(func(n *node) bool { return n.tag == "html" }); html == nil || html.attr["lang"] != "da" {
		t.Error(`<html> lacks lang="da"`)
	}
	if title := doc.find(func(n *node) bool { return n.tag == "title" }); title == nil || title.text() == "" {
		t.Error("the page has no title")
	}
	if doc.find(func(n *node) bool { return n.tag == "h1" }) == nil || doc.find(func(n *node) bool { return n.tag == "main" }) == nil {
		t.Error("the page has no h1 or no main landmark")
	}
	if doc.find(func(n *node) bool { return n.tag == "script" }) != nil {
		t.Error("the page has a script: it must work without JavaScript")
	}
	if m := doc.find(func(n *node) bool { return n.tag == "meta" && strings.EqualFold(n.attr["http-equiv"], "refresh") }); m == nil {
		t.Error("the page does not refresh itself")
	}
	for _, th := range doc.findAll(func(n *node) bool { return n.tag == "th" }) {
		if s := th.attr["scope"]; s != "col" && s != "row" {
			t.Errorf("table header %q has no scope", th.text())
		}
	}
	for _, tbl := range doc.findAll(func(n *node) bool { return n.tag == "table" }) {
		caption := tbl.find(func(n *node) bool { return n.tag == "caption" })
		if (caption == nil || caption.text() == "") && tbl.attr["aria-label"] == "" &&
			(tbl.attr["aria-labelledby"] == "" || doc.byID(tbl.attr["aria-labelledby"]) == nil) {
			t.Errorf("a table (class %q) has no caption, aria-label or aria-labelledby", tbl.attr["class"])
		}
	}
	// Colour is not the only carrier: every element coloured by an outcome
	// says it in words.
	outcomes := []string{"rettidig", "forsinket", "udeladt", "afventer", "leveret", "none"}
	for _, n := range doc.findAll(func(n *node) bool {
		for _, o := range outcomes {
			if n.hasClass(o) {
				return true
			}
		}
		return false
	}) {
		if strings.TrimSpace(n.text()) == "" {
			t.Errorf("a %s element of class %q has no text: colour alone carries its meaning", n.tag, n.attr["class"])
		}
	}
}

// node is an element (or, with tag "", a text) of a parsed HTML page.
type node struct {
	tag    string
	attr   map[string]string
	kids   []*node
	parent *node
	data   string // text nodes
}

// parseHTML parses an HTML page, as served or as a browser dumps it, with
// encoding/xml in its lenient mode (void elements close themselves, HTML
// entities are known): enough for a well-formed page, without another
// dependency.
func parseHTML(s string) (*node, error) {
	d := xml.NewDecoder(strings.NewReader(s))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	root := &node{tag: "#document"}
	cur := root
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{tag: strings.ToLower(tok.Name.Local), attr: map[string]string{}, parent: cur}
			for _, a := range tok.Attr {
				n.attr[strings.ToLower(a.Name.Local)] = a.Value
			}
			cur.kids = append(cur.kids, n)
			cur = n
		case xml.EndElement:
			if cur.parent == nil || !strings.EqualFold(tok.Name.Local, cur.tag) {
				return nil, fmt.Errorf("unexpected </%s> in <%s>", tok.Name.Local, cur.tag)
			}
			cur = cur.parent
		case xml.CharData:
			cur.kids = append(cur.kids, &node{data: string(tok), parent: cur})
		}
	}
	if cur != root {
		return nil, fmt.Errorf("<%s> is not closed", cur.tag)
	}
	return root, nil
}

func (n *node) findAll(pred func(*node) bool) []*node {
	var out []*node
	var walk func(*node)
	walk = func(n *node) {
		for _, k := range n.kids {
			if k.tag != "" && pred(k) {
				out = append(out, k)
			}
			walk(k)
		}
	}
	walk(n)
	return out
}

func (n *node) find(pred func(*node) bool) *node {
	if all := n.findAll(pred); len(all) > 0 {
		return all[0]
	}
	return nil
}

func (n *node) byID(id string) *node {
	return n.find(func(k *node) bool { return k.attr["id"] == id })
}

func (n *node) hasClass(c string) bool {
	for _, f := range strings.Fields(n.attr["class"]) {
		if f == c {
			return true
		}
	}
	return false
}

// text is the element's text with white space collapsed, as a reader sees it.
func (n *node) text() string {
	var b strings.Builder
	var walk func(*node)
	walk = func(n *node) {
		if n.tag == "" {
			b.WriteString(n.data)
			b.WriteByte(' ')
		}
		for _, k := range n.kids {
			if k.tag != "style" && k.tag != "script" {
				walk(k)
			}
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}
