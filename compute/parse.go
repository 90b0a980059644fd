package compute

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"leverance/compute/internal/linescan"
)

// The parser reads the columns' places from linescan.Pos.
var _ [linescan.MaxSemis - numCols]struct{}

// rowParser splits and validates data rows (docs/formats.md#validation-and-the-error-report). The Reader has one,
// and so does every worker of the parallel pipeline: it is the one place
// where the rules of a valid row are written down.
type rowParser struct {
	colOf   [numCols]int // field index of each column
	nfields int
	// canonical: the header names the columns in the order of Columns,
	// as it almost always does. Otherwise split copies each line's fields
	// into reordered in that order, so that the parser reads a field at a
	// fixed place either way.
	canonical bool
	reordered []byte
	asOf      Date
	// alias makes Row.ID (and a FRITAGELSE Row.Kode) point into the line
	// instead of copying it: no allocation per row. The pipeline keeps the
	// line's buffer unchanged for as long as the row is used, and copies
	// every string that points into it of a row it keeps longer
	// (domain.Own, run.go).
	alias bool // (only with canonical: a reordered line is overwritten by the next)
	// dup, when set, says whether the id of the row at line repeats the one
	// of an earlier row, and that row's line. Without it the id is only
	// hashed (idHash, hasID), for the caller to collect.
	dup func(h uint64, line int) (first int, repeats bool)

	rep    *Report // where problems go
	line   int     // the line being parsed
	failed bool    // the row has a problem

	idHash uint64 // of the last row's id, when hasID
	hasID  bool

	// The last cpr that was checked and found valid: the rows of a citizen
	// are usually together, so most rows skip the birth-date check.
	lastCPR   [10]byte
	lastCPROK bool

	line0 []byte       // the line split last
	pos   linescan.Pos // where its fields start (after pos[i]) and end (before pos[i+1])
}

func (p *rowParser) bad(col, reason string) {
	if !p.failed {
		p.rep.InvalidRows++
	}
	p.failed = true
	p.rep.add(Problem{Line: p.line, Column: col, Reason: reason})
}

// split takes a line with the given semicolons (from scanLine) as the
// header's number of fields; ok is false when it has another number.
func (p *rowParser) split(line []byte, semis int) (fields int, ok bool) {
	if semis != p.nfields-1 {
		return semis + 1, false
	}
	p.pos[0], p.pos[numCols] = -1, len(line)
	p.line0 = line
	if !p.canonical {
		b := p.reordered[:0]
		var pos linescan.Pos
		pos[0] = -1
		for c, i := range p.colOf {
			if c > 0 {
				pos[c] = len(b)
				b = append(b, ';')
			}
			b = append(b, line[p.pos[i]+1:p.pos[i+1]]...)
		}
		pos[numCols] = len(b)
		p.pos, p.line0, p.reordered = pos, b, b
	}
	return semis + 1, true
}

// get is field c (a column of Columns) of the line split last.
func (p *rowParser) get(c int) []byte {
	return p.line0[p.pos[c]+1 : p.pos[c+1]]
}

func (p *rowParser) str(b []byte) string {
	if p.alias && p.canonical && len(b) > 0 {
		return unsafe.String(&b[0], len(b))
	}
	return string(b)
}

// parse splits and validates one data line (without its line end) into row.
// It records every problem of the row; ok is false when there was any.
func (p *rowParser) parse(line []byte, lineNo int, row *Row) (ok bool) {
	_, semis, _ := linescan.ScanLine(line, &p.pos)
	return p.parseSplit(line, semis, lineNo, row)
}

