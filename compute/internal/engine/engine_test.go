package engine

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"leverance/compute/internal/linescan"
)

// A toy domain: lines "key;value" and the trailer "END"; a citizen renders
// as "key:value,value,...", and Left as "-key" for every key of a fixed
// list (the "basis") that has no rows. It shows that the engine needs
// nothing of compute's rules, and checks its three modes against a sort.

type toyRow struct {
	key   Key
	value string
}

type toy struct {
	basis []string // keys, sorted
	out   bytes.Buffer
	ended bool
}

type toyChunk struct {
	pos    linescan.Pos
	bad    int
	id     []byte
	stop   bool
	ending bool
}

func (c *toyChunk) Reset()             { c.bad, c.stop, c.ending = 0, false, false }
func (c *toyChunk) Pos() *linescan.Pos { return &c.pos }
func (c *toyChunk) ID() []byte         { return c.id }

func (c *toyChunk) Line(line []byte, semis int, ascii bool, lineNo int, r *toyRow) Line {
	switch {
	case c.ending:
		c.stop = true
		return Line{Verdict: Stop}
	case string(line) == "END":
		c.ending = true
		return Line{Verdict: Other}
	case semis != 1 || c.pos[1] != 10:
		c.bad++
		return Line{Verdict: Invalid}
	}
	copy(r.key[:], line[:10])
	r.value = string(line[11:])
	c.id = line[11:]
	return Line{Verdict: Valid, Key: &r.key, IDHash: uint64(len(r.value)), HasID: true}
}

type toySink struct {
	d    *toy
	next int
	out  bytes.Buffer
}

func (s *toySink) Reset() { s.out.Reset() }

func (s *toySink) Seek(after []byte) {
	s.next = 0
	for s.next < len(s.d.basis) && after != nil && s.d.basis[s.next][:len(after)] <= string(after) {
		s.next++
	}
}

func (s *toySink) Citizen(rows []toyRow) {
	s.left(func(k string) bool { return k < string(rows[0].key[:]) })
	if s.next < len(s.d.basis) && s.d.basis[s.next] == string(rows[0].key[:]) {
		s.next++
	}
	fmt.Fprintf(&s.out, "%s:", rows[0].key)
	for i, r := range rows {
		if i > 0 {
			s.out.WriteByte(',')
		}
		s.out.WriteString(r.value)
	}
	s.out.WriteByte('\n')
}

func (s *toySink) Left(upTo []byte) {
	s.left(func(k string) bool { return upTo == nil || k[:len(upTo)] <= string(upTo) })
}

func (s *toySink) left(before func(string) bool) {
	for ; s.next < len(s.d.basis) && before(s.d.basis[s.next]); s.next++ {
		fmt.Fprintf(&s.out, "-%s\n", s.d.basis[s.next])
	}
}

func (d *toy) NewChunk() Chunk[toyRow] { return &toyChunk{} }
func (d *toy) NewSink() Sink[toyRow]   { return &toySink{d: d} }
func (d *toy) Write(s Sink[toyRow]) {
	d.out.Write(s.(*toySink).out.Bytes())
	s.Reset()
}
func (d *toy) Own(r *toyRow, _ []byte) { r.value = strings.Clone(r.value) }
func (d *toy) End() error {
	if !d.ended {
		return fmt.Errorf("no END")
	}
	return nil
}

func (d *toy) Take(c Chunk[toyRow], first, lines int, rerr error) (bool, error) {
	tc := c.(*toyChunk)
	switch {
	case d.ended && lines > 0, tc.stop:
		return true, fmt.Errorf("after END")
	case tc.bad > 0:
		return false, fmt.Errorf("%d bad lines", tc.bad)
	}
	d.ended = d.ended || tc.ending
	return d.ended, rerr
}

func (d *toy) AppendRecord(b []byte, r *toyRow) []byte { return append(b, r.value...) }
func (d *toy) ReadRecord(b []byte, key *Key, r *toyRow) {
	r.key, r.value = *key, string(b)
}

// toyExtract is n rows of keys drawn from a few, values long and short
// (up to 250 bytes).
func toyExtract(r *rand.Rand, n int) (lines []string, keys []string) {
	for range 800 {
		keys = append(keys, fmt.Sprintf("%010d", r.Int64N(1e10)))
	}
	for i := range n {
		v := fmt.Sprintf("v%d", i)
		if r.IntN(20) == 0 {
			v += strings.Repeat("x", 100+r.IntN(140))
		}
		lines = append(lines, keys[r.IntN(len(keys))]+";"+v)
	}
	return lines, keys
}

// want renders the rows as the engine must: by key, each key's rows in
// file order, the basis keys without rows in between.
func want(lines, basis []string) string {
	by := map[string][]string{}
	for _, l := range lines {
		by[l[:10]] = append(by[l[:10]], l[11:])
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range by {
			if !yield(k) {
				return
			}
		}
		for _, k := range basis {
			if by[k] == nil && !yield(k) {
				return
			}
		}
	})
	var b strings.Builder
	for _, k := range keys {
		if by[k] == nil {
			fmt.Fprintf(&b, "-%s\n", k)
		} else {
			fmt.Fprintf(&b, "%s:%s\n", k, strings.Join(by[k], ","))
		}
	}
	return b.String()
}

func runToy(t *testing.T, text string, basis []string, cfg Config) (string, error) {
	t.Helper()
	d := &toy{basis: basis}
	p := New[toyRow](d, cfg)
	defer p.Close()
	err := p.Read(strings.NewReader(text), 0)
	if err == nil {
		err = p.Finish()
	}
	return d.out.String(), err
}

