package compute

import "encoding/binary"

// BirthDate returns the birth date encoded in a 10-digit CPR number by the
// century rules of docs/rules.md#cpr-and-age. ok is false when cpr is not 10 digits or the
// date does not exist. The number itself never appears in an error.
func BirthDate(cpr []byte) (birth Date, ok bool) {
	if len(cpr) != 10 {
		return 0, false
	}
	return cprBirth((*[10]byte)(cpr))
}

// cprBirth is BirthDate of ten bytes, read eight and two at a time.
func cprBirth(c *[10]byte) (birth Date, ok bool) {
	// Every byte xor '0' is the digit's value, at most 9, for the digits;
	// a digit byte is at most 9 when neither it nor it+6 has a high nibble
	// (as in ParseDate).
	const (
		zeros = 0x3030303030303030
		six   = 0x0606060606060606
		high  = 0xf0f0f0f0f0f0f0f0
	)
	w := binary.LittleEndian.Uint64(c[:8]) ^ zeros
	t := uint64(binary.LittleEndian.Uint16(c[8:])) ^ zeros&0xffff
	if (w|(w+six))&high != 0 || (t|(t+six&0xffff))&0xf0f0 != 0 {
		return 0, false
	}
	dd := int(w&0xff)*10 + int(w>>8&0xff)
	mm := int(w>>16&0xff)*10 + int(w>>24&0xff)
	yy := int(w>>32&0xff)*10 + int(w>>40&0xff)
	var century int
	switch s := w >> 48 & 0xff; {
	case s <= 3:
		century = 1900
	case s == 4 || s == 9:
		century = 1900
		if yy <= 36 {
			century = 2000
		}
	default: // 5–8
		century = 1800
		if yy <= 57 {
			century = 2000
		}
	}
	return dateOf(century+yy, mm, dd)
}

// Birthday returns the date on which someone born on birth turns age years
// old. Someone born 29 February has their birthday on 1 March in years that
// are not leap years.
func Birthday(birth Date, age int) Date {
	y, m, d := birth.YMD()
	y += age
	if m == 2 && d == 29 && !IsLeap(y) {
		return MkDate(y, 3, 1)
	}
	return MkDate(y, m, d)
}

// Age returns the number of whole years since birth on day d.
func Age(birth, d Date) int {
	by, _, _ := birth.YMD()
	dy, _, _ := d.YMD()
	age := dy - by
	if age > 0 && d < Birthday(birth, age) {
		age--
	}
	return age
}
