package compute

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// The rules of the extract as a file (docs/formats.md#input-registration-extracts
// and #validation-and-the-error-report): the header, the lines, the trailer
// and the end. They are written here once: the pipeline (run.go)
// applies them to the lines of its chunks, and the tests' one-line-at-a-time
// reference reader to its lines. The rules of a single data row are those
// of rowParser (parse.go).

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

// maxLines is the most lines an extract may have.
const maxLines = 1<<31 - 1

// ReaderOptions configure how an extract is read.
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

// Reasons of the problems of the file as a whole; each rejects the extract,
// except a long line, which is an invalid row.
const (
	reasonBadTrailer   = "the trailer is not SLUT;<number of data rows>"
	reasonAfterTrailer = "data after the trailer line"
	reasonNoTrailer    = "no trailer line SLUT;<number of data rows> at the end: the file is truncated"
	reasonBadUTF8      = "not valid UTF-8"
)

func reasonLongLine(maxBytes int) string {
	return fmt.Sprintf("line is longer than %d bytes", maxBytes)
}

var reasonTooManyLines = fmt.Sprintf("the file has more than %d lines", maxLines)

// isTrailer reports whether a line (after the header) with the given number
// of semicolons is the trailer SLUT;<n>: a data row whose id is SLUT has as
// many fields as the header, the trailer has not.
func isTrailer(line []byte, semis, nfields int) bool {
	return len(line) >= 5 && string(line[:5]) == "SLUT;" && semis != nfields-1
}

// trailerCount reads the number of data rows of the trailer line: n is -1
// when it has more than 9 digits (it is never shown: it could be a CPR
// number); ok is false when it is not a number (reasonBadTrailer).
func trailerCount(line []byte) (n, digits int, ok bool) {
	num := line[len("SLUT;"):]
	if len(num) == 0 || !allDigits(num) {
		return 0, 0, false
	}
	if len(num) > 9 {
		return -1, len(num), true
	}
	n, _ = parseDigits(num)
	return n, len(num), true
}

// trailerProblem is the reason of a trailer whose number n (of digits
// digits) is not the rows of the file; "" when it is.
func trailerProblem(n, digits, rows int) string {
	if n == rows {
		return ""
	}
	said := fmt.Sprintf("%d data rows", n)
	if n < 0 {
		said = fmt.Sprintf("a number of %d digits", digits)
	}
	return fmt.Sprintf("the trailer says %s but the file has %d: the file is truncated or corrupt", said, rows)
}

// file is an extract being read: its header, set up in p, the lines and
// data rows read so far, and the report.
type file struct {
	opt    ReaderOptions
	br     *bufio.Reader
	src    io.Reader // what br reads
	p      rowParser // as the header set it up
	line   int       // the last line read
	rows   int       // data rows seen (valid or not)
	report Report
}

// openFile reads and checks the header of an extract from r. r must already
// be decompressed (see Decompress). A bad header is a *RejectedError.
func openFile(r io.Reader, opt ReaderOptions) (*file, error) {
	if opt.MaxLineBytes <= 0 {
		opt.MaxLineBytes = DefaultMaxLineBytes
	}
	f := &file{
		opt: opt,
		br:  bufio.NewReaderSize(r, max(64<<10, opt.MaxLineBytes+2)),
		src: r,
	}
	f.p.rep, f.p.asOf = &f.report, opt.AsOf
	f.report.Tolerance = opt.MaxRejectedRows
	line, err := f.readLine()
	switch {
	case err == io.EOF:
		return nil, f.fatal("", "the file is empty: no header line")
	case err == errLongLine:
		return nil, f.fatal("", fmt.Sprintf("bad header: the line is longer than %d bytes", f.opt.MaxLineBytes))
	case err != nil:
		return nil, err
	}
	line = bytes.TrimPrefix(line, []byte("\uFEFF"))
	if err := f.parseHeader(line); err != nil {
		return nil, err
	}
	return f, nil
}
func (f *file) parseHeader(line []byte) error {
	if !utf8.Valid(line) {
		return f.fatal("", "bad header: not valid UTF-8")
	}
	for i := range f.p.colOf {
		f.p.colOf[i] = -1
	}
	names := bytes.Split(line, []byte{';'})
	var problems []Problem
	bad := func(col, reason string) {
		problems = append(problems, Problem{Line: f.line, Column: col, Reason: "bad header: " + reason})
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
		case f.p.colOf[c] >= 0:
			bad(Columns[c], fmt.Sprintf("the column appears twice (fields %d and %d)", f.p.colOf[c]+1, i+1))
		default:
			f.p.colOf[c] = i
		}
	}
	for c, i := range f.p.colOf {
		if i < 0 {
			bad(Columns[c], "the column is missing")
		}
	}
	if len(problems) > 0 {
		err := f.fatal(problems[0].Column, problems[0].Reason)
		for _, p := range problems[1:] {
			f.report.add(p)
		}
		return err
	}
	f.p.nfields = len(names)
	f.p.canonical = true
	for c, i := range f.p.colOf {
		f.p.canonical = f.p.canonical && c == i
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
func (f *file) readLine() ([]byte, error) {
	f.line++
	line, err := f.br.ReadSlice('\n')
	if err == bufio.ErrBufferFull || (err == nil && len(line) > f.opt.MaxLineBytes+2) {
		for err == bufio.ErrBufferFull {
			_, err = f.br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return nil, f.readErr(err)
		}
		return nil, errLongLine
	}
	if err == io.EOF {
		if len(line) == 0 {
			f.line--
			return nil, io.EOF
		}
		err = nil // a last line without a line end
	}
	if err != nil {
		return nil, f.readErr(err)
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > f.opt.MaxLineBytes {
		return nil, errLongLine
	}
	return line, nil
}

var errLongLine = errors.New("line too long")

func (f *file) readErr(err error) error {
	var le *LimitError
	var ge *GzipError
	switch {
	case errors.As(err, &le):
		return f.fatal("", le.Error())
	case errors.As(err, &ge):
		return f.fatal("", ge.Error())
	}
	return f.fatal("", "read error: "+err.Error())
}

// Next returns the next valid row. At the end of the file it checks the
// trailer and the tolerance and returns io.EOF, or a *RejectedError when the

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

// settle completes the report of a file read to its end: a *RejectedError
// when it has more invalid rows than the tolerance.
func (f *file) settle() error {
	f.report.Rows = f.rows
	if f.report.InvalidRows > f.opt.MaxRejectedRows {
		f.report.Rejected = true
		return &RejectedError{Report: &f.report}
	}
	return nil
}

// Report returns the validation report so far.
func (f *file) Report() *Report {
	f.report.Rows = f.rows
	return &f.report
}

// fatal records a problem of the file at the last line read that rejects
// the extract.
func (f *file) fatal(col, reason string) error {
	p := Problem{Line: f.line, Column: col, Reason: reason}
	f.report.add(p)
	f.report.Fatal = &p
	f.report.Rows = f.rows
	f.report.Rejected = true
	return &RejectedError{Report: &f.report}
}
