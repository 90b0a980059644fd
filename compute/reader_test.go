package compute

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The extracts of these tests have as-of date A = 2016-01-21.
var testAsOf = MkDate(2016, 1, 21)

const testHeader = "id;cpr;type;kommune;fra;til;timer;kode;registreret"

// Valid rows of every type, in column order. Their cpr numbers are
// real-looking 10-digit numbers, so that a leak would show.
var (
	rowKG   = fields("kg1", "1005801234", "KONTAKTGRUPPE", "101", "2015-10-01", "", "", "DP", "2015-10-01T09:00:00")
	rowDP   = fields("dp1", "1005801234", "DAGPENGEPERIODE", "101", "2015-10-01", "", "", "", "2015-10-01T09:00:00")
	rowLedi = fields("l1", "2201864321", "LEDIG", "101", "2015-11-01", "", "37", "", "2015-11-02T10:00:00")
	rowSamt = fields("s1", "2201864321", "SAMTALE", "101", "2016-01-08", "", "", "JOB", "2016-01-08T14:00:00")
	rowInd  = fields("i1", "0302661111", "INDKALDELSE", "147", "2016-02-02", "", "", "FAELLES", "2016-01-21T15:00:00")
	rowAkt  = fields("a1", "0302661111", "AKTIVERING", "147", "2016-02-01", "2016-03-01", "", "LTS", "2016-01-19T11:30:00")
	rowFri  = fields("f1", "1212851234", "FRITAGELSE", "101", "2016-01-25", "2016-02-12", "", "SYG", "2016-01-18T10:00:00")
)

type rowFields [numCols]string

func fields(v ...string) rowFields {
	var f rowFields
	copy(f[:], v)
	return f
}

// with returns the row with some columns changed: with("timer", "", "kode", "X").
func (f rowFields) with(kv ...string) rowFields {
	for i := 0; i < len(kv); i += 2 {
		c := columnIndex(kv[i])
		f[c] = kv[i+1]
	}
	return f
}

func columnIndex(name string) int {
	for i, c := range Columns {
		if c == name {
			return i
		}
	}
	panic("no column " + name)
}

func (f rowFields) String() string { return strings.Join(f[:], ";") }

// extract builds a file: header, the rows and a correct trailer.
func extract(rows ...rowFields) string {
	var b strings.Builder
	b.WriteString(testHeader + "\n")
	for _, r := range rows {
		b.WriteString(r.String() + "\n")
	}
	fmt.Fprintf(&b, "SLUT;%d\n", len(rows))
	return b.String()
}

// readAll reads a whole extract. err is io.EOF for an accepted one.
func readAll(t testing.TB, r io.Reader, opt ReaderOptions) ([]Row, *Report, error) {
	t.Helper()
	rd, err := NewReader(r, opt)
	if err != nil {
		var re *RejectedError
		if !errors.As(err, &re) {
			t.Fatalf("NewReader: %v is not a *RejectedError", err)
		}
		return nil, re.Report, err
	}
	var rows []Row
	for {
		row, err := rd.Next()
		if err != nil {
			return rows, rd.Report(), err
		}
		rows = append(rows, row)
	}
}

var digitRunRE = regexp.MustCompile(`[0-9]{10,}`)

// reportText is everything a report can show: the error, the summary and
// the report file.
func reportText(t testing.TB, err error, rep *Report) string {
	t.Helper()
	var b strings.Builder
	if err != nil && err != io.EOF {
		b.WriteString(err.Error() + "\n")
	}
	b.WriteString(rep.Summary() + "\n")
	if _, werr := rep.WriteTo(&b); werr != nil {
		t.Fatal(werr)
	}
	return b.String()
}

// assertNoCPR fails when the report text holds a 10-digit run of the input
// or any run of 10 or more digits at all: the numbers a report prints (line
// numbers, counts, sizes) are all shorter.
func assertNoCPR(t testing.TB, input []byte, text string) {
	t.Helper()
	for _, run := range digitRunRE.FindAllString(string(input), -1) {
		for i := 0; i+10 <= len(run); i++ {
			if strings.Contains(text, run[i:i+10]) {
				t.Errorf("report leaks the number %s from the input:\n%s", run[i:i+10], text)
			}
		}
	}
	if m := digitRunRE.FindString(text); m != "" {
		t.Errorf("report holds a run of %d digits (%s):\n%s", len(m), m, text)
	}
}

// shown is the problem that the one-line summary names: the fatal one, or
// the first.
func shown(rep *Report) Problem {
	if rep.Fatal != nil {
		return *rep.Fatal
	}
	if len(rep.Problems) == 0 {
		return Problem{Reason: "(no problem reported)"}
	}
	return rep.Problems[0]
}

type rejectCase struct {
	name   string
	input  string
	line   int
	column string
	reason string
}

