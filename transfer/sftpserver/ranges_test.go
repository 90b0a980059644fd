package sftpserver

import (
	"encoding/binary"
	"testing"
)

// check compares a rangeSet with a bitmap of the same ranges.
func check(t *testing.T, s *rangeSet, bits []bool) {
	t.Helper()
	var want int64
	for _, b := range bits {
		if b {
			want++
		}
	}
	if got := s.covered(); got != want {
		t.Fatalf("covered %d, want %d", got, want)
	}
	all := want == int64(len(bits))
	if got := s.covers(int64(len(bits))); got != all {
		t.Fatalf("covers = %v, want %v", got, all)
	}
	for i := 1; i < len(s.main); i++ {
		if s.main[i].lo <= s.main[i-1].hi {
			t.Fatalf("spans %v and %v not merged", s.main[i-1], s.main[i])
		}
	}
}

// FuzzRangeSet: any sequence of ranges gives the same coverage as a bitmap.
func FuzzRangeSet(f *testing.F) {
	f.Add([]byte{0, 10, 20, 5, 5, 30})
	f.Add([]byte{200, 1, 199, 1, 0, 199})
	f.Fuzz(func(t *testing.T, in []byte) {
		const size = 256
		var s rangeSet
		bits := make([]bool, size)
		for ; len(in) >= 2; in = in[2:] {
			lo, n := int64(in[0]), int64(in[1]%64)
			hi := min(lo+n, size)
			s.add(lo, hi)
			for i := lo; i < hi; i++ {
				bits[i] = true
			}
			if binary.LittleEndian.Uint16([]byte{in[0], in[1]})%7 == 0 {
				check(t, &s, bits)
			}
		}
		check(t, &s, bits)
	})
}

// gapFill is the attack of the issue: n one-byte reads, each leaving a
// gap, in reverse order, then the gaps filled; the work it costs.
func gapFill(n int64) (int64, *rangeSet) {
	var s rangeSet
	for i := n - 1; i >= 0; i-- {
		s.add(2*i+1, 2*i+2)
	}
	for i := int64(0); i < n; i++ {
		s.add(2*i, 2*i+1)
	}
	return s.work, &s
}

// TestGapFillingLinear: doubling the reads less than doubles the work per
// read (n log n, not n²), and the result is right.
func TestGapFillingLinear(t *testing.T) {
	const n = 100000
	w1, s := gapFill(n)
	if !s.covers(2*n) || len(s.main) != 1 {
		t.Fatalf("gaps filled, yet %d spans", len(s.main))
	}
	w2, _ := gapFill(2 * n)
	if ratio := float64(w2) / float64(w1); ratio > 2.5 {
		t.Fatalf("work %d for n, %d for 2n: ratio %.2f, want ≤ 2.5 (quadratic would be 4)", w1, w2, ratio)
	}
	if per := w1 / (2 * n); per > 40 {
		t.Fatalf("%d units of work per read, want ≤ 40", per)
	}
	t.Logf("work: %d for %d reads, %d for %d", w1, 2*n, w2, 4*n)
}

// A sequential download keeps one span and does next to no work.
func TestSequentialOneSpan(t *testing.T) {
	var s rangeSet
	for off := int64(0); off < 1<<30; off += 261120 {
		s.add(off, off+261120)
	}
	if s.spans() != 1 || s.work != 0 {
		t.Fatalf("%d spans, work %d", s.spans(), s.work)
	}
}

// Reads slightly out of order (as 8 server workers deliver them) keep the
// set small once merged.
func TestReorderedStaysSmall(t *testing.T) {
	var s rangeSet
	const chunk = 261120
	for base := int64(0); base < 4096; base += 8 {
		for _, k := range []int64{1, 0, 3, 2, 5, 4, 7, 6} {
			off := (base + k) * chunk
			s.add(off, off+chunk)
		}
	}
	s.merge()
	if s.spans() != 1 {
		t.Fatalf("%d spans after merging", s.spans())
	}
}
