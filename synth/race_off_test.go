//go:build !race

package synth

// raceEnabled: the race detector makes the generated populations of these
// tests slow to process; they are then made smaller.
const raceEnabled = false
