// Package schedule knows the delivery days and windows of docs/vendors.md#schedule-and-delivery-days:
// when each (product, delivery day) is released, due and cut off, and what
// outcome a publication time gives. All arithmetic is on calendar fields in
// the configured zone (time.Date), never by adding hours; time/tzdata is
// embedded so the zone never depends on the host.
package schedule

import (
	"fmt"
	"time"
	_ "time/tzdata" // Europe/Copenhagen without relying on the host's zoneinfo

	"leverance/compute"
	"leverance/config"
)

// Outcomes of a slot (docs/vendors.md#schedule-and-delivery-days).
const (
	Rettidig  = "rettidig"  // published within [release, deadline]
	Forsinket = "forsinket" // published after the deadline, before the cutoff
	Udeladt   = "udeladt"   // not published by the cutoff
)

// Window is a product's daily window in minutes after local midnight.
type Window struct {
	Release, Deadline int
	Cutoff            int // -1: none
}

// Schedule knows the delivery days and windows (docs/rules.md#calendar, docs/vendors.md#schedule-and-delivery-days). All
// arithmetic is on calendar fields in the configured zone: a window's
// instants are made with time.Date, never by adding hours.
type Schedule struct {
	Loc     *time.Location
	Cal     *compute.Calendar
	AllDays bool // delivery_days = "all-days"
	Windows [compute.NumProducts]Window
}

// New builds the schedule of a validated configuration.
func New(c *config.Config) (*Schedule, error) {
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err)
	}
	s := &Schedule{Loc: loc, Cal: c.ComputeCalendar(), AllDays: c.Calendar.DeliveryDays == "all-days"}
	for _, p := range compute.Products() {
		w := c.Product[p.String()]
		r, _ := config.Minutes(w.Release)
		d, _ := config.Minutes(w.Deadline)
		co := -1
		if w.Cutoff != nil && *w.Cutoff != "" {
			co, _ = config.Minutes(*w.Cutoff)
		}
		s.Windows[p] = Window{Release: r, Deadline: d, Cutoff: co}
	}
	return s, nil
}

// Day returns the local calendar day of t.
func (s *Schedule) Day(t time.Time) compute.Date {
	y, m, d := t.In(s.Loc).Date()
	return compute.MkDate(y, int(m), d)
}

// At returns the instant of local clock time minutes on day d.
func (s *Schedule) At(d compute.Date, minutes int) time.Time {
	y, m, day := d.YMD()
	return time.Date(y, time.Month(m), day, minutes/60, minutes%60, 0, 0, s.Loc)
}

// IsDeliveryDay reports whether product p is delivered on day d: the weekly
// update every Monday, holiday or not; the daily products on delivery days.
func (s *Schedule) IsDeliveryDay(p compute.Product, d compute.Date) bool {
	if p == compute.Ugeopdatering {
		return d.Weekday() == 0
	}
	return s.AllDays || s.Cal.IsWorkingDay(d)
}

// Times are a slot's window as instants.
type Times struct {
	Release, Deadline time.Time
	Cutoff            time.Time // zero: none
}

// SlotTimes returns the window of product p on delivery day d.
func (s *Schedule) SlotTimes(p compute.Product, d compute.Date) Times {
	w := s.Windows[p]
	t := Times{Release: s.At(d, w.Release), Deadline: s.At(d, w.Deadline)}
	if w.Cutoff >= 0 {
		t.Cutoff = s.At(d, w.Cutoff)
	}
	return t
}

// Outcome is the outcome of a publication at t (docs/vendors.md#schedule-and-delivery-days).
func (t Times) Outcome(at time.Time) string {
	if at.After(t.Deadline) {
		return Forsinket
	}
	return Rettidig
}

// Closed reports whether the slot's cutoff has passed at now.
func (t Times) Closed(now time.Time) bool {
	return !t.Cutoff.IsZero() && !now.Before(t.Cutoff)
}

// InputAsOf is the as-of date of the extract a product delivered on day d is
// computed from: A = D − 1 (for the weekly update, the Sunday before).
func InputAsOf(d compute.Date) compute.Date { return d.AddDays(-1) }
