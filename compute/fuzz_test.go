package compute

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"
)

// fuzzEpoch is day 0 of FuzzReader's as-of argument.
var fuzzEpoch = MkDate(2000, 1, 1)

type exampleExtract struct {
	data []byte
	asOf Date
}

// exampleExtracts are the extracts of testdata/basic, with their as-of dates.
func exampleExtracts(t testing.TB) []exampleExtract {
	files, _ := filepath.Glob("../testdata/basic/registreringer_*.csv")
	if len(files) == 0 {
		t.Fatal("no example extracts")
	}
	var out []exampleExtract
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := ParseExtractName(filepath.Base(p))
		out = append(out, exampleExtract{data, n.AsOf})
	}
	return out
}

// FuzzReader checks that the reader never panics or loops, that it either
// accepts an extract (io.EOF) with a consistent report and only valid rows
// or rejects it with a *RejectedError, that the outcome does not depend on
// how the input is cut into reads, and that no report text holds a CPR
// number: no run of 10 digits at all, since every number a report prints
// (line numbers, counts, sizes) is shorter.
func FuzzReader(f *testing.F) {
	// The example extracts, cut into one small extract per citizen: whole
	// 2 KB files make the fuzzer spend its time minimizing their mutants.
	// (TestReaderExampleProperties checks the whole files.)
	for _, ex := range exampleExtracts(f) {
		for _, part := range splitByCPR(ex.data) {
			f.Add(part, uint16(ex.asOf-fuzzEpoch), uint8(0), uint8(0))
		}
	}
	// Large seeds make the fuzzer spend its time minimizing them: the cases
	// of long lines are seeded with a short line limit instead.
	for _, c := range rejectCases() {
		if len(c.input) <= 1000 {
			f.Add([]byte(c.input), uint16(testAsOf-fuzzEpoch), uint8(0), uint8(0))
		}
	}
	const limit20 = 40 + 20*4 // MaxLineBytes for lineLimit 20
	longRow := rowKG.with("kode", strings.Repeat("X", limit20+1)).String()
	for _, in := range []string{
		testHeader + strings.Repeat(";id", limit20/3) + "\nSLUT;0\n",
		extract(rowKG) + longRow + "\n",
		testHeader + "\n" + longRow + "\n" + rowKG.String() + "\nSLUT;2\n",
		testHeader + "\n" + rowKG.String() + "\n" + longRow,
	} {
		f.Add([]byte(in), uint16(testAsOf-fuzzEpoch), uint8(1), uint8(20))
	}
	all := extract(rowKG, rowDP, rowLedi, rowSamt, rowInd, rowAkt, rowFri)
	f.Add([]byte("\uFEFF"+strings.ReplaceAll(all, "\n", "\r\n")), uint16(testAsOf-fuzzEpoch), uint8(1), uint8(0))
	f.Add([]byte(extract(rowKG, rowLedi.with("timer", "40"), rowKG.with("id", "SLUT"))), uint16(testAsOf-fuzzEpoch), uint8(1), uint8(10))

	f.Fuzz(func(t *testing.T, data []byte, asOfDays uint16, tolerance uint8, lineLimit uint8) {
		opt := ReaderOptions{AsOf: fuzzEpoch + Date(asOfDays), MaxRejectedRows: int(tolerance % 4)}
		if lineLimit > 0 {
			opt.MaxLineBytes = 40 + int(lineLimit)*4
		}
		rows, rep, err := fuzzRead(t, bytes.NewReader(data), opt)
		checkOutcome(t, data, opt, rows, rep, err)

		// Reading one byte at a time gives the same outcome.
		rows2, rep2, err2 := fuzzRead(t, iotest.OneByteReader(bytes.NewReader(data)), opt)
		if fmt.Sprint(rows) != fmt.Sprint(rows2) || reportString(rep, err) != reportString(rep2, err2) {
			t.Fatalf("outcome depends on how the input is read:\n%s\n---\n%s", reportString(rep, err), reportString(rep2, err2))
		}
	})
}