// parseSplit is parse of a line whose semicolons linescan found (in p.pos).
func (p *rowParser) parseSplit(line []byte, semis, lineNo int, row *Row) (ok bool) {
	*row = Row{Line: lineNo}
	p.line, p.failed, p.hasID = lineNo, false, false
	if n, ok := p.split(line, semis); !ok {
		p.bad("", fmt.Sprintf("has %d fields, the header has %d", n, p.nfields))
		return false
	}

	id := p.get(colID)
	if h, ok := hashID(id); ok {
		row.ID = p.str(id)
		p.idHash, p.hasID = h, true
		if p.dup != nil {
			if first, dup := p.dup(h, lineNo); dup {
				p.bad("id", fmt.Sprintf("repeats the id of line %d", first))
			}
		}
	} else {
		p.bad("id", "must be 1–40 characters of A–Z, a–z, 0–9, _ and -")
	}

	cpr := p.get(colCPR)
	switch {
	case len(cpr) != 10:
		p.bad("cpr", "must be 10 digits")
	case p.lastCPROK && cprCompare((*[10]byte)(cpr), &p.lastCPR) == 0:
		row.CPR = p.lastCPR
	default:
		if _, valid := cprBirth((*[10]byte)(cpr)); valid {
			copy(row.CPR[:], cpr)
			p.lastCPR, p.lastCPROK = row.CPR, true
		} else if !allDigits(cpr) {
			p.bad("cpr", "must be 10 digits")
		} else {
			p.bad("cpr", "the birth date in it does not exist")
		}
	}

	row.Type = parseType(p.get(colType))
	if row.Type == 0 {
		p.bad("type", fmt.Sprintf("unknown type %s", safeQuote(p.get(colType))))
	}

	if k := p.get(colKommune); len(k) == 3 && isDigit(k[0]) && isDigit(k[1]) && isDigit(k[2]) {
		n := uint16(k[0]-'0')*100 + uint16(k[1]-'0')*10 + uint16(k[2]-'0')
		if n >= 101 && n <= 860 {
			row.Kommune = n
		} else {
			p.bad("kommune", "must be a municipality code of 3 digits, 101–860")
		}
	} else {
		p.bad("kommune", "must be a municipality code of 3 digits, 101–860")
	}

	fraOK := false
	if d, dok := ParseDate(p.get(colFra)); dok {
		row.Fra, fraOK = d, true
	} else {
		p.bad("fra", dateProblem(p.get(colFra)))
	}

	row.Til = NoDate
	if til := p.get(colTil); len(til) > 0 {
		if d, dok := ParseDate(til); dok {
			row.Til = d
		} else {
			p.bad("til", dateProblem(til))
		}
	}

	p.byType(row, fraOK)

	if d, dok := p.timestamp(p.get(colRegistreret)); !dok {
		p.bad("registreret", "must be a local time YYYY-MM-DDTHH:MM:SS that exists")
	} else if d > p.asOf {
		p.bad("registreret", "is after the end of the extract's as-of date")
	} else {
		row.Registreret = d
	}
	return !p.failed
}

// byType checks what depends on the row's type, with one branch on it (the
// type changes from row to row, so each such branch is a likely
// misprediction): the til, timer and kode columns, in that order, then an
// interview's date.
func (p *rowParser) byType(row *Row, fraOK bool) {
	timer, kode := p.get(colTimer), p.get(colKode)
	switch row.Type {
	case TypeKontaktgruppe:
		p.tilAfterFra(row, fraOK)
		p.noTimer(row, timer)
		if g := parseGroup(kode); g != GroupNone {
			row.Group, row.Kode = g, g.String()
		} else {
			p.unknownKode(row, kode)
		}
	case TypeDagpengeperiode:
		p.noTil(row)
		p.noTimer(row, timer)
		p.noKode(row, kode)
	case TypeLedig:
		p.tilAfterFra(row, fraOK)
		if t, tok := parseHours(timer); tok {
			row.Timer = t
		} else {
			p.bad("timer", hoursProblem(timer))
		}
		p.noKode(row, kode)
	case TypeSamtale, TypeIndkaldelse:
		p.noTil(row)
		p.noTimer(row, timer)
		if c, ok := knownCode(kode, interviewCodes); ok {
			row.Kode = c
		} else {
			p.unknownKode(row, kode)
		}
		if fraOK && row.Type == TypeSamtale && row.Fra > p.asOf {
			p.bad("fra", "an interview (SAMTALE) cannot be dated after the extract's as-of date")
		}
	case TypeAktivering:
		p.tilAfterFra(row, fraOK)
		p.noTimer(row, timer)
		if c, ok := knownCode(kode, activationCodes); ok {
			row.Kode = c
		} else {
			p.unknownKode(row, kode)
		}
	case TypeFritagelse:
		p.tilAfterFra(row, fraOK)
		p.noTimer(row, timer)
		if len(kode) >= 1 && len(kode) <= 10 && allUpperDigits(kode) {
			row.Kode = p.str(kode)
		} else {
			p.bad("kode", "must be a reason code of 1–10 characters A–Z and 0–9")
		}
	default: // an unknown type, already reported: its til is still checked
		p.tilAfterFra(row, fraOK)
	}
}

// tilAfterFra reports a til before fra (for the types with a period).
func (p *rowParser) tilAfterFra(row *Row, fraOK bool) {
	if fraOK && row.Til != NoDate && row.Til < row.Fra {
		p.bad("til", "is before fra")
	}
}

