package compute

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"leverance/compute/internal/linescan"
)

// The parallel pipeline of Compute (docs/performance.md): the extract is read in
// chunks of whole lines, each chunk is parsed, validated and evaluated by
// one of several workers, and one goroutine (the merger) takes the chunks
// back in order, joins what spans two of them and writes the products.
//
//	reader ──chunks──▶ workers (parse, validate, evaluate, render) ──▶ merger (in order: report, boundary citizens, write)
//
// Sorted mode (the extract is sorted by cpr): a worker groups the valid rows
// of its chunk by cpr. The first and the last group may continue in the
// neighbouring chunks, so the worker leaves them to the merger; it
// evaluates the groups between them and renders their rows for every
// vendor and product into byte buffers. The merger evaluates the boundary
// citizens itself (two per chunk) and writes the buffers in chunk order,
// so the output is the same bytes as the one-citizen-at-a-time reference.
// Memory: a fixed number of chunks in flight, whatever the size of the
// extract.
//
// Buffered mode (not sorted): the workers validate and encode the valid rows
// into partitions by the leading digits of the cpr, which the merger appends
// to Scratch files in chunk order; then each partition is read back, sorted
// by cpr and computed, again by several workers and written in order (see
// spill.go).
//
// Both modes collect the hash of every id in an idStore and look for
// repeats at the end (ids.go).

// errUnsorted ends a streaming pass over an extract that is not sorted by
// cpr: Compute reads it again, buffered.
var errUnsorted = errors.New("the extract is not sorted by cpr")

type chunk struct {
	seq   int
	data  []byte // whole lines; the last one has no line end only at the end of the input
	line  int    // the number of the line before data's first
	lines int    // the number of lines in data
	rerr  error  // a read error after data
	done  chan struct{}

	// What the worker found.
	rep         Report   // the problems of invalid rows
	rows        int      // data rows, valid or not
	fatal       *Problem // a problem that rejects the extract: nothing after it was read
	unsorted    bool     // a valid row has a cpr below the one before: nothing after it was read
	trailer     int      // the line of the trailer, if the chunk has it
	trailerN    int      // its number of rows; -1 when it has more than 9 digits
	trailerLen  int      // its number of digits
	trailerRows int      // data rows of the chunk before it
	after       int      // the line after the trailer, if the chunk has one

	// Sorted mode: the valid rows of the first group of one cpr, then
	// those of the group being read; a group between the first and the
	// last is evaluated and rendered into s as soon as it is complete, while
	// its rows are still in the cache, and its place is used again.
	valid     []Row
	ngroups   int   // groups seen
	firstEnd  int   // the first group is valid[:firstEnd] (once a second began)
	lastStart int   // the group being read starts at valid[lastStart]
	s         *sink // the groups between the first and the last, rendered
	mid       bool  // s holds something
	next      []int // the basis cursors after those groups
	parts     [numParts0][]byte
}

type pipeline struct {
	f        *file
	job      Job
	pass     pass
	e        *emitter
	workers  int
	sorted   bool
	validate bool     // Job.ValidateOnly: neither sorted nor buffered, rows are only validated
	ids      *idStore // the first step of finding repeated ids (ids.go), or nil
	mu       sync.Mutex
	suspects []suspectRow // the second step's rows
	sc       Scratch

	quit chan struct{}
	free chan *chunk

	// merger state
	w         *writer
	ms        *sink // the merger's own, for the boundary citizens
	pending   []Row // the group of the last cpr seen, which may go on in the next chunk
	trailer   bool  // the trailer was read
	noTrailer bool  // the file ended without one
	parts     [numParts0]spillFile
}

