package compute

import (
	"fmt"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Copenhagen for the DST check, also where the OS has no zoneinfo
)

// mustDate parses YYYY-MM-DD for tests; "" is NoDate.
func mustDate(t testing.TB, s string) Date {
	t.Helper()
	if s == "" {
		return NoDate
	}
	d, ok := ParseDate([]byte(s))
	if !ok {
		t.Fatalf("bad test date %q", s)
	}
	return d
}

func TestMkDateEpoch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		y, m, d int
		want    Date
		why     string
	}{
		{1970, 1, 1, 0, "the epoch"},
		{1969, 12, 31, -1, "the day before the epoch"},
		{1970, 12, 31, 364, "1970 has 365 days: Dec 31 is day 364"},
		{1971, 1, 1, 365, "1970 is not a leap year"},
		{1973, 1, 1, 365 + 365 + 366, "1972 is a leap year: 365+365+366 = 1096"},
		// 30 years × 365 = 10950, plus leap days 1972,76,80,84,88,92,96 = 7.
		{2000, 1, 1, 10957, "30·365 + 7"},
		// 46 years × 365 = 16790, plus 11 leap days (1972…2012) = 16801; Jan 4 = +3.
		{2016, 1, 4, 16804, "46·365 + 11 + 3"},
		// 2016-01-01 + 31 (Jan) + 28 = 2016-02-29 → 16801 + 59.
		{2016, 2, 29, 16860, "16801 + 31 + 28"},
		{2016, 3, 1, 16861, "the day after 29 Feb"},
		// 1900..1969 = 70 years, leap days 1904…1968 = 17 (1900 is not one): 70·365 + 17 = 25567.
		{1900, 1, 1, -25567, "70·365 + 17 days before the epoch"},
	}
	for _, c := range cases {
		if got := MkDate(c.y, c.m, c.d); got != c.want {
			t.Errorf("MkDate(%d,%d,%d) = %d, want %d (%s)", c.y, c.m, c.d, got, c.want, c.why)
		}
		y, m, d := c.want.YMD()
		if y != c.y || m != c.m || d != c.d {
			t.Errorf("Date(%d).YMD() = %d-%d-%d, want %d-%d-%d", c.want, y, m, d, c.y, c.m, c.d)
		}
	}
}

func TestYMDRoundTrip(t *testing.T) {
	t.Parallel()
	// Every day from 1850 to 2150 must round-trip and be one after the previous.
	prev := MkDate(1849, 12, 31)
	for y := 1850; y <= 2150; y++ {
		for m := 1; m <= 12; m++ {
			for d := 1; d <= DaysIn(y, m); d++ {
				dt := MkDate(y, m, d)
				if dt != prev+1 {
					t.Fatalf("MkDate(%d,%d,%d) = %d, want %d", y, m, d, dt, prev+1)
				}
				gy, gm, gd := dt.YMD()
				if gy != y || gm != m || gd != d {
					t.Fatalf("YMD(%d) = %d-%d-%d, want %d-%d-%d", dt, gy, gm, gd, y, m, d)
				}
				prev = dt
			}
		}
	}
}

