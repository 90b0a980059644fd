package noonzone

import (
	"testing"
	"time"
)

// TestNoonAtEveryHour: at every minute of a day the zone puts the local time
// between 12:00 and 13:00, so more than ten hours from 23:58.
func TestNoonAtEveryHour(t *testing.T) {
	start := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	for m := 0; m < 24*60; m++ {
		now := start.Add(time.Duration(m) * time.Minute)
		loc, err := At(now)
		if err != nil {
			t.Fatalf("%s: %v", now.Format("15:04"), err)
		}
		if h := now.In(loc).Hour(); h != 12 {
			t.Fatalf("%s UTC is %s in %s; want 12:xx", now.Format("15:04"), now.In(loc).Format("15:04"), loc)
		}
	}
}