// rejectCases are extracts that must be rejected, each for one reason
// (docs/formats.md#content), with the line, column and reason the report must give.
// They also seed FuzzReader.
func rejectCases() []rejectCase {
	type tc = rejectCase
	long := rowKG.with("kode", "DP"+strings.Repeat("X", 4100))
	// bad puts the row on line 3, between two valid rows.
	bad := func(name string, row rowFields, column, reason string) tc {
		if row[colID] == rowKG[colID] || row[colID] == rowDP[colID] {
			row[colID] = "bad"
		}
		return tc{name, extract(rowKG, row, rowDP), 3, column, reason}
	}
	withHeader := func(h string, rows ...string) string {
		return h + "\n" + strings.Join(rows, "\n") + fmt.Sprintf("\nSLUT;%d\n", len(rows))
	}
	noKode := "kg1;1005801234;KONTAKTGRUPPE;101;2015-10-01;;;2015-10-01T09:00:00"
	return []tc{
		// Header (docs/formats.md#content).
		{"missing column", withHeader("id;cpr;type;kommune;fra;til;timer;registreret", noKode), 1, "kode", "the column is missing"},
		{"unknown extra column", withHeader(testHeader+";ekstra", rowKG.String()+";x"), 1, "", `unknown column "ekstra" (field 10)`},
		{"unknown column with digits", withHeader(testHeader+";1005801234", rowKG.String()+";x"), 1, "", "unknown column (a value with digits, not shown)"},
		{"duplicate column", withHeader(testHeader+";cpr", rowKG.String()+";1005801234"), 1, "cpr", "appears twice (fields 2 and 10)"},
		{"header not UTF-8", withHeader("id;cpr;type;kommune;fra;til;timer;kode;registr\xe9ret", rowKG.String()), 1, "", "not valid UTF-8"},
		{"header too long", withHeader(testHeader+strings.Repeat(";id", 2000), rowKG.String()), 1, "", "longer than 4096 bytes"},
		{"empty file", "", 0, "", "the file is empty"},
		{"BOM only", "\uFEFF", 1, "", "bad header"},

		// Rows (docs/formats.md#content).
		{"too many fields", testHeader + "\n" + rowKG.String() + "\n" + rowDP.String() + ";\nSLUT;2\n", 3, "", "has 10 fields, the header has 9"},
		{"too few fields", testHeader + "\n" + rowKG.String() + "\n" + strings.Join(rowDP[:8], ";") + "\nSLUT;2\n", 3, "", "has 8 fields, the header has 9"},
		bad("id too long", rowKG.with("id", strings.Repeat("a", 41)), "id", "1–40 characters"),
		bad("id bad characters", rowKG.with("id", "kg.2"), "id", "1–40 characters of A–Z"),
		bad("id empty", rowKG.with("id", ""), "id", "1–40 characters"),
		{"duplicate id", extract(rowKG, rowDP, rowLedi.with("id", "kg1")), 4, "id", "repeats the id of line 2"},
		bad("cpr 9 digits", rowKG.with("cpr", "100580123"), "cpr", "must be 10 digits"),
		bad("cpr 11 digits", rowKG.with("cpr", "10058012345"), "cpr", "must be 10 digits"),
		bad("cpr with a dash", rowKG.with("cpr", "100580-1234"), "cpr", "must be 10 digits"),
		bad("cpr 31 February", rowKG.with("cpr", "3102801234"), "cpr", "birth date in it does not exist"),
		bad("cpr 29 February 1901", rowKG.with("cpr", "2902011234"), "cpr", "birth date in it does not exist"),
		bad("cpr month 13", rowKG.with("cpr", "0113801234"), "cpr", "birth date in it does not exist"),
		bad("unknown type", rowKG.with("type", "KONTAKT"), "type", `unknown type "KONTAKT"`),
		bad("type lower case", rowKG.with("type", "ledig"), "type", `unknown type "ledig"`),
		bad("kommune 4 digits", rowKG.with("kommune", "1010"), "kommune", "3 digits, 101–860"),
		bad("kommune letters", rowKG.with("kommune", "1a1"), "kommune", "3 digits, 101–860"),
		bad("kommune 100", rowKG.with("kommune", "100"), "kommune", "3 digits, 101–860"),
		bad("kommune 861", rowKG.with("kommune", "861"), "kommune", "3 digits, 101–860"),
		bad("kommune empty", rowKG.with("kommune", ""), "kommune", "3 digits, 101–860"),
		bad("fra malformed", rowKG.with("fra", "2015-10-1"), "fra", "must be a date YYYY-MM-DD"),
		bad("fra Danish order", rowKG.with("fra", "01-10-2015"), "fra", "must be a date YYYY-MM-DD"),
		bad("fra empty", rowKG.with("fra", ""), "fra", "is empty"),
		bad("fra 30 February", rowKG.with("fra", "2016-02-30"), "fra", "the date 2016-02-30 does not exist"),
		bad("fra 29 February 2015", rowKG.with("fra", "2015-02-29"), "fra", "does not exist"),
		bad("til 31 April", rowKG.with("til", "2016-04-31"), "til", "does not exist"),
		bad("til before fra", rowKG.with("til", "2015-09-30"), "til", "is before fra"),
		bad("til for SAMTALE", rowSamt.with("til", "2016-01-09"), "til", "must be empty for SAMTALE"),
		bad("til for INDKALDELSE", rowInd.with("til", "2016-02-03"), "til", "must be empty for INDKALDELSE"),
		bad("til for DAGPENGEPERIODE", rowDP.with("til", "2016-12-31"), "til", "must be empty for DAGPENGEPERIODE"),
		bad("SAMTALE after A", rowSamt.with("fra", "2016-01-22"), "fra", "cannot be dated after the extract's as-of date"),
		bad("registreret after A", rowKG.with("registreret", "2016-01-22T00:00:00"), "registreret", "after the end of the extract's as-of date"),
		bad("registreret without T", rowKG.with("registreret", "2015-10-01 09:00:00"), "registreret", "YYYY-MM-DDTHH:MM:SS"),
		bad("registreret 24:00:00", rowKG.with("registreret", "2015-10-01T24:00:00"), "registreret", "YYYY-MM-DDTHH:MM:SS"),
		bad("registreret date only", rowKG.with("registreret", "2015-10-01"), "registreret", "YYYY-MM-DDTHH:MM:SS"),
		bad("registreret 30 February", rowKG.with("registreret", "2015-02-30T09:00:00"), "registreret", "YYYY-MM-DDTHH:MM:SS"),
		bad("timer for KONTAKTGRUPPE", rowKG.with("timer", "37"), "timer", "must be empty for KONTAKTGRUPPE"),
		bad("timer for SAMTALE", rowSamt.with("timer", "1"), "timer", "must be empty for SAMTALE"),
		bad("timer missing for LEDIG", rowLedi.with("timer", ""), "timer", "is empty; a LEDIG row must give hours per week, > 0 and ≤ 37"),
		bad("timer 0", rowLedi.with("timer", "0"), "timer", "0 is out of range; must be hours per week, > 0 and ≤ 37"),
		bad("timer 0,00", rowLedi.with("timer", "0,00"), "timer", "> 0 and ≤ 37"),
		bad("timer 37,01", rowLedi.with("timer", "37,01"), "timer", "37,01 is out of range"),
		bad("timer 38", rowLedi.with("timer", "38"), "timer", "> 0 and ≤ 37"),
		bad("timer 3 decimals", rowLedi.with("timer", "18,555"), "timer", "18,555 has more than 2 decimals"),
		bad("timer letters", rowLedi.with("timer", "fuld"), "timer", "is not a number; must be hours per week"),
		bad("timer negative", rowLedi.with("timer", "-5"), "timer", "is not a number"),
		bad("timer a cpr", rowLedi.with("timer", "1005801234"), "timer", "the value is out of range"),
		bad("timer 100", rowLedi.with("timer", "100"), "timer", "100 is out of range"),
		bad("timer two separators", rowLedi.with("timer", "1.5,0"), "timer", "is not a number"),
		bad("timer trailing comma", rowLedi.with("timer", "18,"), "timer", "is not a number"),
		bad("SAMTALE kode LTS", rowSamt.with("kode", "LTS"), "kode", `unknown code "LTS" for type SAMTALE`),
		bad("SAMTALE kode empty", rowSamt.with("kode", ""), "kode", `unknown code "" for type SAMTALE`),
		bad("KONTAKTGRUPPE kode XX", rowKG.with("kode", "XX"), "kode", `unknown code "XX" for type KONTAKTGRUPPE`),
		bad("AKTIVERING kode JOB", rowAkt.with("kode", "JOB"), "kode", `unknown code "JOB" for type AKTIVERING`),
		bad("kode with digits not shown", rowAkt.with("kode", "1005801234"), "kode", "unknown code (a value with digits, not shown) for type AKTIVERING"),
		bad("kode for LEDIG", rowLedi.with("kode", "DP"), "kode", "must be empty for LEDIG"),
		bad("kode for DAGPENGEPERIODE", rowDP.with("kode", "DP"), "kode", "must be empty for DAGPENGEPERIODE"),
		bad("FRITAGELSE kode too long", rowFri.with("kode", "ABCDEFGHIJK"), "kode", "1–10 characters A–Z and 0–9"),
		bad("FRITAGELSE kode lower case", rowFri.with("kode", "syg"), "kode", "1–10 characters A–Z and 0–9"),
		bad("FRITAGELSE kode empty", rowFri.with("kode", ""), "kode", "1–10 characters A–Z and 0–9"),

		// Lines and encoding.
		{"row not UTF-8", extract(rowKG, rowFri.with("kode", "SYG\xff"), rowDP), 3, "kode", "not valid UTF-8"},
		{"row not UTF-8, Latin-1", extract(rowKG, rowFri.with("kode", "S\xd8G"), rowDP), 3, "kode", "not valid UTF-8"},
		{"huge line", extract(rowKG, long, rowDP), 3, "", "longer than 4096 bytes"},
		{"huge last line without newline", testHeader + "\n" + rowKG.String() + "\n" + long.String(), 3, "", "no trailer line"},
		{"blank line", testHeader + "\n" + rowKG.String() + "\n\n" + rowDP.String() + "\nSLUT;3\n", 3, "", "has 1 fields, the header has 9"},

		// Trailer (docs/formats.md#file-name).
		{"missing trailer", testHeader + "\n" + rowKG.String() + "\n" + rowDP.String() + "\n", 3, "", "no trailer line SLUT;<number of data rows> at the end: the file is truncated"},
		{"truncated in a row", testHeader + "\n" + rowKG.String() + "\n" + rowDP.String()[:20], 3, "", "the file is truncated"},
		{"header only", testHeader + "\n", 1, "", "no trailer line"},
		{"wrong trailer count", strings.Replace(extract(rowKG, rowDP), "SLUT;2", "SLUT;3", 1), 4, "", "the trailer says 3 data rows but the file has 2"},
		{"trailer counts a cpr", strings.Replace(extract(rowKG, rowDP), "SLUT;2", "SLUT;1005801234", 1), 4, "", "a number of 10 digits"},
		{"data after trailer", extract(rowKG, rowDP) + rowLedi.String() + "\n", 5, "", "data after the trailer line"},
		{"blank line after trailer", extract(rowKG, rowDP) + "\n", 5, "", "data after the trailer line"},
		{"huge line after trailer", extract(rowKG, rowDP) + long.String() + "\n", 5, "", "data after the trailer line"},
		{"two trailers", extract(rowKG, rowDP) + "SLUT;2\n", 5, "", "data after the trailer line"},
		{"non-numeric trailer", strings.Replace(extract(rowKG, rowDP), "SLUT;2", "SLUT;to", 1), 4, "", "the trailer is not SLUT;<number of data rows>"},
		{"signed trailer", strings.Replace(extract(rowKG, rowDP), "SLUT;2", "SLUT;+2", 1), 4, "", "the trailer is not SLUT;<number of data rows>"},
		{"empty trailer", strings.Replace(extract(rowKG, rowDP), "SLUT;2", "SLUT;", 1), 4, "", "the trailer is not SLUT;<number of data rows>"},
		{"trailer with extra field", strings.Replace(extract(rowKG, rowDP), "SLUT;2", "SLUT;2;", 1), 4, "", "the trailer is not SLUT;<number of data rows>"},
	}
}

