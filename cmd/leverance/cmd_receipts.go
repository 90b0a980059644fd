package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"leverance/config"
	"leverance/receipt"
)

const receiptsUsage = `Usage: leverance receipts <verify|list|show|prove|check-bundle|witness> [options]

  verify        recompute the tree, check the signed checkpoint and every kept one
  list          list records (filters: --product --vendor --event --outcome --from --to)
  show          show records in full (--seq N, or the filters of list)
  prove         write a bundle proving one record (--seq N --out FILE)
  check-bundle  check a bundle with the public key alone (--key PUBFILE BUNDLE)
  witness       check that the log extends a checkpoint someone saved (CHECKPOINT_FILE)
`

func cmdReceipts(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		w := stderr
		if len(args) > 0 {
			w = stdout
		}
		fmt.Fprint(w, receiptsUsage)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "verify":
		return receiptsVerify(rest, stdout, stderr)
	case "list", "show":
		return receiptsList(sub, rest, stdout, stderr)
	case "prove":
		return receiptsProve(rest, stdout, stderr)
	case "check-bundle":
		return receiptsCheckBundle(rest, stdout, stderr)
	case "witness":
		return receiptsWitness(rest, stdout, stderr)
	}
	fmt.Fprintf(stderr, "leverance receipts: unknown subcommand %q\n\n%s", sub, receiptsUsage)
	return exitUsage
}

func loadConfig(path string, stderr io.Writer) (*config.Config, bool) {
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, false
	}
	return cfg, true
}

func readKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("public key: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// configAndKey loads the configuration and the log's public key: the file
// key, or the configured public key.
func configAndKey(cfgPath, key string, stderr io.Writer) (*config.Config, string, bool) {
	cfg, ok := loadConfig(cfgPath, stderr)
	if !ok {
		return nil, "", false
	}
	if key == "" {
		key = cfg.PublicKeyPath()
	}
	vkey, err := readKey(key)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, "", false
	}
	return cfg, vkey, true
}

func receiptsVerify(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("receipts", "receipts verify -c CONFIG [--key PUBFILE] [--json]", stderr)
	cfgPath := configFlag(fs)
	key := fs.String("key", "", "public key `file` (default: the configured public key)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	cfg, vkey, ok := configAndKey(*cfgPath, *key, stderr)
	if !ok {
		return exitUsage
	}
	v, err := receipt.Verify(cfg.Layout().Receipts(), vkey)
	if err != nil {
		fmt.Fprintf(stderr, "leverance receipts verify: %v\n", err)
		return exitFailure
	}
	if *asJSON {
		json.NewEncoder(stdout).Encode(v)
	} else if v.OK() {
		fmt.Fprintf(stdout, "OK: %d records, %d checkpoints kept, signed size %d, root %s\n", v.Records, v.Checkpoints, v.Size, v.Root)
	} else {
		fmt.Fprintf(stdout, "FAILED: %d records\n", v.Records)
		for _, f := range v.Findings {
			fmt.Fprintf(stdout, "  %s\n", f)
		}
	}
	if !v.OK() {
		return exitInvalid
	}
	return exitOK
}

func receiptsList(sub string, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("receipts", "receipts "+sub+" -c CONFIG [filters] [--json|--csv]", stderr)
	cfgPath := configFlag(fs)
	product := fs.String("product", "", "only this `product`")
	vendor := fs.String("vendor", "", "only this `vendor`")
	event := fs.String("event", "", "only this `event` (startet, modtaget, afvist, beregnet, leveret, udeladt, hentet, fejl, operatoer, slettet)")
	outcome := fs.String("outcome", "", "only this `outcome` (rettidig, forsinket, genlevering)")
	from := fs.String("from", "", "delivery days from `YYYY-MM-DD`")
	to := fs.String("to", "", "delivery days to `YYYY-MM-DD`")
	seq := fs.Int64("seq", 0, "only record `N`")
	asJSON := fs.Bool("json", false, "JSON lines, for machines")
	asCSV := fs.Bool("csv", false, "CSV, for spreadsheets")
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
	var sel []receipt.Record
	for _, r := range recs {
		day := r.Day
		if day == "" {
			day = r.Time.Format("2006-01-02")
		}
		if *product != "" && r.Product != *product || *vendor != "" && r.Vendor != *vendor ||
			*event != "" && r.Event != *event || *outcome != "" && r.Outcome != *outcome ||
			*from != "" && day < *from || *to != "" && day > *to || *seq != 0 && r.Seq != *seq {
			continue
		}
		sel = append(sel, r)
	}
	switch {
	case *asJSON || sub == "show" && !*asCSV:
		enc := json.NewEncoder(stdout)
		if sub == "show" && !*asJSON {
			enc.SetIndent("", "  ")
		}
		for _, r := range sel {
			enc.Encode(r)
		}
	case *asCSV:
		w := csv.NewWriter(stdout)
		w.Write([]string{"seq", "time", "event", "product", "day", "vendor", "file", "sha256", "size", "outcome", "reason"})
		for _, r := range sel {
			w.Write([]string{strconv.FormatInt(r.Seq, 10), r.Time.Format("2006-01-02T15:04:05Z07:00"), r.Event, r.Product, r.Day,
				r.Vendor, r.File, r.SHA256, strconv.FormatInt(r.Size, 10), r.Outcome, r.Reason})
		}
		w.Flush()
	default:
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tTIME (UTC)\tEVENT\tPRODUCT\tDAY\tVENDOR\tFILE\tOUTCOME")
		for _, r := range sel {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, r.Time.UTC().Format("2006-01-02 15:04:05"), r.Event,
				r.Product, r.Day, r.Vendor, r.File, r.Outcome)
		}
		tw.Flush()
	}
	return exitOK
}