func runPipeline(f *file, e *emitter, ps pass) (*Outcome, error) {
	job := e.job
	pl := &pipeline{f: f, job: job, pass: ps, e: e, sorted: !ps.buffered && !job.ValidateOnly, validate: job.ValidateOnly,
		workers: job.Workers, sc: job.Scratch}
	if pl.workers <= 0 {
		pl.workers = runtime.GOMAXPROCS(0)
	}
	if pl.sc == nil {
		pl.sc = memScratch{}
	}
	if ps.repeats == nil && ps.suspects == nil {
		pl.ids = newIDStore(pl.sc, idMemoryBudget(job.MemoryLimit, job.Tuning.idMemory()), job.Tuning.idPartLimit())
		defer pl.ids.close()
	}
	defer func() {
		for i := range pl.parts {
			pl.parts[i].close()
		}
	}()
	pl.w = newWriter(e)
	pl.ms = newSink(e)

	err := pl.run()
	var reps []repeat
	if err == nil || errors.As(err, new(*RejectedError)) {
		switch {
		case pl.ids != nil:
			sus, ierr := pl.ids.suspects(pl.workers)
			if ierr != nil {
				return &Outcome{Report: f.Report()}, ierr
			}
			if len(sus) > 0 {
				return &Outcome{Report: f.Report()}, &againError{next: pass{buffered: ps.buffered, suspects: sus}, why: fmt.Sprintf("%d registration ids may repeat", len(sus))}
			}
		case ps.suspects != nil:
			// Ids are looked at only up to where the Reader would have stopped.
			upTo := maxLines
			if p := f.report.Fatal; p != nil {
				upTo = p.Line - 1 // the line of the problem was not read as a row,
				if pl.noTrailer {
					upTo = p.Line // unless the problem is the end of the file
				}
			}
			reps = exactRepeats(pl.suspects, upTo)
			applyRepeats(&f.report, reps)
		}
	}
	if err == nil {
		f.report.Rows = f.rows
		switch {
		case f.report.InvalidRows > job.Reader.MaxRejectedRows:
			f.report.Rejected = true
			err = &RejectedError{Report: &f.report}
		case len(reps) > 0:
			m := make(map[int]int, len(reps))
			for _, r := range reps {
				m[r.line] = r.first
			}
			err = &againError{next: pass{buffered: ps.buffered, repeats: m}, why: fmt.Sprintf("%d rows repeat the id of an earlier row", len(m))}
		}
	}
	if err == nil && !pl.sorted && !pl.validate {
		err = pl.computeParts()
	}
	if err == errUnsorted {
		err = &againError{next: pass{buffered: true}, why: "the extract is not sorted by cpr"}
	}
	if err != nil {
		return &Outcome{Report: f.Report()}, err
	}
	pl.ms.left(nil)
	pl.w.write(pl.ms)
	oc, err := pl.w.finish()
	oc.Report = f.Report()
	return oc, err
}

// run reads the whole extract through the workers and merges their chunks.
func (pl *pipeline) run() error {
	n := 2*pl.workers + 2
	pl.quit = make(chan struct{})
	pl.free = make(chan *chunk, n)
	work := make(chan *chunk, n)
	ordered := make(chan *chunk, n)
	for range n {
		pl.free <- &chunk{}
	}
	go pl.read(work, ordered)
	var wg sync.WaitGroup
	defer wg.Wait()
	for range pl.workers {
		wg.Go(func() {
			wk := pl.newWorker()
			for c := range work {
				wk.process(c)
				close(c.done)
			}
			if pl.ids != nil {
				pl.ids.flush(&wk.ids)
			}
		})
	}
	var err error
	for c := range ordered {
		<-c.done
		if err == nil {
			if err = pl.merge(c); err != nil {
				close(pl.quit)
			}
		}
		pl.free <- c
	}
	if err != nil {
		return err
	}
	if !pl.trailer {
		pl.noTrailer = true
		return pl.fatal(pl.f.line, "", reasonNoTrailer)
	}
	if pl.sorted && len(pl.pending) > 0 {
		pl.flushPending()
	}
	return nil
}

