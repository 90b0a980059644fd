package compute

import "sync/atomic"

// Calendar knows the Danish public holidays of docs/rules.md#calendar and the configured
// additions and removals. A working day is Monday–Friday that is not a
// holiday. The zero value is the plain Danish calendar.
type Calendar struct {
	extra   map[Date]bool // added holidays
	removed map[Date]bool // dates that are not holidays after all

	// work caches IsWorkingDay as bits, in blocks of workBlock days from
	// workFrom, each filled the first time it is asked for (evaluation asks
	// several times per citizen, and the rules behind it take a division
	// and an Easter computation).
	work [workBlocks]atomic.Pointer[[workBlock / 64]uint64]
}

const (
	workBlock  = 4096 // days: about 11 years
	workBlocks = 32   // from workFrom: to about 2258
)

var workFrom = MkDate(1900, 1, 1)

// NewCalendar returns a calendar with extra dates added to the Danish
// holidays and notHolidays removed from them.
func NewCalendar(extra, notHolidays []Date) *Calendar {
	c := &Calendar{extra: map[Date]bool{}, removed: map[Date]bool{}}
	for _, d := range extra {
		c.extra[d] = true
	}
	for _, d := range notHolidays {
		c.removed[d] = true
	}
	return c
}

// Easter returns Easter Sunday of year y (anonymous Gregorian algorithm).
func Easter(y int) Date {
	a := y % 19
	b, c := y/100, y%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return MkDate(y, month, day)
}

// IsDanishHoliday reports whether d is a Danish public holiday by the list of
// docs/rules.md#calendar, without configured changes. Store Bededag was abolished from
// 2024 on.
func IsDanishHoliday(d Date) bool {
	y, m, day := d.YMD()
	switch {
	case m == 1 && day == 1, m == 12 && (day == 25 || day == 26):
		return true
	case m < 3 || m > 6:
		return false // Easter-based days fall in March–June
	}
	e := Easter(y)
	switch d - e {
	case -3, -2, 0, 1, 39, 49, 50:
		return true
	case 26:
		return y <= 2023
	}
	return false
}

// IsHoliday reports whether d is a holiday in this calendar.
func (c *Calendar) IsHoliday(d Date) bool {
	if c != nil {
		if c.removed[d] {
			return false
		}
		if c.extra[d] {
			return true
		}
	}
	return IsDanishHoliday(d)
}

// IsWorkingDay reports whether d is Monday–Friday and not a holiday.
func (c *Calendar) IsWorkingDay(d Date) bool {
	if c != nil {
		if i := int(d - workFrom); i >= 0 && i < workBlocks*workBlock {
			bits := c.work[i/workBlock].Load()
			if bits == nil {
				bits = c.fillWork(i / workBlock)
			}
			j := i % workBlock
			return bits[j/64]>>(j%64)&1 != 0
		}
	}
	return c.isWorkingDay(d)
}

func (c *Calendar) isWorkingDay(d Date) bool {
	return d.Weekday() < 5 && !c.IsHoliday(d)
}

// fillWork computes block k of the working-day bits. Two goroutines may do
// it at once; both get the same bits.
func (c *Calendar) fillWork(k int) *[workBlock / 64]uint64 {
	var bits [workBlock / 64]uint64
	from := workFrom + Date(k*workBlock)
	for j := range workBlock {
		if c.isWorkingDay(from + Date(j)) {
			bits[j/64] |= 1 << (j % 64)
		}
	}
	c.work[k].Store(&bits)
	return &bits
}

// NextWorkingDay returns d if it is a working day, else the first working day
// after it.
func (c *Calendar) NextWorkingDay(d Date) Date {
	for !c.IsWorkingDay(d) {
		d++
	}
	return d
}

// PrevWorkingDay returns d if it is a working day, else the last working day
// before it.
func (c *Calendar) PrevWorkingDay(d Date) Date {
	for !c.IsWorkingDay(d) {
		d--
	}
	return d
}
