package compute

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestCPRCompare: cprCompare orders as the strings do.
func TestCPRCompare(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(5, 6))
	for range 100000 {
		var a, b [10]byte
		for i := range a {
			a[i] = '0' + byte(r.IntN(3))
			b[i] = '0' + byte(r.IntN(3))
		}
		if r.IntN(4) == 0 {
			b = a
		}
		want := strings.Compare(string(a[:]), string(b[:]))
		if got := cprCompare(&a, &b); got != want {
			t.Fatalf("cprCompare(%s, %s) = %d, want %d", a[:], b[:], got, want)
		}
	}
}

// timestampRef is rowParser.timestamp written plainly.
func timestampRef(b []byte) (Date, bool) {
	if len(b) != 19 || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	d, ok := ParseDate(b[:10])
	if !ok {
		return 0, false
	}
	h0, h1, m0, m1, s0, s1 := b[11]-'0', b[12]-'0', b[14]-'0', b[15]-'0', b[17]-'0', b[18]-'0'
	if h0 > 9 || h1 > 9 || m0 > 9 || m1 > 9 || s0 > 9 || s1 > 9 || h0*10+h1 > 23 || m0 > 5 || s0 > 5 {
		return 0, false
	}
	return d, true
}

// TestTimestamp compares the word-at-a-time timestamp check with
// timestampRef on valid times and on every one-byte change of them.
func TestTimestamp(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(9, 10))
	var p rowParser
	bytesToTry := []byte("0123456789:T-/ \x00\xff\x39\x3a\x2f")
	for range 3000 {
		b := fmt.Appendf(nil, "%04d-%02d-%02dT%02d:%02d:%02d", 1990+r.IntN(40), 1+r.IntN(12), 1+r.IntN(31), r.IntN(26), r.IntN(62), r.IntN(62))
		for i := -1; i < len(b); i++ {
			c := append([]byte(nil), b...)
			if i >= 0 {
				c[i] = bytesToTry[r.IntN(len(bytesToTry))]
			}
			d1, ok1 := p.timestamp(c)
			d2, ok2 := timestampRef(c)
			if ok1 != ok2 || ok1 && d1 != d2 {
				t.Fatalf("timestamp(%q) = %v, %v; want %v, %v", c, d1, ok1, d2, ok2)
			}
		}
	}
}

// TestIDBits: every byte value at every place of a word of id characters.
func TestIDBits(t *testing.T) {
	t.Parallel()
	for place := range 8 {
		for c := range 256 {
			b := []byte("aZ09_-zA")
			b[place] = byte(c)
			w := binary.LittleEndian.Uint64(b)
			if got, want := idBits(w) == 0x8080808080808080, validIDRef(b); got != want {
				t.Errorf("idBits(%q) = %x, want all ids: %v", b, idBits(w), want)
			}
		}
	}
}
