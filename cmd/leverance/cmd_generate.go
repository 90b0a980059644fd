package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"leverance/compute"
	"leverance/internal/fsutil"
	"leverance/synth"
)

// cmdGenerate writes a synthetic extract (package synth). A file is written
// under a temporary name and renamed when complete, as docs/formats.md#file-name asks of the
// writers of the inbox, with mode 0640: it holds CPR-like numbers.
func cmdGenerate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("generate", "generate --as-of YYYY-MM-DD [--citizens N] [--seed S] [--base YYYY-MM-DD] [--shuffle] [--kommuner LIST] [--out FILE|DIR|-]", stderr)
	citizens := fs.Int("citizens", 1000, "number of citizens `N` (about 25 rows and 1.8 kB each)")
	seed := fs.Int64("seed", 1, "random `seed`: the same options give the same bytes")
	asOfFlag := fs.String("as-of", "", "the extract's as-of `date` A (YYYY-MM-DD)")
	baseFlag := fs.String("base", "", "the population's anchor `date` (default: --as-of); extracts with the same --seed, --citizens and --base on consecutive --as-of dates form a daily series, each the previous one plus that day's registrations; --as-of must lie within 42 days of it")
	shuffle := fs.Bool("shuffle", false, "write the rows in random order (within blocks of 1,048,576 rows) instead of sorted by cpr")
	kommuner := fs.String("kommuner", "", "comma-separated municipality `codes` to draw from (default: the 98 Danish municipalities)")
	out := fs.String("out", "", "output `file` (gzip-compressed when it ends in .gz), a directory (the file is then registreringer_YYYYMMDD.csv in it), or - for stdout (the default)")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "leverance generate: "+format+"\n", a...)
		return exitUsage
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if *asOfFlag == "" {
		return usageErr("--as-of is required")
	}
	asOf, ok := compute.ParseDate([]byte(*asOfFlag))
	if !ok {
		return usageErr("--as-of %q is not a date YYYY-MM-DD", *asOfFlag)
	}
	base := asOf
	if *baseFlag != "" {
		if base, ok = compute.ParseDate([]byte(*baseFlag)); !ok {
			return usageErr("--base %q is not a date YYYY-MM-DD", *baseFlag)
		}
	}
	opt := synth.Options{Citizens: *citizens, Seed: *seed, AsOf: base, Day: int(asOf - base), Shuffle: *shuffle}
	if *kommuner != "" {
		for _, f := range strings.Split(*kommuner, ",") {
			k, err := strconv.ParseUint(strings.TrimSpace(f), 10, 16)
			if err != nil {
				return usageErr("--kommuner: %q is not a municipality code", f)
			}
			opt.Kommuner = append(opt.Kommuner, uint16(k))
		}
	}
	if err := opt.Check(); err != nil {
		return usageErr("%v", err)
	}

	if *out == "" || *out == "-" {
		bw := bufio.NewWriterSize(stdout, 256<<10)
		err := synth.Generate(bw, opt)
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			fmt.Fprintf(stderr, "leverance generate: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	path := *out
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, opt.FileName())
	}
	if err := generateFile(path, opt); err != nil {
		fmt.Fprintf(stderr, "leverance generate: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s\tas-of %s\t%d citizens\n", path, opt.ExtractDate(), opt.Citizens)
	return exitOK
}

// generateFile writes the extract to a temporary file beside path and
// renames it into place when it is complete.
func generateFile(path string, opt synth.Options) error {
	t, err := fsutil.Create(path, fsutil.FileMode)
	if err != nil {
		return err
	}
	defer t.Abort()
	var w io.Writer = t
	var gz *gzip.Writer
	if strings.HasSuffix(path, ".gz") {
		gz, _ = gzip.NewWriterLevel(t, gzip.BestSpeed)
		w = gz
	}
	if err := synth.Generate(w, opt); err != nil {
		return err
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return err
		}
	}
	return t.Commit()
}