func TestReaderRejects(t *testing.T) {
	t.Parallel()
	cases := rejectCases()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, rep, err := readAll(t, strings.NewReader(c.input), ReaderOptions{AsOf: testAsOf})
			var re *RejectedError
			if !errors.As(err, &re) {
				t.Fatalf("got %v after %d rows, want a *RejectedError", err, len(rows))
			}
			if re.Report != rep {
				t.Errorf("the error's report is not the reader's")
			}
			if !rep.Rejected {
				t.Errorf("report is not marked rejected")
			}
			p := shown(rep)
			if p.Line != c.line || p.Column != c.column || !strings.Contains(p.Reason, c.reason) {
				t.Errorf("problem %+v\nwant line %d, column %q, reason containing %q", p, c.line, c.column, c.reason)
			}
			rep.File = "registreringer_20160121.csv"
			sum := rep.Summary()
			if !strings.HasPrefix(sum, "registreringer_20160121.csv: rejected: ") || !strings.Contains(sum, p.String()) {
				t.Errorf("summary %q does not name the file and the problem %q", sum, p)
			}
			if c.line > 0 && !strings.Contains(p.String(), fmt.Sprintf("line %d", c.line)) {
				t.Errorf("problem %q does not name the line", p)
			}
			if c.column != "" && !strings.Contains(p.String(), "column "+c.column) {
				t.Errorf("problem %q does not name the column", p)
			}
			assertNoCPR(t, []byte(c.input), reportText(t, err, rep))
			if t.Failed() {
				t.Logf("report:\n%s", reportText(t, err, rep))
			}
		})
	}
}

