package engine

import (
	"bytes"
	"io"
	"sync"

	"leverance/compute/internal/idset"
	"leverance/compute/internal/linescan"
)

type chunk[R any] struct {
	seq   int
	data  []byte // whole lines; the last one has no line end only at the end of the input
	line  int    // the number of the line before data's first
	lines int    // the number of lines in data
	rerr  error  // a read error after data
	done  chan struct{}
	dom   Chunk[R]

	// What the worker found.
	stopped  bool // a line said Stop: nothing after it was read
	unsorted bool // a valid row has a key below the one before: nothing after it was read

	// Sorted mode: the valid rows of the first group of one key, then
	// those of the group being read; a group between the first and the
	// last is rendered into s as soon as it is complete, while its rows
	// are still in the cache, and its place is used again.
	valid     []R
	ngroups   int // groups seen
	firstEnd  int // the first group is valid[:firstEnd] (once a second began)
	lastStart int // the group being read starts at valid[lastStart]
	firstKey  Key // the key of the first group
	lastKey   Key // the key of the group being read
	s         Sink[R]
	mid       bool // s holds something
	midLast   Key  // the key of the last group rendered into s
	// Buffered mode: the encoded valid rows, by partition.
	parts [numParts0][]byte
}

// Read reads the extract through the workers and merges their chunks in
// order; src starts after line number line (the header).
func (p *Pass[R]) Read(src io.Reader, line int) error {
	n := 2*p.cfg.Workers + 2
	p.quit = make(chan struct{})
	p.free = make(chan *chunk[R], n)
	work := make(chan *chunk[R], n)
	ordered := make(chan *chunk[R], n)
	for range n {
		p.free <- &chunk[R]{dom: p.d.NewChunk()}
	}
	go p.read(src, line, work, ordered)
	var wg sync.WaitGroup
	defer wg.Wait()
	for range p.cfg.Workers {
		wg.Go(func() {
			wk := &worker[R]{p: p}
			for c := range work {
				wk.process(c)
				close(c.done)
			}
			if p.ids != nil {
				p.ids.Flush(&wk.ids)
			}
		})
	}
	var err error
	for c := range ordered {
		<-c.done
		if err == nil {
			if err = p.merge(c); err != nil {
				close(p.quit)
			}
		}
		p.free <- c
	}
	if err != nil {
		return err
	}
	if err := p.d.End(); err != nil {
		return err
	}
	if p.cfg.Mode == Sorted && len(p.pending) > 0 {
		p.flushPending()
	}
	return nil
}