func TestIsLeapDaysIn(t *testing.T) {
	t.Parallel()
	leap := map[int]bool{1900: false, 2000: true, 2100: false, 2016: true, 2015: false, 2024: true, 2036: true, 1858: false, 2056: true}
	for y, want := range leap {
		if IsLeap(y) != want {
			t.Errorf("IsLeap(%d) = %v, want %v", y, !want, want)
		}
	}
	days := []struct{ y, m, n int }{
		{2016, 2, 29}, {2015, 2, 28}, {1900, 2, 28}, {2000, 2, 29}, {2016, 1, 31},
		{2016, 4, 30}, {2016, 6, 30}, {2016, 9, 30}, {2016, 11, 30}, {2016, 12, 31}, {2016, 7, 31}, {2016, 8, 31},
	}
	for _, c := range days {
		if got := DaysIn(c.y, c.m); got != c.n {
			t.Errorf("DaysIn(%d,%d) = %d, want %d", c.y, c.m, got, c.n)
		}
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in string
		ok bool
		y  int
		m  int
		d  int
	}{
		{"2016-01-04", true, 2016, 1, 4},
		{"2016-02-29", true, 2016, 2, 29}, // 2016 is a leap year
		{"2000-02-29", true, 2000, 2, 29}, // divisible by 400
		{"2015-02-29", false, 0, 0, 0},    // not a leap year
		{"1900-02-29", false, 0, 0, 0},    // divisible by 100, not 400
		{"2100-02-29", false, 0, 0, 0},
		{"2016-04-31", false, 0, 0, 0}, // April has 30 days
		{"2016-06-31", false, 0, 0, 0},
		{"2016-09-31", false, 0, 0, 0},
		{"2016-11-31", false, 0, 0, 0},
		{"2016-12-31", true, 2016, 12, 31},
		{"2016-13-01", false, 0, 0, 0},
		{"2016-00-10", false, 0, 0, 0},
		{"2016-01-00", false, 0, 0, 0},
		{"2016-01-32", false, 0, 0, 0},
		{"0000-01-01", false, 0, 0, 0}, // there is no year 0
		{"9999-12-31", true, 9999, 12, 31},
		{"16-01-04", false, 0, 0, 0},
		{"2016-1-04", false, 0, 0, 0},
		{"2016-01-4", false, 0, 0, 0},
		{"2016/01/04", false, 0, 0, 0},
		{"20160104", false, 0, 0, 0},
		{"2016-01-04 ", false, 0, 0, 0},
		{" 2016-01-04", false, 0, 0, 0},
		{"2016-0a-04", false, 0, 0, 0},
		{"+016-01-04", false, 0, 0, 0},
		{"", false, 0, 0, 0},
	}
	for _, c := range cases {
		got, ok := ParseDate([]byte(c.in))
		if ok != c.ok {
			t.Errorf("ParseDate(%q) ok = %v, want %v", c.in, ok, c.ok)
			continue
		}
		if ok && got != MkDate(c.y, c.m, c.d) {
			t.Errorf("ParseDate(%q) = %s", c.in, got)
		}
		if ok && got.String() != c.in {
			t.Errorf("ParseDate(%q).String() = %q", c.in, got.String())
		}
	}
	for _, c := range []struct {
		in string
		ok bool
	}{{"20160124", true}, {"20160229", true}, {"20150229", false}, {"2016012", false}, {"2016-01-", false}} {
		d, ok := ParseCompactDate(c.in)
		if ok != c.ok {
			t.Errorf("ParseCompactDate(%q) ok = %v", c.in, ok)
		}
		if ok && d.Compact() != c.in {
			t.Errorf("ParseCompactDate(%q).Compact() = %q", c.in, d.Compact())
		}
	}
}

func TestFormatDate(t *testing.T) {
	t.Parallel()
	if s := NoDate.String(); s != "" {
		t.Errorf("NoDate.String() = %q, want empty", s)
	}
	if b := AppendDate([]byte("x;"), NoDate); string(b) != "x;" {
		t.Errorf("AppendDate(NoDate) = %q", b)
	}
	if s := MkDate(2016, 1, 4).String(); s != "2016-01-04" {
		t.Errorf("String = %q", s)
	}
	if s := MkDate(987, 3, 9).String(); s != "0987-03-09" {
		t.Errorf("String = %q (zero padding)", s)
	}
	if s := MkDate(2016, 1, 24).Compact(); s != "20160124" {
		t.Errorf("Compact = %q", s)
	}
}