// splitByCPR cuts an extract with the columns in the usual order into one
// extract per cpr, each with its header and trailer.
func splitByCPR(data []byte) [][]byte {
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) < 2 {
		return [][]byte{data}
	}
	byCPR := map[string][]string{}
	var order []string
	for _, l := range lines[1 : len(lines)-1] {
		f := strings.Split(l, ";")
		if len(f) < 2 {
			continue
		}
		if _, ok := byCPR[f[1]]; !ok {
			order = append(order, f[1])
		}
		byCPR[f[1]] = append(byCPR[f[1]], l)
	}
	var out [][]byte
	for _, cpr := range order {
		rows := byCPR[cpr]
		out = append(out, []byte(lines[0]+"\n"+strings.Join(rows, "\n")+fmt.Sprintf("\nSLUT;%d\n", len(rows))))
	}
	return out
}

// TestReaderExampleProperties checks FuzzReader's properties on the whole
// example extracts, with and without a tolerance and a line limit.
func TestReaderExampleProperties(t *testing.T) {
	t.Parallel()
	for _, ex := range exampleExtracts(t) {
		data, asOf := ex.data, ex.asOf
		for _, opt := range []ReaderOptions{{AsOf: asOf}, {AsOf: asOf, MaxRejectedRows: 2, MaxLineBytes: 60}, {AsOf: asOf - 3}} {
			rows, rep, err := fuzzRead(t, bytes.NewReader(data), opt)
			checkOutcome(t, data, opt, rows, rep, err)
		}
		for _, part := range splitByCPR(data) {
			rows, rep, err := fuzzRead(t, bytes.NewReader(part), ReaderOptions{AsOf: asOf})
			if err != io.EOF {
				t.Errorf("a part of an example is rejected: %v", err)
			}
			checkOutcome(t, part, ReaderOptions{AsOf: asOf}, rows, rep, err)
		}
	}
}

// fuzzRead reads an extract like readAll, failing on any error other than
// io.EOF and *RejectedError, and on a reader that does not end.
func fuzzRead(t *testing.T, r io.Reader, opt ReaderOptions) ([]Row, *Report, error) {
	rd, err := NewReader(r, opt)
	if err != nil {
		var re *RejectedError
		if !errors.As(err, &re) || re.Report == nil {
			t.Fatalf("NewReader: %v (%T), want a *RejectedError", err, err)
		}
		if re.Report.Fatal == nil {
			t.Fatalf("NewReader rejected without a fatal problem: %+v", re.Report)
		}
		return nil, re.Report, err
	}
	var rows []Row
	for {
		row, err := rd.Next()
		if err != nil {
			// Next keeps returning the same verdict.
			if _, err2 := rd.Next(); err2 != err {
				t.Fatalf("Next after %v returned %v", err, err2)
			}
			if err != io.EOF {
				var re *RejectedError
				if !errors.As(err, &re) || re.Report != rd.Report() {
					t.Fatalf("Next: %v (%T), want io.EOF or a *RejectedError with the reader's report", err, err)
				}
			}
			return rows, rd.Report(), err
		}
		rows = append(rows, row)
		if len(rows) > 1<<20 {
			t.Fatal("Next does not end")
		}
	}
}

func reportString(rep *Report, err error) string {
	var b strings.Builder
	if err != nil {
		b.WriteString(err.Error() + "\n")
	}
	rep.WriteTo(&b)
	return b.String()
}

var tenDigits = regexp.MustCompile(`[0-9]{10}`)

