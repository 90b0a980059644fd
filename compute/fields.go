package compute

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// Checks and messages of single fields, shared by the row parser (parse.go).

// validID reports whether b is an id: 1–40 of A–Z, a–z, 0–9, _ and -.
func validID(b []byte) bool {
	_, ok := hashID(b)
	return ok
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func allUpperDigits(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func dateProblem(b []byte) string {
	if len(b) == 0 {
		return "is empty; a date YYYY-MM-DD is required"
	}
	if len(b) == 10 && b[4] == '-' && b[7] == '-' && allDigits(b[:4]) && allDigits(b[5:7]) && allDigits(b[8:]) {
		// Safe to show: eight digits and two dashes cannot hold a CPR number.
		return "the date " + string(b) + " does not exist"
	}
	return "must be a date YYYY-MM-DD"
}

const hoursRule = "hours per week, > 0 and ≤ 37 with at most 2 decimals (e.g. 37, 18,5 or 18.50)"

// hoursProblem says why parseHours rejected b.
func hoursProblem(b []byte) string {
	if len(b) == 0 {
		return "is empty; a LEDIG row must give " + hoursRule
	}
	intPart, frac := b, []byte(nil)
	if i := bytes.IndexAny(b, ",."); i >= 0 {
		intPart, frac = b[:i], b[i+1:]
	}
	if len(intPart) == 0 || !allDigits(intPart) || !allDigits(frac) || frac != nil && len(frac) == 0 {
		return "is not a number; must be " + hoursRule
	}
	// A number short enough to show cannot hold a CPR number.
	shown := "the value"
	if len(b) <= 8 {
		shown = string(b)
	}
	if len(frac) > 2 {
		return shown + " has more than 2 decimals; must be " + hoursRule
	}
	return shown + " is out of range; must be " + hoursRule
}

// parseHours parses LEDIG hours per week into centi-hours: > 0 and ≤ 37, at
// most 2 decimals, decimal comma or point.
func parseHours(b []byte) (int64, bool) {
	intPart, frac := b, []byte(nil)
	if i := decimalMark(b); i >= 0 {
		intPart, frac = b[:i], b[i+1:]
		if len(frac) < 1 || len(frac) > 2 {
			return 0, false
		}
	}
	if len(intPart) < 1 || len(intPart) > 2 {
		return 0, false
	}
	n, ok := parseDigits(intPart)
	if !ok {
		return 0, false
	}
	c := int64(n) * 100
	if len(frac) > 0 {
		f, ok := parseDigits(frac)
		if !ok {
			return 0, false
		}
		if len(frac) == 1 {
			f *= 10
		}
		c += int64(f)
	}
	return c, c > 0 && c <= 3700
}

// decimalMark is the index of the first ',' or '.' in b, or -1.
func decimalMark(b []byte) int {
	for i, c := range b {
		if c == ',' || c == '.' {
			return i
		}
	}
	return -1
}

// safeQuote quotes a short value for an error message, unless it could be
// personal data: anything with a digit, or longer than 20 bytes, is described
// instead of shown, so no CPR number can reach a message.
func safeQuote(b []byte) string {
	if len(b) > 20 || !utf8.Valid(b) {
		return "(a value of " + strconv.Itoa(len(b)) + " bytes)"
	}
	for _, c := range b {
		if c >= '0' && c <= '9' {
			return "(a value with digits, not shown)"
		}
	}
	return strconv.Quote(string(b))
}
