package daemon

import (
	"leverance/compute"
	"leverance/config"
	"leverance/schedule"
)

// The schedule lives in package schedule (shared with status); these names
// keep the daemon's code short.
type (
	Schedule = schedule.Schedule
	Times    = schedule.Times
)

// Outcomes of a slot.
const (
	Rettidig  = schedule.Rettidig
	Forsinket = schedule.Forsinket
	Udeladt   = schedule.Udeladt
)

// NewSchedule builds the schedule of a validated configuration.
func NewSchedule(c *config.Config) (*Schedule, error) { return schedule.New(c) }

// InputAsOf is the as-of date a product delivered on day d is computed from.
func InputAsOf(d compute.Date) compute.Date { return schedule.InputAsOf(d) }
