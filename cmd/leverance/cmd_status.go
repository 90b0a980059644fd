package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"leverance/receipt"
	"leverance/schedule"
	"leverance/status"
)

func cmdStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status", "status -c CONFIG [--json] [--at TIME]", stderr)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print the status as JSON")
	atFlag := fs.String("at", "", "the status as of `TIME` (RFC 3339), from the log as it was then")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	cfg, ok := loadConfig(*cfgPath, stderr)
	if !ok {
		return exitUsage
	}
	s, err := schedule.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	now := time.Now()
	if *atFlag != "" {
		if now, err = time.Parse(time.RFC3339, *atFlag); err != nil {
			fmt.Fprintf(stderr, "--at: %v\n", err)
			return exitUsage
		}
	}
	if msg := neverUsed(cfg.Layout().Dir, cfg.Layout().Receipts()); msg != "" {
		fmt.Fprintf(stderr, "leverance status: %s\n", msg)
		return exitUsage
	}
	recs, err := receipt.ReadRecords(cfg.Layout().Receipts())
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	if len(recs) == 0 {
		fmt.Fprintf(stderr, "leverance status: the receipts log in %s is empty: the service has never started with state_dir %s\n", cfg.Layout().Receipts(), cfg.Layout().Dir)
		return exitUsage
	}
	st := status.Compute(status.Input{Records: recs, Schedule: s, Vendors: cfg.ComputeVendors(), Now: now})
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(st)
		return exitOK
	}
	line := func(l, why string) {
		if l == "" {
			l = "(ingen linje: " + why + ")"
		}
		fmt.Fprintln(stdout, l)
	}
	line(st.Daily, st.DailyWhy)
	line(st.Weekly, st.WeeklyWhy)
	fmt.Fprintln(stdout)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRODUCT\tDAY\tVENDOR\tSTATE\tPUBLISHED\tOUTCOME")
	for _, p := range st.Products {
		for _, sl := range p.Slots {
			pub := ""
			if sl.Published != nil {
				pub = sl.Published.In(s.Loc).Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Product, p.Day, sl.Vendor, sl.State, pub, sl.Outcome)
		}
	}
	tw.Flush()
	return exitOK
}

// neverUsed says why a state directory holds no status: it does not exist,
// or no receipts log was ever written in it ("" when there is one). A
// status of nothing would read as deliveries missed.
func neverUsed(stateDir, receipts string) string {
	if _, err := os.Stat(stateDir); errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("state_dir %s does not exist: the service has never run with this configuration (or state_dir is wrong)", stateDir)
	}
	if _, err := os.Stat(filepath.Join(receipts, receipt.RecordsFile)); errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("no receipts log in %s: the service has never started with state_dir %s", receipts, stateDir)
	}
	return ""
}
