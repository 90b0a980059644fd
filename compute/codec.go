package compute

import (
	"encoding/binary"
	"slices"
	"unsafe"

	"leverance/compute/internal/engine"
)

// The record of a valid row in the scratch files of an extract not sorted
// by cpr (compute/internal/engine: the engine adds the cpr and the length):
// about 23 bytes for a row of 75.
//
//	0      type
//	1–2    kommune
//	3–5    fra, 6–8 til, 9–11 registreret: days since 1970 in 24 bits,
//	       noDate24 for NoDate (a date of years 1–9999, as ParseDate gives, fits)
//	12–13  timer
//	14     kode: an index in kodes, or kodeLiteral and the code after the id
//	15     the length of the id; then the id; then a literal code

const (
	recordFixed = 16
	kodeLiteral = 255
	noDate24    = 1<<23 - 1
)

// kodes is the codes that the encoding writes as an index, built from the
// domain's lists (row.go): the kontaktgrupper first, at the index of their
// Group (kodes[g] is g.String(), "" for GroupNone, which is every row
// without a code), then the interview and the activation codes. A code
// added to those lists is encoded by index without a change here; any
// other code (FRITAGELSE's free text) goes as a literal.
var kodes, kodesByLen = kodeTable(groupNames[:], interviewCodes, activationCodes)

// kodeTable is the lists one after the other, and the indexes of the codes
// after the first list by their length.
func kodeTable(lists ...[]string) (all []string, byLen [][]byte) {
	for _, l := range lists {
		all = append(all, l...)
	}
	if len(all) > kodeLiteral {
		panic("spill: more codes than an encoded row's kode byte holds")
	}
	for i := len(lists[0]); i < len(all); i++ {
		n := len(all[i])
		for len(byLen) <= n {
			byLen = append(byLen, nil)
		}
		byLen[n] = append(byLen[n], byte(i))
	}
	return all, byLen
}

// kodeIndex is the kode of r as an index in kodes, or kodeLiteral; for a
// KONTAKTGRUPPE it is the group. It runs once a row: a code is compared
// only with those of its length (one or two).
func kodeIndex(r *Row) byte {
	switch n := len(r.Kode); {
	case r.Type == TypeKontaktgruppe:
		return byte(r.Group)
	case n == 0:
		return 0
	case n < len(kodesByLen):
		for _, i := range kodesByLen[n] {
			if r.Kode == kodes[i] {
				return i
			}
		}
	}
	return kodeLiteral
}

func putDate24(b []byte, d Date) {
	if d == NoDate {
		d = noDate24
	}
	b[0], b[1], b[2] = byte(d), byte(d>>8), byte(d>>16)
}

// date24 reads a date put by putDate24; b holds at least four bytes.
func date24(b []byte) Date {
	d := Date(int32(binary.LittleEndian.Uint32(b)<<8) >> 8) // sign-extended
	if d == noDate24 {
		return NoDate
	}
	return d
}

// appendRecord appends the record of a valid row.
func appendRecord(b []byte, r *Row) []byte {
	k := kodeIndex(r)
	n := len(b)
	b = slices.Grow(b, recordFixed+len(r.ID)+len(r.Kode))[:n+recordFixed]
	f := b[n:]
	f[0] = byte(r.Type)
	binary.LittleEndian.PutUint16(f[1:], r.Kommune)
	putDate24(f[3:], r.Fra)
	putDate24(f[6:], r.Til)
	putDate24(f[9:], r.Registreret)
	binary.LittleEndian.PutUint16(f[12:], uint16(r.Timer))
	f[14], f[15] = k, byte(len(r.ID))
	b = append(b, r.ID...)
	if k == kodeLiteral {
		b = append(b, r.Kode...)
	}
	return b
}

// readRecord reads a record (all of b) of the row of cpr key; its strings
// point into b.
func readRecord(b []byte, key *engine.Key, r *Row) {
	r.CPR = *key
	r.Type = Type(b[0])
	r.Kommune = binary.LittleEndian.Uint16(b[1:])
	r.Fra, r.Til, r.Registreret = date24(b[3:]), date24(b[6:]), date24(b[9:])
	r.Timer = int64(binary.LittleEndian.Uint16(b[12:]))
	n := int(b[15])
	r.ID = unsafe.String(unsafe.SliceData(b[recordFixed:]), n)
	r.Line = 0 // not kept: the rules do not use it
	k := b[14]
	r.Group = GroupNone
	if r.Type == TypeKontaktgruppe {
		r.Group = Group(k)
	}
	if k != kodeLiteral {
		r.Kode = kodes[k]
	} else {
		lit := b[recordFixed+n:]
		r.Kode = unsafe.String(unsafe.SliceData(lit), len(lit))
	}
}
