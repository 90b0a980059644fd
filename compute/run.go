package compute

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
	"unsafe"

	"leverance/compute/internal/engine"
	"leverance/compute/internal/idset"
	"leverance/compute/internal/linescan"
)

// One pass over the extract (docs/performance.md): the engine
// (compute/internal/engine) cuts it into chunks and runs them on several
// goroutines; it calls the rules through domain, which implements
// engine.Domain: lines reads the lines of a chunk by the file rules
// (file.go) and the row rules (parse.go), Take merges what a chunk found,
// in order, and sink (compute.go) renders the citizens.

// runPipeline reads the extract once, after its header.
func runPipeline(f *file, e *emitter, ps pass) (*Outcome, error) {
	job := e.job
	d := &domain{f: f, e: e, ps: ps, w: newWriter(e)}
	cfg := engine.Config{Mode: engine.Sorted, Workers: job.Workers, Scratch: job.Scratch,
		MemoryLimit: memoryLimit(job.MemoryLimit), ChunkSize: job.Tuning.chunkSize(),
		MaxLine: f.opt.MaxLineBytes, Suspects: ps.suspects}
	switch {
	case job.ValidateOnly:
		cfg.Mode = engine.Validate
	case ps.buffered:
		cfg.Mode = engine.Buffered
	}
	if ps.repeats == nil && ps.suspects == nil {
		cfg.IDMemory, cfg.IDPartLimit = idMemoryBudget(job.MemoryLimit, job.Tuning.idMemory()), job.Tuning.idPartLimit()
	}
	pl := engine.New[Row](d, cfg)
	defer pl.Close()
	// What the file has buffered after the header, then straight from its
	// source into the chunks.
	src := io.MultiReader(io.LimitReader(f.br, int64(f.br.Buffered())), f.src)
	err := pl.Read(src, f.line)
	if err == engine.ErrUnsorted {
		return &Outcome{Report: f.Report()}, &againError{next: pass{buffered: true}, why: "the extract is not sorted by cpr"}
	}
	if err = d.settle(pl, err); err == nil {
		err = pl.Finish()
	}
	if err != nil {
		return &Outcome{Report: f.Report()}, err
	}
	oc, err := d.w.finish()
	oc.Report = f.Report()
	return oc, err
}

// settle ends the reading: repeated ids (ids.go), the tolerance.
func (d *domain) settle(pl *engine.Pass[Row], err error) error {
	f, ps := d.f, d.ps
	var reps []idset.Repeat
	if err == nil || errors.As(err, new(*RejectedError)) {
		switch {
		case ps.repeats == nil && ps.suspects == nil:
			sus, ierr := pl.Suspects()
			if ierr != nil {
				return ierr
			}
			if len(sus) > 0 {
				return &againError{next: pass{buffered: ps.buffered, suspects: sus}, why: fmt.Sprintf("%d registration ids may repeat", len(sus))}
			}
		case ps.suspects != nil:
			// Ids are looked at only up to where the reference reader
			// would have stopped.
			upTo := maxLines
			if p := f.report.Fatal; p != nil {
				upTo = p.Line - 1 // the line of the problem was not read as a row,
				if d.noTrailer {
					upTo = p.Line // unless the problem is the end of the file
				}
			}
			reps = idset.Repeats(pl.SuspectRows(), upTo)
			applyRepeats(&f.report, reps)
		}
	}
	if err != nil {
		return err
	}
	if err := f.settle(); err != nil {
		return err
	}
	if len(reps) > 0 {
		m := make(map[int]int, len(reps))
		for _, r := range reps {
			m[r.Line] = r.First
		}
		return &againError{next: pass{buffered: ps.buffered, repeats: m}, why: fmt.Sprintf("%d rows repeat the id of an earlier row", len(m))}
	}
	return nil
}

// domain is what the engine calls: the rules of the file and its rows, and
// the products.
type domain struct {
	f         *file
	e         *emitter
	ps        pass
	w         *writer
	ended     bool // the trailer was taken
	noTrailer bool // the file ended without one
}

func (d *domain) NewChunk() engine.Chunk[Row] {
	l := &lines{p: d.f.p, maxLine: d.f.opt.MaxLineBytes}
	l.p.rep = &l.rep
	// Rows point into the chunk's data: the engine keeps it unchanged for
	// as long as they are used, and Own copies them out.
	l.p.alias = true
	l.p.dup = nil
	if rep := d.ps.repeats; rep != nil {
		l.p.dup = func(_ uint64, line int) (int, bool) {
			first, ok := rep[line]
			return first, ok
		}
	}
	return l
}

func (d *domain) NewSink() engine.Sink[Row] { return newSink(d.e) }

func (d *domain) Write(s engine.Sink[Row]) { d.w.write(s.(*sink)) }

// Own copies the strings of r that point into the chunk's data (the parser
// aliases what it can: see rowParser.alias). Both string fields of Row, ID
// and Kode, are looked at whatever the row's type (TestKeepOwnsStrings
// fails if Row gains another); a known code is an interned constant, not in
// the chunk, and is not copied.
func (d *domain) Own(r *Row, data []byte) {
	r.ID = ownString(r.ID, data)
	r.Kode = ownString(r.Kode, data)
}

