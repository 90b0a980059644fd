// Package linescan finds the lines of a chunk of an extract and the
// semicolons in each: the inner loop of reading an extract
// (docs/performance.md). It knows nothing of what the fields mean.
package linescan

import (
	"encoding/binary"
	"math/bits"
)

// Bitmaps of the bytes of a chunk that matter for splitting it into lines
// and fields: one bit per byte, bit i%64 of word i/64 for byte i. Building
// them is the inner loop of reading an extract (docs/performance.md); on amd64 with
// AVX2 it is done 64 bytes at a time by masks_amd64.s, elsewhere eight
// bytes at a time by masksGo. The Scanner then reads each line off the
// bitmaps (see next).
type masks struct {
	// ';', '\n', bytes ≥ 0x80; each has two words of zeros after the
	// data's words, so that a window of 128 bytes can always be read.
	semi, nl, high []uint64
	n              int // the data's words
}

// prepare sizes m for data, with none of its words built yet.
func (m *masks) prepare(data []byte) {
	n := (len(data) + 63) / 64
	m.n = n
	m.semi, m.nl, m.high = growWords(m.semi, n+2), growWords(m.nl, n+2), growWords(m.high, n+2)
	clear(m.semi[n:])
	clear(m.nl[n:])
	clear(m.high[n:])
}

// fill builds the words [from, to) of m for data.
func (m *masks) fill(data []byte, from, to int) {
	full := min(to, len(data)/64)
	if from < full {
		buildMasks(data[from*64:full*64], m.semi[from:full], m.nl[from:full], m.high[from:full])
	}
	if to > full && to == m.n && len(data)%64 != 0 {
		var tail [64]byte // zeros: none of the three
		copy(tail[:], data[full*64:])
		masksGo(tail[:], m.semi[full:to], m.nl[full:to], m.high[full:to])
	}
}

// build fills m for data.
func (m *masks) build(data []byte) {
	m.prepare(data)
	m.fill(data, 0, m.n)
}

func growWords(w []uint64, n int) []uint64 {
	if cap(w) < n {
		return make([]uint64, n, n+n/4)
	}
	return w[:n]
}

// masksGo is buildMasks in Go: len(data) is 64·len(semi).
func masksGo(data []byte, semi, nl, high []uint64) {
	const (
		low7  = 0x7f7f7f7f7f7f7f7f
		semi8 = 0x3b3b3b3b3b3b3b3b
		nl8   = 0x0a0a0a0a0a0a0a0a
		// gather moves bit 8k to bit 56+k (bit 7 of each byte shifted
		// down to bit 0 first); the partial products never overlap.
		gather = 0x0102040810204080
	)
	for k := range semi {
		block := data[k*64 : k*64+64]
		var s, l, h uint64
		for j := 0; j < 8; j++ {
			w := binary.LittleEndian.Uint64(block[j*8:])
			x, y := w^nl8, w^semi8
			// The top bit of every byte that is '\n', of every ';' and of
			// every byte ≥ 0x80 (exact: no carry crosses a byte).
			nlb := ^((x&low7 + low7) | x | low7)
			scb := ^((y&low7 + low7) | y | low7)
			hib := w & ^uint64(low7)
			s |= (scb >> 7 * gather >> 56) << (j * 8)
			l |= (nlb >> 7 * gather >> 56) << (j * 8)
			h |= (hib >> 7 * gather >> 56) << (j * 8)
		}
		semi[k], nl[k], high[k] = s, l, h
	}
}

// MaxSemis is how many semicolons of a line Next and ScanLine record: at
// least the columns of an extract.
const MaxSemis = 15

// Pos holds where the semicolons of a line are: Pos[i] is the position of
// the i-th (from 1, up to MaxSemis), from the line's start. Pos[0] is not
// written.
type Pos [MaxSemis + 1]int

// Scanner walks the lines of a chunk through its masks.
type Scanner struct {
	data  []byte
	m     masks
	off   int // where the next line starts
	built int // the words of m built so far
}

// maskBlock is how many words of the masks are built at a time, just ahead
// of the lines read from them: 32 KiB of data, so that the parser reads the
// bytes while the building has left them in the cache.
const maskBlock = 512

