package main

import (
	"errors"
	"fmt"
	"io"
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
	in, err := extract.Open(path, *asOf)
	if err != nil {
		fmt.Fprintf(stderr, "leverance validate: %v\n", err)
		return exitUsage
	}
	defer in.Close()
	rd, err := compute.NewReader(in, compute.ReaderOptions{AsOf: in.Name.AsOf, MaxRejectedRows: *tolerance})
	for err == nil {
		_, err = rd.Next()
	}
	var rej *compute.RejectedError
	switch {
	case err == io.EOF:
		r := rd.Report()
		r.File = filepath.Base(path)
		r.WriteTo(stdout)
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