// read cuts the input into chunks of whole lines.
func (pl *pipeline) read(work, ordered chan<- *chunk) {
	defer close(ordered)
	defer close(work)
	maxLine := pl.f.opt.MaxLineBytes
	size := max(pl.job.Tuning.chunkSize(), 2*(maxLine+3))
	var carry []byte
	line, seq := pl.f.line, 0
	// What the Reader has buffered (after the header), then straight from
	// its source into the chunks, without a copy through the buffer.
	src := io.MultiReader(io.LimitReader(pl.f.br, int64(pl.f.br.Buffered())), pl.f.src)
	for eof := false; !eof; {
		var c *chunk
		select {
		case c = <-pl.free:
		case <-pl.quit:
			return
		}
		if cap(c.data) < size {
			c.data = make([]byte, 0, size)
		}
		buf := append(c.data[:0], carry...)
		carry = carry[:0]
		var rerr error
		for len(buf) < cap(buf) {
			k, err := src.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+k]
			if err == io.EOF {
				eof = true
				break
			}
			if err != nil {
				rerr = err
				break
			}
		}
		switch cut := bytes.LastIndexByte(buf, '\n') + 1; {
		case eof:
		case rerr != nil:
			buf = buf[:cut] // the reader drops a line cut short by an error
		case cut > 0:
			carry = append(carry, buf[cut:]...)
			buf = buf[:cut]
		default:
			// A full chunk without a line end: the line is too long. Keep
			// enough of it to be seen as too long, skip the rest.
			buf = append(buf[:maxLine+2], '\n')
			rest, err := skipLine(src, c.data[:cap(c.data)][maxLine+3:])
			carry = append(carry, rest...)
			switch {
			case err == io.EOF:
				eof = true
			case err != nil:
				buf, rerr = buf[:0], err // reported at the long line, as the Reader does
			}
		}
		c.seq, c.data, c.line, c.rerr = seq, buf, line, rerr
		c.done = make(chan struct{})
		c.lines = bytes.Count(buf, []byte{'\n'})
		if n := len(buf); n > 0 && buf[n-1] != '\n' {
			c.lines++ // the last line, without a line end
		}
		line += c.lines
		seq++
		ordered <- c
		work <- c
		if rerr != nil {
			return
		}
	}
}

// skipLine reads past the next line end, using buf, and returns what
// follows it in buf.
func skipLine(src io.Reader, buf []byte) ([]byte, error) {
	for {
		k, err := src.Read(buf)
		if i := bytes.IndexByte(buf[:k], '\n'); i >= 0 {
			if err == io.EOF && i+1 < k {
				err = nil // the rest is read; EOF comes again
			}
			return buf[i+1 : k], err
		}
		if err != nil {
			return nil, err
		}
	}
}

type worker struct {
	pl       *pipeline
	p        rowParser
	ids      idBatch
	suspects []suspectRow
	lines    linescan.Scanner
}

func (pl *pipeline) newWorker() *worker {
	wk := &worker{pl: pl, p: pl.f.p}
	wk.p.alias = true
	wk.p.dup = nil
	if rep := pl.pass.repeats; rep != nil {
		wk.p.dup = func(_ uint64, line int) (int, bool) {
			first, ok := rep[line]
			return first, ok
		}
	}
	return wk
}

