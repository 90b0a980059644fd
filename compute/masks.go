package compute

import (
	"encoding/binary"
	"math/bits"
)

// Bitmaps of the bytes of a chunk that matter for splitting it into lines
// and fields: one bit per byte, bit i%64 of word i/64 for byte i. Building
// them is the inner loop of reading an extract (SPEC §11); on amd64 with
// AVX2 it is done 64 bytes at a time by masks_amd64.s, elsewhere eight
// bytes at a time by masksGo. The lineScanner then walks the lines through
// the bitmaps, a word (64 bytes) at a time.
type masks struct {
	semi, nl, high []uint64 // ';', '\n', bytes ≥ 0x80
}

// build fills m for data.
func (m *masks) build(data []byte) {
	n := (len(data) + 63) / 64
	m.semi, m.nl, m.high = growWords(m.semi, n), growWords(m.nl, n), growWords(m.high, n)
	full := len(data) / 64
	buildMasks(data[:full*64], m.semi[:full], m.nl[:full], m.high[:full])
	if full < n {
		var tail [64]byte // zeros: none of the three
		copy(tail[:], data[full*64:])
		masksGo(tail[:], m.semi[full:], m.nl[full:], m.high[full:])
	}
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

// lineScanner walks the lines of a chunk through its masks.
type lineScanner struct {
	data []byte
	m    masks
	off  int // where the next line starts
}

func (s *lineScanner) reset(data []byte) {
	s.data, s.off = data, 0
	s.m.build(data)
}

// next returns the next line (without its '\n') and what scanLine returns
// for it: the number of its semicolons, the positions of the first numCols
// of them (in pos[1:], from the line's start), and whether it is ASCII.
// ok is false at the end of the data.
func (s *lineScanner) next(pos *[numCols + 1]int) (line []byte, semis int, ascii, ok bool) {
	start := s.off
	if start >= len(s.data) {
		return nil, 0, false, false
	}
	// The line end: the first '\n' from start on.
	w := start / 64
	end := len(s.data)
	for m := s.m.nl[w] & (^uint64(0) << (start % 64)); ; {
		if m != 0 {
			end = w*64 + bits.TrailingZeros64(m)
			break
		}
		if w++; w >= len(s.m.nl) {
			break
		}
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
			if n < numCols {
				pos[n+1] = base + bits.TrailingZeros64(b)
			}
			n++
		}
	}
	return s.data[start:end], n, high == 0, true
}
