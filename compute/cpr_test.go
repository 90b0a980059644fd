package compute

import "testing"

func TestBirthDateCentury(t *testing.T) {
	t.Parallel()
	// docs/rules.md#cpr-and-age: 7th digit 0–3 → 19YY; 4 or 9 → 20YY if YY ≤ 36 else 19YY;
	// 5–8 → 20YY if YY ≤ 57 else 18YY. DDMM = 0101 throughout.
	cases := []struct {
		cpr  string
		want string
	}{
		// 0–3: always 19YY.
		{"0101000000", "1900-01-01"}, {"0101990000", "1999-01-01"},
		{"0101361000", "1936-01-01"}, {"0101372000", "1937-01-01"},
		{"0101573000", "1957-01-01"}, {"0101583000", "1958-01-01"},
		{"0101001000", "1900-01-01"}, {"0101002000", "1900-01-01"}, {"0101003000", "1900-01-01"},
		// 4: boundary 36/37.
		{"0101364000", "2036-01-01"}, {"0101374000", "1937-01-01"},
		{"0101004000", "2000-01-01"}, {"0101994000", "1999-01-01"},
		{"0101574000", "1957-01-01"}, {"0101584000", "1958-01-01"},
		// 9: the same as 4.
		{"0101369000", "2036-01-01"}, {"0101379000", "1937-01-01"},
		{"0101009000", "2000-01-01"}, {"0101999000", "1999-01-01"},
		// 5–8: boundary 57/58; 58–99 are 18YY.
		{"0101575000", "2057-01-01"}, {"0101585000", "1858-01-01"},
		{"0101576000", "2057-01-01"}, {"0101586000", "1858-01-01"},
		{"0101577000", "2057-01-01"}, {"0101587000", "1858-01-01"},
		{"0101578000", "2057-01-01"}, {"0101588000", "1858-01-01"},
		{"0101005000", "2000-01-01"}, {"0101995000", "1899-01-01"},
		{"0101368000", "2036-01-01"}, {"0101378000", "2037-01-01"}, // 37 ≤ 57: 20YY for 5–8
		// The remaining digits do not matter.
		{"3112999999", "1999-12-31"}, {"3112009999", "2000-12-31"},
		// Real-looking numbers from the basic example.
		{"1212851234", "1985-12-12"}, {"1507904567", "1990-07-15"}, {"0101005001", "2000-01-01"},
	}
	for _, c := range cases {
		got, ok := BirthDate([]byte(c.cpr))
		if !ok {
			t.Errorf("BirthDate(%s) not ok, want %s", c.cpr, c.want)
			continue
		}
		if got.String() != c.want {
			t.Errorf("BirthDate(%s) = %s, want %s", c.cpr, got, c.want)
		}
	}
}

func TestBirthDateInvalid(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cpr, why string
	}{
		{"3102991234", "31 Feb"},
		{"3002961234", "30 Feb, even in a leap year"},
		{"2902011234", "29 Feb 1901: not a leap year"},
		{"2902014234", "29 Feb 2001: not a leap year"},
		{"2902000234", "29 Feb 1900 (digit 0 → 19YY): 1900 is not a leap year"},
		{"2902581234", "29 Feb 1958"},
		{"2902585234", "29 Feb 1858 (digit 5, YY 58 → 18YY)"},
		{"2902374234", "29 Feb 1937 (digit 4, YY 37 → 19YY)"},
		{"3104901234", "31 April"},
		{"3106901234", "31 June"},
		{"3109901234", "31 September"},
		{"3111901234", "31 November"},
		{"0013901234", "month 13"},
		{"0100901234", "month 0"},
		{"0001901234", "day 0"},
		{"3201901234", "day 32"},
		{"0000000000", "all zero"},
		{"010190123", "9 digits"},
		{"01019012345", "11 digits"},
		{"010190123A", "a letter"},
		{"0101-01234", "a dash"},
		{"", "empty"},
	}
	for _, c := range cases {
		if d, ok := BirthDate([]byte(c.cpr)); ok {
			t.Errorf("BirthDate(%q) = %s, want invalid (%s)", c.cpr, d, c.why)
		}
	}
	// The leap-day counterparts that do exist.
	valid := map[string]string{
		"2902004234": "2000-02-29", // digit 4, YY 00 → 2000, divisible by 400
		"2902005234": "2000-02-29", // digit 5 → 2000
		"2902969234": "1996-02-29", // digit 9, YY 96 > 36 → 1996
		"2902364234": "2036-02-29", // 2036 is a leap year
		"2902565234": "2056-02-29",
		"2902881234": "1988-02-29",
		"2902925234": "1892-02-29", // digit 5, YY 92 → 1892, a leap year
	}
	for cpr, want := range valid {
		if d, ok := BirthDate([]byte(cpr)); !ok || d.String() != want {
			t.Errorf("BirthDate(%s) = %s, %v; want %s", cpr, d, ok, want)
		}
	}
}

