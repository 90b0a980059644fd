package compute

import "testing"

func TestEaster(t *testing.T) {
	t.Parallel()
	// Published Easter Sunday dates (Gregorian).
	known := map[int]string{
		1818: "1818-03-22", // the earliest possible date
		1943: "1943-04-25", // the latest possible date
		2000: "2000-04-23", 2001: "2001-04-15", 2002: "2002-03-31", 2003: "2003-04-20",
		2004: "2004-04-11", 2005: "2005-03-27", 2006: "2006-04-16", 2007: "2007-04-08",
		2008: "2008-03-23", 2009: "2009-04-12", 2010: "2010-04-04", 2011: "2011-04-24",
		2012: "2012-04-08", 2013: "2013-03-31", 2014: "2014-04-20", 2015: "2015-04-05",
		2016: "2016-03-27", 2017: "2017-04-16", 2018: "2018-04-01", 2019: "2019-04-21",
		2020: "2020-04-12", 2021: "2021-04-04", 2022: "2022-04-17", 2023: "2023-04-09",
		2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28",
		2028: "2028-04-16", 2029: "2029-04-01", 2030: "2030-04-21", 2035: "2035-03-25",
		2038: "2038-04-25", 2040: "2040-04-01",
		2285: "2285-03-22",
	}
	for y, want := range known {
		if got := Easter(y).String(); got != want {
			t.Errorf("Easter(%d) = %s, want %s", y, got, want)
		}
	}
	// Always a Sunday between 22 March and 25 April.
	for y := 1583; y <= 2400; y++ {
		e := Easter(y)
		if e.Weekday() != 6 {
			t.Fatalf("Easter(%d) = %s is not a Sunday", y, e)
		}
		if e < MkDate(y, 3, 22) || e > MkDate(y, 4, 25) {
			t.Fatalf("Easter(%d) = %s out of range", y, e)
		}
	}
}

type holidayCase struct {
	d    string
	want bool
	why  string
}

