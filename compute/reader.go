package compute

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Columns are the extract's columns (docs/formats.md#content); the header may name them in
// any order.
var Columns = []string{"id", "cpr", "type", "kommune", "fra", "til", "timer", "kode", "registreret"}

const (
	colID = iota
	colCPR
	colType
	colKommune
	colFra
	colTil
	colTimer
	colKode
	colRegistreret
	numCols
)

// Defaults of ReaderOptions.
const (
	DefaultMaxLineBytes = 4096
	MaxReportedProblems = 100
)

// ReaderOptions configure a Reader.
type ReaderOptions struct {
	// AsOf is the extract's as-of date A (from its name).
	AsOf Date
	// MaxRejectedRows is the tolerance of docs/formats.md#validation-and-the-error-report: an extract with at most
	// this many invalid rows is accepted without them. 0 rejects any.
	MaxRejectedRows int
	// MaxLineBytes bounds a line; a longer one is an invalid row. 0 means
	// DefaultMaxLineBytes.
	MaxLineBytes int
}

// Reader streams and validates the rows of one extract. It holds one line at a
// time; the only state that grows with the file is the set of seen ids (8
// bytes of hash and 4 of line number per row).
type Reader struct {
	opt    ReaderOptions
	br     *bufio.Reader
	src    io.Reader // what br reads
	p      rowParser
	line   int
	rows   int // data rows seen (valid or not)
	report Report
	ids    map[uint64]uint32
	done   bool
	err    error
}

// NewReader reads and checks the header of an extract from r. r must already
// be decompressed (see Decompress). A bad header is a *RejectedError.
func NewReader(r io.Reader, opt ReaderOptions) (*Reader, error) {
	if opt.MaxLineBytes <= 0 {
		opt.MaxLineBytes = DefaultMaxLineBytes
	}
	rd := &Reader{
		opt: opt,
		br:  bufio.NewReaderSize(r, max(64<<10, opt.MaxLineBytes+2)),
		src: r,
	}
	rd.p.rep, rd.p.asOf = &rd.report, opt.AsOf
	rd.p.dup = rd.checkID
	rd.report.Tolerance = opt.MaxRejectedRows
	line, err := rd.readLine()
	switch {
	case err == io.EOF:
		return nil, rd.fatal("", "the file is empty: no header line")
	case err == errLongLine:
		return nil, rd.fatal("", fmt.Sprintf("bad header: the line is longer than %d bytes", rd.opt.MaxLineBytes))
	case err != nil:
		return nil, err
	}
	line = bytes.TrimPrefix(line, []byte("\uFEFF"))
	if err := rd.parseHeader(line); err != nil {
		return nil, err
	}
	return rd, nil
}

func (rd *Reader) parseHeader(line []byte) error {
	if !utf8.Valid(line) {
		return rd.fatal("", "bad header: not valid UTF-8")
	}
	for i := range rd.p.colOf {
		rd.p.colOf[i] = -1
	}
	names := bytes.Split(line, []byte{';'})
	var problems []Problem
	bad := func(col, reason string) {
		problems = append(problems, Problem{Line: rd.line, Column: col, Reason: "bad header: " + reason})
	}
	for i, n := range names {
		c := -1
		for j, want := range Columns {
			if string(n) == want {
				c = j
			}
		}
		switch {
		case c < 0:
			bad("", fmt.Sprintf("unknown column %s (field %d); the columns are %s", safeQuote(n), i+1, columnList))
		case rd.p.colOf[c] >= 0:
			bad(Columns[c], fmt.Sprintf("the column appears twice (fields %d and %d)", rd.p.colOf[c]+1, i+1))
		default:
			rd.p.colOf[c] = i
		}
	}
	for c, i := range rd.p.colOf {
		if i < 0 {
			bad(Columns[c], "the column is missing")
		}
	}
	if len(problems) > 0 {
		err := rd.fatal(problems[0].Column, problems[0].Reason)
		for _, p := range problems[1:] {
			rd.report.add(p)
		}
		return err
	}
	rd.p.nfields = len(names)
	rd.p.canonical = true
	for c, i := range rd.p.colOf {
		rd.p.canonical = rd.p.canonical && c == i
	}
	return nil
}

var columnList = func() string {
	var b []byte
	for i, c := range Columns {
		if i > 0 {
			b = append(b, ';')
		}
		b = append(b, c...)
	}
	return string(b)
}()