// process parses a chunk and, in sorted mode, evaluates and renders the
// citizens that lie wholly inside it.
func (wk *worker) process(c *chunk) {
	pl := wk.pl
	select {
	case <-pl.quit:
		return
	default:
	}
	c.reset(pl)
	p := &wk.p
	p.rep = &c.rep
	maxLine := pl.f.opt.MaxLineBytes
	var row Row
	lineNo := c.line
	wk.lines.Reset(c.data)
	for {
		line, semis, asciiLine, more := wk.lines.Next(&p.pos)
		if !more {
			break
		}
		lineNo++
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		if c.trailer > 0 {
			c.after = lineNo
			break
		}
		if lineNo > maxLines {
			c.fatal = &Problem{Line: lineNo, Reason: reasonTooManyLines}
			break
		}
		if len(line) > maxLine {
			c.rows++
			c.rep.InvalidRows++
			c.rep.add(Problem{Line: lineNo, Reason: reasonLongLine(maxLine)})
			continue
		}
		if !asciiLine && !utf8.Valid(line) {
			c.fatal = &Problem{Line: lineNo, Column: badUTF8Column(line, p), Reason: reasonBadUTF8}
			break
		}
		if isTrailer(line, semis, p.nfields) {
			if !c.takeTrailer(line, lineNo) {
				break
			}
			continue
		}
		c.rows++
		r := &row
		if pl.sorted {
			if len(c.valid) == cap(c.valid) {
				c.valid = append(c.valid, Row{})[:len(c.valid)]
			}
			r = &c.valid[:len(c.valid)+1][len(c.valid)]
		}
		ok := p.parseSplit(line, semis, lineNo, r)
		if p.hasID {
			if pl.ids != nil {
				wk.ids.add(p.idHash)
			} else if sus := pl.pass.suspects; sus != nil && sus[p.idHash] {
				wk.suspects = append(wk.suspects, suspectRow{id: string(p.get(colID)), line: lineNo, invalid: !ok})
			}
		}
		if !ok || pl.validate {
			continue
		}
		if !pl.sorted {
			k := partOf(r.CPR[:], 0)
			c.parts[k] = encodeRow(c.parts[k], r)
			continue
		}
		if n := len(c.valid); n == 0 || cprCompare(&r.CPR, &c.valid[n-1].CPR) != 0 {
			if n > 0 && cprCompare(&r.CPR, &c.valid[n-1].CPR) < 0 {
				c.unsorted = true
				break
			}
			// r begins a group: the one before it is complete.
			switch {
			case n == 0:
			case c.ngroups == 1: // the first: it stays for the merger
				c.firstEnd = n
				if c.s == nil {
					c.s = newSink(pl.e)
				}
				c.s.reset()
				c.s.seek(&c.valid[0].CPR)
			default: // one between the first and r's: evaluated now
				c.s.citizen(c.valid[c.lastStart:n])
				c.mid = true
				c.valid[:c.lastStart+1][c.lastStart] = *r
				c.valid = c.valid[:c.lastStart]
			}
			c.lastStart = len(c.valid)
			c.ngroups++
		}
		c.valid = c.valid[:len(c.valid)+1]
	}
	wk.finish(c)
}

// reset makes a chunk ready to be processed again.
func (c *chunk) reset(pl *pipeline) {
	c.rep = Report{}
	c.rows, c.fatal, c.unsorted = 0, nil, false
	c.trailer, c.after, c.mid = 0, 0, false
	c.valid, c.ngroups, c.firstEnd, c.lastStart = c.valid[:0], 0, 0, 0
	if !pl.sorted && !pl.validate {
		for i := range c.parts {
			c.parts[i] = c.parts[i][:0]
		}
	}
}

// takeTrailer notes the trailer on line lineNo; false (with the chunk's
// fatal problem set) when its number is not one.
func (c *chunk) takeTrailer(line []byte, lineNo int) bool {
	n, digits, ok := trailerCount(line)
	if !ok {
		c.fatal = &Problem{Line: lineNo, Reason: reasonBadTrailer}
		return false
	}
	c.trailer, c.trailerRows, c.trailerN, c.trailerLen = lineNo, c.rows, n, digits
	return true
}

// finish hands the chunk's id hashes and suspects to the pipeline and
// settles its first group and what was rendered ahead.
func (wk *worker) finish(c *chunk) {
	pl := wk.pl
	if pl.ids != nil {
		pl.ids.addBatch(&wk.ids)
	}
	if len(wk.suspects) > 0 {
		pl.mu.Lock()
		pl.suspects = append(pl.suspects, wk.suspects...)
		pl.mu.Unlock()
		wk.suspects = wk.suspects[:0]
	}
	if !pl.sorted || c.fatal != nil || c.unsorted {
		c.mid = false // (what was rendered is not written)
		return
	}
	if c.ngroups == 1 {
		c.firstEnd = len(c.valid)
	}
	if c.mid {
		c.next = append(c.next[:0], c.s.next...)
	}
}

