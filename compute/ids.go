package compute

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Repeated ids (SPEC §1.3) in bounded memory.
//
// The Reader keeps a map of the hash of every id seen, which at national
// scale (25 million rows) takes more memory than the whole computation
// should. The pipeline finds repeats in two steps instead:
//
//  1. It writes the 64-bit hash of every id to scratch files, 256
//     partitions by the top byte of the hash, 8 bytes a row, and at the end
//     looks for hashes that occur more than once, one partition at a time: a
//     partition of a national extract is under 1 MB, checked with a small
//     open addressing table. A partition larger than idPartLimit is split
//     again by the next byte, so memory stays bounded whatever the row
//     count. Almost always no hash repeats, and that is the end of it.
//  2. When some do, Compute returns a RepeatsError with those hashes (the
//     suspects), and the next run keeps the line and the id itself of every
//     row whose id has a suspect hash: the repeats are then found by
//     comparing the ids, so two different ids that share a hash are never
//     taken for a repeat.
//
// A row whose id repeats an earlier one is invalid, so a repeat found only
// at the end changes what should have been computed. When the repeats make
// the extract rejected, the report of the second run is completed exactly as
// the Reader would have written it; when the tolerance accepts the extract
// without those rows, a RepeatsError with the rows asks the caller for a
// third run that leaves them out (see applyRepeats).

const (
	idRecord    = 8 // the hash
	idPartLimit = 16 << 20
	// maxLines is the most lines an extract may have for the pipeline.
	maxLines = 1<<31 - 1
)

type idStore struct {
	sc    Scratch
	mu    sync.Mutex
	parts [256]spillFile
	err   error
}

func newIDStore(sc Scratch) *idStore { return &idStore{sc: sc} }

// idBatch is the id hashes of one part of the extract (a chunk).
type idBatch struct {
	hashes []uint64
	buf    []byte   // the hashes by partition, 8 bytes each
	start  [257]int // where each partition starts in buf, in hashes
}

func (b *idBatch) add(h uint64) { b.hashes = append(b.hashes, h) }

// byPartition puts the hashes into buf by partition (the top byte): a
// counting sort, cheaper than appending each hash to one of 256 buffers.
func (b *idBatch) byPartition() {
	var count [257]int
	for _, h := range b.hashes {
		count[h>>56+1]++
	}
	for i := 1; i <= 256; i++ {
		count[i] += count[i-1]
	}
	b.start = count
	b.buf = grow(b.buf, idRecord*len(b.hashes))
	at := count
	for _, h := range b.hashes {
		k := h >> 56
		binary.LittleEndian.PutUint64(b.buf[idRecord*at[k]:], h)
		at[k]++
	}
	b.hashes = b.hashes[:0]
}

// add records a batch of ids and empties it; it may be called from several
// goroutines.
func (s *idStore) add(b *idBatch) {
	b.byPartition()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.parts {
		from, to := b.start[i], b.start[i+1]
		if from == to {
			continue
		}
		p := &s.parts[i]
		if p.f == nil && s.err == nil {
			p.f, s.err = s.sc.Create()
		}
		if s.err == nil {
			p.write(b.buf[idRecord*from : idRecord*to])
			if p.err != nil {
				s.err = p.err
			}
		}
	}
}

func (s *idStore) close() {
	for i := range s.parts {
		s.parts[i].close()
	}
}