// read cuts the input into chunks of whole lines.
func (p *Pass[R]) read(src io.Reader, line int, work, ordered chan<- *chunk[R]) {
	defer close(ordered)
	defer close(work)
	maxLine := p.cfg.MaxLine
	size := max(p.cfg.ChunkSize, 2*(maxLine+3))
	var carry []byte
	seq := 0
	for eof := false; !eof; {
		var c *chunk[R]
		select {
		case c = <-p.free:
		case <-p.quit:
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
			buf = buf[:cut] // a line cut short by an error is dropped
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
				buf, rerr = buf[:0], err // reported at the long line
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

type worker[R any] struct {
	p        *Pass[R]
	ids      idset.Batch
	suspects []idset.Row
	lines    linescan.Scanner
}

// process reads a chunk's lines and, in sorted mode, renders the citizens
// that lie wholly inside it.
func (wk *worker[R]) process(c *chunk[R]) {
	p := wk.p
	select {
	case <-p.quit:
		return
	default:
	}
	c.reset(p.cfg.Mode)
	d := c.dom
	pos := d.Pos()
	var row R
	lineNo := c.line
	wk.lines.Reset(c.data)
	for {
		line, semis, ascii, more := wk.lines.Next(pos)
		if !more {
			break
		}
		lineNo++
		r := &row
		if p.cfg.Mode == Sorted {
			if len(c.valid) == cap(c.valid) {
				c.valid = append(c.valid, row)[:len(c.valid)]
			}
			r = &c.valid[:len(c.valid)+1][len(c.valid)]
		}
		l := d.Line(line, semis, ascii, lineNo, r)
		if l.Verdict == Stop {
			c.stopped = true
			break
		}
		if l.Verdict == Other {
			continue
		}
		if l.HasID {
			if p.ids != nil {
				wk.ids.Add(l.IDHash)
			} else if sus := p.cfg.Suspects; sus != nil && sus[l.IDHash] {
				wk.suspects = append(wk.suspects, idset.Row{ID: string(d.ID()), Line: lineNo, Invalid: l.Verdict == Invalid})
			}
		}
		if l.Verdict == Invalid {
			continue
		}
		if !wk.keep(c, r, l.Key) {
			break
		}
	}
	wk.finish(c)
}

// keep takes a valid row: encoded into its partition (Buffered) or into
// the chunk's groups (Sorted); false when it is out of key order.
func (wk *worker[R]) keep(c *chunk[R], r *R, key *Key) bool {
	switch wk.p.cfg.Mode {
	case Validate:
		return true
	case Buffered:
		k := partOf(key[:], 0)
		c.parts[k] = appendRecord(c.parts[k], key, r, wk.p.d)
		return true
	}
	if n := len(c.valid); n == 0 || *key != c.lastKey {
		if n > 0 && string(key[:]) < string(c.lastKey[:]) {
			c.unsorted = true
			return false
		}
		// r begins a group: the one before it is complete.
		switch {
		case n == 0:
		case c.ngroups == 1: // the first: it stays for the merger
			c.firstEnd, c.firstKey = n, c.lastKey
			if c.s == nil {
				c.s = wk.p.d.NewSink()
			}
			c.s.Reset()
			c.s.Seek(c.lastKey[:])
		default: // one between the first and r's: rendered now
			c.s.Citizen(c.valid[c.lastStart:n])
			c.mid, c.midLast = true, c.lastKey
			c.valid[:c.lastStart+1][c.lastStart] = *r
			c.valid = c.valid[:c.lastStart]
		}
		c.lastStart, c.lastKey = len(c.valid), *key
		c.ngroups++
	}
	c.valid = c.valid[:len(c.valid)+1]
	return true
}

// reset makes a chunk ready to be processed again.
func (c *chunk[R]) reset(m Mode) {
	c.dom.Reset()
	c.stopped, c.unsorted, c.mid = false, false, false
	c.valid, c.ngroups, c.firstEnd, c.lastStart = c.valid[:0], 0, 0, 0
	if m == Buffered {
		for i := range c.parts {
			c.parts[i] = c.parts[i][:0]
		}
	}
}

// finish hands the chunk's id hashes and suspects to the pass and settles
// its first group.
func (wk *worker[R]) finish(c *chunk[R]) {
	p := wk.p
	if p.ids != nil {
		p.ids.AddBatch(&wk.ids)
	}
	if len(wk.suspects) > 0 {
		p.mu.Lock()
		p.suspects = append(p.suspects, wk.suspects...)
		p.mu.Unlock()
		wk.suspects = wk.suspects[:0]
	}
	if p.cfg.Mode != Sorted || c.stopped || c.unsorted {
		c.mid = false // (what was rendered is not written)
		return
	}
	if c.ngroups == 1 {
		c.firstEnd, c.firstKey = len(c.valid), c.lastKey
	}
}

// merge takes the chunks back in order: the citizens at the chunk's edges,
// what the worker rendered, then the domain's Take.
func (p *Pass[R]) merge(c *chunk[R]) error {
	if p.ended {
		_, err := p.d.Take(c.dom, c.line, c.lines, c.rerr)
		return err
	}
	if c.unsorted {
		return ErrUnsorted
	}
	if p.cfg.Mode == Sorted && !c.stopped && c.ngroups > 0 {
		if err := p.joinEdges(c); err != nil {
			return err
		}
	}
	if p.cfg.Mode == Buffered && !c.stopped {
		if err := p.spill(c); err != nil {
			return err
		}
	}
	ended, err := p.d.Take(c.dom, c.line, c.lines, c.rerr)
	p.ended = ended
	return err
}

// joinEdges handles the first and the last group of a sorted chunk: the
// first may continue the last group of the chunk before; the groups between
// were rendered by the worker; the last may continue in the next chunk.
func (p *Pass[R]) joinEdges(c *chunk[R]) error {
	if len(p.pending) > 0 {
		switch {
		case p.pendingKey == c.firstKey:
		case string(p.pendingKey[:]) > string(c.firstKey[:]):
			return ErrUnsorted
		default:
			p.flushPending()
		}
	}
	p.own(c.valid[:c.firstEnd], c.firstKey, c.data)
	if c.ngroups == 1 { // it may go on
		return nil
	}
	p.flushPending()
	if c.mid {
		p.d.Write(c.s)
		p.ms.Seek(c.midLast[:])
	}
	p.own(c.valid[c.lastStart:], c.lastKey, c.data)
	return nil
}

// own adds the rows of key to the pending group, with their own copies of
// what points into the chunk, which is used again for another part of the
// extract.
func (p *Pass[R]) own(rows []R, key Key, data []byte) {
	for _, r := range rows {
		p.d.Own(&r, data)
		p.pending = append(p.pending, r)
	}
	p.pendingKey = key
}

func (p *Pass[R]) flushPending() {
	p.ms.Citizen(p.pending)
	p.d.Write(p.ms)
	p.pending = p.pending[:0]
}
