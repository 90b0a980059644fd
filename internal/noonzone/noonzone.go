// Package noonzone gives the end-to-end tests a time zone under which it is
// about noon: their daemons read the real clock, and a configuration in that
// zone keeps the 23:58 deadline of all-day windows and midnight (a new
// delivery day) hours away, whatever the time of day the tests run at. It is
// for tests only; what the schedule does at any hour and across summer time
// is tested with a fake clock.
package noonzone

import (
	"fmt"
	"time"
	_ "time/tzdata" // the Etc/GMT zones without relying on the host's zoneinfo
)

// Name is the fixed UTC offset "Etc/GMT±N" (IANA names, POSIX sign:
// "Etc/GMT-2" is UTC+2) under which now falls between 12:00 and 13:00.
func Name(now time.Time) string {
	off := 12 - now.UTC().Hour() // -11 … +12 hours, all of them IANA zones
	switch {
	case off > 0:
		return fmt.Sprintf("Etc/GMT-%d", off)
	case off < 0:
		return fmt.Sprintf("Etc/GMT+%d", -off)
	}
	return "Etc/GMT"
}

// At is the zone Name names.
func At(now time.Time) (*time.Location, error) {
	return time.LoadLocation(Name(now))
}
