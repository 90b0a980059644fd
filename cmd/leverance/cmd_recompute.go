package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"leverance/compute"
	"leverance/config"
	"leverance/internal/extract"
	"leverance/receipt"
)

func cmdRecompute(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("recompute", "recompute -c CONFIG --seq N", stderr)
	cfgPath := configFlag(fs)
	seq := fs.Int64("seq", 0, "the beregnet record `N`")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	cfg, ok := loadConfig(*cfgPath, stderr)
	if !ok {
		return exitUsage
	}
	recs, err := receipt.ReadRecords(cfg.Layout().Receipts())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	if *seq < 1 || *seq > int64(len(recs)) || recs[*seq-1].Event != receipt.Beregnet {
		fmt.Fprintf(stderr, "leverance recompute: record %d is not a beregnet record\n", *seq)
		return exitUsage
	}
	r := recs[*seq-1]
	sum, err := recompute(cfg, recs, r)
	if err != nil {
		fmt.Fprintf(stderr, "leverance recompute: record %d: %v\n", r.Seq, err)
		return exitFailure
	}
	if sum != r.SHA256 {
		fmt.Fprintf(stdout, "DIFFERENT: record %d says %s, recomputed %s (%s for %s from %s)\n", r.Seq, r.SHA256, sum, r.File, r.Vendor, r.Input)
		return exitInvalid
	}
	fmt.Fprintf(stdout, "IDENTICAL: %s for %s recomputed from %s: sha256 %s\n", r.File, r.Vendor, r.Input, sum)
	return exitOK
}

// archived finds the archived extract of a reference (YYYYMMDD_rN) or of a
// sha256, through its modtaget record.
func archived(cfg *config.Config, recs []receipt.Record, ref, sha string) (string, error) {
	for _, m := range recs {
		if m.Event != receipt.Modtaget {
			continue
		}
		asOf := strings.ReplaceAll(m.AsOf, "-", "")
		if sha != "" && m.SHA256 == sha || ref != "" && asOf+"_r"+strconv.Itoa(m.Revision) == ref {
			p := filepath.Join(cfg.Layout().Archive(), m.File)
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("extract %s is no longer retained (retention_days = %d)", m.File, cfg.RetentionDays)
			}
			return p, nil
		}
	}
	return "", fmt.Errorf("no accepted extract %s%s in the log", ref, sha)
}

func recompute(cfg *config.Config, recs []receipt.Record, r receipt.Record) (string, error) {
	p, ok := compute.ParseProduct(r.Product)
	if !ok {
		return "", fmt.Errorf("unknown product %q", r.Product)
	}
	src, err := archived(cfg, recs, "", r.InputSHA256)
	if err != nil {
		return "", err
	}
	var vendor *compute.Vendor
	for _, v := range cfg.ComputeVendors() {
		if v.Name == r.Vendor {
			v.Products = []compute.Product{p}
			vendor = &v
		}
	}
	if vendor == nil {
		return "", fmt.Errorf("vendor %s is no longer configured", r.Vendor)
	}
	job := compute.Job{Calendar: cfg.ComputeCalendar(), Vendors: []compute.Vendor{*vendor},
		Reader: compute.ReaderOptions{MaxRejectedRows: cfg.MaxRejectedRows}}
	if r.Basis != "" {
		bsrc, err := archived(cfg, recs, r.Basis, "")
		if err != nil {
			return "", fmt.Errorf("basis: %w", err)
		}
		res, err := extract.Compute(bsrc, compute.Job{Calendar: job.Calendar, Snapshot: true, Reader: job.Reader}, nil)
		if err != nil {
			return "", fmt.Errorf("basis: %w", err)
		}
		job.Basis = map[string]*compute.Snapshot{vendor.Name: res.Snapshot}
	}
	res, err := extract.Compute(src, job, hashOnly{})
	if err != nil {
		return "", err
	}
	if len(res.Files) != 1 {
		return "", fmt.Errorf("the product is not due for that extract")
	}
	return res.Files[0].SHA256, nil
}

// hashOnly is an Output that keeps nothing: the Outcome has the files'
// hashes.
type hashOnly struct{}

func (hashOnly) Create(string, compute.Product, string) (io.Writer, error) { return io.Discard, nil }
func (hashOnly) Discard()                                                  {}