func checkOutcome(t *testing.T, data []byte, opt ReaderOptions, rows []Row, rep *Report, err error) {
	text := reportString(rep, err) + rep.Summary()
	if m := tenDigits.FindString(text); m != "" {
		leak := ""
		for _, cpr := range cprColumn(data) {
			if strings.Contains(cpr, m) {
				leak = " (from the cpr column!)"
			}
		}
		t.Fatalf("report holds the 10-digit run %s%s:\n%s", m, leak, text)
	}
	if !utf8.ValidString(text) {
		t.Fatalf("report is not valid UTF-8:\n%q", text)
	}
	if rep.ProblemCount < len(rep.Problems) || len(rep.Problems) != min(rep.ProblemCount, MaxReportedProblems) {
		t.Fatalf("%d problems, %d listed", rep.ProblemCount, len(rep.Problems))
	}
	lines := bytes.Count(data, []byte{'\n'}) + 1
	for _, p := range rep.Problems {
		if p.Line < 0 || p.Line > lines || p.Reason == "" {
			t.Fatalf("problem %+v (the input has %d lines)", p, lines)
		}
		if p.Column != "" && columnIndexOK(p.Column) < 0 {
			t.Fatalf("problem names column %q", p.Column)
		}
	}
	if rep.InvalidRows > rep.Rows || rep.InvalidRows > rep.ProblemCount {
		t.Fatalf("report counts: %+v", rep)
	}
	if err != io.EOF {
		if !rep.Rejected || rep.Fatal == nil && rep.InvalidRows <= opt.MaxRejectedRows || len(rep.Problems) == 0 {
			t.Fatalf("rejected with an inconsistent report: %+v", rep)
		}
		return
	}
	// Accepted.
	if rep.Rejected || rep.Fatal != nil || rep.InvalidRows > opt.MaxRejectedRows || rep.ProblemCount < rep.InvalidRows {
		t.Fatalf("accepted with report %+v", rep)
	}
	if len(rows)+rep.InvalidRows != rep.Rows {
		t.Fatalf("%d rows returned + %d invalid != %d rows", len(rows), rep.InvalidRows, rep.Rows)
	}
	if rep.InvalidRows == 0 && rep.ProblemCount != 0 {
		t.Fatalf("accepted with problems but no invalid rows: %+v", rep)
	}
	ids := map[string]bool{}
	last := 1
	for _, r := range rows {
		checkRow(t, r, opt.AsOf)
		if r.Line <= last {
			t.Fatalf("row lines not increasing: %d after %d", r.Line, last)
		}
		last = r.Line
		if ids[r.ID] {
			t.Fatalf("id %q accepted twice", r.ID)
		}
		ids[r.ID] = true
	}
}

func columnIndexOK(name string) int {
	for i, c := range Columns {
		if c == name {
			return i
		}
	}
	return -1
}

// checkRow checks that an accepted row obeys docs/formats.md#content–docs/formats.md#validation-and-the-error-report.
func checkRow(t *testing.T, r Row, asOf Date) {
	bad := func(what string) { t.Fatalf("accepted row with %s: %+v", what, r) }
	if !validID([]byte(r.ID)) {
		bad("a bad id")
	}
	if _, ok := BirthDate(r.CPR[:]); !ok {
		bad("a bad cpr")
	}
	if r.Type < TypeKontaktgruppe || r.Type > TypeFritagelse {
		bad("a bad type")
	}
	if r.Kommune < 101 || r.Kommune > 860 {
		bad("a bad kommune")
	}
	if y, m, d := r.Fra.YMD(); !ValidDate(y, m, d) || MkDate(y, m, d) != r.Fra {
		bad("a bad fra")
	}
	if r.Til != NoDate && r.Til < r.Fra {
		bad("til before fra")
	}
	if r.Registreret > asOf {
		bad("registreret after A")
	}
	switch r.Type {
	case TypeLedig:
		if r.Timer <= 0 || r.Timer > 3700 || r.Kode != "" {
			bad("bad timer or kode")
		}
	default:
		if r.Timer != 0 {
			bad("timer")
		}
	}
	switch r.Type {
	case TypeDagpengeperiode, TypeSamtale, TypeIndkaldelse:
		if r.Til != NoDate {
			bad("til")
		}
	}
	switch r.Type {
	case TypeKontaktgruppe:
		if r.Group == GroupNone || r.Kode != r.Group.String() {
			bad("a bad group")
		}
	case TypeSamtale:
		if r.Fra > asOf {
			bad("a SAMTALE after A")
		}
		fallthrough
	case TypeIndkaldelse:
		if r.Kode != KodeJob && r.Kode != KodeFaelles {
			bad("a bad interview code")
		}
	case TypeAktivering:
		if r.Kode != "VEJL" && r.Kode != "PRAK" && r.Kode != "LTS" {
			bad("a bad activation code")
		}
	case TypeFritagelse:
		if len(r.Kode) < 1 || len(r.Kode) > 10 || !allUpperDigits([]byte(r.Kode)) {
			bad("a bad exemption code")
		}
	case TypeDagpengeperiode:
		if r.Kode != "" {
			bad("a kode")
		}
	}
}