// easterYear lists every Easter-based holiday of one year and the days around
// them that are not holidays. e is Easter Sunday; each date is written out
// by hand from it.
func TestDanishHolidaysEasterBased(t *testing.T) {
	t.Parallel()
	cases := []holidayCase{
		// 2016: Easter 27 March.
		{"2016-03-23", false, "E-4 Wednesday"},
		{"2016-03-24", true, "Maundy Thursday E-3"},
		{"2016-03-25", true, "Good Friday E-2"},
		{"2016-03-26", false, "E-1 Saturday is no holiday (only a weekend day)"},
		{"2016-03-27", true, "Easter Sunday"},
		{"2016-03-28", true, "Easter Monday E+1"},
		{"2016-03-29", false, "E+2"},
		{"2016-04-21", false, "E+25"},
		{"2016-04-22", true, "Store Bededag E+26 (27+26 = 53 → Mar 31 + 22 = Apr 22), still before 2024"},
		{"2016-04-23", false, "E+27"},
		{"2016-05-04", false, "E+38"},
		{"2016-05-05", true, "Ascension E+39 (Apr 22 + 13 = May 5)"},
		{"2016-05-06", false, "E+40: the 'bridge' Friday is not a holiday"},
		{"2016-05-14", false, "E+48"},
		{"2016-05-15", true, "Whit Sunday E+49"},
		{"2016-05-16", true, "Whit Monday E+50"},
		{"2016-05-17", false, "E+51"},

		// 2019: Easter 21 April. E+26 = Apr 21 + 9 = Apr 30, + 17 = May 17; E+39 = May 30; E+49 = Jun 9.
		{"2019-04-18", true, "Maundy Thursday"},
		{"2019-04-19", true, "Good Friday"},
		{"2019-04-20", false, "Easter Saturday"},
		{"2019-04-21", true, "Easter Sunday"},
		{"2019-04-22", true, "Easter Monday"},
		{"2019-04-23", false, "E+2"},
		{"2019-05-17", true, "Store Bededag 2019"},
		{"2019-05-30", true, "Ascension"},
		{"2019-05-31", false, "E+40"},
		{"2019-06-09", true, "Whit Sunday"},
		{"2019-06-10", true, "Whit Monday"},
		{"2019-06-11", false, "E+51"},

		// 2023: Easter 9 April, the last year with Store Bededag. E+26 = Apr 35 = May 5.
		{"2023-04-06", true, "Maundy Thursday"},
		{"2023-04-07", true, "Good Friday"},
		{"2023-04-09", true, "Easter Sunday"},
		{"2023-04-10", true, "Easter Monday"},
		{"2023-05-05", true, "Store Bededag 2023 (the last one)"},
		{"2023-05-04", false, "E+25"},
		{"2023-05-18", true, "Ascension E+39 = Apr 48 = May 18"},
		{"2023-05-28", true, "Whit Sunday"},
		{"2023-05-29", true, "Whit Monday"},

		// 2024: Easter 31 March. E+26 = Apr 26 (no longer a holiday); E+39 = May 9.
		{"2024-03-28", true, "Maundy Thursday"},
		{"2024-03-29", true, "Good Friday"},
		{"2024-03-31", true, "Easter Sunday"},
		{"2024-04-01", true, "Easter Monday"},
		{"2024-04-26", false, "E+26: Store Bededag abolished from 2024"},
		{"2024-05-09", true, "Ascension"},
		{"2024-05-19", true, "Whit Sunday"},
		{"2024-05-20", true, "Whit Monday"},

		// 2025: Easter 20 April. E+26 = May 16; E+39 = May 29; E+49 = Jun 8.
		{"2025-04-17", true, "Maundy Thursday"},
		{"2025-04-18", true, "Good Friday"},
		{"2025-04-20", true, "Easter Sunday"},
		{"2025-04-21", true, "Easter Monday"},
		{"2025-05-16", false, "E+26: no Store Bededag"},
		{"2025-05-29", true, "Ascension"},
		{"2025-06-08", true, "Whit Sunday"},
		{"2025-06-09", true, "Whit Monday"},

		// 2038: Easter 25 April (the latest possible). E+26 = May 21; E+39 = Jun 3; E+50 = Jun 14.
		{"2038-04-22", true, "Maundy Thursday"},
		{"2038-04-23", true, "Good Friday"},
		{"2038-04-25", true, "Easter Sunday"},
		{"2038-04-26", true, "Easter Monday"},
		{"2038-05-21", false, "E+26: no Store Bededag"},
		{"2038-06-03", true, "Ascension"},
		{"2038-06-13", true, "Whit Sunday"},
		{"2038-06-14", true, "Whit Monday (latest possible Easter-based holiday)"},
		{"2038-06-15", false, "E+51"},

		// 2008: Easter 23 March (early). E-3 = Mar 20.
		{"2008-03-20", true, "Maundy Thursday"},
		{"2008-03-21", true, "Good Friday"},
		{"2008-03-24", true, "Easter Monday"},
		{"2008-04-18", true, "Store Bededag: Mar 23 + 26 = Apr 18"},
		{"2008-05-01", true, "Ascension: Mar 23 + 39 = May 1"},
		{"2008-05-11", true, "Whit Sunday"},
		{"2008-05-12", true, "Whit Monday"},
	}
	checkHolidays(t, cases)
}

func TestDanishHolidaysFixed(t *testing.T) {
	t.Parallel()
	cases := []holidayCase{
		{"2016-01-01", true, "New Year's Day"},
		{"2024-01-01", true, "New Year's Day"},
		{"2016-01-02", false, "2 Jan"},
		{"2016-12-24", false, "Christmas Eve is an ordinary day"},
		{"2018-12-24", false, "Christmas Eve on a Monday"},
		{"2016-12-25", true, "Christmas Day"},
		{"2016-12-26", true, "Second Christmas Day"},
		{"2016-12-27", false, "27 Dec"},
		{"2016-12-31", false, "New Year's Eve is an ordinary day"},
		{"2018-12-31", false, "New Year's Eve on a Monday"},
		{"2016-06-05", false, "Constitution Day (5 June) is an ordinary day"},
		{"2019-06-05", false, "5 June on a Wednesday"},
		{"2016-05-01", false, "1 May is not in the list"},
		{"2016-02-29", false, "leap day"},
		{"2023-12-25", true, "Christmas Day after the 2024 reform too"},
	}
	checkHolidays(t, cases)
}

func checkHolidays(t *testing.T, cases []holidayCase) {
	t.Helper()
	var zero Calendar
	var nilCal *Calendar
	def := NewCalendar(nil, nil)
	for _, c := range cases {
		d := mustDate(t, c.d)
		if got := IsDanishHoliday(d); got != c.want {
			t.Errorf("IsDanishHoliday(%s) = %v, want %v (%s)", c.d, got, c.want, c.why)
		}
		for _, cal := range []*Calendar{&zero, nilCal, def} {
			if got := cal.IsHoliday(d); got != c.want {
				t.Errorf("IsHoliday(%s) = %v, want %v (%s)", c.d, got, c.want, c.why)
			}
			// A working day is Monday–Friday and not a holiday.
			want := d.Weekday() < 5 && !c.want
			if got := cal.IsWorkingDay(d); got != want {
				t.Errorf("IsWorkingDay(%s) = %v, want %v (%s)", c.d, got, want, c.why)
			}
		}
	}
}