func TestAddMonths(t *testing.T) {
	t.Parallel()
	cases := []struct {
		from string
		k    int
		want string
		why  string
	}{
		{"2016-01-31", 1, "2016-02-29", "docs/rules.md#month-arithmetic example: clamp to Feb 29 of a leap year"},
		{"2015-01-31", 1, "2015-02-28", "clamp to Feb 28 of a common year"},
		{"2000-01-31", 1, "2000-02-29", "2000 is a leap year (÷400)"},
		{"2100-01-31", 1, "2100-02-28", "2100 is not (÷100)"},
		{"2016-01-30", 1, "2016-02-29", "30 > 29 clamps too"},
		{"2016-01-29", 1, "2016-02-29", "29 fits"},
		{"2016-01-28", 1, "2016-02-28", "28 fits"},
		{"2016-01-31", 2, "2016-03-31", "March has 31: no clamp (not Feb 29 + 1 month)"},
		{"2016-01-31", 3, "2016-04-30", "April has 30"},
		{"2015-11-30", 3, "2016-02-29", "year wrap into a leap February"},
		{"2016-11-30", 3, "2017-02-28", "year wrap into a common February"},
		{"2016-12-15", 1, "2017-01-15", "Dec → Jan wraps the year"},
		{"2016-12-31", 1, "2017-01-31", "Dec 31 → Jan 31"},
		{"2016-12-31", 2, "2017-02-28", "Dec 31 + 2 → Feb 28 2017"},
		{"2016-10-31", 3, "2017-01-31", "Oct 31 + 3 = Jan 31"},
		{"2016-08-31", 1, "2016-09-30", "Aug 31 → Sep 30"},
		{"2016-05-31", 1, "2016-06-30", "May 31 → Jun 30"},
		{"2016-02-29", 12, "2017-02-28", "leap day + 1 year clamps"},
		{"2016-02-29", 48, "2020-02-29", "leap day + 4 years is a leap day again"},
		{"2016-02-29", 1, "2016-03-29", "keeps the day 29"},
		{"2016-01-15", 0, "2016-01-15", "k = 0"},
		{"2016-01-15", 3, "2016-04-15", "plain + 3"},
		{"2016-01-15", 120, "2026-01-15", "+ 10 years"},
		{"2016-01-15", -1, "2015-12-15", "negative: Jan → Dec of the previous year"},
		{"2016-03-31", -1, "2016-02-29", "negative with clamp, leap"},
		{"2017-03-31", -1, "2017-02-28", "negative with clamp, common"},
		{"2016-10-31", -1, "2016-09-30", "negative with clamp to 30"},
		{"2016-05-31", -3, "2016-02-29", "-3 with clamp"},
		{"2016-02-29", -12, "2015-02-28", "-1 year from a leap day"},
		{"2016-01-31", -13, "2014-12-31", "-13 months"},
		{"2016-01-01", -1, "2015-12-01", "-1 from Jan 1"},
	}
	for _, c := range cases {
		got := mustDate(t, c.from).AddMonths(c.k)
		if got.String() != c.want {
			t.Errorf("%s + %d months = %s, want %s (%s)", c.from, c.k, got, c.want, c.why)
		}
	}
	if NoDate.AddMonths(1) != NoDate || NoDate.AddMonths(-1) != NoDate {
		t.Error("NoDate + months must stay NoDate")
	}
}

func TestAddDays(t *testing.T) {
	t.Parallel()
	cases := []struct {
		from string
		k    int
		want string
	}{
		{"2016-01-04", 7, "2016-01-11"},
		{"2016-01-04", 41, "2016-02-14"},   // 27 to Jan 31, +14
		{"2016-01-04", 90, "2016-04-03"},   // 27 + 29 + 31 + 3
		{"2016-02-28", 1, "2016-02-29"},    // leap
		{"2015-02-28", 1, "2015-03-01"},    // common
		{"2016-12-31", 1, "2017-01-01"},    // year wrap
		{"2016-01-01", -1, "2015-12-31"},   // backwards
		{"2016-04-04", 3650, "2026-04-02"}, // 10 years = 3652 days here (Feb 29 2020 and 2024): −2
	}
	for _, c := range cases {
		if got := mustDate(t, c.from).AddDays(c.k); got.String() != c.want {
			t.Errorf("%s + %d days = %s, want %s", c.from, c.k, got, c.want)
		}
	}
	if NoDate.AddDays(7) != NoDate {
		t.Error("NoDate + days must stay NoDate")
	}
}

func TestWeekday(t *testing.T) {
	t.Parallel()
	// 0 = Monday … 6 = Sunday.
	cases := []struct {
		d    string
		want int
	}{
		{"1970-01-01", 3}, // a Thursday
		{"1969-12-31", 2}, // Wednesday: negative day numbers
		{"1900-01-01", 0}, // a Monday
		{"2000-01-01", 5}, // Saturday
		{"2016-01-04", 0}, // Monday
		{"2016-01-20", 2}, // Wednesday (the basic example's A)
		{"2016-01-24", 6}, // Sunday
		{"2016-02-14", 6},
		{"2016-02-29", 0},
		{"2024-02-29", 3},
		{"2016-12-25", 6},
		{"2018-12-24", 0},
		{"2018-01-01", 0},
		{"2026-04-02", 3},
		// DST change days are ordinary Sundays here.
		{"2016-03-27", 6}, {"2016-10-30", 6}, {"2019-03-31", 6}, {"2019-10-27", 6},
		{"2019-04-01", 0}, {"2019-10-28", 0},
	}
	for _, c := range cases {
		if got := mustDate(t, c.d).Weekday(); got != c.want {
			t.Errorf("Weekday(%s) = %d, want %d", c.d, got, c.want)
		}
	}
}

