package idset

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"leverance/compute/internal/scratch"
)

// TestRepeats: the second step compares ids, not hashes: rows whose
// ids share a hash but differ are no repeats.
func TestRepeats(t *testing.T) {
	t.Parallel()
	rows := []Row{
		{ID: "b", Line: 9}, {ID: "a", Line: 7, Invalid: true}, {ID: "a", Line: 3}, {ID: "c", Line: 4},
		{ID: "b", Line: 5}, {ID: "a", Line: 12}, {ID: "b", Line: 20},
	}
	got := fmt.Sprint(Repeats(rows, 12))
	// Line 20 is after the last line read (12); "c" occurs once.
	if want := "[{7 3 true} {9 5 false} {12 3 false}]"; got != want {
		t.Errorf("Repeats = %s, want %s", got, want)
	}
}

// TestIDStore: the hashes found more than once are the same whether they
// stay in memory, go to files when the budget is spent, or go to files and
// are split again because a partition is too large; memory stays within
// the budget.
func TestIDStore(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(7, 8))
	var hashes []uint64
	for range 1000000 {
		h := r.Uint64()
		switch r.IntN(2000) {
		case 0:
			h &= 0xff // partition 0
		case 1:
			h |= 0xff << 56 // the last partition, first to go to a file
		case 2:
			h = 0 // the hash that marks an empty slot
		}
		hashes = append(hashes, h)
		if r.IntN(5000) == 0 && len(hashes) > 1 {
			hashes = append(hashes, hashes[r.IntN(len(hashes)-1)]) // a repeat
		}
	}
	want := map[uint64]bool{}
	seen := map[uint64]bool{}
	for _, h := range hashes {
		if seen[h] {
			want[h] = true
		}
		seen[h] = true
	}
	if len(want) < 30 {
		t.Fatalf("only %d repeated hashes", len(want))
	}
	for _, c := range []struct {
		name          string
		memory, limit int64
		files         bool
	}{
		{"in memory", 1 << 30, 1 << 30, false},
		{"over the budget", 4 << 20, 1 << 30, true},
		{"no budget", 0, 1 << 30, true},
		{"split on file", 64 << 10, 4 << 10, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := New(scratch.Mem{}, c.memory, c.limit)
			var batches [2]Batch
			peak := int64(0)
			for i, h := range hashes {
				batches[i%2].Add(h)
				if i%1000 == 0 {
					s.AddBatch(&batches[i%2])
				}
				peak = max(peak, s.mem)
			}
			for i := range batches {
				s.Flush(&batches[i])
				peak = max(peak, s.mem)
			}
			files := 0
			for i := range s.parts {
				if s.parts[i].f.F != nil {
					files++
				}
			}
			if peak > c.memory || c.files && c.memory >= 4<<20 && peak < c.memory/2 {
				t.Errorf("%d bytes in memory, budget %d", peak, c.memory)
			}
			if files > 0 != c.files {
				t.Errorf("%d partitions on files", files)

			}
			got, err := s.Suspects(2)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("suspects: %d hashes, want %d", len(got), len(want))
			}
		})
	}
}