// TestToyDomain: sorted and buffered, with small chunks, several workers
// and partitions split again, the engine renders every key in order with
// its rows in file order and the basis keys without rows in between; it
// finds rows out of order, ids seen twice, and stops at what the domain
// says ends the input.
func TestToyDomain(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lines, keys := toyExtract(r, 3000)
	basis := append([]string{"0000000000", "9999999999"}, keys[:200]...)
	for i := range 200 {
		basis = append(basis, fmt.Sprintf("%s%06d", keys[i][:4], i))
	}
	slices.Sort(basis)
	basis = slices.Compact(basis)
	sorted := slices.Clone(lines)
	slices.SortStableFunc(sorted, func(a, b string) int { return strings.Compare(a[:10], b[:10]) })
	w := want(lines, basis)
	for _, c := range []struct {
		name  string
		lines []string
		cfg   Config
	}{
		{"sorted", sorted, Config{Mode: Sorted, Workers: 3, ChunkSize: 512, MaxLine: 400}},
		{"buffered", lines, Config{Mode: Buffered, Workers: 2, ChunkSize: 700, MaxLine: 400, MemoryLimit: 1 << 30}},
		{"buffered, split", lines, Config{Mode: Buffered, Workers: 3, ChunkSize: 700, MaxLine: 400, MemoryLimit: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := runToy(t, strings.Join(c.lines, "\n")+"\nEND\n", basis, c.cfg)
			if err != nil || got != w {
				t.Fatalf("%v\n%s\nwant\n%s", err, got, w)
			}
		})
	}
	if _, err := runToy(t, strings.Join(lines, "\n")+"\nEND\n", basis, Config{Mode: Sorted, ChunkSize: 512, MaxLine: 400}); err != ErrUnsorted {
		t.Errorf("unsorted input, sorted mode: %v", err)
	}
	if _, err := runToy(t, strings.Join(sorted, "\n")+"\nEND\nmore\n", basis, Config{Mode: Sorted, ChunkSize: 512, MaxLine: 400}); err == nil || err.Error() != "after END" {
		t.Errorf("a line after END: %v", err)
	}
	if _, err := runToy(t, strings.Join(sorted, "\n")+"\n", basis, Config{Mode: Sorted, ChunkSize: 512, MaxLine: 400}); err == nil {
		t.Error("no END: no error")
	}
	// Ids: the toy's id hash is the value's length, so that many repeat.
	d := &toy{}
	p := New[toyRow](d, Config{Mode: Validate, ChunkSize: 512, MaxLine: 400, IDMemory: 1 << 20, IDPartLimit: 1 << 20})
	if err := p.Read(strings.NewReader("0000000001;a\n0000000002;bb\n0000000003;c\nEND\n"), 0); err != nil {
		t.Fatal(err)
	}
	sus, err := p.Suspects()
	p.Close()
	if err != nil || fmt.Sprint(sus) != "map[1:true]" {
		t.Errorf("suspects %v, %v", sus, err)
	}
	p = New[toyRow](d, Config{Mode: Validate, ChunkSize: 512, MaxLine: 400, Suspects: sus})
	d.ended = false
	if err := p.Read(strings.NewReader("0000000001;a\n0000000002;bb\n0000000003;c\nEND\n"), 0); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(p.SuspectRows()); got != "[{a 1 false} {c 3 false}]" {
		t.Errorf("suspect rows %s", got)
	}
}

// TestRecords: a record keeps its key, whatever the length of the domain's
// record up to MaxRecord (a longer one is a bug of the domain: a panic);
// recordPart and sortKey read the key's digits; sortKeys is a stable sort
// by the last four digits.
func TestRecords(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	d := &toy{}
	var buf []byte
	var rows []toyRow
	for range 5000 {
		var row toyRow
		for i := range row.key {
			row.key[i] = '0' + byte(r.IntN(10))
		}
		row.value = strings.Repeat("v", r.IntN(MaxRecord+1))
		rows = append(rows, row)
		buf = appendRecord(buf, &row.key, &row, Domain[toyRow](d))
	}
	p := &Pass[toyRow]{d: d}
	for i, want := range rows {
		n := recordLen(buf)
		if m := recordLen(buf[:n-1]); n == 0 || m != 0 {
			t.Fatalf("row %d: recordLen %d, of the record cut short %d", i, n, m)
		}
		var got toyRow
		var key Key
		p.readRecord(buf, (*[4]byte)(want.key[:4]), &key, &got)
		if got != want {
			t.Fatalf("row %d: %q, want %q", i, got.key, want.key)
		}
		for _, prefix := range []int{4, 6, 8} {
			if p, w := recordPart(buf, prefix), partOf(want.key[:], prefix); p != w {
				t.Fatalf("row %d: recordPart(%d) = %d, want %d", i, prefix, p, w)
			}
		}
		if key := sortKey(buf, 5) >> keyShift; fmt.Sprintf("%04x", key) != string(want.key[6:]) {
			t.Fatalf("row %d: sort key %x of key %s", i, key, want.key)
		}
		buf = buf[n:]
	}
	keys := make([]uint64, 10000)
	for i := range keys {
		keys[i] = uint64(r.IntN(3))<<keyShift | uint64(i)
	}
	var tmp []uint64
	got := sortKeys(slices.Clone(keys), &tmp)
	slices.SortStableFunc(keys, func(a, b uint64) int { return int(a>>keyShift) - int(b>>keyShift) })
	if !slices.Equal(got, keys) {
		t.Error("sortKeys is not a stable sort by key")
	}
	defer func() {
		if recover() == nil {
			t.Error("a record longer than MaxRecord was appended")
		}
	}()
	long := toyRow{key: rows[0].key, value: strings.Repeat("v", MaxRecord+1)}
	appendRecord(nil, &long.key, &long, Domain[toyRow](d))
}
