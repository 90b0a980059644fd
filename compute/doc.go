// Package compute turns one registration extract into the per-vendor product
// files of docs/formats.md and docs/rules.md.
//
// It is pure: it reads from readers and writes to writers that the caller
// hands in, and it knows nothing of files on disk, the clock, the network,
// SFTP or the schedule. Dates are calendar days (type Date), not instants, so
// no time zone and no "24 hours" arithmetic is involved anywhere in here.
//
// The pipeline is:
//
//	Reader (parse + validate)  →  Group rows per citizen (cpr)
//	  →  Evaluate (rules, exact integer arithmetic)  →  Products
//
// Compute runs it on several goroutines (pipeline.go): chunks of whole lines
// are parsed and evaluated in parallel and written back in order, so the
// bytes are those of the single-goroutine reference (Job.Sequential). What
// grows with the extract (the ids, to find repeats, and the rows of an
// extract not sorted by cpr) goes to a Scratch that the caller provides;
// see docs/performance.md.
//
// Nothing in this package may log or return a CPR number in an error.
package compute
