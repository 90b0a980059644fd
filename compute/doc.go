// Package compute turns one registration extract into the per-vendor product
// files of docs/formats.md and docs/rules.md.
//
// It is pure: it reads from readers and writes to writers that the caller
// hands in, and it knows nothing of files on disk, the clock, the network,
// SFTP or the schedule. Dates are calendar days (type Date), not instants, so
// no time zone and no "24 hours" arithmetic is involved anywhere in here.
//
// The package is the domain: what the rules say. Where they are:
//
//	row.go, date.go, calendar.go, cpr.go   the vocabulary: types, groups, codes, days
//	file.go                                the extract as a file: header, lines, trailer
//	parse.go, fields.go                    a valid row
//	rules.go                               the rules of one citizen (docs/rules.md)
//	product.go, snapshot.go, compute.go    the products, the snapshot and the message diff
//	ids.go                                 repeated ids in the report
//	codec.go                               a row in a scratch file
//
// The engine that runs them over a national extract is under internal/ and
// knows nothing of the rules (the architecture test holds it to that):
// engine (chunks read and evaluated in parallel, written back in order; an
// extract not sorted by cpr partitioned in scratch files and sorted back),
// linescan (lines and semicolons, with AVX2 where there is), idset
// (repeated ids in bounded memory) and scratch. run.go is the seam: the
// engine calls the domain through engine.Domain — read a line, render a
// citizen, merge what a chunk found, in order.
//
// Compute is the one entry point: it makes every pass over the extract that
// it needs (see Compute), and its bytes are those of the single-goroutine
// reference of the tests (ComputeReference). What grows with the extract
// (the ids, to find repeats, and the rows of an extract not sorted by cpr)
// goes to a Scratch that the caller provides; see docs/performance.md.
//
// Nothing in this package may log or return a CPR number in an error.
package compute