// Every problem of a row is reported, and a row with several problems
// counts once.
func TestReaderReportsEveryProblemOfARow(t *testing.T) {
	t.Parallel()
	row := rowLedi.with("id", "", "cpr", "3102801234", "kommune", "999", "timer", "40", "kode", "X", "registreret", "x")
	in := extract(rowKG, row)
	_, rep, err := readAll(t, strings.NewReader(in), ReaderOptions{AsOf: testAsOf})
	if !errors.As(err, new(*RejectedError)) {
		t.Fatalf("got %v", err)
	}
	var cols []string
	for _, p := range rep.Problems {
		if p.Line != 3 {
			t.Errorf("problem on line %d: %v", p.Line, p)
		}
		cols = append(cols, p.Column)
	}
	if got, want := strings.Join(cols, ","), "id,cpr,kommune,timer,kode,registreret"; got != want {
		t.Errorf("columns %s, want %s", got, want)
	}
	if rep.InvalidRows != 1 || rep.Rows != 2 || rep.ProblemCount != 6 {
		t.Errorf("counts: rows %d invalid %d problems %d", rep.Rows, rep.InvalidRows, rep.ProblemCount)
	}
	assertNoCPR(t, []byte(in), reportText(t, err, rep))
}

func TestReaderHeaderReportsAllProblems(t *testing.T) {
	t.Parallel()
	in := "id;type;kommune;fra;til;timer;kode;kode;extra\nSLUT;0\n"
	_, rep, err := readAll(t, strings.NewReader(in), ReaderOptions{AsOf: testAsOf})
	if !errors.As(err, new(*RejectedError)) {
		t.Fatalf("got %v", err)
	}
	var got []string
	for _, p := range rep.Problems {
		got = append(got, p.String())
	}
	want := []string{
		"line 1, column kode: bad header: the column appears twice (fields 7 and 8)",
		`line 1: bad header: unknown column "extra" (field 9); the columns are id;cpr;type;kommune;fra;til;timer;kode;registreret`,
		"line 1, column cpr: bad header: the column is missing",
		"line 1, column registreret: bad header: the column is missing",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.Fatal == nil || *rep.Fatal != rep.Problems[0] {
		t.Errorf("fatal %v, want the first problem", rep.Fatal)
	}
}

func TestReaderAccepts(t *testing.T) {
	t.Parallel()
	all := []rowFields{rowKG, rowDP, rowLedi, rowSamt, rowInd, rowAkt, rowFri}
	plain := extract(all...)
	reordered := func() string {
		// Columns in reverse order.
		var b strings.Builder
		rev := func(f []string) string {
			out := make([]string, len(f))
			for i := range f {
				out[len(f)-1-i] = f[i]
			}
			return strings.Join(out, ";")
		}
		b.WriteString(rev(strings.Split(testHeader, ";")) + "\n")
		for _, r := range all {
			b.WriteString(rev(r[:]) + "\n")
		}
		fmt.Fprintf(&b, "SLUT;%d\n", len(all))
		return b.String()
	}()
	cases := []struct {
		name, input string
	}{
		{"plain", plain},
		{"BOM", "\uFEFF" + plain},
		{"CRLF", strings.ReplaceAll(plain, "\n", "\r\n")},
		{"BOM and CRLF", "\uFEFF" + strings.ReplaceAll(plain, "\n", "\r\n")},
		{"no final newline", strings.TrimSuffix(plain, "\n")},
		{"no final CRLF", strings.TrimSuffix(strings.ReplaceAll(plain, "\n", "\r\n"), "\r\n")},
		{"columns in another order", reordered},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, rep, err := readAll(t, strings.NewReader(c.input), ReaderOptions{AsOf: testAsOf})
			if err != io.EOF {
				t.Fatalf("got %v, want io.EOF; report:\n%s", err, reportText(t, err, rep))
			}
			if len(rows) != len(all) || rep.Rows != len(all) || rep.InvalidRows != 0 || rep.Rejected || rep.ProblemCount != 0 {
				t.Fatalf("%d rows, report %+v", len(rows), rep)
			}
			for i, r := range rows {
				if r.Line != i+2 || r.ID != all[i][colID] || string(r.CPR[:]) != all[i][colCPR] || r.Type.String() != all[i][colType] {
					t.Errorf("row %d: %+v", i, r)
				}
			}
			if got := rep.Summary(); got != "extract: valid, 7 rows" {
				t.Errorf("summary %q", got)
			}
		})
	}
}

