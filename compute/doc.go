// Package compute turns one registration extract into the per-vendor product
// files of docs/formats.md and docs/rules.md.
//
// It is pure: it reads from readers and writes to writers that the caller
// hands in, and it knows nothing of files on disk, the clock, the network,
// SFTP or the schedule. Dates are calendar days (type Date), not instants, so
// no time zone and no "24 hours" arithmetic is involved anywhere in here.
//
// Where the rules are:
//
//	row.go, date.go, calendar.go, cpr.go   the vocabulary: types, groups, codes, days
//	file.go                                the extract as a file: header, lines, trailer
//	parse.go, fields.go                    a valid row
//	rules.go                               the rules of one citizen (docs/rules.md)
//	product.go, snapshot.go, compute.go    the products, the snapshot and the message diff
//
// and the engine that runs them over a national extract: pipeline.go (chunks
// parsed and evaluated in parallel, written back in order), masks*.go (line
// scanning), ids.go (repeated ids in bounded memory), spill.go and
// scratch.go (an extract not sorted by cpr).
//
// Compute is the one entry point: it makes every pass over the extract that
// it needs (see Compute), and its bytes are those of the single-goroutine
// reference of the tests (ComputeReference). What grows with the extract
// (the ids, to find repeats, and the rows of an extract not sorted by cpr)
// goes to a Scratch that the caller provides; see docs/performance.md.
//
// Nothing in this package may log or return a CPR number in an error.
package compute
