// Package idset finds repeated registration ids
// (docs/formats.md#validation-and-the-error-report) in bounded memory.
//
// A map of the hash of every id seen would take, at national scale (25
// million rows), more memory than the whole computation should. Repeats are
// found in two steps instead:
//
//  1. A Store keeps the 64-bit hash of every id, in 256 partitions by the
//     top byte of the hash, and at the end (Suspects) looks for hashes that
//     occur more than once, one partition at a time: a partition of a
//     national extract is under 1 MB, checked with a small open addressing
//     table. The hashes stay in memory, in blocks, up to a budget (32 MiB,
//     4 million rows, by default); beyond it whole partitions go to scratch
//     files, the highest first, 8 bytes a row, and every later hash of a
//     partition on file goes to its file. A partition larger than the part
//     limit (16 MiB by default) goes to a file too, and is split again by
//     the next byte when checked, so memory stays bounded whatever the row
//     count. Almost always no hash repeats, and that is the end of it.
//  2. When some do, the caller reads the extract again and keeps the line
//     and the id itself of every row whose id has a suspect hash: Repeats
//     then finds the repeats by comparing the ids, so two different ids
//     that share a hash are never taken for a repeat.
package idset

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"sync"

	"leverance/compute/internal/scratch"
)

const (
	idRecord = 8    // bytes of a hash on file
	idBlock  = 1024 // hashes in a block in memory (8 KiB)
)

// Store keeps the hash of every id and finds those seen more than once.
type Store struct {
	sc        scratch.Scratch
	budget    int64 // bytes of hashes in memory at most
	partLimit int64 // the largest partition in memory, and checked at once

	mu    sync.Mutex
	parts [256]idPart
	mem   int64      // bytes of hashes in the partitions' blocks
	top   int        // the partitions from top on are on files
	free  [][]uint64 // blocks to use again
	enc   []byte     // a block, encoded for a file
	err   error
}

// idPart is the hashes of one partition: in memory, or, once spilled, on a
// file.
type idPart struct {
	blocks [][]uint64
	mem    int64 // bytes in blocks
	f      scratch.Spill
}

// New returns a store that keeps up to budget bytes of hashes in memory and
// checks partitions of up to partLimit bytes at once; the rest goes to
// files of sc.
func New(sc scratch.Scratch, budget, partLimit int64) *Store {
	return &Store{sc: sc, budget: budget, partLimit: partLimit, top: 256}
}

// Batch is a worker's hashes of one chunk (in the order of its rows)
// and its blocks being filled, one for each partition.
type Batch struct {
	hashes []uint64
	cur    [256][]uint64
}

// Add records the hash of a row's id.
func (b *Batch) Add(h uint64) { b.hashes = append(b.hashes, h) }

// AddBatch puts a chunk's hashes into the blocks of their partitions, in a
// loop of its own (writing to 256 blocks as the rows are parsed costs a
// cache miss every few rows that nothing overlaps).
func (s *Store) AddBatch(b *Batch) {
	for _, h := range b.hashes {
		k := h >> 56
		c := b.cur[k]
		if c == nil {
			c = s.block()
		}
		c = append(c, h)
		if len(c) == idBlock {
			s.push(int(k), c)
			c = nil
		}
		b.cur[k] = c
	}
	b.hashes = b.hashes[:0]
}

// Flush hands over a worker's blocks being filled, at the end.
func (s *Store) Flush(b *Batch) {
	s.AddBatch(b)
	for k, c := range b.cur {
		if len(c) > 0 {
			s.push(k, c)
		}
		b.cur[k] = nil
	}
}

// block returns an empty block.
func (s *Store) block() []uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free = s.free[:n-1]
		return b[:0]
	}
	return make([]uint64, 0, idBlock)
}

// push adds a block to partition k; it may be called from several
// goroutines.
func (s *Store) push(k int, b []uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &s.parts[k]
	if s.err != nil {
		return
	}
	if k >= s.top || p.f.F != nil {
		s.write(p, b)
		s.free = append(s.free, b)
		return
	}
	p.blocks = append(p.blocks, b)
	n := int64(idRecord * len(b))
	p.mem += n
	s.mem += n
	if p.mem > s.partLimit {
		s.spill(p)
	}
	for s.mem > s.budget && s.top > 0 {
		s.top--
		s.spill(&s.parts[s.top])
	}
}

// spill writes the blocks of p to its file; called with s.mu held.
func (s *Store) spill(p *idPart) {
	for _, b := range p.blocks {
		s.write(p, b)
		s.free = append(s.free, b)
	}
	s.mem -= p.mem
	p.blocks, p.mem = nil, 0
}

// write appends a block to p's file (made at the first write); called with
// s.mu held.
func (s *Store) write(p *idPart, b []uint64) {
	if s.err != nil {
		return
	}
	if p.f.F == nil {
		if p.f.F, s.err = s.sc.Create(); s.err != nil {
			return
		}
	}
	s.enc = scratch.Grow(s.enc, idRecord*len(b))
	for i, h := range b {
		binary.LittleEndian.PutUint64(s.enc[idRecord*i:], h)
	}
	if p.f.Write(s.enc); p.f.Err != nil {
		s.err = p.f.Err
	}
}

// Close gives the memory and files back.
func (s *Store) Close() {
	for i := range s.parts {
		s.parts[i].f.Close()
		s.parts[i].blocks = nil
	}
	s.free = nil
}