// readLine returns the next line without its line end. A line longer than
// MaxLineBytes is returned as errLongLine after the rest is skipped.
func (rd *Reader) readLine() ([]byte, error) {
	rd.line++
	line, err := rd.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull || (err == nil && len(line) > rd.opt.MaxLineBytes+2) {
		for err == bufio.ErrBufferFull {
			_, err = rd.br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return nil, rd.readErr(err)
		}
		return nil, errLongLine
	}
	if err == io.EOF {
		if len(line) == 0 {
			rd.line--
			return nil, io.EOF
		}
		err = nil // a last line without a line end
	}
	if err != nil {
		return nil, rd.readErr(err)
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > rd.opt.MaxLineBytes {
		return nil, errLongLine
	}
	return line, nil
}

var errLongLine = errors.New("line too long")

func (rd *Reader) readErr(err error) error {
	var le *LimitError
	var ge *GzipError
	switch {
	case errors.As(err, &le):
		return rd.fatal("", le.Error())
	case errors.As(err, &ge):
		return rd.fatal("", ge.Error())
	}
	return rd.fatal("", "read error: "+err.Error())
}

// Next returns the next valid row. At the end of the file it checks the
// trailer and the tolerance and returns io.EOF, or a *RejectedError when the
// extract is rejected. Invalid rows within the tolerance are skipped.
func (rd *Reader) Next() (Row, error) {
	for {
		if rd.err != nil {
			return Row{}, rd.err
		}
		line, err := rd.readLine()
		switch {
		case err == errLongLine && rd.done:
			rd.err = rd.fatal("", "data after the trailer line")
			continue
		case err == errLongLine:
			rd.rows++
			rd.invalid(rd.line, "", fmt.Sprintf("line is longer than %d bytes", rd.opt.MaxLineBytes))
			continue
		case err == io.EOF:
			rd.err = rd.finish()
			continue
		case err != nil:
			rd.err = err
			continue
		}
		if rd.done {
			rd.err = rd.fatal("", "data after the trailer line")
			continue
		}
		if !utf8.Valid(line) {
			rd.err = rd.fatal(rd.badUTF8Column(line), "not valid UTF-8")
			continue
		}
		// The trailer; a data row whose id is SLUT has as many fields as the
		// header.
		if bytes.HasPrefix(line, []byte("SLUT;")) && bytes.Count(line, []byte{';'}) != rd.p.nfields-1 {
			rd.trailer(line)
			continue
		}
		rd.rows++
		var row Row
		if rd.p.parse(line, rd.line, &row) {
			return row, nil
		}
	}
}

func (rd *Reader) trailer(line []byte) {
	rd.done = true
	num := line[len("SLUT;"):]
	if len(num) == 0 || !allDigits(num) {
		rd.err = rd.fatal("", "the trailer is not SLUT;<number of data rows>")
		return
	}
	n, _ := parseDigits(num)
	if len(num) > 9 {
		// Never echo a long number: it could be a CPR number.
		n = -1
	}
	if n != rd.rows {
		said := fmt.Sprintf("%d data rows", n)
		if n < 0 {
			said = fmt.Sprintf("a number of %d digits", len(num))
		}
		rd.err = rd.fatal("", fmt.Sprintf("the trailer says %s but the file has %d: the file is truncated or corrupt", said, rd.rows))
	}
}

// badUTF8Column names the column of the first field of line that is not
// valid UTF-8, or "" when the line does not split into the header's fields.
func (rd *Reader) badUTF8Column(line []byte) string {
	return badUTF8Column(line, &rd.p)
}

func badUTF8Column(line []byte, p *rowParser) string {
	f := bytes.Split(line, []byte{';'})
	if len(f) != p.nfields {
		return ""
	}
	for c, i := range p.colOf {
		if !utf8.Valid(f[i]) {
			return Columns[c]
		}
	}
	return ""
}

func (rd *Reader) finish() error {
	if !rd.done {
		return rd.fatal("", "no trailer line SLUT;<number of data rows> at the end: the file is truncated")
	}
	rd.report.Rows = rd.rows
	if rd.report.InvalidRows > rd.opt.MaxRejectedRows {
		rd.report.Rejected = true
		return &RejectedError{Report: &rd.report}
	}
	return io.EOF
}

// Report returns the validation report so far; complete after Next returned
// io.EOF or an error.
func (rd *Reader) Report() *Report {
	rd.report.Rows = rd.rows
	return &rd.report
}

func (rd *Reader) invalid(line int, col, reason string) {
	rd.report.InvalidRows++
	rd.report.add(Problem{Line: line, Column: col, Reason: reason})
}

func (rd *Reader) fatal(col, reason string) error {
	p := Problem{Line: rd.line, Column: col, Reason: reason}
	rd.report.add(p)
	rd.report.Fatal = &p
	rd.report.Rows = rd.rows
	rd.report.Rejected = true
	return &RejectedError{Report: &rd.report}
}

// checkID is the Reader's duplicate-id check: a map of the hashes of the
// ids seen, in file order.
func (rd *Reader) checkID(h uint64, line int) (int, bool) {
	if rd.ids == nil {
		rd.ids = make(map[uint64]uint32)
	}
	if first, seen := rd.ids[h]; seen {
		return int(first), true
	}
	rd.ids[h] = uint32(line)
	return 0, false
}

// validID reports whether b is an id: 1–40 of A–Z, a–z, 0–9, _ and -.
func validID(b []byte) bool {
	_, ok := hashID(b)
	return ok
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func allUpperDigits(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func dateProblem(b []byte) string {
	if len(b) == 0 {
		return "is empty; a date YYYY-MM-DD is required"
	}
	if len(b) == 10 && b[4] == '-' && b[7] == '-' && allDigits(b[:4]) && allDigits(b[5:7]) && allDigits(b[8:]) {
		// Safe to show: eight digits and two dashes cannot hold a CPR number.
		return "the date " + string(b) + " does not exist"
	}
	return "must be a date YYYY-MM-DD"
}

const hoursRule = "hours per week, > 0 and ≤ 37 with at most 2 decimals (e.g. 37, 18,5 or 18.50)"

// hoursProblem says why parseHours rejected b.
func hoursProblem(b []byte) string {
	if len(b) == 0 {
		return "is empty; a LEDIG row must give " + hoursRule
	}
	intPart, frac := b, []byte(nil)
	if i := bytes.IndexAny(b, ",."); i >= 0 {
		intPart, frac = b[:i], b[i+1:]
	}
	if len(intPart) == 0 || !allDigits(intPart) || !allDigits(frac) || frac != nil && len(frac) == 0 {
		return "is not a number; must be " + hoursRule
	}
	// A number short enough to show cannot hold a CPR number.
	shown := "the value"
	if len(b) <= 8 {
		shown = string(b)
	}
	if len(frac) > 2 {
		return shown + " has more than 2 decimals; must be " + hoursRule
	}
	return shown + " is out of range; must be " + hoursRule
}

// parseHours parses LEDIG hours per week into centi-hours: > 0 and ≤ 37, at
// most 2 decimals, decimal comma or point.
func parseHours(b []byte) (int64, bool) {
	intPart, frac := b, []byte(nil)
	if i := decimalMark(b); i >= 0 {
		intPart, frac = b[:i], b[i+1:]
		if len(frac) < 1 || len(frac) > 2 {
			return 0, false
		}
	}
	if len(intPart) < 1 || len(intPart) > 2 {
		return 0, false
	}
	n, ok := parseDigits(intPart)
	if !ok {
		return 0, false
	}
	c := int64(n) * 100
	if len(frac) > 0 {
		f, ok := parseDigits(frac)
		if !ok {
			return 0, false
		}
		if len(frac) == 1 {
			f *= 10
		}
		c += int64(f)
	}
	return c, c > 0 && c <= 3700
}

// decimalMark is the index of the first ',' or '.' in b, or -1.
func decimalMark(b []byte) int {
	for i, c := range b {
		if c == ',' || c == '.' {
			return i
		}
	}
	return -1
}

// safeQuote quotes a short value for an error message, unless it could be
// personal data: anything with a digit, or longer than 20 bytes, is described
// instead of shown, so no CPR number can reach a message.
func safeQuote(b []byte) string {
	if len(b) > 20 || !utf8.Valid(b) {
		return "(a value of " + strconv.Itoa(len(b)) + " bytes)"
	}
	for _, c := range b {
		if c >= '0' && c <= '9' {
			return "(a value with digits, not shown)"
		}
	}
	return strconv.Quote(string(b))
}