// cprColumn returns the values of the cpr column of an extract, as far as
// its header names one.
func cprColumn(data []byte) []string {
	lines := strings.Split(string(data), "\n")
	if len(lines) == 0 {
		return nil
	}
	hdr := strings.Split(strings.TrimSuffix(strings.TrimPrefix(lines[0], "\uFEFF"), "\r"), ";")
	col := -1
	for i, h := range hdr {
		if h == "cpr" {
			col = i
		}
	}
	if col < 0 {
		return nil
	}
	var out []string
	for _, l := range lines[1:] {
		if f := strings.Split(strings.TrimSuffix(l, "\r"), ";"); col < len(f) {
			out = append(out, f[col])
		}
	}
	return out
}

// FuzzParseExtractName checks that a parsed name is a canonical extract name
// or one with a zero-padded revision, and that temporary names never parse.
func FuzzParseExtractName(f *testing.F) {
	for _, s := range []string{
		"registreringer_20160120.csv", "registreringer_20160120.csv.gz", "registreringer_20160229_2.csv",
		"registreringer_20160120_1.csv", "registreringer_20150229.csv", "registreringer_20160120.csv.tmp",
		".registreringer_20160120.csv", "registreringer_99991231_9999.csv.gz", "registreringer_00000101.csv",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		n, ok := ParseExtractName(name)
		if !ok {
			return
		}
		if IsTemporaryName(name) {
			t.Fatalf("temporary name %q parsed", name)
		}
		if y, m, d := n.AsOf.YMD(); !ValidDate(y, m, d) {
			t.Fatalf("%q: as-of %v", name, n.AsOf)
		}
		if n.Revision < 1 || n.Revision > 9999 {
			t.Fatalf("%q: revision %d", name, n.Revision)
		}
		canon := "registreringer_" + n.AsOf.Compact()
		if n.Revision > 1 {
			canon += "_" + strconv.Itoa(n.Revision)
		}
		canon += ".csv"
		if n.Gzip {
			canon += ".gz"
		}
		if n2, ok := ParseExtractName(canon); !ok || n2 != n {
			t.Fatalf("%q parses as %+v; its canonical name %q as %+v, %v", name, n, canon, n2, ok)
		}
		// The name is the canonical one, up to zeros before the revision.
		prefix := "registreringer_" + n.AsOf.Compact()
		rest, ok := strings.CutPrefix(name, prefix)
		if r, rev := strings.CutPrefix(rest, "_"); rev {
			rest = "_" + strings.TrimLeft(r, "0")
		}
		if !ok || rest != canon[len(prefix):] {
			t.Fatalf("%q parses as %+v, but its canonical name is %q", name, n, canon)
		}
	})
}