// merge takes the chunks back in order: the report, the citizens at the
// chunk's edges, what the worker rendered, the trailer.
func (pl *pipeline) merge(c *chunk) error {
	f := pl.f
	if pl.trailer {
		switch {
		case len(c.data) > 0:
			return pl.fatal(c.line+1, "", reasonAfterTrailer)
		case c.rerr != nil:
			return pl.readErr(c.line+1, c.rerr)
		}
		return nil
	}
	if pl.sorted && c.fatal == nil && !c.unsorted && c.ngroups > 0 {
		if err := pl.joinEdges(c); err != nil {
			return err
		}
	}
	if !pl.sorted && !pl.validate {
		for k := range c.parts {
			if len(c.parts[k]) == 0 {
				continue
			}
			f := &pl.parts[k]
			if f.f == nil {
				var err error
				if f.f, err = pl.sc.Create(); err != nil {
					return err
				}
			}
			f.write(c.parts[k])
			if f.err != nil {
				return fmt.Errorf("write the rows to scratch: %w", f.err)
			}
		}
	}
	for _, p := range c.rep.Problems {
		f.report.add(p)
	}
	f.report.ProblemCount += c.rep.ProblemCount - len(c.rep.Problems)
	f.report.InvalidRows += c.rep.InvalidRows
	switch {
	case c.unsorted:
		f.rows += c.rows
		return errUnsorted
	case c.fatal != nil:
		f.rows += c.rows
		return pl.fatal(c.fatal.Line, c.fatal.Column, c.fatal.Reason)
	case c.trailer > 0:
		f.rows += c.trailerRows
		if p := trailerProblem(c.trailerN, c.trailerLen, f.rows); p != "" {
			return pl.fatal(c.trailer, "", p)
		}
		if c.after > 0 {
			return pl.fatal(c.after, "", reasonAfterTrailer)
		}
		if c.rerr != nil {
			return pl.readErr(c.trailer+1, c.rerr)
		}
		pl.trailer = true
		f.line = c.trailer
		return nil
	}
	f.rows += c.rows
	f.line = c.line + c.lines
	if c.rerr != nil {
		return pl.readErr(f.line+1, c.rerr)
	}
	return nil
}

// joinEdges handles the first and the last group of a sorted chunk: the
// first may continue the last group of the chunk before; the groups between
// were rendered by the worker; the last may continue in the next chunk.
func (pl *pipeline) joinEdges(c *chunk) error {
	first := c.valid[:c.firstEnd]
	if len(pl.pending) > 0 {
		switch last := &pl.pending[0].CPR; {
		case *last == first[0].CPR:
		case string(last[:]) > string(first[0].CPR[:]):
			return errUnsorted
		default:
			pl.flushPending()
		}
	}
	pl.keep(first, c.data)
	if c.ngroups == 1 { // it may go on
		return nil
	}
	pl.flushPending()
	if c.mid {
		pl.w.write(c.s)
		copy(pl.ms.next, c.next)
	}
	pl.keep(c.valid[c.lastStart:], c.data)
	return nil
}

// keep adds rows to the pending group, with their own copies of the strings
// that point into the chunk's data (the parser aliases what it can: see
// rowParser.alias), which is used again for another part of the extract.
// Both string fields of Row, ID and Kode, are looked at whatever the row's
// type (TestKeepOwnsStrings fails if Row gains another); a known code is an
// interned constant, not in the chunk, and is not copied.
func (pl *pipeline) keep(rows []Row, data []byte) {
	for _, r := range rows {
		r.ID = ownString(r.ID, data)
		r.Kode = ownString(r.Kode, data)
		pl.pending = append(pl.pending, r)
	}
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

func (pl *pipeline) flushPending() {
	pl.ms.citizen(pl.pending)
	pl.w.write(pl.ms)
	pl.pending = pl.pending[:0]
}

func (pl *pipeline) fatal(line int, col, reason string) error {
	pl.f.line = line
	return pl.f.fatal(col, reason)
}

func (pl *pipeline) readErr(line int, err error) error {
	pl.f.line = line
	return pl.f.readErr(err)
}