func TestWorkingDays(t *testing.T) {
	t.Parallel()
	cases := []struct {
		d    string
		want bool
		why  string
	}{
		{"2016-01-04", true, "Monday"},
		{"2016-01-08", true, "Friday"},
		{"2016-01-09", false, "Saturday"},
		{"2016-01-10", false, "Sunday"},
		{"2016-03-24", false, "Maundy Thursday"},
		{"2016-04-22", false, "Store Bededag 2016 (Friday)"},
		{"2023-05-05", false, "Store Bededag 2023 (Friday)"},
		{"2024-04-26", true, "the Friday that was Store Bededag: a working day from 2024"},
		{"2025-05-16", true, "ditto 2025"},
		{"2038-05-21", true, "ditto 2038"},
		{"2018-12-24", true, "24 Dec, Monday"},
		{"2018-12-31", true, "31 Dec, Monday"},
		{"2019-06-05", true, "5 June, Wednesday"},
		{"2016-12-26", false, "26 Dec, Monday"},
		{"2018-01-01", false, "1 Jan, Monday"},
		{"2019-03-31", false, "DST Sunday"},
		{"2019-04-01", true, "Monday after the March DST change"},
		{"2019-10-27", false, "DST Sunday"},
		{"2019-10-28", true, "Monday after the October DST change"},
		{"2016-10-31", true, "Monday after the October 2016 DST change"},
	}
	cal := NewCalendar(nil, nil)
	for _, c := range cases {
		if got := cal.IsWorkingDay(mustDate(t, c.d)); got != c.want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v (%s)", c.d, got, c.want, c.why)
		}
	}
}

func TestConfiguredHolidays(t *testing.T) {
	t.Parallel()
	cal := NewCalendar(
		[]Date{mustDate(t, "2016-06-06"), mustDate(t, "2016-06-05"), mustDate(t, "2016-12-24"), mustDate(t, "2016-01-09")},
		[]Date{mustDate(t, "2016-03-25"), mustDate(t, "2016-03-27"), mustDate(t, "2016-06-01")},
	)
	cases := []struct {
		d            string
		holiday, wrk bool
		why          string
	}{
		{"2016-06-06", true, false, "extra holiday on a Monday: no longer a working day"},
		{"2016-06-05", true, false, "extra holiday on a Sunday (the config example)"},
		{"2016-12-24", true, false, "extra: 24 Dec 2016 is a Saturday anyway"},
		{"2016-01-09", true, false, "extra on a Saturday"},
		{"2016-03-25", false, true, "not_holidays removes Good Friday: a working Friday"},
		{"2016-03-24", true, false, "Maundy Thursday is still a holiday"},
		{"2016-03-27", false, false, "Easter Sunday removed, but still a Sunday"},
		{"2016-06-01", false, true, "removing a date that is no holiday changes nothing"},
		{"2017-03-25", false, false, "only the configured date, not the same day next year (a Saturday)"},
		{"2016-06-07", false, true, "the day after the extra holiday"},
		{"2017-06-06", false, true, "the extra date does not repeat yearly (Tuesday)"},
	}
	for _, c := range cases {
		d := mustDate(t, c.d)
		if got := cal.IsHoliday(d); got != c.holiday {
			t.Errorf("IsHoliday(%s) = %v, want %v (%s)", c.d, got, c.holiday, c.why)
		}
		if got := cal.IsWorkingDay(d); got != c.wrk {
			t.Errorf("IsWorkingDay(%s) = %v, want %v (%s)", c.d, got, c.wrk, c.why)
		}
	}
	// The Danish list itself is untouched by a calendar's configuration.
	if !IsDanishHoliday(mustDate(t, "2016-03-25")) {
		t.Error("IsDanishHoliday must ignore configuration")
	}
}

