//go:build race

package compute_test

// raceEnabled: the race detector makes the generated populations of these
// tests slow to process; they are then made smaller.
const raceEnabled = true
