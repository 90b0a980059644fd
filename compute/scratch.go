package compute

import "leverance/compute/internal/scratch"

// Scratch makes temporary files for what Compute has to keep that grows with
// the extract: the hashes of the registration ids, to find repeats (8 bytes
// a row, beyond what the memory budget holds: see ids.go), and, for an
// extract not sorted by cpr, the rows themselves, partitioned by cpr range
// (about 28 bytes a row). Compute stays pure: the caller decides where they
// go. internal/extract puts them in unlinked temporary files; the default
// (nil in Job) keeps them in memory.
//
// Create returns a new empty file; Compute writes it, reads it back and
// closes it, and closing it gives its space back.
type Scratch = scratch.Scratch

// ScratchFile is a file made by a Scratch. Compute writes it sequentially
// and reads it back with ReadAt, possibly from several goroutines at once.
type ScratchFile = scratch.File
