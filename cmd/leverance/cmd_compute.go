package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"leverance/compute"
	"leverance/config"
	"leverance/internal/extract"
	"leverance/internal/fsutil"
)

func cmdCompute(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("compute", "compute -c CONFIG --extract FILE [--basis FILE] --out DIR", stderr)
	cfgPath := fs.String("c", "/etc/leverance/leverance.toml", "configuration `file`")
	extract := fs.String("extract", "", "the extract `file` (A from its name)")
	basis := fs.String("basis", "", "the extract `file` behind the last delivered daglige-beskeder (B); without it, the first-delivery rule applies")
	outDir := fs.String("out", "", "output `directory`: files go to DIR/<vendor>/")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if *extract == "" || *outDir == "" || fs.NArg() > 0 {
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
	}
	if *basis != "" {
		snap, code := basisSnapshot(*basis, job, stderr)
		if snap == nil {
			return code
		}
		job.Basis = map[string]*compute.Snapshot{}
		for _, v := range job.Vendors {
			job.Basis[v.Name] = snap
		}
	}
	oc, code := computeFiles(*extract, job, *outDir, stderr)
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
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "leverance compute: %v\n", err)
		return exitUsage
	default:
		fmt.Fprintf(stderr, "leverance compute: %v\n", err)
		return exitFailure
	}
}

func basisSnapshot(path string, job compute.Job, stderr io.Writer) (*compute.Snapshot, int) {
	job.Vendors, job.Snapshot = nil, true
	oc, err := extract.Compute(path, job, nil, func() {})
	if err != nil {
		fmt.Fprint(stderr, "basis: ")
		return nil, exitCode(err, stderr)
	}
	return oc.Snapshot, exitOK
}

// computeFiles writes every product to a temporary file in DIR/<vendor>/ and,
// only when the whole extract was accepted, renames them into place with
// their .sha256 files. Files are created 0640: they hold CPR numbers.
func computeFiles(path string, job compute.Job, outDir string, stderr io.Writer) (*extract.Result, int) {
	var temps []*fsutil.TempFile
	abort := func() {
		for _, t := range temps {
			t.Abort()
			os.Remove(filepath.Dir(t.Name())) // the vendor directory, if this run made it empty
		}
		temps = nil
	}
	defer abort()
	out := func(vendor string, p compute.Product, name string) (io.Writer, error) {
		dir := filepath.Join(outDir, vendor)
		if err := os.MkdirAll(dir, fsutil.DirMode); err != nil {
			return nil, err
		}
		t, err := fsutil.Create(filepath.Join(dir, name), fsutil.FileMode)
		if err != nil {
			return nil, err
		}
		temps = append(temps, t)
		return t, nil
	}
	oc, err := extract.Compute(path, job, out, abort)
	if err != nil {
		return nil, exitCode(err, stderr)
	}
	for i, f := range oc.Files {
		if err := temps[i].Commit(); err != nil {
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

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