// noTil reports a til for a type without a period.
func (p *rowParser) noTil(row *Row) {
	if row.Til != NoDate {
		p.bad("til", "must be empty for "+row.Type.String())
	}
}

func (p *rowParser) noTimer(row *Row, timer []byte) {
	if len(timer) > 0 {
		p.bad("timer", "must be empty for "+row.Type.String())
	}
}

func (p *rowParser) noKode(row *Row, kode []byte) {
	if len(kode) > 0 {
		p.bad("kode", "must be empty for "+row.Type.String())
	}
}

func (p *rowParser) unknownKode(row *Row, kode []byte) {
	p.bad("kode", fmt.Sprintf("unknown code %s for type %s", safeQuote(kode), row.Type))
}

// knownCode is kode as the one of codes it is (interned: no allocation),
// if it is one.
func knownCode(kode []byte, codes []string) (string, bool) {
	for _, c := range codes {
		if string(kode) == c {
			return c, true
		}
	}
	return "", false
}

func isDigit(c byte) bool { return c-'0' < 10 }

// cprCompare orders two cpr numbers as their bytes (as strings compare),
// with two loads each.
func cprCompare(a, b *[10]byte) int {
	if x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8]); x != y {
		if x < y {
			return -1
		}
		return 1
	}
	x, y := binary.BigEndian.Uint16(a[8:]), binary.BigEndian.Uint16(b[8:])
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// idBits has the top bit of every byte of w (little-endian) set that is an
// id character: A–Z, a–z, 0–9, _ or -. Every byte is checked at once: for
// a byte x below 0x80, x + 0x80 − a has its top bit set exactly when x ≥ a,
// without a carry into the next byte. (A byte of 0x80 or more may carry
// into the next one, but is never an id character itself.)
func idBits(w uint64) uint64 {
	const (
		ones = 0x0101010101010101
		low7 = 0x7f7f7f7f7f7f7f7f
		high = 0x8080808080808080
	)
	x, y := w^'_'*ones, w^'-'*ones // a zero byte where w has '_', '-'
	in := (w+(0x80-'0')*ones)&^(w+(0x80-'9'-1)*ones) |
		(w+(0x80-'A')*ones)&^(w+(0x80-'Z'-1)*ones) |
		(w+(0x80-'a')*ones)&^(w+(0x80-'z'-1)*ones) |
		^((x + low7) | x) | ^((y + low7) | y)
	return in &^ w & high
}

// hashID checks an id (1–40 of A–Z, a–z, 0–9, _ and -) and returns a
// 64-bit hash of it: its bytes eight at a time through a multiply-xorshift
// mix, deterministic, so that the same extract always gives the same
// result. The hash only narrows the search for repeated ids: the ids
// themselves are compared in the end (ids.go).
func hashID(b []byte) (uint64, bool) {
	n := len(b)
	if n < 1 || n > 40 {
		return 0, false
	}
	const (
		m    = 0x9e3779b97f4a7c15
		high = 0x8080808080808080
	)
	h := uint64(n) * m
	ok := uint64(high)
	for ; len(b) >= 8; b = b[8:] {
		w := binary.LittleEndian.Uint64(b)
		ok &= idBits(w)
		h = (h ^ w) * m
		h ^= h >> 29
	}
	var tail uint64
	if len(b) > 0 {
		for i, c := range b {
			tail |= uint64(c) << (8 * i)
		}
		// The tail's missing bytes count as '0' for the check.
		ok &= idBits(tail | 0x3030303030303030<<(8*len(b)))
	}
	if ok != high {
		return 0, false
	}
	h = (h ^ tail) * m
	h ^= h >> 32
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h, true
}

// timestamp parses YYYY-MM-DDTHH:MM:SS and returns its date.
func (p *rowParser) timestamp(b []byte) (Date, bool) {
	if len(b) != 19 || b[10] != 'T' {
		return 0, false
	}
	d, ok := ParseDate(b[:10])
	// "HH:MM:SS" as ParseDate reads "YYYY-MM-": the six digits xor '0' at
	// most 9, the colons xor '0' 0x0a.
	const (
		digits = 0xffff00ffff00ffff
		colons = 0x00000a00000a0000
		high   = 0xf0f0f0f0f0f0f0f0
		six    = 0x0606060606060606
	)
	w := binary.LittleEndian.Uint64(b[11:]) ^ 0x3030303030303030
	t := w & digits
	if !ok || w&^digits != colons || (t|(t+six&digits))&high != 0 ||
		(w&0xff)*10+(w>>8&0xff) > 23 || w>>24&0xff > 5 || w>>48&0xff > 5 {
		return 0, false
	}
	return d, true
}
