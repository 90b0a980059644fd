package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"leverance/compute"
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
	in, err := openExtract(path, *asOf)
	if err != nil {
		fmt.Fprintf(stderr, "leverance validate: %v\n", err)
		return exitUsage
	}
	defer in.Close()
	rd, err := compute.NewReader(in, compute.ReaderOptions{AsOf: in.asOf, MaxRejectedRows: *tolerance})
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

// extractFile is an opened, decompressed extract with its as-of date.
type extractFile struct {
	io.Reader
	f    *os.File
	asOf compute.Date
}

func (e *extractFile) Close() error { return e.f.Close() }

// openExtract opens an extract, taking A and compression from its name
// unless asOf (YYYY-MM-DD) is given.
func openExtract(path, asOf string) (*extractFile, error) {
	name := filepath.Base(path)
	n, named := compute.ParseExtractName(name)
	if asOf != "" {
		d, ok := compute.ParseDate([]byte(asOf))
		if !ok {
			return nil, fmt.Errorf("--as-of %q is not a date YYYY-MM-DD", asOf)
		}
		n.AsOf = d
		n.Gzip = filepath.Ext(name) == ".gz"
	} else if !named {
		return nil, fmt.Errorf("%s: the name is not registreringer_YYYYMMDD[_N].csv[.gz]; give the as-of date with --as-of", name)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := compute.Decompress(f, n.Gzip, 0)
	if err != nil {
		// A gzip header that does not parse: the extract is invalid, reported
		// by the reader as a whole-file problem.
		r = errReader{err}
	}
	return &extractFile{Reader: r, f: f, asOf: n.AsOf}, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