// ownString is s, or a copy of it when it points into buf's array.
func ownString(s string, buf []byte) string {
	if len(s) == 0 || cap(buf) == 0 {
		return s
	}
	p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf[:cap(buf)])))
	if p-lo < uintptr(cap(buf)) {
		return strings.Clone(s)
	}
	return s
}

func (d *domain) AppendRecord(b []byte, r *Row) []byte { return appendRecord(b, r) }

func (d *domain) ReadRecord(b []byte, key *engine.Key, r *Row) { readRecord(b, key, r) }

// Take merges what a chunk found into the file's report, in order, and
// applies the rules of the file as a whole: the trailer's count, nothing
// after it, read errors, a problem that rejects the extract.
func (d *domain) Take(c engine.Chunk[Row], first, n int, rerr error) (ended bool, err error) {
	f, l := d.f, c.(*lines)
	if d.ended {
		switch {
		case n > 0:
			return true, d.fatal(first+1, "", reasonAfterTrailer)
		case rerr != nil:
			return true, d.readErr(first+1, rerr)
		}
		return true, nil
	}
	for _, p := range l.rep.Problems {
		f.report.add(p)
	}
	f.report.ProblemCount += l.rep.ProblemCount - len(l.rep.Problems)
	f.report.InvalidRows += l.rep.InvalidRows
	switch {
	case l.fatal != nil:
		f.rows += l.rows
		return false, d.fatal(l.fatal.Line, l.fatal.Column, l.fatal.Reason)
	case l.trailer > 0:
		f.rows += l.trailerRows
		if p := trailerProblem(l.trailerN, l.trailerLen, f.rows); p != "" {
			return true, d.fatal(l.trailer, "", p)
		}
		if l.after > 0 {
			return true, d.fatal(l.after, "", reasonAfterTrailer)
		}
		if rerr != nil {
			return true, d.readErr(l.trailer+1, rerr)
		}
		d.ended, f.line = true, l.trailer
		return true, nil
	}
	f.rows += l.rows
	f.line = first + n
	if rerr != nil {
		return false, d.readErr(f.line+1, rerr)
	}
	return false, nil
}

// End checks that the file had its trailer.
func (d *domain) End() error {
	if !d.ended {
		d.noTrailer = true
		return d.fatal(d.f.line, "", reasonNoTrailer)
	}
	return nil
}

func (d *domain) fatal(line int, col, reason string) error {
	d.f.line = line
	return d.f.fatal(col, reason)
}

func (d *domain) readErr(line int, err error) error {
	d.f.line = line
	return d.f.readErr(err)
}

// lines reads the lines of one chunk by the rules of the file (file.go)
// and of a row (parse.go), and keeps what it finds for Take.
type lines struct {
	p       rowParser
	maxLine int
	rep     Report   // the problems of invalid rows
	rows    int      // data rows, valid or not
	fatal   *Problem // a problem that rejects the extract: nothing after it was read

	trailer     int // the line of the trailer, if the chunk has it
	trailerN    int // its number of rows; -1 when it has more than 9 digits
	trailerLen  int // its number of digits
	trailerRows int // data rows of the chunk before it
	after       int // the line after the trailer, if the chunk has one
}

func (l *lines) Reset() {
	l.rep = Report{}
	l.rows, l.fatal = 0, nil
	l.trailer, l.after = 0, 0
}

func (l *lines) Pos() *linescan.Pos { return &l.p.pos }

func (l *lines) ID() []byte { return l.p.get(colID) }

var (
	lineOther = engine.Line{Verdict: engine.Other}
	lineStop  = engine.Line{Verdict: engine.Stop}
)

func (l *lines) Line(line []byte, semis int, ascii bool, lineNo int, r *Row) engine.Line {
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	switch {
	case l.trailer > 0:
		l.after = lineNo
		return lineStop
	case lineNo > maxLines:
		l.fatal = &Problem{Line: lineNo, Reason: reasonTooManyLines}
		return lineStop
	case len(line) > l.maxLine:
		l.rows++
		l.rep.InvalidRows++
		l.rep.add(Problem{Line: lineNo, Reason: reasonLongLine(l.maxLine)})
		return lineOther
	case !ascii && !utf8.Valid(line):
		l.fatal = &Problem{Line: lineNo, Column: badUTF8Column(line, &l.p), Reason: reasonBadUTF8}
		return lineStop
	case isTrailer(line, semis, l.p.nfields):
		n, digits, ok := trailerCount(line)
		if !ok {
			l.fatal = &Problem{Line: lineNo, Reason: reasonBadTrailer}
			return lineStop
		}
		l.trailer, l.trailerRows, l.trailerN, l.trailerLen = lineNo, l.rows, n, digits
		return lineOther
	}
	l.rows++
	v := engine.Invalid
	if l.p.parseSplit(line, semis, lineNo, r) {
		v = engine.Valid
	}
	return engine.Line{Verdict: v, Key: &r.CPR, IDHash: l.p.idHash, HasID: l.p.hasID}
}

// memoryLimit is Job.MemoryLimit, or its default.
func memoryLimit(limit int64) int64 {
	if limit <= 0 {
		return DefaultMemoryLimit
	}
	return limit
}
