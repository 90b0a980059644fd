package compute

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestExactRepeats: the second step compares ids, not hashes: rows whose
// ids share a hash but differ are no repeats.
func TestExactRepeats(t *testing.T) {
	t.Parallel()
	rows := []suspectRow{
		{id: "b", line: 9}, {id: "a", line: 7, invalid: true}, {id: "a", line: 3}, {id: "c", line: 4},
		{id: "b", line: 5}, {id: "a", line: 12}, {id: "b", line: 20},
	}
	got := fmt.Sprint(exactRepeats(rows, 12))
	// Line 20 is after the last line read (12); "c" occurs once.
	if want := "[{7 3 true} {9 5 false} {12 3 false}]"; got != want {
		t.Errorf("exactRepeats = %s, want %s", got, want)
	}
}

// TestSuspectWithoutRepeat: a suspect hash whose id occurs once (as when two
// different ids share a hash) costs a pass and changes nothing.
func TestSuspectWithoutRepeat(t *testing.T) {
	t.Parallel()
	asOf := MkDate(2016, 1, 24)
	data := extract(rowKG, rowDP, rowFri, rowLedi)
	h, _ := hashID([]byte(rowLedi[colID]))
	cal := NewCalendar(nil, nil)
	vendors := []Vendor{{Name: "alle", All: true, Products: Products()}}
	run := func(ps pass) (map[string]string, error) {
		files := Files{}
		_, err := computePass(strings.NewReader(data), Job{AsOf: asOf, Calendar: cal, Vendors: vendors}, ps, files)
		out := map[string]string{}
		for n, b := range files {
			out[n] = b.String()
		}
		return out, err
	}
	want, err := run(pass{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := run(pass{suspects: map[uint64]bool{h: true, h + 1: true}})
	if err != nil {
		t.Fatalf("with a suspect that does not repeat: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("files differ:\n%v\nwant\n%v", got, want)
	}

	// The same id twice: the second pass names both lines.
	data = extract(rowKG, rowDP, rowFri, rowLedi, rowLedi.with("fra", "2015-12-01"))
	_, err = run(pass{})
	var again *againError
	if !errors.As(err, &again) || len(again.next.suspects) != 1 || !again.next.suspects[h] {
		t.Fatalf("first pass: %v, want the suspect %x", err, h)
	}
	_, err = run(again.next)
	var rej *RejectedError
	if !errors.As(err, &rej) || !strings.Contains(fmt.Sprint(rej.Report.Problems), "repeats the id of line 5") {
		t.Fatalf("second pass: %v, want the repeat reported", err)
	}
	// Compute makes both passes itself.
	oc, err := Compute(SourceOfString(data), Job{AsOf: asOf, Calendar: cal, Vendors: vendors}, Files{})
	if !errors.As(err, &rej) || oc.Passes != 2 {
		t.Fatalf("Compute: %v after %d passes, want rejected after 2", err, oc.Passes)
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
			s := newIDStore(memScratch{}, c.memory, c.limit)
			var batches [2]idBatch
			peak := int64(0)
			for i, h := range hashes {
				batches[i%2].add(h)
				if i%1000 == 0 {
					s.addBatch(&batches[i%2])
				}
				peak = max(peak, s.mem)
			}
			for i := range batches {
				s.flush(&batches[i])
				peak = max(peak, s.mem)
			}
			files := 0
			for i := range s.parts {
				if s.parts[i].f.f != nil {
					files++
				}
			}
			if peak > c.memory || c.files && c.memory >= 4<<20 && peak < c.memory/2 {
				t.Errorf("%d bytes in memory, budget %d", peak, c.memory)
			}
			if files > 0 != c.files {
				t.Errorf("%d partitions on files", files)

			}
			got, err := s.suspects(2)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("suspects: %d hashes, want %d", len(got), len(want))
			}
		})
	}
}
