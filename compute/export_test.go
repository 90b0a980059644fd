package compute

// Exports for the external tests of package compute_test (property_test.go,
// bench_test.go). Those cannot be internal tests: they generate their input
// with leverance/synth, which imports compute, and an internal test importing
// it would be an import cycle.

// CumForTest exposes the cumulative-unemployment step function of docs/rules.md#cumulative-unemployment
// (newCum, sum and reach of rules.go).
type CumForTest struct{ c *cum }

// NewCumForTest is newCum(rows, p).
func NewCumForTest(rows []Row, p Date) CumForTest { return CumForTest{newCum(rows, p)} }

// Sum is Σ rate(x) for x in [P, d] in centi-hours: 7 × cum(d).
func (c CumForTest) Sum(d Date) int64 { return c.c.sum(d) }

// Reach is the first d ≥ from with Sum(d) ≥ target, or NoDate.
func (c CumForTest) Reach(from Date, target int64) Date { return c.c.reach(from, target) }