// FuzzParseDate checks ParseDate against the time package, and that
// AppendDate and ParseDate round-trip every date from year 1 to 9999.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2016-01-20", "2016-02-29", "2015-02-29", "2016-02-30", "0001-01-01", "9999-12-31",
		"0000-01-01", "2016-13-01", "2016-00-10", "2016-1-01", "+016-01-01", "2016-01-2x", "1969-12-31", "1900-02-29", "2000-02-29"} {
		f.Add([]byte(s), int32(0))
	}
	f.Add([]byte(""), int32(-719162)) // 0001-01-01
	f.Add([]byte(""), int32(2932896)) // 9999-12-31
	f.Add([]byte(""), int32(16820))   // 2016-01-20
	f.Add([]byte(""), int32(math.MinInt32))
	const layout = "2006-01-02"
	f.Fuzz(func(t *testing.T, b []byte, n int32) {
		d, ok := ParseDate(b)
		tm, err := time.Parse(layout, string(b))
		want := err == nil && tm.Year() >= 1 && tm.Format(layout) == string(b)
		if ok != want {
			t.Fatalf("ParseDate(%q) ok = %v, time.Parse says %v (%v)", b, ok, want, err)
		}
		if ok {
			if got := string(AppendDate(nil, d)); got != string(b) {
				t.Fatalf("ParseDate(%q) = %d, which prints as %q", b, d, got)
			}
			if days := tm.Unix() / 86400; int64(d) != days {
				t.Fatalf("ParseDate(%q) = %d days, time says %d", b, d, days)
			}
			if wd := (int(tm.Weekday()) + 6) % 7; d.Weekday() != wd {
				t.Fatalf("%q: weekday %d, time says %d", b, d.Weekday(), wd)
			}
			y, w := d.ISOWeek()
			if ty, tw := tm.ISOWeek(); y != ty || w != tw {
				t.Fatalf("%q: ISO week %d-%d, time says %d-%d", b, y, w, ty, tw)
			}
		} else if dateProblem(b) == "" {
			t.Fatalf("no problem text for %q", b)
		}
		// Every day from 0001-01-01 to 9999-12-31 round-trips.
		lo, hi := MkDate(1, 1, 1), MkDate(9999, 12, 31)
		if Date(n) >= lo && Date(n) <= hi {
			d := Date(n)
			s := AppendDate(nil, d)
			if d2, ok := ParseDate(s); !ok || d2 != d {
				t.Fatalf("date %d prints as %q, which parses as %d, %v", d, s, d2, ok)
			}
			if d2, ok := ParseCompactDate(d.Compact()); !ok || d2 != d {
				t.Fatalf("date %d compacts to %q, which parses as %d, %v", d, d.Compact(), d2, ok)
			}
		}
	})
}

var hoursRE = regexp.MustCompile(`^([0-9]{1,2})(?:[.,]([0-9]{1,2}))?$`)

// FuzzParseHours checks parseHours against a regular expression and
// strconv, and that its problem text never shows a long number.
func FuzzParseHours(f *testing.F) {
	for _, s := range []string{"37", "18,5", "18.50", "0", "0,00", "0,01", "37,01", "37,00", "18,555", "fuld", "", ",5", "5,", "-1", "1.5,0", "100", "1005801234", "07,5"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, ok := parseHours(b)
		want, wantOK := int64(0), false
		if m := hoursRE.FindSubmatch(b); m != nil {
			v, err := strconv.ParseFloat(strings.Replace(string(b), ",", ".", 1), 64)
			if err != nil {
				t.Fatalf("%q: %v", b, err)
			}
			want = int64(math.Round(v * 100))
			wantOK = want > 0 && want <= 3700
		}
		if ok != wantOK || ok && c != want {
			t.Fatalf("parseHours(%q) = %d, %v; want %d, %v", b, c, ok, want, wantOK)
		}
		if !ok {
			p := hoursProblem(b)
			if p == "" || tenDigits.MatchString(p) || !utf8.ValidString(p) {
				t.Fatalf("hoursProblem(%q) = %q", b, p)
			}
		}
	})
}

