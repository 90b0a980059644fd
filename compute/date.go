package compute

import (
	"encoding/binary"
	"fmt"
)

// Date is a calendar day in the proleptic Gregorian calendar, counted in days
// since 1970-01-01. Dates carry no time zone: the rules' dates are local calendar
// days and all arithmetic on them is on calendar fields.
type Date int32

// NoDate marks an empty date: an open-ended period's end, or a due date that
// is not reached (printed as an empty field).
const NoDate Date = 1<<31 - 1

// MkDate returns the date y-m-d. It does not check that the day exists; use
// ValidDate for that.
func MkDate(y, m, d int) Date {
	// Howard Hinnant's days_from_civil.
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return Date(era*146097 + doe - 719468)
}

// YMD returns the year, month and day of d.
func (d Date) YMD() (y, m, day int) {
	z := int(d) + 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = doy - (153*mp+2)/5 + 1
	if mp < 10 {
		m = mp + 3
	} else {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, m, day
}

// IsLeap reports whether y is a Gregorian leap year.
func IsLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// DaysIn returns the number of days in month m of year y.
func DaysIn(y, m int) int {
	switch m {
	case 2:
		if IsLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// ValidDate reports whether y-m-d exists.
func ValidDate(y, m, d int) bool {
	return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= DaysIn(y, m)
}

// Weekday returns 0 for Monday … 6 for Sunday (ISO order).
func (d Date) Weekday() int {
	// 1970-01-01 was a Thursday (ISO 3).
	w := (int(d) + 3) % 7
	if w < 0 {
		w += 7
	}
	return w
}

// AddMonths returns d + k months: the same day of month, clamped to the last
// day of the target month (docs/rules.md#month-arithmetic: 2016-01-31 + 1 month = 2016-02-29).
func (d Date) AddMonths(k int) Date {
	if d == NoDate {
		return NoDate
	}
	y, m, day := d.YMD()
	mi := y*12 + (m - 1) + k
	y, m = mi/12, mi%12+1
	if n := DaysIn(y, m); day > n {
		day = n
	}
	return MkDate(y, m, day)
}

// AddDays returns d + k calendar days (NoDate stays NoDate).
func (d Date) AddDays(k int) Date {
	if d == NoDate {
		return NoDate
	}
	return d + Date(k)
}

// ISOWeek returns the ISO 8601 year and week number of d.
func (d Date) ISOWeek() (year, week int) {
	// The Thursday of d's week decides the year.
	th := d - Date(d.Weekday()) + 3
	year, _, _ = th.YMD()
	week = int(th-MkDate(year, 1, 1))/7 + 1
	return year, week
}

// AppendDate appends d as YYYY-MM-DD, or nothing for NoDate.
func AppendDate(b []byte, d Date) []byte {
	if d == NoDate {
		return b
	}
	var y, m, day int
	if i := monthOf(d); i >= 0 {
		y, m, day = monthTableFrom+i/12, i%12+1, int(d-monthStart[i])+1
	} else {
		y, m, day = d.YMD()
	}
	c, yy, mm, dd := &twoDigits[y/100%100], &twoDigits[y%100], &twoDigits[m], &twoDigits[day]
	return append(b, c[0], c[1], yy[0], yy[1], '-', mm[0], mm[1], '-', dd[0], dd[1])
}

// twoDigits is every number below 100 in two digits.
var twoDigits = func() (t [100][2]byte) {
	for i := range t {
		t[i] = [2]byte{byte('0' + i/10), byte('0' + i%10)}
	}
	return t
}()

// monthOf is the index in monthStart of d's month, or -1 when d is outside
// the table's years.
func monthOf(d Date) int {
	first, last := monthStart[0], monthStart[len(monthStart)-1]
	if d < first || d >= last+Date(monthDays[len(monthDays)-1]) {
		return -1
	}
	// 4,800 months in 146,097 days (400 years): the estimate is off by
	// at most one month.
	i := int(int64(d-first) * 4800 / 146097)
	if i >= len(monthStart) || monthStart[i] > d {
		i--
	} else if i+1 < len(monthStart) && monthStart[i+1] <= d {
		i++
	}
	return i
}

// String returns d as YYYY-MM-DD ("" for NoDate).
func (d Date) String() string { return string(AppendDate(nil, d)) }

// Compact returns d as YYYYMMDD, the form used in file names.
func (d Date) Compact() string {
	y, m, day := d.YMD()
	return fmt.Sprintf("%04d%02d%02d", y, m, day)
}

// parseDigits parses an unsigned decimal of exactly len(b) digits.
func parseDigits(b []byte) (int, bool) {
	if len(b) == 0 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// ParseDate parses YYYY-MM-DD. The second result is false when b is not of
// that form or the day does not exist.
func ParseDate(b []byte) (Date, bool) {
	if len(b) != 10 {
		return 0, false
	}
	// Eight bytes at a time: "YYYY-MM-" and "DD". Every byte xor '0' is the
	// digit's value, at most 9, for the digits; the dashes xor '0' are 0x1d.
	const (
		zeros  = 0x3030303030303030
		digits = 0x00ffff00ffffffff // bytes 0–3, 5, 6
		dashes = 0x1d00001d00000000 // bytes 4 and 7 of "YYYY-MM-" xor zeros
		high   = 0xf0f0f0f0f0f0f0f0
		six    = 0x0606060606060606
	)
	w := binary.LittleEndian.Uint64(b) ^ zeros
	dd := uint64(binary.LittleEndian.Uint16(b[8:])) ^ 0x3030
	t := w & digits
	// A digit byte is at most 9 when neither it nor it+6 has a high nibble
	// (a carry out of a byte only follows a byte that fails anyway).
	if w&^digits != dashes || (t|(t+six&digits))&high != 0 || (dd|(dd+0x0606))&0xf0f0 != 0 {
		return 0, false
	}
	y := int(w&0xff)*1000 + int(w>>8&0xff)*100 + int(w>>16&0xff)*10 + int(w>>24&0xff)
	m := int(w>>40&0xff)*10 + int(w>>48&0xff)
	d := int(dd&0xff)*10 + int(dd>>8)
	if uint(y-monthTableFrom) < monthTableTo-monthTableFrom && uint(m-1) < 12 {
		// dateOf's table, without the call.
		i := (y-monthTableFrom)*12 + m - 1
		if uint(d-1) < uint(monthDays[i]) {
			return monthStart[i] + Date(d-1), true
		}
		return 0, false
	}
	return dateOf(y, m, d)
}

// dateOf is MkDate(y, m, d) and whether that day exists (ValidDate).
func dateOf(y, m, d int) (Date, bool) {
	if i := (y-monthTableFrom)*12 + m - 1; y >= monthTableFrom && y < monthTableTo && m >= 1 && m <= 12 {
		if d < 1 || d > int(monthDays[i]) {
			return 0, false
		}
		return monthStart[i] + Date(d-1), true
	}
	if !ValidDate(y, m, d) {
		return 0, false
	}
	return MkDate(y, m, d), true
}

// The first day and the length of every month from monthTableFrom to
// monthTableTo, so that parsing a date of these years is a table look-up.
const monthTableFrom, monthTableTo = 1800, 2200

var monthStart, monthDays = func() (start []Date, days []uint8) {
	for y := monthTableFrom; y < monthTableTo; y++ {
		for m := 1; m <= 12; m++ {
			start = append(start, MkDate(y, m, 1))
			days = append(days, uint8(DaysIn(y, m)))
		}
	}
	return start, days
}()

// ParseCompactDate parses YYYYMMDD.
func ParseCompactDate(s string) (Date, bool) {
	if len(s) != 8 {
		return 0, false
	}
	y, ok1 := parseDigits([]byte(s[0:4]))
	m, ok2 := parseDigits([]byte(s[4:6]))
	d, ok3 := parseDigits([]byte(s[6:8]))
	if !ok1 || !ok2 || !ok3 || !ValidDate(y, m, d) {
		return 0, false
	}
	return MkDate(y, m, d), true
}