// Suspects returns the hashes recorded more than once, checking the
// partitions with workers goroutines.
func (s *Store) Suspects(workers int) (map[uint64]bool, error) {
	defer s.Close()
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
			c := &checker{sc: s.sc, partLimit: s.partLimit}
			for i := range next {
				p := &s.parts[i]
				var dups []uint64
				var err error
				if p.f.F != nil {
					dups, err = c.checkFile(&p.f, 1)
				} else {
					dups = c.check(p.blocks, 1)
					p.blocks = nil
				}
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

type checker struct {
	sc        scratch.Scratch
	partLimit int64
	buf       []byte
	words     []uint64
	hashes    []uint64
	table     []uint64
}

// checkFile is check for a partition on file: split by the next byte when
// it is too large, else read into memory.
func (c *checker) checkFile(p *scratch.Spill, depth int) ([]uint64, error) {
	switch {
	case depth == 8:
		// One hash, all eight bytes shared: it repeats if there is more
		// than one (a file of a single id repeated millions of times is
		// not read into memory).
		var rec [idRecord]byte
		p.Flush()
		if n, err := p.F.ReadAt(rec[:], 0); n < len(rec) && p.Err == nil {
			p.Err = err
		}
		if p.Err != nil {
			return nil, fmt.Errorf("read back the ids: %w", p.Err)
		}
		p.Close()
		if p.Size < 2*idRecord {
			return nil, nil
		}
		return []uint64{binary.LittleEndian.Uint64(rec[:])}, nil
	case p.Size > c.partLimit:
		return c.split(p, depth)
	}
	data, err := p.ReadAll(c.buf)
	c.buf = data
	p.Close()
	if err != nil {
		return nil, fmt.Errorf("read back the ids: %w", err)
	}
	c.words = c.words[:0]
	for off := 0; off+idRecord <= len(data); off += idRecord {
		c.words = append(c.words, binary.LittleEndian.Uint64(data[off:]))
	}
	return c.check([][]uint64{c.words}, depth), nil
}

// check finds the hashes that occur more than once in the blocks of one
// partition (a hash once for every time it repeats); depth is the number
// of leading bytes of the hash that they share.
func (c *checker) check(blocks [][]uint64, depth int) []uint64 {
	// The hashes by their next byte (a counting sort), then each group
	// through a small open addressing table that stays in the cache.
	shift := 56 - 8*depth
	var count [257]int
	for _, b := range blocks {
		for _, h := range b {
			count[int(byte(h>>shift))+1]++
		}
	}
	for i := 1; i <= 256; i++ {
		count[i] += count[i-1]
	}
	if cap(c.hashes) < count[256] {
		c.hashes = make([]uint64, count[256])
	}
	hashes := c.hashes[:count[256]]
	at := count
	for _, b := range blocks {
		for _, h := range b {
			k := byte(h >> shift)
			hashes[at[k]] = h
			at[k]++
		}
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
	return dups
}

// split partitions a file that is too large by the next byte of the hashes
// and checks the parts one by one.
func (c *checker) split(p *scratch.Spill, depth int) ([]uint64, error) {
	sub := make([]scratch.Spill, 256)
	defer func() {
		for i := range sub {
			sub[i].Close()
		}
	}()
	shift := 56 - 8*depth
	p.Flush()
	if p.Err != nil {
		return nil, p.Err
	}
	c.buf = scratch.Grow(c.buf, 1<<20)
	for off := int64(0); off < p.Size; {
		n, err := p.F.ReadAt(c.buf[:min(int64(len(c.buf)), p.Size-off)], off)
		if n == 0 && err != nil {
			return nil, fmt.Errorf("read back the ids: %w", err)
		}
		n -= n % idRecord
		for i := 0; i < n; i += idRecord {
			q := &sub[(binary.LittleEndian.Uint64(c.buf[i:])>>shift)&0xff]
			if q.F == nil {
				var err error
				if q.F, err = c.sc.Create(); err != nil {
					return nil, err
				}
			}
			q.Write(c.buf[i : i+idRecord])
		}
		off += int64(n)
	}
	p.Close()
	var all []uint64
	for i := range sub {
		if sub[i].F == nil {
			continue
		}
		dups, err := c.checkFile(&sub[i], depth+1)
		if err != nil {
			return nil, err
		}
		all = append(all, dups...)
	}
	return all, nil
}

// Row is a row of the second step whose id has a suspect hash.
type Row struct {
	ID      string
	Line    int
	Invalid bool // the row has other problems too
}

// Repeat is a row whose id repeats the one of the row at line First.
type Repeat struct {
	Line, First int
	Invalid     bool // the row has other problems too
}

// Repeats returns, in line order, every row among rows up to line upTo
// whose id is the same as an earlier row's.
func Repeats(rows []Row, upTo int) []Repeat {
	rows = slices.DeleteFunc(rows, func(r Row) bool { return r.Line > upTo })
	slices.SortFunc(rows, func(a, b Row) int {
		if c := strings.Compare(a.ID, b.ID); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	var reps []Repeat
	for i := 1; i < len(rows); i++ {
		first := i - 1
		for i < len(rows) && rows[i].ID == rows[first].ID {
			reps = append(reps, Repeat{Line: rows[i].Line, First: rows[first].Line, Invalid: rows[i].Invalid})
			i++
		}
	}
	slices.SortFunc(reps, func(a, b Repeat) int { return a.Line - b.Line })
	return reps
}