// FuzzCompute runs the rules and the product writers over every extract the
// reader accepts: they must not panic or loop, must give the same bytes
// streamed (when the extract is sorted by cpr) and buffered, and must write
// files whose trailer, row count and hash agree. The basis is the same
// extract read a day earlier, when that is accepted too.
func FuzzCompute(f *testing.F) {
	for _, ex := range exampleExtracts(f) {
		for _, part := range splitByCPR(ex.data) {
			f.Add(part, uint16(ex.asOf-fuzzEpoch))
		}
	}
	f.Add([]byte(extract(rowKG, rowDP, rowLedi.with("cpr", "1005801234"), rowSamt.with("cpr", "1005801234"), rowAkt.with("cpr", "1005801234"), rowFri.with("cpr", "1005801234"))), uint16(testAsOf-fuzzEpoch))
	f.Add([]byte(extract(rowKG.with("fra", "2016-01-24"), rowDP.with("fra", "2016-01-24"), rowLedi.with("cpr", "1005801234", "fra", "2016-01-24"))), uint16(MkDate(2016, 1, 24)-fuzzEpoch))
	vendors := []Vendor{
		{Name: "alle", All: true, Products: Products()},
		{Name: "k101", Kommuner: map[uint16]bool{101: true}, Products: []Product{DagligeBeskeder, Ugeopdatering}},
	}
	f.Fuzz(func(t *testing.T, data []byte, asOfDays uint16) {
		asOf := fuzzEpoch + Date(asOfDays)
		cal := NewCalendar(nil, nil)
		// The basis: the same extract a day earlier, if accepted.
		var basis map[string]*Snapshot
		if oc, err := Compute(SourceOf(data), Job{AsOf: asOf - 1, Calendar: cal, Buffered: true, Snapshot: true}, nil); err == nil {
			basis = map[string]*Snapshot{"alle": oc.Snapshot, "k101": oc.Snapshot}
		}
		run := func(buffered bool) (Files, *Outcome, error) {
			files := Files{}
			job := Job{AsOf: asOf, Calendar: cal, Vendors: vendors, Basis: basis, Buffered: buffered}
			oc, err := Compute(SourceOf(data), job, files)
			return files, oc, err
		}
		files, oc, err := run(true)
		if err != nil {
			if !errors.As(err, new(*RejectedError)) {
				t.Fatalf("buffered: %v", err)
			}
			return
		}
		for _, fs := range oc.Files {
			b := files[fs.Vendor+"/"+fs.Name]
			if b == nil {
				t.Fatalf("no file %s/%s", fs.Vendor, fs.Name)
			}
			content := b.Bytes()
			sum := sha256.Sum256(content)
			if hex.EncodeToString(sum[:]) != fs.SHA256 || int64(len(content)) != fs.Size {
				t.Fatalf("%s/%s: hash or size does not match", fs.Vendor, fs.Name)
			}
			lines := strings.Split(strings.TrimSuffix(string(content), "\n"), "\n")
			if !bytes.HasSuffix(content, []byte("\n")) || len(lines) != fs.Rows+2 || lines[0] != fs.Product.Header() || lines[len(lines)-1] != "SLUT;"+strconv.Itoa(fs.Rows) {
				t.Fatalf("%s/%s: %d rows, content:\n%s", fs.Vendor, fs.Name, fs.Rows, content)
			}
			cols := strings.Count(fs.Product.Header(), ";")
			for _, l := range lines[1 : len(lines)-1] {
				if strings.Count(l, ";") != cols {
					t.Fatalf("%s/%s: row %q has the wrong number of fields", fs.Vendor, fs.Name, l)
				}
			}
		}
		// The single-goroutine reference gives the same verdict, report and
		// bytes.
		ref := Files{}
		roc, rerr := ComputeReference(bytes.NewReader(data), Job{AsOf: asOf, Calendar: cal, Vendors: vendors, Basis: basis}, ref)
		for _, buffered := range []bool{true, false} {
			got, goc, gerr := run(buffered)
			if (rerr == nil) != (gerr == nil) || rerr != nil && rerr.Error() != gerr.Error() {
				t.Fatalf("buffered %v: reference %v, pipeline %v", buffered, rerr, gerr)
			}
			if rerr != nil {
				var b1, b2 bytes.Buffer
				roc.Report.WriteTo(&b1)
				goc.Report.WriteTo(&b2)
				if b1.String() != b2.String() {
					t.Fatalf("buffered %v: reports differ:\n%s\n---\n%s", buffered, &b1, &b2)
				}
				continue
			}
			for name, b := range ref {
				if !bytes.Equal(b.Bytes(), got[name].Bytes()) {
					t.Fatalf("buffered %v: %s differs from the reference:\n%s\n---\n%s", buffered, name, b, got[name])
				}
			}
		}
		files2, _, err := run(false)
		if err != nil {
			t.Fatalf("streamed: %v, buffered accepted", err)
		}
		for name, b := range files {
			if !bytes.Equal(b.Bytes(), files2[name].Bytes()) {
				t.Fatalf("%s differs between buffered and streamed:\n%s\n---\n%s", name, b, files2[name])
			}
		}
	})
}