func TestReaderRowValues(t *testing.T) {
	t.Parallel()
	in := extract(rowKG, rowLedi, rowAkt, rowFri, rowSamt)
	rows, _, err := readAll(t, strings.NewReader(in), ReaderOptions{AsOf: testAsOf})
	if err != io.EOF {
		t.Fatal(err)
	}
	kg, l, a, f, s := rows[0], rows[1], rows[2], rows[3], rows[4]
	if kg.Group != GroupDP || kg.Kode != "DP" || kg.Kommune != 101 || kg.Fra != MkDate(2015, 10, 1) || kg.Til != NoDate || kg.Registreret != MkDate(2015, 10, 1) {
		t.Errorf("KONTAKTGRUPPE: %+v", kg)
	}
	if l.Timer != 3700 || l.Kode != "" {
		t.Errorf("LEDIG: %+v", l)
	}
	if a.Kode != "LTS" || a.Til != MkDate(2016, 3, 1) || a.Kommune != 147 {
		t.Errorf("AKTIVERING: %+v", a)
	}
	if f.Kode != "SYG" || f.Til != MkDate(2016, 2, 12) {
		t.Errorf("FRITAGELSE: %+v", f)
	}
	if s.Kode != KodeJob || s.Fra != MkDate(2016, 1, 8) {
		t.Errorf("SAMTALE: %+v", s)
	}
}

// Edge values that are valid.
func TestReaderAcceptsEdges(t *testing.T) {
	t.Parallel()
	rows := []rowFields{
		rowLedi.with("id", "t1", "timer", "18,5"),
		rowLedi.with("id", "t2", "timer", "18.50"),
		rowLedi.with("id", "t3", "timer", "37"),
		rowLedi.with("id", "t4", "timer", "37,00"),
		rowLedi.with("id", "t5", "timer", "0,01"),
		rowLedi.with("id", "t6", "timer", "7.5"),
		rowKG.with("id", strings.Repeat("A", 40)),
		rowKG.with("id", "a-Z_9"),
		rowKG.with("id", "SLUT"), // an id that looks like the trailer
		rowKG.with("id", "k1", "kommune", "860"),
		rowKG.with("id", "k2", "kommune", "101", "til", "2015-10-01"), // til = fra
		rowKG.with("id", "k3", "cpr", "2902004123"),                   // 29 February 2000
		rowKG.with("id", "k4", "cpr", "2902361234"),                   // 29 February 1936 (7th digit 1)
		rowKG.with("id", "k5", "cpr", "2902405123"),                   // 29 February 2040 (7th digit 5)
		rowSamt.with("id", "s2", "fra", "2016-01-21"),                 // SAMTALE on A
		rowInd.with("id", "i2", "fra", "2017-01-21"),                  // INDKALDELSE after A is fine
		rowKG.with("id", "r1", "registreret", "2016-01-21T23:59:59"),  // end of day A
		rowFri.with("id", "f2", "kode", "ABCDEFGHI9", "til", ""),      // open-ended, 10 characters
		rowFri.with("id", "f3", "kode", "X"),
		rowAkt.with("id", "a2", "kode", "VEJL"),
		rowAkt.with("id", "a3", "kode", "PRAK"),
		rowKG.with("id", "g1", "kode", "KH-J"), rowKG.with("id", "g2", "kode", "KH-A"),
		rowKG.with("id", "g3", "kode", "UH-J"), rowKG.with("id", "g4", "kode", "UH-A"),
		rowKG.with("id", "g5", "kode", "IY-J"), rowKG.with("id", "g6", "kode", "IY-A"),
	}
	got, rep, err := readAll(t, strings.NewReader(extract(rows...)), ReaderOptions{AsOf: testAsOf})
	if err != io.EOF {
		t.Fatalf("%v\n%s", err, reportText(t, err, rep))
	}
	if len(got) != len(rows) {
		t.Fatalf("%d rows, want %d", len(got), len(rows))
	}
	wantTimer := []int64{1850, 1850, 3700, 3700, 1, 750}
	for i, w := range wantTimer {
		if got[i].Timer != w {
			t.Errorf("timer %q = %d, want %d", rows[i][colTimer], got[i].Timer, w)
		}
	}
	if got[8].ID != "SLUT" {
		t.Errorf("row with id SLUT: %+v", got[8])
	}
}