func receiptsProve(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("receipts", "receipts prove -c CONFIG --seq N [--out FILE]", stderr)
	cfgPath := configFlag(fs)
	seq := fs.Int64("seq", 0, "the record `N` to prove")
	out := fs.String("out", "", "write the bundle to `FILE` (default: stdout)")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	cfg, ok := loadConfig(*cfgPath, stderr)
	if !ok {
		return exitUsage
	}
	if *seq < 1 {
		fmt.Fprintln(stderr, "leverance receipts prove: --seq N is required")
		return exitUsage
	}
	b, err := receipt.Prove(cfg.Layout().Receipts(), *seq)
	if err != nil {
		fmt.Fprintf(stderr, "leverance receipts prove: %v\n", err)
		return exitFailure
	}
	data, _ := json.MarshalIndent(b, "", "  ")
	data = append(data, '\n')
	if *out == "" {
		stdout.Write(data)
		return exitOK
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	return exitOK
}

func receiptsCheckBundle(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("receipts", "receipts check-bundle --key PUBFILE BUNDLE", stderr)
	key := fs.String("key", "", "the log's public key `file`")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if *key == "" || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "leverance receipts check-bundle: --key and one bundle file are required")
		return exitUsage
	}
	vkey, err := readKey(*key)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	var b receipt.Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		fmt.Fprintf(stderr, "%s: not a bundle: %v\n", fs.Arg(0), err)
		return exitInvalid
	}
	r, err := receipt.CheckBundle(&b, vkey)
	if err != nil {
		fmt.Fprintf(stdout, "FAILED: %v\n", err)
		return exitInvalid
	}
	fmt.Fprintf(stdout, "OK: record %d (%s %s %s %s %s sha256 %s) is in the log signed by %s\n",
		r.Seq, r.Event, r.Product, r.Day, r.Vendor, r.File, r.SHA256, strings.SplitN(strings.TrimSpace(vkey), "+", 2)[0])
	return exitOK
}

func receiptsWitness(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("receipts", "receipts witness -c CONFIG [--key PUBFILE] [--json] CHECKPOINT_FILE", stderr)
	cfgPath := configFlag(fs)
	key := fs.String("key", "", "the log's public key `file` (default: the configured public key)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "leverance receipts witness: one checkpoint file is required (a vendor's saved checkpoint.txt)")
		return exitUsage
	}
	cfg, vkey, ok := configAndKey(*cfgPath, *key, stderr)
	if !ok {
		return exitUsage
	}
	saved, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "leverance receipts witness: %v\n", err)
		return exitUsage
	}
	c, err := receipt.CheckSaved(cfg.Layout().Receipts(), vkey, saved)
	if err != nil {
		fmt.Fprintf(stderr, "leverance receipts witness: %v\n", err)
		return exitFailure
	}
	switch {
	case *asJSON:
		json.NewEncoder(stdout).Encode(c)
	case c.OK():
		fmt.Fprintf(stdout, "OK: the log (%d records, root %s) extends %s (%d records, root %s); consistency proof of %d hashes checked\n",
			c.Records, c.LogRoot, fs.Arg(0), c.Size, c.Root, len(c.Proof))
	default:
		fmt.Fprintf(stdout, "FAILED: the log does not extend %s\n", fs.Arg(0))
		for _, f := range c.Findings {
			fmt.Fprintf(stdout, "  %s\n", f)
		}
	}
	if !c.OK() {
		return exitInvalid
	}
	return exitOK
}