func TestBirthday(t *testing.T) {
	t.Parallel()
	cases := []struct {
		birth string
		age   int
		want  string
	}{
		{"2000-02-29", 1, "2001-03-01"},   // 2001 is not a leap year: 1 March
		{"2000-02-29", 4, "2004-02-29"},   // 2004 is
		{"2000-02-29", 100, "2100-03-01"}, // 2100 is not
		{"2000-02-29", 0, "2000-02-29"},
		{"1988-02-29", 30, "2018-03-01"},
		{"1988-02-29", 32, "2020-02-29"},
		{"1986-04-03", 30, "2016-04-03"},
		{"1966-04-04", 50, "2016-04-04"},
		{"1999-12-31", 17, "2016-12-31"},
		{"2000-02-28", 1, "2001-02-28"}, // 28 Feb is an ordinary birthday
		{"2000-03-01", 1, "2001-03-01"},
	}
	for _, c := range cases {
		if got := Birthday(mustDate(t, c.birth), c.age); got.String() != c.want {
			t.Errorf("Birthday(%s, %d) = %s, want %s", c.birth, c.age, got, c.want)
		}
	}
}

func TestAge(t *testing.T) {
	t.Parallel()
	cases := []struct {
		birth, on string
		want      int
		why       string
	}{
		{"2000-02-29", "2000-02-29", 0, "born today"},
		{"2000-02-29", "2001-02-28", 0, "non-leap year: the birthday is 1 March, so still 0 on 28 Feb"},
		{"2000-02-29", "2001-03-01", 1, "non-leap year: 1 on 1 March"},
		{"2000-02-29", "2003-02-28", 2, ""},
		{"2000-02-29", "2003-03-01", 3, ""},
		{"2000-02-29", "2004-02-28", 3, "leap year: the birthday is 29 Feb, so 3 on the 28th"},
		{"2000-02-29", "2004-02-29", 4, "leap year: 4 on 29 Feb"},
		{"2000-02-29", "2004-03-01", 4, ""},
		{"2000-02-29", "2100-02-28", 99, "2100 is not a leap year"},
		{"2000-02-29", "2100-03-01", 100, ""},
		{"1988-02-29", "2018-02-28", 29, "the 30th birthday is 2018-03-01"},
		{"1988-02-29", "2018-03-01", 30, ""},
		{"1986-04-03", "2016-04-02", 29, "day before the 30th birthday"},
		{"1986-04-03", "2016-04-03", 30, "on the birthday"},
		{"1986-04-03", "2016-04-04", 30, "day after"},
		{"1966-04-04", "2016-04-03", 49, "day before the 50th"},
		{"1966-04-04", "2016-04-04", 50, "on the 50th"},
		{"1990-12-31", "2016-12-30", 25, ""},
		{"1990-12-31", "2016-12-31", 26, ""},
		{"1990-12-31", "2017-01-01", 26, "year changed, birthday not yet"},
		{"1990-01-01", "2015-12-31", 25, ""},
		{"1990-01-01", "2016-01-01", 26, ""},
		{"2000-03-01", "2001-02-28", 0, ""},
		{"2000-03-01", "2001-03-01", 1, ""},
		{"1858-01-01", "2016-01-20", 158, "18YY births from 7th digit 5–8"},
	}
	for _, c := range cases {
		if got := Age(mustDate(t, c.birth), mustDate(t, c.on)); got != c.want {
			t.Errorf("Age(born %s, on %s) = %d, want %d (%s)", c.birth, c.on, got, c.want, c.why)
		}
	}
}

// birthDateRef is BirthDate a byte at a time, as docs/rules.md#cpr-and-age says it.
func birthDateRef(cpr []byte) (Date, bool) {
	if len(cpr) != 10 {
		return 0, false
	}
	for _, c := range cpr {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	d := func(i int) int { return int(cpr[i] - '0') }
	dd, mm, yy, s := d(0)*10+d(1), d(2)*10+d(3), d(4)*10+d(5), d(6)
	century := 1900
	switch {
	case (s == 4 || s == 9) && yy <= 36, s >= 5 && s <= 8 && yy <= 57:
		century = 2000
	case s >= 5 && s <= 8:
		century = 1800
	}
	if !ValidDate(century+yy, mm, dd) {
		return 0, false
	}
	return MkDate(century+yy, mm, dd), true
}

// TestBirthDateRef: BirthDate (eight bytes at a time) agrees with the
// plain reference on every day, month, year and century digit, and on
// numbers with a byte that is not a digit in any place.
func TestBirthDateRef(t *testing.T) {
	t.Parallel()
	check := func(cpr []byte) {
		d, ok := BirthDate(cpr)
		rd, rok := birthDateRef(cpr)
		if ok != rok || ok && d != rd {
			t.Fatalf("BirthDate(%q) = %v %v, reference %v %v", cpr, d, ok, rd, rok)
		}
	}
	cpr := []byte("0000000123")
	for n := range 10000000 {
		for i, k := 6, n; i >= 0; i, k = i-1, k/10 {
			cpr[i] = byte('0' + k%10)
		}
		check(cpr)
	}
	for place := range 10 {
		for c := range 256 {
			b := []byte("2902964123")
			b[place] = byte(c)
			check(b)
		}
	}
}