func TestReaderTolerance(t *testing.T) {
	t.Parallel()
	bad1 := rowLedi.with("id", "b1", "timer", "40")
	bad2 := rowKG.with("id", "b2", "cpr", "3102801234")
	bad3 := rowSamt.with("id", "b3", "fra", "2016-02-30")
	two := extract(rowKG, bad1, rowDP, bad2, rowLedi)
	three := extract(rowKG, bad1, rowDP, bad2, rowLedi, bad3)

	rows, rep, err := readAll(t, strings.NewReader(two), ReaderOptions{AsOf: testAsOf, MaxRejectedRows: 2})
	if err != io.EOF {
		t.Fatalf("2 invalid rows with tolerance 2: %v", err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ID)
	}
	if strings.Join(ids, ",") != "kg1,dp1,l1" {
		t.Errorf("rows %v, want the valid ones", ids)
	}
	if rep.Rows != 5 || rep.InvalidRows != 2 || rep.Rejected || rep.ProblemCount != 2 {
		t.Errorf("report %+v", rep)
	}
	if rep.Problems[0].Line != 3 || rep.Problems[1].Line != 5 {
		t.Errorf("problems %v", rep.Problems)
	}
	if got := rep.Summary(); got != "extract: accepted without 2 invalid rows of 5" {
		t.Errorf("summary %q", got)
	}
	text := reportText(t, err, rep)
	if !strings.Contains(text, "line 3, column timer") || !strings.Contains(text, "line 5, column cpr") {
		t.Errorf("report does not list the skipped rows:\n%s", text)
	}
	assertNoCPR(t, []byte(two), text)

	_, rep, err = readAll(t, strings.NewReader(three), ReaderOptions{AsOf: testAsOf, MaxRejectedRows: 2})
	if !errors.As(err, new(*RejectedError)) {
		t.Fatalf("3 invalid rows with tolerance 2: %v", err)
	}
	if !rep.Rejected || rep.InvalidRows != 3 || rep.Rows != 6 || rep.Fatal != nil {
		t.Errorf("report %+v", rep)
	}
	want := "extract: rejected: 3 of 6 rows are invalid, more than the 2 allowed (first: line 3, column timer:"
	if got := rep.Summary(); !strings.HasPrefix(got, want) {
		t.Errorf("summary %q, want prefix %q", got, want)
	}
	assertNoCPR(t, []byte(three), reportText(t, err, rep))

	// The tolerance does not cover a file-level problem.
	_, rep, err = readAll(t, strings.NewReader(strings.Replace(two, "SLUT;5", "SLUT;4", 1)), ReaderOptions{AsOf: testAsOf, MaxRejectedRows: 10})
	if !errors.As(err, new(*RejectedError)) || rep.Fatal == nil {
		t.Errorf("wrong trailer with tolerance: %v", err)
	}
	_, _, err = readAll(t, strings.NewReader(extract(rowKG, rowFri.with("kode", "\xff"))), ReaderOptions{AsOf: testAsOf, MaxRejectedRows: 10})
	if !errors.As(err, new(*RejectedError)) {
		t.Errorf("bad UTF-8 with tolerance: %v", err)
	}
	// A huge line is an invalid row: the tolerance covers it, and the
	// trailer counts it.
	long := rowKG.with("kode", strings.Repeat("X", 5000))
	rows, rep, err = readAll(t, strings.NewReader(extract(rowKG, long, rowDP)), ReaderOptions{AsOf: testAsOf, MaxRejectedRows: 1})
	if err != io.EOF || len(rows) != 2 || rep.InvalidRows != 1 || rep.Rows != 3 {
		t.Errorf("huge line with tolerance 1: %v, %d rows, report %+v", err, len(rows), rep)
	}
}

