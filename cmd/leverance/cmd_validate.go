package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"leverance/compute"
	"leverance/internal/extract"
)

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("validate", "validate [--as-of YYYY-MM-DD] [--max-rejected-rows N] FILE", stderr)
	asOf := fs.String("as-of", "", "as-of date A, when FILE is not named registreringer_YYYYMMDD[_N].csv[.gz]")
	tolerance := fs.Int("max-rejected-rows", 0, "accept the extract with at most `N` invalid rows")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitUsage
	}
	path := fs.Arg(0)
	// The parallel pipeline, validating only: the rows may be in any order,
	// memory does not grow with the file, and repeated ids are decided by
	// comparing the ids themselves.
	job := compute.Job{ValidateOnly: true, Reader: compute.ReaderOptions{MaxRejectedRows: *tolerance}}
	res, err := extract.ComputeWith(path, job, nil, extract.Options{AsOf: *asOf, NoSHA256: true})
	var ue extract.UsageError
	var pe *os.PathError
	switch {
	case errors.Is(err, extract.ErrNoAsOf):
		fmt.Fprintf(stderr, "leverance validate: %v; give the as-of date with --as-of YYYY-MM-DD\n", err)
		return exitUsage
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "leverance validate: %v\n", err)
		return exitUsage
	case errors.As(err, &pe) && res == nil:
		// A file that cannot be read is an operational failure (exit 3).
		fmt.Fprintf(stderr, "leverance validate: cannot read the extract: %v\n", err)
		return exitFailure
	}
	var rej *compute.RejectedError
	switch {
	case err == nil:
		res.Report.WriteTo(stdout)
		return exitOK
	case errors.As(err, &rej):
		rej.Report.File = filepath.Base(path)
		rej.Report.WriteTo(stdout)
		return exitInvalid
	default:
		fmt.Fprintf(stderr, "leverance validate: %v\n", err)
		return exitFailure
	}
}