// fuzzCPRs are the citizens of FuzzRules: birthdays that cross 30 and 50
// near 2016, a leap-day birthday, and ordinary ones.
var fuzzCPRs = []string{"1005801234", "2201864321", "0302661111", "2902884123", "1501664321", "2902004123"}

// fuzzRows turns bytes into valid rows around as-of date A: each row takes
// 9 bytes (cpr, type, kommune, fra, til, timer, kode, registreret).
func fuzzRows(data []byte, asOf Date) []rowFields {
	var rows []rowFields
	for i := 0; i+9 <= len(data) && len(rows) < 200; i += 9 {
		b := data[i : i+9]
		typ := Type(b[1]%7) + 1
		fra := asOf - 700 + Date(int(b[3])<<8|int(b[4]))%800
		if typ == TypeSamtale && fra > asOf {
			fra = asOf
		}
		til := ""
		// Most KONTAKTGRUPPE rows are open-ended, so that citizens are in
		// the snapshot.
		if b[5] != 0 && typ != TypeDagpengeperiode && typ != TypeSamtale && typ != TypeIndkaldelse && (typ != TypeKontaktgruppe || b[5] > 200) {
			til = fra.AddDays(int(b[5]-1) * 3).String()
		}
		timer := ""
		if typ == TypeLedig {
			c := int(b[6])%74*50 + 50 // 0,50 … 37,00
			timer = fmt.Sprintf("%d,%02d", c/100, c%100)
		}
		var kode string
		switch typ {
		case TypeKontaktgruppe:
			kode = groupNames[1+int(b[7])%7]
			if b[7] >= 128 {
				kode = "DP" // most citizens are DP
			}
		case TypeSamtale, TypeIndkaldelse:
			kode = interviewCodes[int(b[7])%2]
		case TypeAktivering:
			kode = activationCodes[int(b[7])%3]
		case TypeFritagelse:
			kode = []string{"SYG", "BARSEL", "X1"}[int(b[7])%3]
		}
		reg := asOf - Date(b[8]%64)
		if reg > fra && b[8] >= 64 {
			reg = fra
		}
		rows = append(rows, fields(
			fmt.Sprintf("r%d", len(rows)), fuzzCPRs[int(b[0])%len(fuzzCPRs)], typ.String(),
			[]string{"101", "147", "173"}[int(b[2])%3], fra.String(), til, timer, kode,
			reg.String()+"T12:00:00"))
	}
	return rows
}

