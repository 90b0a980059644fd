package compute

import (
	"fmt"

	"leverance/compute/internal/idset"
)

// Repeated ids (docs/formats.md#validation-and-the-error-report): the engine
// collects the hash of every id (compute/internal/idset); the hashes that
// occur more than once make Compute read the extract again, keeping the
// rows with those hashes to compare their ids (runPipeline's settle). A row
// whose id repeats an earlier one is invalid, so a repeat found only at the
// end changes what should have been computed: when the repeats make the
// extract rejected, the report of that pass is completed exactly as the
// reference reader writes it (applyRepeats); when the tolerance accepts the
// extract without those rows, a last pass leaves them out.

// idMemoryBudget is the memory for the id hashes of a job: idMemory
// (Tuning.IDMemory), or an eighth of a smaller MemoryLimit.
func idMemoryBudget(limit, idMemory int64) int64 {
	return min(idMemory, memoryLimit(limit)/8)
}

// applyRepeats adds the problems of the repeated ids to a report made
// without them, as the tests' reference reader reports them: each is the first
// problem of its row (the id is checked before the other columns), and the
// report keeps the first MaxReportedProblems in line order.
func applyRepeats(rep *Report, reps []idset.Repeat) {
	if len(reps) == 0 {
		return
	}
	merged := make([]Problem, 0, min(len(rep.Problems)+len(reps), MaxReportedProblems))
	i := 0
	for _, r := range reps {
		for i < len(rep.Problems) && rep.Problems[i].Line < r.Line && len(merged) < MaxReportedProblems {
			merged = append(merged, rep.Problems[i])
			i++
		}
		if len(merged) == MaxReportedProblems {
			break
		}
		merged = append(merged, Problem{Line: r.Line, Column: "id", Reason: fmt.Sprintf("repeats the id of line %d", r.First)})
	}
	for i < len(rep.Problems) && len(merged) < MaxReportedProblems {
		merged = append(merged, rep.Problems[i])
		i++
	}
	rep.Problems = merged
	rep.ProblemCount += len(reps)
	for _, r := range reps {
		if !r.Invalid {
			rep.InvalidRows++
		}
	}
}
