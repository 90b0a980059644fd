package compute

import (
	"fmt"
	"io"
	"strings"
)

// Problem is one thing wrong with an extract. It names the line and column
// and the reason, and never holds the value of a cpr field.
type Problem struct {
	Line   int    // 1-based line number; the header is line 1; 0 for the file as a whole
	Column string // column name, or "" when the problem is not one column's
	Reason string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Line > 0 {
		fmt.Fprintf(&b, "line %d", p.Line)
	}
	if p.Column != "" {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "column %s", p.Column)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// Report is the outcome of validating an extract (docs/formats.md#validation-and-the-error-report).
type Report struct {
	File         string    // the extract's file name, set by the caller
	Rows         int       // data rows read (valid or not)
	InvalidRows  int       // rows with at least one problem
	ProblemCount int       // all problems found
	Problems     []Problem // the first MaxReportedProblems of them
	Fatal        *Problem  // the problem that rejects the file whole, if any
	Rejected     bool
	Tolerance    int // the MaxRejectedRows the extract was read with
}

func (r *Report) add(p Problem) {
	r.ProblemCount++
	if len(r.Problems) < MaxReportedProblems {
		r.Problems = append(r.Problems, p)
	}
}

// Summary is the one-line verdict.
func (r *Report) Summary() string {
	name := r.File
	if name == "" {
		name = "extract"
	}
	switch {
	case r.Fatal != nil:
		return fmt.Sprintf("%s: rejected: %s", name, r.Fatal)
	case r.Rejected:
		s := fmt.Sprintf("%s: rejected: %d of %d rows are invalid", name, r.InvalidRows, r.Rows)
		if r.Tolerance > 0 {
			s += fmt.Sprintf(", more than the %d allowed", r.Tolerance)
		}
		if len(r.Problems) > 0 {
			s += fmt.Sprintf(" (first: %s)", r.Problems[0])
		}
		return s
	case r.InvalidRows > 0:
		return fmt.Sprintf("%s: accepted without %d invalid rows of %d", name, r.InvalidRows, r.Rows)
	}
	return fmt.Sprintf("%s: valid, %d rows", name, r.Rows)
}

// WriteTo writes the report as text: the summary, the counts and the first
// problems, one per line. It is the content of <name>.error.txt.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", r.Summary())
	fmt.Fprintf(&b, "rows: %d\ninvalid rows: %d\nproblems: %d\n", r.Rows, r.InvalidRows, r.ProblemCount)
	if len(r.Problems) > 0 {
		if r.ProblemCount > len(r.Problems) {
			fmt.Fprintf(&b, "first %d problems:\n", len(r.Problems))
		} else {
			b.WriteString("problems:\n")
		}
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "  %s\n", p)
		}
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// RejectedError is returned when an extract is rejected; its Report says why.
type RejectedError struct{ Report *Report }

func (e *RejectedError) Error() string { return e.Report.Summary() }
