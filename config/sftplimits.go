package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SFTPLimits are the [sftp_server] keys that bound what one stranger or one
// vendor can take from the built-in server (docs/operations.md, "SFTP
// server limits"). Zero values take the server's defaults.
type SFTPLimits struct {
	MaxConns             int    `toml:"max_conns"`               // all connections; default 64
	MaxConnsPerVendor    int    `toml:"max_conns_per_vendor"`    // default 4
	MaxStartups          string `toml:"max_startups"`            // "start:rate:full", default "10:30:60"
	PerSourceMaxStartups int    `toml:"per_source_max_startups"` // default 8
	PerSourceMaxConns    int    `toml:"per_source_max_conns"`    // default 16
	PerSourceRate        int    `toml:"per_source_rate"`         // new connections per minute; default 60
	LoginGraceTime       string `toml:"login_grace_time"`        // default "20s"
	MaxHandles           int    `toml:"max_handles"`             // per connection; default 256
	MaxInFlight          int    `toml:"max_in_flight"`           // per session; default 256
	MemoryBudgetMiB      int    `toml:"memory_budget_mib"`       // per connection; default 16
}

// Startups parses MaxStartups: start, rate (percent) and full; zeros when
// unset.
func (l SFTPLimits) Startups() (start, rate, full int, err error) {
	if l.MaxStartups == "" {
		return 0, 0, 0, nil
	}
	parts := strings.Split(l.MaxStartups, ":")
	var n [3]int
	if len(parts) != 3 {
		return 0, 0, 0, fmt.Errorf("%q: want start:rate:full, e.g. \"10:30:60\"", l.MaxStartups)
	}
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 {
			return 0, 0, 0, fmt.Errorf("%q: %q is not a whole number ≥ 1", l.MaxStartups, p)
		}
		n[i] = v
	}
	if n[0] > n[2] || n[1] > 100 {
		return 0, 0, 0, fmt.Errorf("%q: want start ≤ full and rate ≤ 100 (percent)", l.MaxStartups)
	}
	return n[0], n[1], n[2], nil
}

// Grace parses LoginGraceTime; 0 when unset.
func (l SFTPLimits) Grace() (time.Duration, error) {
	if l.LoginGraceTime == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(l.LoginGraceTime)
	if err != nil || d < time.Second || d > 10*time.Minute {
		return 0, fmt.Errorf("%q: want a duration from 1s to 10m, e.g. \"20s\"", l.LoginGraceTime)
	}
	return d, nil
}

func (c *Config) validateSFTPLimits(v *validator) {
	l := c.SFTPServer.SFTPLimits
	if _, _, _, err := l.Startups(); err != nil {
		v.add("sftp_server.max_startups", err.Error())
	}
	if _, err := l.Grace(); err != nil {
		v.add("sftp_server.login_grace_time", err.Error())
	}
	for _, k := range []struct {
		key string
		n   int
		max int
	}{
		{"max_conns", l.MaxConns, 10000}, {"max_conns_per_vendor", l.MaxConnsPerVendor, 1000},
		{"per_source_max_startups", l.PerSourceMaxStartups, 10000}, {"per_source_max_conns", l.PerSourceMaxConns, 10000},
		{"per_source_rate", l.PerSourceRate, 100000}, {"max_handles", l.MaxHandles, 100000},
		{"max_in_flight", l.MaxInFlight, 10000}, {"memory_budget_mib", l.MemoryBudgetMiB, 4096},
	} {
		if k.n < 0 || k.n > k.max {
			v.add("sftp_server."+k.key, fmt.Sprintf("%d: want 1 to %d (0 or unset: the default)", k.n, k.max))
		}
	}
}