// Reset starts on data.
func (s *Scanner) Reset(data []byte) {
	s.data, s.off, s.built = data, 0, 0
	s.m.prepare(data)
}

// ensure builds the masks up to word w (not included), at least a block.
func (s *Scanner) ensure(w int) {
	if w <= s.built || s.built >= s.m.n {
		return
	}
	to := min(max(w, s.built+maskBlock), s.m.n)
	s.m.fill(s.data, s.built, to)
	s.built = to
}

// Next returns the next line (without its '\n') and what ScanLine returns
// for it: the number of its semicolons, the positions of the first
// MaxSemis of them (in pos), and whether it is ASCII. ok is false at the
// end of the data.
func (s *Scanner) Next(pos *Pos) (line []byte, semis int, ascii, ok bool) {
	start := s.off
	if start >= len(s.data) {
		return nil, 0, false, false
	}
	// The usual line, shorter than 128 bytes: the masks of the 128 bytes
	// from start as two words, lo and hi, without a loop over words (whose
	// exits the branch predictor cannot guess: lines start anywhere in a word).
	w, sh := start/64, uint(start%64)
	if w+3 > s.built {
		s.ensure(w + 3)
	}
	nl, sc, hb := s.m.nl[w:w+3], s.m.semi[w:w+3], s.m.high[w:w+3]
	nlLo, nlHi := nl[0]>>sh|nl[1]<<(64-sh), nl[1]>>sh|nl[2]<<(64-sh)
	e := bits.TrailingZeros64(nlLo)
	if e == 64 {
		e += bits.TrailingZeros64(nlHi)
	}
	if e >= 128 {
		return s.nextLong(pos)
	}
	// (A shift by 64 or more gives 0 in Go: keepLo is all ones from e = 64.)
	keepLo, keepHi := uint64(1)<<uint(e)-1, uint64(1)<<uint(max(e-64, 0))-1
	sLo := (sc[0]>>sh | sc[1]<<(64-sh)) & keepLo
	sHi := (sc[1]>>sh | sc[2]<<(64-sh)) & keepHi
	high := (hb[0]>>sh|hb[1]<<(64-sh))&keepLo | (hb[1]>>sh|hb[2]<<(64-sh))&keepHi
	k := 1
	for b := sLo; b != 0 && k <= MaxSemis; b &= b - 1 {
		pos[k] = bits.TrailingZeros64(b)
		k++
	}
	for b := sHi; b != 0 && k <= MaxSemis; b &= b - 1 {
		pos[k] = 64 + bits.TrailingZeros64(b)
		k++
	}
	s.off = start + e + 1
	return s.data[start : start+e], bits.OnesCount64(sLo) + bits.OnesCount64(sHi), high == 0, true
}

// nextLong is next for a line of 128 bytes or more, or the last line of
// data without a line end: a word at a time.
func (s *Scanner) nextLong(pos *Pos) (line []byte, semis int, ascii, ok bool) {
	start := s.off
	// The line end: the first '\n' from start on.
	w := start / 64
	end := len(s.data)
	for m := s.m.nl[w] & (^uint64(0) << (start % 64)); ; {
		if m != 0 {
			end = w*64 + bits.TrailingZeros64(m)
			break
		}
		if w++; w >= s.m.n {
			break
		}
		s.ensure(w + 1)
		m = s.m.nl[w]
	}
	s.off = end + 1
	// The semicolons and high bytes in [start, end).
	n := 0
	var high uint64
	last := (end - 1) / 64
	if end == start {
		last = start/64 - 1 // an empty line: no words
	}
	for w := start / 64; w <= last; w++ {
		keep := ^uint64(0)
		if w == start/64 {
			keep <<= start % 64
		}
		if w == end/64 {
			keep &= 1<<(end%64) - 1
		}
		high |= s.m.high[w] & keep
		base := w*64 - start
		for b := s.m.semi[w] & keep; b != 0; b &= b - 1 {
			if n < MaxSemis {
				pos[n+1] = base + bits.TrailingZeros64(b)
			}
			n++
		}
	}
	return s.data[start:end], n, high == 0, true
}