// FuzzRules builds valid extracts from the fuzzer's bytes, so that the
// rules and the product writers see far more than FuzzCompute's mostly
// rejected inputs. Properties: everything is accepted; nothing panics or
// loops; the products do not depend on the order of the rows in the extract
// (docs/formats.md#output-the-products orders the output by cpr, row kind and id); streamed and buffered
// give the same bytes; every date written is a real YYYY-MM-DD.
func FuzzRules(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 0, 0, 0, 200, 5, 0, 1, 0, 1, 0, 0, 0, 0, 5, 0, 2, 0, 1, 0, 0, 73, 0, 5, 0, 3, 0, 2, 200, 0, 0, 0, 1}, uint16(testAsOf-fuzzEpoch))
	f.Add(bytes.Repeat([]byte{1, 2, 0, 2, 100, 9, 20, 1, 70}, 12), uint16(MkDate(2016, 1, 24)-fuzzEpoch))
	f.Add(bytes.Repeat([]byte{3, 0, 1, 1, 10, 0, 0, 250, 3, 3, 1, 1, 1, 10, 0, 0, 0, 3, 3, 2, 1, 1, 10, 0, 73, 0, 3, 3, 6, 1, 2, 0, 30, 0, 0, 5}, 3), uint16(MkDate(2016, 3, 27)-fuzzEpoch))
	vendors := []Vendor{
		{Name: "alle", All: true, Products: Products()},
		{Name: "k147", Kommuner: map[uint16]bool{147: true}, Products: Products()},
	}
	dateRE := regexp.MustCompile(`(?:^|;)(\d{4}-\d{2}-\d{2})(?:;|$)`)
	f.Fuzz(func(t *testing.T, data []byte, asOfDays uint16) {
		asOf := fuzzEpoch + Date(asOfDays%7300) // 2000 … 2019
		rows := fuzzRows(data, asOf)
		if len(rows) == 0 {
			return
		}
		// The same rows sorted by cpr, each citizen's rows in reverse.
		sorted := append([]rowFields(nil), rows...)
		sort.SliceStable(sorted, func(i, j int) bool { return sorted[i][colCPR] < sorted[j][colCPR] })
		for i := 0; i < len(sorted); {
			j := i
			for j < len(sorted) && sorted[j][colCPR] == sorted[i][colCPR] {
				j++
			}
			slices.Reverse(sorted[i:j])
			i = j
		}
		cal := NewCalendar(nil, nil)
		var basis map[string]*Snapshot
		if oc, err := Compute(SourceOfString(extract(rows...)), Job{AsOf: asOf - 1, Calendar: cal, Buffered: true, Snapshot: true}, nil); err == nil {
			basis = map[string]*Snapshot{"alle": oc.Snapshot, "k147": oc.Snapshot}
		}
		run := func(text string, buffered bool) map[string]string {
			files := Files{}
			job := Job{AsOf: asOf, Calendar: cal, Vendors: vendors, Basis: basis, Buffered: buffered}
			if _, err := Compute(SourceOfString(text), job, files); err != nil {
				t.Fatalf("buffered %v: %v\n%s", buffered, err, text)
			}
			m := map[string]string{}
			for k, v := range files {
				m[k] = v.String()
			}
			return m
		}
		a := run(extract(rows...), true)
		b := run(extract(sorted...), false)
		c := run(extract(sorted...), true)
		for name, content := range a {
			if b[name] != content || c[name] != content {
				t.Fatalf("%s depends on the order of the rows:\n%s\n--- sorted, streamed:\n%s\n--- sorted, buffered:\n%s\n--- extract:\n%s", name, content, b[name], c[name], extract(rows...))
			}
			for _, line := range strings.Split(content, "\n") {
				for _, m := range dateRE.FindAllStringSubmatch(line, -1) {
					if _, ok := ParseDate([]byte(m[1])); !ok {
						t.Fatalf("%s: bad date %s in %q", name, m[1], line)
					}
				}
			}
		}
	})
}

// idChars is 1 for the bytes an id may hold (A–Z, a–z, 0–9, _ and -), else
// 0: the plain reference for hashID's word-at-a-time check.
var idChars = func() (t [256]byte) {
	for c := 0; c < 256; c++ {
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' {
			t[c] = 1
		}
	}
	return t
}()

func validIDRef(b []byte) bool {
	if len(b) < 1 || len(b) > 40 {
		return false
	}
	for _, c := range b {
		if idChars[c] == 0 {
			return false
		}
	}
	return true
}

// FuzzHashID checks hashID's verdict against the byte-at-a-time reference,
// and that ids which differ only in their tail hash apart.
func FuzzHashID(f *testing.F) {
	for _, s := range []string{"00000001", "a", "A-z_09", "ab/cd", "0123456789abcdefghij0123456789ABCDEFGHIJ", "0123456789abcdefghij0123456789ABCDEFGHIJK",
		"", "æøå", "abc\x00", "abcdefg`", "abcdefgh{", "@ABC", "[", "\x7f", "1234567\xe2"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := hashID(b)
		if want := validIDRef(b); ok != want {
			t.Fatalf("hashID(%q) ok = %v, want %v", b, ok, want)
		}
		if ok && len(b) < 40 {
			if h2, _ := hashID(append(bytes.Clone(b), '0')); h2 == h {
				t.Fatalf("%q and %q share the hash %x", b, append(bytes.Clone(b), '0'), h)
			}
		}
	})
}
