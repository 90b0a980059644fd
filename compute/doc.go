// Package compute turns one registration extract into the per-vendor product
// files of SPEC §1–§4.
//
// It is pure: it reads from readers and writes to writers that the caller
// hands in, and it knows nothing of files on disk, the clock, the network,
// SFTP or the schedule. Dates are calendar days (type Date), not instants, so
// no time zone and no "24 hours" arithmetic is involved anywhere in here.
//
// The pipeline is:
//
//	Reader (parse + validate §1)  →  Group rows per citizen (cpr)
//	  →  Evaluate (rules §3, exact integer arithmetic)  →  Products (§4)
//
// Nothing in this package may log or return a CPR number in an error.
package compute
