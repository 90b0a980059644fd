package sftpserver

import (
	"math/bits"
	"slices"
)

// span is the byte range [lo, hi) of a file.
type span struct{ lo, hi int64 }

// rangeSet records which byte ranges of a file were served, in amortised
// O(log n) per range whatever order they come in: new ranges go to an
// unsorted buffer (a range that touches the last one added extends it, which
// is the case of almost every read of a download), and the buffer is sorted
// and merged into the sorted, coalesced main list once it is as long as the
// main list. A client filling the gaps behind 100,000 pending one-byte reads
// costs n log n, not n².
type rangeSet struct {
	main []span // sorted, disjoint and not touching
	buf  []span // added since the last merge, any order
	work int64  // spans moved by merges and sorts (for the complexity tests)
}

// mergeAt is the smallest buffer that is merged.
const mergeAt = 64

// add records [lo, hi).
func (s *rangeSet) add(lo, hi int64) {
	if lo >= hi {
		return
	}
	if n := len(s.buf); n > 0 {
		if last := &s.buf[n-1]; lo <= last.hi && hi >= last.lo {
			last.lo, last.hi = min(last.lo, lo), max(last.hi, hi)
			return
		}
	}
	s.buf = append(s.buf, span{lo, hi})
	if len(s.buf) >= max(mergeAt, len(s.main)) {
		s.merge()
	}
}

// spans is how many spans the set holds (its memory is 16 bytes each).
func (s *rangeSet) spans() int { return len(s.main) + len(s.buf) }

func (s *rangeSet) merge() {
	if len(s.buf) == 0 {
		return
	}
	slices.SortFunc(s.buf, func(a, b span) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	s.work += int64(len(s.buf)*bits.Len(uint(len(s.buf)))) + int64(len(s.main))
	out := make([]span, 0, len(s.main)+len(s.buf))
	i, j := 0, 0
	for i < len(s.main) || j < len(s.buf) {
		var next span
		if j >= len(s.buf) || i < len(s.main) && s.main[i].lo <= s.buf[j].lo {
			next, i = s.main[i], i+1
		} else {
			next, j = s.buf[j], j+1
		}
		if n := len(out); n > 0 && next.lo <= out[n-1].hi {
			out[n-1].hi = max(out[n-1].hi, next.hi)
			continue
		}
		out = append(out, next)
	}
	s.main, s.buf = out, s.buf[:0]
}

// covered is the number of bytes in the set.
func (s *rangeSet) covered() int64 {
	s.merge()
	var n int64
	for _, r := range s.main {
		n += r.hi - r.lo
	}
	return n
}

// covers reports whether the set holds every byte of [0, size).
func (s *rangeSet) covers(size int64) bool {
	if size == 0 {
		return true
	}
	s.merge()
	return len(s.main) > 0 && s.main[0].lo <= 0 && s.main[0].hi >= size
}
