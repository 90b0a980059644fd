// Package extract opens registration extract files and runs compute over
// them: the file-system side of compute, shared by the command line and the
// daemon.
package extract

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"leverance/compute"
)

// File is an opened, decompressed extract with its as-of date. It hashes the
// raw (compressed) bytes as they are read.
type File struct {
	io.Reader
	Name compute.ExtractName
	f    *os.File
	h    hash.Hash
	n    int64
}

// Close closes the file.
func (e *File) Close() error { return e.f.Close() }

// SHA256 returns the hex SHA-256 of the raw file, complete once the reader
// has been read to its end.
func (e *File) SHA256() string { return hex.EncodeToString(e.h.Sum(nil)) }

// Size returns the raw bytes read so far.
func (e *File) Size() int64 { return e.n }

type hashingReader struct{ e *File }

func (h hashingReader) Read(p []byte) (int, error) {
	n, err := h.e.f.Read(p)
	h.e.h.Write(p[:n])
	h.e.n += int64(n)
	return n, err
}

// UsageError is an error in how the file was named or asked for, not in its
// content.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Open opens an extract, taking A and compression from its name unless asOf
// (YYYY-MM-DD) is given. A gzip stream that does not even start is reported
// by the reader as a whole-file problem.
func Open(path, asOf string) (*File, error) {
	name := filepath.Base(path)
	n, named := compute.ParseExtractName(name)
	if asOf != "" {
		d, ok := compute.ParseDate([]byte(asOf))
		if !ok {
			return nil, UsageError{fmt.Errorf("--as-of %q is not a date YYYY-MM-DD", asOf)}
		}
		n.AsOf, n.Revision = d, max(n.Revision, 1)
		n.Gzip = filepath.Ext(name) == ".gz"
	} else if !named {
		return nil, UsageError{fmt.Errorf("%s: the name is not registreringer_YYYYMMDD[_N].csv[.gz]; give the as-of date with --as-of", name)}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	e := &File{Name: n, f: f, h: sha256.New()}
	r, err := compute.Decompress(hashingReader{e}, n.Gzip, 0)
	if err != nil {
		r = errReader{err}
	}
	e.Reader = r
	return e, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// Result is the outcome of Compute on a file.
type Result struct {
	*compute.Outcome
	Name   compute.ExtractName
	SHA256 string // of the raw file
	Size   int64
}

// Compute runs compute over the extract at path. An extract that turns out
// not to be sorted by cpr is read again and grouped in memory; reset is
// called before the second run so that the caller can discard what out was
// given in the first. The report of a rejected extract names the file.
func Compute(path string, job compute.Job, out compute.Output, reset func()) (*Result, error) {
	for _, buffered := range []bool{false, true} {
		in, err := Open(path, "")
		if err != nil {
			return nil, err
		}
		job.AsOf = in.Name.AsOf
		job.Buffered = buffered
		oc, err := compute.Compute(in, job, out)
		if err == nil {
			// Hash what follows the trailer too (nothing, for a valid file).
			_, err = io.Copy(io.Discard, hashingReader{in})
		}
		in.Close()
		if errors.Is(err, compute.ErrUnsorted) {
			reset()
			continue
		}
		if oc != nil && oc.Report != nil {
			oc.Report.File = filepath.Base(path)
		}
		return &Result{Outcome: oc, Name: in.Name, SHA256: in.SHA256(), Size: in.Size()}, err
	}
	panic("unreachable")
}
