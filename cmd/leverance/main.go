// Command leverance validates registration extracts, computes the products
// of the national labour-market data delivery and (as a daemon) publishes
// them to the vendors. See `leverance help` and docs/.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// Exit codes, in one place (documented in docs/cli.md).
const (
	exitOK      = 0 // success; for validate: the extract is valid
	exitInvalid = 1 // the extract is invalid (the report is on stderr)
	exitUsage   = 2 // usage or configuration error
	exitFailure = 3 // an operational failure (e.g. the output cannot be written)
	exitAltered = 4 // run: the receipts log does not verify; the unit does not restart on it
)

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"compute":      {"compute the products of every vendor from one extract", cmdCompute},
		"validate":     {"check one extract and print the report (docs/formats.md)", cmdValidate},
		"generate":     {"write a synthetic registration extract", cmdGenerate},
		"version":      {"print the version", cmdVersion},
		"run":          {"run the daemon in the foreground", cmdRun},
		"status":       {"print the public status lines and a table per product and vendor", cmdStatus},
		"receipts":     {"verify, list, show and prove records of the receipts log", cmdReceipts},
		"keygen":       {"create a receipts signing key", cmdKeygen},
		"redeliver":    {"deliver a (product, day, vendor) again, with a reason", cmdRedeliver},
		"expect":       {"set the expected date of a late weekly delivery", cmdExpect},
		"recompute":    {"recompute a computed product from the archived extract and compare", cmdRecompute},
		"check-config": {"validate the configuration without starting anything", cmdCheckConfig},
		"hostkeys":     {"print the fingerprints of the built-in SFTP server's host keys", cmdHostkeys},
		"help":         {"show this help, or a command's (help COMMAND)", cmdHelp},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "-h", "--help", "-help":
		usage(stdout)
		return exitOK
	case "--version", "-version", "-V":
		return cmdVersion(nil, stdout, stderr)
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "leverance: unknown command %q\n\n", name)
		usage(stderr)
		return exitUsage
	}
	return c.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: leverance <command> [options]")
	fmt.Fprintln(w, "\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'leverance <command> --help' for a command's options.")
	fmt.Fprintln(w, "Exit codes: 0 success, 1 invalid extract, 2 usage or configuration error, 3 operational failure, 4 (run) the receipts log was altered.")
}

// cmdHelp prints the general help, or with a command's name that
// command's (`leverance help run` = `leverance run --help`).
func cmdHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help" {
		usage(stdout)
		return exitOK
	}
	if _, ok := commands[args[0]]; !ok {
		fmt.Fprintf(stderr, "leverance help: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return run(append(args[:1:1], append(args[1:], "--help")...), stdout, stderr)
}

// newFlags returns a flag set that prints its usage with the command's
// synopsis and reports errors as usage errors.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: leverance %s\n\n%s\n", synopsis, commands[name].summary)
		has := false
		fs.VisitAll(func(*flag.Flag) { has = true })
		if has {
			fmt.Fprintf(w, "\nOptions:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// parseFlags parses args; it returns an exit code and false when the command
// should stop (help was asked for: the usage goes to stdout; or the flags are
// wrong: the error and the usage go to stderr).
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) (int, bool) {
	stderr := fs.Output()
	var buf bytes.Buffer
	fs.SetOutput(&buf)
	err := parseInterspersed(fs, args)
	fs.SetOutput(stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		stdout.Write(buf.Bytes())
		return exitOK, false
	case err != nil:
		stderr.Write(buf.Bytes())
		return exitUsage, false
	}
	return 0, true
}

// parseInterspersed parses flags before, between and after the positional
// arguments (`check-bundle BUNDLE --key K` as well as `--key K BUNDLE`);
// after "--" everything is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// configFlag adds the -c flag every command that reads the configuration has.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("c", "/etc/leverance/leverance.toml", "configuration `file`")
}