// suspects returns the hashes recorded more than once, checking the
// partitions with workers goroutines.
func (s *idStore) suspects(workers int) (map[uint64]bool, error) {
	defer s.close()
	if s.err != nil {
		return nil, s.err
	}
	var (
		mu   sync.Mutex
		all  map[uint64]bool
		ferr error
		wg   sync.WaitGroup
		next = make(chan int, len(s.parts))
	)
	for i := range s.parts {
		next <- i
	}
	close(next)
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &idChecker{sc: s.sc}
			for i := range next {
				dups, err := c.check(&s.parts[i], 1)
				mu.Lock()
				for _, h := range dups {
					if all == nil {
						all = map[uint64]bool{}
					}
					all[h] = true
				}
				if err != nil && ferr == nil {
					ferr = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if ferr != nil {
		return nil, ferr
	}
	return all, nil
}

type idChecker struct {
	sc     Scratch
	buf    []byte
	hashes []uint64
	table  []uint64
}

// check finds the hashes that occur more than once in one partition file
// (a hash once for every time it repeats);
// depth is the number of leading bytes of the hash that its ids share.
func (c *idChecker) check(p *spillFile, depth int) ([]uint64, error) {
	if p.f == nil {
		return nil, nil
	}
	if p.size > idPartLimit && depth < 8 {
		return c.split(p, depth)
	}
	data, err := p.readAll(c.buf)
	c.buf = data
	p.close()
	if err != nil {
		return nil, fmt.Errorf("read back the ids: %w", err)
	}
	// The hashes by their next byte (a counting sort), then each group
	// through a small open addressing table that stays in the cache.
	shift := 56 - 8*depth
	var count [257]int
	for off := 0; off+idRecord <= len(data); off += idRecord {
		count[int(byte(binary.LittleEndian.Uint64(data[off:])>>shift))+1]++
	}
	for i := 1; i <= 256; i++ {
		count[i] += count[i-1]
	}
	if cap(c.hashes) < count[256] {
		c.hashes = make([]uint64, count[256])
	}
	hashes := c.hashes[:count[256]]
	at := count
	for off := 0; off+idRecord <= len(data); off += idRecord {
		h := binary.LittleEndian.Uint64(data[off:])
		b := byte(h >> shift)
		hashes[at[b]] = h
		at[b]++
	}
	var dups []uint64
	for b := range 256 {
		group := hashes[count[b]:count[b+1]]
		size := 16
		for size < 2*len(group) {
			size *= 2
		}
		if cap(c.table) < size {
			c.table = make([]uint64, size)
		}
		table := c.table[:size]
		clear(table)
		mask := uint64(size - 1)
		zero := false // the hash 0, which marks an empty slot, was seen
		for _, h := range group {
			if h == 0 {
				if zero {
					dups = append(dups, 0)
				}
				zero = true
				continue
			}
			for i := h & mask; ; i = (i + 1) & mask {
				if table[i] == 0 {
					table[i] = h
					break
				}
				if table[i] == h {
					dups = append(dups, h) // (once per repeat: suspects makes them a set)
					break
				}
			}
		}
	}
	return dups, nil
}

// split partitions a file that is too large by the next byte of the hashes
// and checks the parts one by one.
func (c *idChecker) split(p *spillFile, depth int) ([]uint64, error) {
	sub := make([]spillFile, 256)
	defer func() {
		for i := range sub {
			sub[i].close()
		}
	}()
	shift := 56 - 8*depth
	p.flush()
	if p.err != nil {
		return nil, p.err
	}
	c.buf = grow(c.buf, 1<<20)
	for off := int64(0); off < p.size; {
		n, err := p.f.ReadAt(c.buf[:min(int64(len(c.buf)), p.size-off)], off)
		if n == 0 && err != nil {
			return nil, fmt.Errorf("read back the ids: %w", err)
		}
		n -= n % idRecord
		for i := 0; i < n; i += idRecord {
			q := &sub[(binary.LittleEndian.Uint64(c.buf[i:])>>shift)&0xff]
			if q.f == nil {
				var err error
				if q.f, err = c.sc.Create(); err != nil {
					return nil, err
				}
			}
			q.write(c.buf[i : i+idRecord])
		}
		off += int64(n)
	}
	p.close()
	var all []uint64
	for i := range sub {
		dups, err := c.check(&sub[i], depth+1)
		if err != nil {
			return nil, err
		}
		all = append(all, dups...)
	}
	return all, nil
}

// suspectRow is a row of the second step whose id has a suspect hash.
type suspectRow struct {
	id      string
	line    int
	invalid bool // the row has other problems too
}

// repeat is a row whose id repeats the one of the row at line first.
type repeat struct {
	line, first int
	invalid     bool // the row has other problems too
}

// exactRepeats returns, in line order, every row among rows up to line upTo
// whose id is the same as an earlier row's.
func exactRepeats(rows []suspectRow, upTo int) []repeat {
	rows = slices.DeleteFunc(rows, func(r suspectRow) bool { return r.line > upTo })
	slices.SortFunc(rows, func(a, b suspectRow) int {
		if c := strings.Compare(a.id, b.id); c != 0 {
			return c
		}
		return a.line - b.line
	})
	var reps []repeat
	for i := 1; i < len(rows); i++ {
		first := i - 1
		for i < len(rows) && rows[i].id == rows[first].id {
			reps = append(reps, repeat{line: rows[i].line, first: rows[first].line, invalid: rows[i].invalid})
			i++
		}
	}
	slices.SortFunc(reps, func(a, b repeat) int { return a.line - b.line })
	return reps
}

// applyRepeats adds the problems of the repeated ids to a report made
// without them, as the Reader would have reported them: each is the first
// problem of its row (the id is checked before the other columns), and the
// report keeps the first MaxReportedProblems in line order.
func applyRepeats(rep *Report, reps []repeat) {
	if len(reps) == 0 {
		return
	}
	merged := make([]Problem, 0, min(len(rep.Problems)+len(reps), MaxReportedProblems))
	i := 0
	for _, r := range reps {
		for i < len(rep.Problems) && rep.Problems[i].Line < r.line && len(merged) < MaxReportedProblems {
			merged = append(merged, rep.Problems[i])
			i++
		}
		if len(merged) == MaxReportedProblems {
			break
		}
		merged = append(merged, Problem{Line: r.line, Column: "id", Reason: fmt.Sprintf("repeats the id of line %d", r.first)})
	}
	for i < len(rep.Problems) && len(merged) < MaxReportedProblems {
		merged = append(merged, rep.Problems[i])
		i++
	}
	rep.Problems = merged
	rep.ProblemCount += len(reps)
	for _, r := range reps {
		if !r.invalid {
			rep.InvalidRows++
		}
	}
}
