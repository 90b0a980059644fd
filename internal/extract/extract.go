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
	"runtime"

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
	if h.e.h != nil {
		h.e.h.Write(p[:n])
	}
	h.e.n += int64(n)
	return n, err
}

// UsageError is an error in how the file was named or asked for, not in its
// content.
type UsageError struct{ Err error }

// ErrNoAsOf is wrapped in the error of an extract whose name does not give
// its as-of date (and none was given); commands add how to give it.
var ErrNoAsOf = errors.New("its as-of date is unknown")

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
		return nil, UsageError{fmt.Errorf("%s: the name is not registreringer_YYYYMMDD[_N].csv[.gz]: %w", name, ErrNoAsOf)}
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
	SHA256 string // of the raw file; empty with Options.NoSHA256
	Size   int64
}

// Options are the file-system side of computing an extract.
type Options struct {
	// TempDir is where the scratch files of compute go (compute.Scratch):
	// 8 bytes a row to find repeated ids (beyond what memory holds: see
	// compute/ids.go) and, for an extract not sorted by cpr, about 28 bytes
	// a row more. "" means os.TempDir().
	TempDir string
	// NoSHA256 skips hashing the raw file, for callers that do not report
	// it: at national scale the hash costs about a second of CPU.
	NoSHA256 bool
	// AsOf (YYYY-MM-DD), when given, is the as-of date instead of the one
	// in the file's name (see Open).
	AsOf string
}

// Compute runs compute over the extract at path with the default Options.
func Compute(path string, job compute.Job, out compute.Output) (*Result, error) {
	return ComputeWith(path, job, out, Options{})
}

// ComputeWith runs compute over the extract at path. compute.Compute reads
// it as often as it needs (an extract not sorted by cpr, repeated ids),
// opening it again each time; the SHA-256 and size are those of the last
// reading. The report of a rejected extract names the file.
func ComputeWith(path string, job compute.Job, out compute.Output, opt Options) (*Result, error) {
	if job.Scratch == nil {
		job.Scratch = diskScratch{dir: opt.TempDir}
	}
	open := func() (*File, error) {
		in, err := Open(path, opt.AsOf)
		if err == nil && opt.NoSHA256 {
			in.h = nil
		}
		return in, err
	}
	in, err := open()
	if err != nil {
		return nil, err
	}
	defer func() { in.Close() }()
	job.AsOf = in.Name.AsOf
	passes := 0
	src := func() (io.Reader, error) {
		if passes++; passes > 1 { // another pass: from the start
			again, err := open()
			if err != nil {
				return nil, err
			}
			in.Close()
			in = again
		}
		return in, nil
	}
	oc, err := compute.Compute(src, job, out)
	// What the run kept that grows with the extract (up to 32 MiB of id
	// hashes, compute/internal/idset) is garbage now: collecting it at once, with
	// little else left on the heap, keeps the next extract in the same
	// process from piling its own on top before the collector's next turn
	// (which comes when the heap has doubled).
	runtime.GC()
	if err == nil && !opt.NoSHA256 {
		// Hash what follows the trailer too (nothing, for a valid file).
		_, err = io.Copy(io.Discard, hashingReader{in})
	}
	if oc != nil && oc.Report != nil {
		oc.Report.File = filepath.Base(path)
	}
	res := &Result{Outcome: oc, Name: in.Name, Size: in.Size()}
	if !opt.NoSHA256 {
		res.SHA256 = in.SHA256()
	}
	return res, err
}

// diskScratch makes compute's scratch files in dir: unlinked at once, so
// that they go away with the process whatever happens.
type diskScratch struct{ dir string }

func (d diskScratch) Create() (compute.ScratchFile, error) {
	f, err := os.CreateTemp(d.dir, ".leverance-scratch-*")
	if err != nil {
		return nil, fmt.Errorf("scratch file: %w", err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("scratch file: %w", err)
	}
	return f, nil
}