func TestNextPrevWorkingDay(t *testing.T) {
	t.Parallel()
	def := NewCalendar(nil, nil)
	cases := []struct {
		cal        *Calendar
		d          string
		next, prev string
		why        string
	}{
		{def, "2016-01-06", "2016-01-06", "2016-01-06", "a working day is its own next and previous"},
		{def, "2016-01-09", "2016-01-11", "2016-01-08", "Saturday → Mon / Fri"},
		{def, "2016-01-10", "2016-01-11", "2016-01-08", "Sunday → Mon / Fri"},
		// Easter 2016: Thu 24, Fri 25, Sat 26, Sun 27, Mon 28 are all off.
		{def, "2016-03-24", "2016-03-29", "2016-03-23", "Maundy Thursday: next Tue after Easter Monday"},
		{def, "2016-03-28", "2016-03-29", "2016-03-23", "Easter Monday"},
		// Easter 2025: Thu 17 – Mon 21 April.
		{def, "2025-04-18", "2025-04-22", "2025-04-16", "Good Friday 2025"},
		// Store Bededag 2023 (Fri 5 May) and its absence in 2024 (Fri 26 Apr).
		{def, "2023-05-05", "2023-05-08", "2023-05-04", "Store Bededag 2023"},
		{def, "2024-04-26", "2024-04-26", "2024-04-26", "E+26 in 2024 is a working Friday"},
		// Ascension 2023 (Thu 18 May): the Friday after is a working day.
		{def, "2023-05-18", "2023-05-19", "2023-05-17", "Ascension"},
		// Whitsun 2024: Sun 19, Mon 20 May.
		{def, "2024-05-19", "2024-05-21", "2024-05-17", "Whit Sunday"},
		{def, "2024-05-20", "2024-05-21", "2024-05-17", "Whit Monday"},
		// Christmas 2016: Sat 24 (ordinary but weekend), Sun 25, Mon 26.
		{def, "2016-12-25", "2016-12-27", "2016-12-23", "Christmas on a Sunday, 2nd day Monday"},
		{def, "2016-12-26", "2016-12-27", "2016-12-23", ""},
		// New Year: 2016-12-31 Sat, 2017-01-01 Sun → Mon 2 Jan.
		{def, "2016-12-31", "2017-01-02", "2016-12-30", "year wrap"},
		// 2018-01-01 Monday: previous is Fri 29 Dec 2017.
		{def, "2018-01-01", "2018-01-02", "2017-12-29", "New Year's Day on a Monday"},
		// DST Sundays.
		{def, "2019-03-31", "2019-04-01", "2019-03-29", "March DST Sunday"},
		{def, "2019-10-27", "2019-10-28", "2019-10-25", "October DST Sunday"},
		// Configured additions extend the run of days off.
		{NewCalendar([]Date{mustDate(t, "2016-03-23"), mustDate(t, "2016-03-29")}, nil),
			"2016-03-25", "2016-03-30", "2016-03-22", "extra holidays on both sides of Easter"},
		// Configured removals shorten it.
		{NewCalendar(nil, []Date{mustDate(t, "2016-03-28")}),
			"2016-03-25", "2016-03-28", "2016-03-23", "Easter Monday removed"},
		{nil, "2016-03-25", "2016-03-29", "2016-03-23", "nil calendar = plain Danish calendar"},
	}
	for _, c := range cases {
		d := mustDate(t, c.d)
		if got := c.cal.NextWorkingDay(d).String(); got != c.next {
			t.Errorf("NextWorkingDay(%s) = %s, want %s (%s)", c.d, got, c.next, c.why)
		}
		if got := c.cal.PrevWorkingDay(d).String(); got != c.prev {
			t.Errorf("PrevWorkingDay(%s) = %s, want %s (%s)", c.d, got, c.prev, c.why)
		}
	}
}

// TestWorkingDayBits: the cached bits say what the rules say, for every day
// of the cached range and beyond its ends, with configured changes, for the
// zero Calendar and for nil.
func TestWorkingDayBits(t *testing.T) {
	t.Parallel()
	cals := map[string]*Calendar{
		"configured": NewCalendar([]Date{MkDate(2016, 6, 6), MkDate(1900, 1, 2)}, []Date{MkDate(2016, 12, 26), MkDate(2100, 1, 1)}),
		"zero":       {},
		"nil":        nil,
	}
	for name, c := range cals {
		for d := workFrom - 10; d < workFrom+workBlocks*workBlock+10; d++ {
			if got, want := c.IsWorkingDay(d), c.isWorkingDay(d); got != want {
				t.Fatalf("%s: IsWorkingDay(%v) = %v, the rules say %v", name, d, got, want)
			}
		}
	}
	if c := cals["configured"]; c.IsWorkingDay(MkDate(2016, 6, 6)) || !c.IsWorkingDay(MkDate(2016, 12, 26)) {
		t.Error("the configured changes are not in the bits")
	}
}
