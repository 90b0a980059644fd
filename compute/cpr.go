package compute

// BirthDate returns the birth date encoded in a 10-digit CPR number by the
// century rules of SPEC §2.2. ok is false when cpr is not 10 digits or the
// date does not exist. The number itself never appears in an error.
func BirthDate(cpr []byte) (birth Date, ok bool) {
	if len(cpr) != 10 {
		return 0, false
	}
	for _, c := range cpr {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	dd := int(cpr[0]-'0')*10 + int(cpr[1]-'0')
	mm := int(cpr[2]-'0')*10 + int(cpr[3]-'0')
	yy := int(cpr[4]-'0')*10 + int(cpr[5]-'0')
	var century int
	switch s := cpr[6] - '0'; {
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
