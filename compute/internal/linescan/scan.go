package linescan

import (
	"encoding/binary"
	"math/bits"
)

// ScanLine finds the end of the first line of data (the index of its '\n',
// or len(data)) and the semicolons in it: it returns their number and puts
// the positions of the first MaxSemis of them in pos; ascii is true
// when the line has only ASCII bytes (so it is valid UTF-8). It reads eight
// bytes at a time.
func ScanLine(data []byte, pos *Pos) (end, semis int, ascii bool) {
	const (
		low7  = 0x7f7f7f7f7f7f7f7f
		semi8 = 0x3b3b3b3b3b3b3b3b
		nl8   = 0x0a0a0a0a0a0a0a0a
	)
	n, i := 0, 0
	var acc uint64 // the bytes seen, or'ed: for the ASCII check
	for ; i+8 <= len(data); i += 8 {
		w := binary.LittleEndian.Uint64(data[i:])
		acc |= w
		// The top bit of every byte that is '\n', and of every ';' (exact:
		// no carry crosses a byte).
		x, y := w^nl8, w^semi8
		nl := ^((x&low7 + low7) | x | low7)
		sc := ^((y&low7 + low7) | y | low7)
		if nl != 0 {
			sc &= nl&-nl - 1 // the semicolons before the line end
		}
		for ; sc != 0; sc &= sc - 1 {
			if n < MaxSemis {
				pos[n+1] = i + bits.TrailingZeros64(sc)/8
			}
			n++
		}
		if nl != 0 {
			// (acc may hold bytes after the line end: then a line of
			// ASCII is checked needlessly, never the other way round.)
			return i + bits.TrailingZeros64(nl)/8, n, acc&0x8080808080808080 == 0
		}
	}
	for ; i < len(data); i++ {
		acc |= uint64(data[i])
		switch data[i] {
		case ';':
			if n < MaxSemis {
				pos[n+1] = i
			}
			n++
		case '\n':
			return i, n, acc&0x8080808080808080 == 0
		}
	}
	return len(data), n, acc&0x8080808080808080 == 0
}
