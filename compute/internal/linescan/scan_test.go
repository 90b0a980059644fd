package linescan

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// scanLineRef is ScanLine written plainly, byte by byte.
func scanLineRef(data []byte, pos *Pos) (end, semis int, ascii bool) {
	ascii = true
	for i, c := range data {
		switch {
		case c == '\n':
			return i, semis, ascii
		case c == ';':
			if semis < MaxSemis {
				pos[semis+1] = i
			}
			semis++
		case c >= 0x80:
			ascii = false
		}
	}
	return len(data), semis, ascii
}

// randomLines is n bytes of short lines made of the bytes that matter
// (';', '\n', bytes ≥ 0x80 and their neighbours) and others.
func randomLines(r *rand.Rand, n int) []byte {
	alphabet := []byte{';', ';', ';', '\n', 'a', '0', 0x80, 0xc3, 0xff, 0x3a, 0x3c, 0x0b, 0x09, 0x7f, 0xbb, 0x8a}
	data := make([]byte, n)
	for i := range data {
		data[i] = alphabet[r.IntN(len(alphabet))]
		if data[i] == '\n' && r.IntN(8) > 0 {
			data[i] = 'x' // fewer line ends: lines that span words
		}
	}
	return data
}

// TestScanLine compares ScanLine and the Scanner with scanLineRef on
// random data of every length up to 300 bytes and on longer lines.
func TestScanLine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		for range 30 {
			checkLineScanner(t, randomLines(r, n))
		}
	}
	for range 200 {
		checkLineScanner(t, randomLines(r, 1000+r.IntN(5000)))
	}
	// Over several blocks of masks (maskBlock), with lines across their
	// edges, short and long.
	for range 5 {
		checkLineScanner(t, randomLines(r, 3*64*maskBlock+r.IntN(64*maskBlock)))
		checkLineScanner(t, scanInput()[:2*64*maskBlock+r.IntN(64*maskBlock)])
	}
}

// FuzzLineScanner checks the chunk scanner (bitmaps and line walk) and
// scanLine against scanLineRef on any bytes.
func FuzzLineScanner(f *testing.F) {
	f.Add([]byte("id;cpr;type\n1;2;3\n"))
	f.Add([]byte(";;;\n\n\xc3\xa6;x"))
	f.Add(randomLines(rand.New(rand.NewPCG(7, 8)), 300))
	f.Fuzz(checkLineScanner)
}

// checkLineScanner compares the Scanner and ScanLine on every line of
// data with scanLineRef.
func checkLineScanner(t *testing.T, data []byte) {
	t.Helper()
	var ls Scanner
	var got, want Pos
	// First over other bytes, so that what was built for them is there
	// to be mistaken for data's.
	ls.Reset(bytes.Repeat([]byte(";\n;;x"), len(data)/5+200))
	for {
		if _, _, _, ok := ls.Next(&got); !ok {
			break
		}
	}
	got = Pos{}
	ls.Reset(data)
	for off := 0; ; {
		line, semis, ascii, ok := ls.Next(&got)
		if !ok {
			if off < len(data) {
				t.Fatalf("%q: Scanner ends at %d of %d", data, off, len(data))
			}
			return
		}
		end, s, a := scanLineRef(data[off:], &want)
		if string(line) != string(data[off:off+end]) || semis != s || ascii != a || got != want {
			t.Fatalf("%q at %d: Scanner = %q, %d, %v, %v; want %q, %d, %v, %v",
				data, off, line, semis, got, ascii, data[off:off+end], s, want, a)
		}
		// ScanLine may say false for an ASCII line when a byte ≥ 0x80
		// follows it in the same eight bytes; never true for one that is not.
		e2, s2, a2 := ScanLine(data[off:], &got)
		if e2 != end || s2 != s || got != want || a2 && !a {
			t.Fatalf("%q: ScanLine at %d = %d, %d, %v, %v; want %d, %d, %v, %v", data, off, e2, s2, got, a2, end, s, want, a)
		}
		off += end + 1
	}
}

// TestMasks compares the AVX2 masks (where the machine has them) with
// masksGo.
func TestMasks(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		n := r.IntN(40)
		data := randomLines(r, 64*n)
		for i := range data {
			if r.IntN(3) == 0 {
				data[i] = byte(r.Uint32())
			}
		}
		var a, b masks
		a.semi, a.nl, a.high = make([]uint64, n), make([]uint64, n), make([]uint64, n)
		b.semi, b.nl, b.high = make([]uint64, n), make([]uint64, n), make([]uint64, n)
		buildMasks(data, a.semi, a.nl, a.high)
		masksGo(data, b.semi, b.nl, b.high)
		for k := range n {
			if a.semi[k] != b.semi[k] || a.nl[k] != b.nl[k] || a.high[k] != b.high[k] {
				t.Fatalf("block %d of %x: buildMasks %x %x %x, masksGo %x %x %x", k, data[k*64:k*64+64],
					a.semi[k], a.nl[k], a.high[k], b.semi[k], b.nl[k], b.high[k])
			}
		}
	}
}

// scanInput is lines shaped like an extract's, with the varying field
// lengths that make branches hard to predict.
func scanInput() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var data []byte
	types := []string{"KONTAKTGRUPPE;259;2013-08-14;;;DP", "LEDIG;259;2013-08-14;2013-09-11;37.00;", "LEDIG;259;2013-10-15;2013-11-17;29,6;",
		"SAMTALE;410;2013-09-15;;;FAELLES", "INDKALDELSE;101;2015-01-02;;;JOB", "AKTIVERING;860;2014-03-01;2014-06-30;;PRAK", "DAGPENGEPERIODE;259;2013-08-14;;;"}
	for range 10000 {
		data = fmt.Appendf(data, "%08d;0101490040;%s;2013-10-16T07:12:21\n", r.IntN(1e8), types[r.IntN(len(types))])
	}
	return data
}

func BenchmarkScanLine(b *testing.B) {
	data := scanInput()
	var pos Pos
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		for d := data; len(d) > 0; {
			end, _, _ := ScanLine(d, &pos)
			d = d[min(end+1, len(d)):]
		}
	}
}

func BenchmarkLineScanner(b *testing.B) {
	data := scanInput()
	var pos Pos
	var ls Scanner
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		ls.Reset(data)
		for {
			if _, _, _, ok := ls.Next(&pos); !ok {
				break
			}
		}
	}
}

func BenchmarkMasks(b *testing.B) {
	data := scanInput()
	var m masks
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		m.build(data)
	}
}