func TestISOWeek(t *testing.T) {
	t.Parallel()
	cases := []struct {
		d          string
		year, week int
	}{
		{"2016-01-24", 2016, 3},  // Sunday of W03 (basic example)
		{"2016-01-18", 2016, 3},  // Monday of W03
		{"2016-01-04", 2016, 1},  // first Monday of 2016 is W01
		{"2016-01-03", 2015, 53}, // Sunday before it: last week of 2015 (2015 has 53 weeks)
		{"2016-01-01", 2015, 53}, // Friday
		{"2014-12-29", 2015, 1},  // Monday in the week of Thu 2015-01-01
		{"2018-12-31", 2019, 1},  // Monday, week of Tue 2019-01-01
		{"2019-12-30", 2020, 1},  // Monday, week of Wed 2020-01-01
		{"2020-12-31", 2020, 53}, // Thursday; 2020 has 53 weeks
		{"2021-01-03", 2020, 53}, // Sunday
		{"2021-01-04", 2021, 1},
		{"2026-12-31", 2026, 53}, // 2026 starts on a Thursday
		{"2016-12-31", 2016, 52},
		{"2016-03-27", 2016, 12}, // DST Sunday: Mon Mar 21 … Sun Mar 27 is W12
		{"2016-03-28", 2016, 13},
	}
	for _, c := range cases {
		y, w := mustDate(t, c.d).ISOWeek()
		if y != c.year || w != c.week {
			t.Errorf("ISOWeek(%s) = %d-W%02d, want %d-W%02d", c.d, y, w, c.year, c.week)
		}
	}
}

// TestDSTIrrelevant checks that the day arithmetic agrees with the calendar
// days of Europe/Copenhagen across the DST changes (last Sunday of March and
// October): a 23- or 25-hour day is still exactly one day.
func TestDSTIrrelevant(t *testing.T) {
	t.Parallel()
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Skip("no tz data:", err)
	}
	for _, s := range []string{"2016-03-26", "2016-03-27", "2016-10-29", "2016-10-30", "2019-03-30", "2019-03-31", "2019-10-26", "2019-10-27", "2025-03-30", "2025-10-26"} {
		d := mustDate(t, s)
		y, m, day := d.YMD()
		tt := time.Date(y, time.Month(m), day, 0, 0, 0, 0, loc)
		next := tt.AddDate(0, 0, 1)
		if got := (d + 1).String(); got != next.Format("2006-01-02") {
			t.Errorf("%s + 1 = %s, want %s", s, got, next.Format("2006-01-02"))
		}
		if wd := (int(tt.Weekday()) + 6) % 7; d.Weekday() != wd {
			t.Errorf("Weekday(%s) = %d, want %d", s, d.Weekday(), wd)
		}
	}
	// Last Sunday of March 2019 (Mar 31) to the Monday after the October change (Oct 28):
	// Mar 31 → Oct 28 = 0 (Mar) + 30 + 31 + 30 + 31 + 31 + 30 + 28 = 211 days.
	if n := mustDate(t, "2019-10-28") - mustDate(t, "2019-03-31"); n != 211 {
		t.Errorf("2019-03-31 → 2019-10-28 = %d days, want 211", n)
	}
}

// TestAppendDateEveryDay: AppendDate (a table of months) prints every day
// in and around the table's years as YMD says, and the years far outside.
func TestAppendDateEveryDay(t *testing.T) {
	t.Parallel()
	check := func(d Date) {
		y, m, day := d.YMD()
		if got, want := string(AppendDate(nil, d)), fmt.Sprintf("%04d-%02d-%02d", y, m, day); got != want {
			t.Fatalf("AppendDate(%d) = %s, want %s", d, got, want)
		}
	}
	for d := MkDate(monthTableFrom-1, 11, 1); d < MkDate(monthTableTo+1, 2, 1); d++ {
		check(d)
	}
	for _, d := range []Date{MkDate(1, 1, 1), MkDate(999, 12, 31), MkDate(9999, 12, 31)} {
		check(d)
	}
}
