package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"leverance/compute"
	"leverance/config"
	"leverance/internal/extract"
	"leverance/internal/fsutil"
)

func cmdCompute(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("compute", "compute -c CONFIG --extract FILE [--as-of YYYY-MM-DD] [--basis FILE] --out DIR", stderr)
	cfgPath := configFlag(fs)
	extractPath := fs.String("extract", "", "the extract `file` (A from its name registreringer_YYYYMMDD[_N].csv[.gz])")
	asOf := fs.String("as-of", "", "the extract's as-of `date` A, when its name does not give it (YYYY-MM-DD)")
	basis := fs.String("basis", "", "the extract `file` behind the last delivered daglige-beskeder (B); without it, the first-delivery rule applies")
	outDir := fs.String("out", "", "output `directory`: files go to DIR/<vendor>/")
	memLimit := fs.String("memory-limit", "1GiB", "the most memory an extract not sorted by cpr may take while it is computed; an eighth of it, at most 32 MiB, holds the id hashes of any extract (`size`: bytes, or with KiB, MiB or GiB)")
	tempDir := fs.String("temp-dir", "", "`directory` for the scratch files (8 bytes a row beyond the first 4 million, about 27 more for an extract not sorted by cpr); default $TMPDIR or /tmp")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	limit, ok := parseSize(*memLimit)
	if !ok {
		fmt.Fprintf(stderr, "leverance compute: --memory-limit %q is not a size like 1GiB or 512MiB\n", *memLimit)
		return exitUsage
	}
	if *extractPath == "" || *outDir == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "leverance compute: --extract and --out are required")
		fs.Usage()
		return exitUsage
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "leverance compute: %v\n", err)
		return exitUsage
	}
	job := compute.Job{
		Calendar: cfg.ComputeCalendar(),
		Vendors:  cfg.ComputeVendors(),
		Reader:   compute.ReaderOptions{MaxRejectedRows: cfg.MaxRejectedRows},
		// The memory limit of compute, which does not count the chunks
		// in flight (a few tens of MB).
		MemoryLimit: limit,
	}
	opt := extract.Options{TempDir: *tempDir, NoSHA256: true}
	if *basis != "" {
		snap, code := basisSnapshot(*basis, job, opt, stderr)
		if snap == nil {
			return code
		}
		job.Basis = map[string]*compute.Snapshot{}
		for _, v := range job.Vendors {
			job.Basis[v.Name] = snap
		}
	}
	xopt := opt
	xopt.AsOf = *asOf
	oc, code := computeFiles(*extractPath, job, xopt, *outDir, stderr)
	if oc == nil {
		return code
	}
	for _, f := range oc.Files {
		fmt.Fprintf(stdout, "%s/%s\t%d rows\tsha256 %s\n", f.Vendor, f.Name, f.Rows, f.SHA256)
	}
	if oc.NoPeriod > 0 {
		fmt.Fprintf(stderr, "warning: %d DP citizens have no dagpengeperiode; their computed fields are empty\n", oc.NoPeriod)
	}
	return exitOK
}

// exitCode maps a compute error to an exit code and prints it.
func exitCode(err error, stderr io.Writer) int {
	var rej *compute.RejectedError
	var ue extract.UsageError
	switch {
	case errors.As(err, &rej):
		rej.Report.WriteTo(stderr)
		return exitInvalid
	case errors.Is(err, extract.ErrNoAsOf):
		fmt.Fprintf(stderr, "leverance compute: %v; give it with --as-of YYYY-MM-DD (for --extract) or name the file registreringer_YYYYMMDD.csv\n", err)
		return exitUsage
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "leverance compute: %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "leverance compute: %v\n", err)
		return exitFailure
	}
}

func basisSnapshot(path string, job compute.Job, opt extract.Options, stderr io.Writer) (*compute.Snapshot, int) {
	job.Vendors, job.Snapshot = nil, true
	oc, err := extract.ComputeWith(path, job, nil, opt)
	if err != nil {
		fmt.Fprint(stderr, "basis: ")
		return nil, exitCode(err, stderr)
	}
	return oc.Snapshot, exitOK
}

// computeFiles writes every product to a temporary file in DIR/<vendor>/ and,
// only when the whole extract was accepted, renames them into place with
// their .sha256 files. Files are created 0640: they hold CPR numbers.
func computeFiles(path string, job compute.Job, opt extract.Options, outDir string, stderr io.Writer) (*extract.Result, int) {
	out := &tempFiles{dir: outDir}
	defer out.Discard()
	oc, err := extract.ComputeWith(path, job, out, opt)
	if err != nil {
		return nil, exitCode(err, stderr)
	}
	for i, f := range oc.Files {
		if err := out.temps[i].Commit(); err != nil {
			fmt.Fprintf(stderr, "leverance compute: %v\n", err)
			return nil, exitFailure
		}
		sum := filepath.Join(outDir, f.Vendor, f.Name+".sha256")
		if err := fsutil.WriteFile(sum, []byte(f.SumLine()), fsutil.FileMode); err != nil {
			fmt.Fprintf(stderr, "leverance compute: %v\n", err)
			return nil, exitFailure
		}
	}
	return oc, exitOK
}

// parseSize parses a size in bytes, or with a KiB, MiB or GiB suffix.
func parseSize(s string) (int64, bool) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, false
	}
	return n * mult, true
}

// tempFiles creates the product files as temporary files in DIR/<vendor>/,
// 0640: they hold CPR numbers. Discard removes those not committed.
type tempFiles struct {
	dir   string
	temps []*fsutil.TempFile
}

func (o *tempFiles) Create(vendor string, _ compute.Product, name string) (io.Writer, error) {
	dir := filepath.Join(o.dir, vendor)
	if err := os.MkdirAll(dir, fsutil.DirMode); err != nil {
		return nil, err
	}
	t, err := fsutil.Create(filepath.Join(dir, name), fsutil.FileMode)
	if err != nil {
		return nil, err
	}
	o.temps = append(o.temps, t)
	return t, nil
}

func (o *tempFiles) Discard() {
	for _, t := range o.temps {
		t.Abort()
		os.Remove(filepath.Dir(t.Name())) // the vendor directory, if this run made it empty
	}
	o.temps = nil
}