func TestReaderProblemCap(t *testing.T) {
	t.Parallel()
	var rows []rowFields
	for i := range 150 {
		rows = append(rows, rowKG.with("id", fmt.Sprintf("x%d", i), "cpr", fmt.Sprintf("31028%05d", i)))
	}
	in := extract(rows...)
	_, rep, err := readAll(t, strings.NewReader(in), ReaderOptions{AsOf: testAsOf})
	if !errors.As(err, new(*RejectedError)) {
		t.Fatal(err)
	}
	if rep.ProblemCount != 150 || len(rep.Problems) != MaxReportedProblems || rep.InvalidRows != 150 || rep.Rows != 150 {
		t.Errorf("problems %d (%d listed), invalid %d, rows %d", rep.ProblemCount, len(rep.Problems), rep.InvalidRows, rep.Rows)
	}
	if last := rep.Problems[99]; last.Line != 101 {
		t.Errorf("the 100th problem is on line %d, want 101", last.Line)
	}
	text := reportText(t, err, rep)
	for _, want := range []string{"rows: 150\n", "invalid rows: 150\n", "problems: 150\n", "first 100 problems:\n", "  line 101, column cpr:"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(text, "line 102,") {
		t.Errorf("report lists more than 100 problems")
	}
	if n := strings.Count(text, "\n  line "); n != 100 {
		t.Errorf("report lists %d problems", n)
	}
	assertNoCPR(t, []byte(in), text)
}

func TestReaderExamples(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("../testdata/basic/registreringer_*.csv")
	if len(files) == 0 {
		t.Fatal("no example extracts")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n, ok := ParseExtractName(filepath.Base(f))
		if !ok {
			t.Fatalf("%s: name not parsed", f)
		}
		rows, rep, err := readAll(t, bytes.NewReader(data), ReaderOptions{AsOf: n.AsOf})
		if err != io.EOF {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if want := bytes.Count(data, []byte("\n")) - 2; len(rows) != want || rep.Rows != want {
			t.Errorf("%s: %d rows, want %d", f, len(rows), want)
		}
	}
}

func gz(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// readGzip reads a .gz extract the way the callers do: an error of
// Decompress is read as the stream's first error.
func readGzip(t testing.TB, data []byte, limit int64) ([]Row, *Report, error) {
	r, err := Decompress(bytes.NewReader(data), true, limit)
	if err != nil {
		r = iotestErrReader{err}
	}
	return readAll(t, r, ReaderOptions{AsOf: testAsOf})
}

type iotestErrReader struct{ err error }

func (e iotestErrReader) Read([]byte) (int, error) { return 0, e.err }

func TestReaderGzip(t *testing.T) {
	t.Parallel()
	plain := []byte(extract(rowKG, rowDP, rowLedi, rowSamt, rowInd, rowAkt, rowFri))
	good := gz(t, plain)

	rows, _, err := readGzip(t, good, 0)
	if err != io.EOF || len(rows) != 7 {
		t.Fatalf("good gzip: %v, %d rows", err, len(rows))
	}
	// Exactly at the limit is fine.
	rows, _, err = readGzip(t, good, int64(len(plain)))
	if err != io.EOF || len(rows) != 7 {
		t.Fatalf("gzip at the limit: %v, %d rows", err, len(rows))
	}
	// Not compressed: Decompress passes the reader through.
	if r, err := Decompress(bytes.NewReader(plain), false, 1); err != nil {
		t.Fatal(err)
	} else if b, _ := io.ReadAll(r); !bytes.Equal(b, plain) {
		t.Fatal("Decompress without gzip changed the data")
	}

	corrupt := bytes.Clone(good)
	for i := 20; i < len(corrupt)-8; i += 7 {
		corrupt[i] ^= 0x55
	}
	badCRC := bytes.Clone(good)
	badCRC[len(badCRC)-8] ^= 1
	badHeader := bytes.Clone(good)
	badHeader[0] = 'x'

	cases := []struct {
		name   string
		data   []byte
		limit  int64
		reason string
		errIs  func(error) bool
	}{
		{"corrupt stream", corrupt, 0, "the gzip stream is corrupt", isGzipError},
		{"bad checksum", badCRC, 0, "the gzip stream is corrupt: gzip: invalid checksum", isGzipError},
		{"bad header", badHeader, 0, "the gzip stream is corrupt: gzip: invalid header", isGzipError},
		{"truncated", good[:len(good)/2], 0, "the gzip stream is truncated", isGzipError},
		{"truncated in the trailer", good[:len(good)-3], 0, "the gzip stream is truncated", isGzipError},
		{"truncated in the header", good[:5], 0, "the gzip stream is truncated", isGzipError},
		{"empty", nil, 0, "the gzip stream is truncated", isGzipError},
		{"past the limit", good, int64(len(plain) - 1), "exceeds the limit of", isLimitError},
		{"garbage after the stream", append(bytes.Clone(good), "garbage after the gzip stream"...), 0, "the gzip stream is corrupt", isGzipError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, rep, err := readGzip(t, c.data, c.limit)
			if !errors.As(err, new(*RejectedError)) {
				t.Fatalf("got %v, want a *RejectedError", err)
			}
			if rep.Fatal == nil || !strings.Contains(rep.Fatal.Reason, c.reason) {
				t.Errorf("fatal %v, want %q", rep.Fatal, c.reason)
			}
			assertNoCPR(t, plain, reportText(t, err, rep))
			// The stream itself says what went wrong.
			r, err := Decompress(bytes.NewReader(c.data), true, c.limit)
			if err == nil {
				_, err = io.Copy(io.Discard, r)
			}
			if !c.errIs(err) {
				t.Errorf("stream error %v (%T)", err, err)
			}
		})
	}
}

func isGzipError(err error) bool  { return errors.As(err, new(*GzipError)) }
func isLimitError(err error) bool { return errors.As(err, new(*LimitError)) }

// A zip bomb: a small .gz that expands far past a small limit is stopped at
// the limit, without reading the rest.
func TestReaderZipBomb(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	var plain bytes.Buffer
	plain.WriteString(testHeader + "\n")
	// 64 MiB of one long "line" of zeros, as 64 gzip members of 1 MiB
	// (a reader takes them as one stream): compresses about 1000:1.
	zeros := make([]byte, 1<<20)
	member := gz(t, zeros)
	bomb := gz(t, append(plain.Bytes(), zeros...))
	for range 63 {
		bomb = append(bomb, member...)
	}
	if len(bomb) > 128<<10 {
		t.Fatalf("bomb is %d bytes", len(bomb))
	}
	counting := &countingReader{r: bytes.NewReader(bomb)}
	r, err := Decompress(counting, true, limit)
	if err != nil {
		t.Fatal(err)
	}
	_, rep, err := readAll(t, r, ReaderOptions{AsOf: testAsOf})
	if !errors.As(err, new(*RejectedError)) {
		t.Fatalf("got %v", err)
	}
	want := "the decompressed data exceeds the limit of 1 MiB: the file is corrupt or a zip bomb"
	if rep.Fatal == nil || rep.Fatal.Reason != want {
		t.Errorf("fatal %v, want %q", rep.Fatal, want)
	}
	if counting.n > int64(len(bomb))/2 {
		t.Errorf("read %d of the %d compressed bytes to find a 1 MiB limit", counting.n, len(bomb))
	}
	text := reportText(t, err, rep)
	if !strings.Contains(text, "exceeds the limit of 1 MiB") {
		t.Errorf("report lacks the limit:\n%s", text)
	}
	// The default limit prints without a long run of digits.
	if got := (&LimitError{Limit: DefaultMaxDecompressed}).Error(); !strings.Contains(got, "16 GiB") {
		t.Errorf("default limit: %q", got)
	}
	if got := (&LimitError{Limit: 1000}).Error(); !strings.Contains(got, "1000 bytes") {
		t.Errorf("limit 1000: %q", got)
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func TestReaderMaxLineBytes(t *testing.T) {
	t.Parallel()
	// A larger limit than the internal buffer works.
	big := rowFri.with("kode", strings.Repeat("A", 70000))
	_, rep, err := readAll(t, strings.NewReader(extract(big)), ReaderOptions{AsOf: testAsOf, MaxLineBytes: 100000})
	if p := shown(rep); err == io.EOF || p.Column != "kode" {
		t.Errorf("a 70000-byte row with a limit of 100000: %v, %v", err, p)
	}
	okRow := rowKG.with("id", "ok")
	n := len(okRow.String())
	if _, _, err := readAll(t, strings.NewReader(strings.ReplaceAll(extract(okRow), "\n", "\r\n")), ReaderOptions{AsOf: testAsOf, MaxLineBytes: max(n, len(testHeader))}); err != io.EOF {
		t.Errorf("a row of exactly the limit, with CRLF: %v", err)
	}
	_, rep, err = readAll(t, strings.NewReader(extract(okRow)), ReaderOptions{AsOf: testAsOf, MaxLineBytes: n - 1})
	if p := shown(rep); err == io.EOF || !strings.Contains(p.Reason, fmt.Sprintf("longer than %d bytes", n-1)) {
		t.Errorf("a row one byte over the limit: %v, %v", err, p)
	}
}

func TestParseExtractName(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		ok   bool
		want ExtractName
	}{
		{"registreringer_20160120.csv", true, ExtractName{AsOf: MkDate(2016, 1, 20), Revision: 1}},
		{"registreringer_20160120.csv.gz", true, ExtractName{AsOf: MkDate(2016, 1, 20), Revision: 1, Gzip: true}},
		{"registreringer_20160229_2.csv", true, ExtractName{AsOf: MkDate(2016, 2, 29), Revision: 2}},
		{"registreringer_20160120_17.csv.gz", true, ExtractName{AsOf: MkDate(2016, 1, 20), Revision: 17, Gzip: true}},
		{"registreringer_20160120_1.csv", false, ExtractName{}},
		{"registreringer_20160120_0.csv", false, ExtractName{}},
		{"registreringer_20160120_02.csv", true, ExtractName{AsOf: MkDate(2016, 1, 20), Revision: 2}},
		{"registreringer_20150229.csv", false, ExtractName{}},
		{"registreringer_20161320.csv", false, ExtractName{}},
		{"registreringer_2016012.csv", false, ExtractName{}},
		{"registreringer_20160120.csv.tmp", false, ExtractName{}},
		{".registreringer_20160120.csv", false, ExtractName{}},
		{"registreringer_20160120.csv.part", false, ExtractName{}},
		{"registreringer_20160120.CSV", false, ExtractName{}},
		{"registreringer_20160120.csv.gz.partial", false, ExtractName{}},
		{"x/registreringer_20160120.csv", false, ExtractName{}},
		{"", false, ExtractName{}},
	}
	for _, c := range cases {
		got, ok := ParseExtractName(c.name)
		if ok != c.ok || ok && got != c.want {
			t.Errorf("ParseExtractName(%q) = %+v, %v; want %+v, %v", c.name, got, ok, c.want, c.ok)
		}
	}
	for name, want := range map[string]bool{
		".registreringer_20160120.csv": true, "registreringer_20160120.csv.tmp": true,
		"registreringer_20160120.csv.part": true, "registreringer_20160120.csv.partial": true,
		"registreringer_20160120.csv": false, "registreringer_20160120.csv.gz": false,
	} {
		if got := IsTemporaryName(name); got != want {
			t.Errorf("IsTemporaryName(%q) = %v", name, got)
		}
	}
}
