// Command genman writes leverance(1), a man page in roff, from the help the
// binary prints: `leverance help` and `leverance <command> --help` for every
// command it lists. The page can therefore not drift from the program.
//
//	go run ./packaging/genman bin/leverance VERSION > leverance.1
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: genman BINARY VERSION")
		os.Exit(2)
	}
	if err := write(os.Stdout, os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "genman:", err)
		os.Exit(1)
	}
}

func help(bin string, args ...string) (string, error) {
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", bin, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// commands returns the names under "Commands:" of the top-level help.
func commands(top string) []string {
	var names []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(top))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "Commands:":
			in = true
		case in && strings.HasPrefix(line, "  "):
			names = append(names, strings.Fields(line)[0])
		case in:
			return names
		}
	}
	return names
}

func write(w io.Writer, bin, version string) error {
	top, err := help(bin, "help")
	if err != nil {
		return err
	}
	date := time.Now().UTC().Format("2006-01-02")
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		var sec int64
		fmt.Sscan(s, &sec)
		date = time.Unix(sec, 0).UTC().Format("2006-01-02")
	}
	fmt.Fprintf(w, ".TH LEVERANCE 1 %q %q \"leverance manual\"\n", date, "leverance "+version)
	fmt.Fprintln(w, ".SH NAME\nleverance \\- deliver computed labour\\-market data to the job\\-centre vendors")
	fmt.Fprintln(w, ".SH SYNOPSIS\n.B leverance\n.I command\n[\\fIoptions\\fR]")
	fmt.Fprintln(w, ".SH DESCRIPTION")
	fmt.Fprintln(w, "leverance validates registration extracts, computes the products of the national")
	fmt.Fprintln(w, "labour\\-market data delivery and, run as a daemon (leverance.service), publishes them")
	fmt.Fprintln(w, "to the vendors over SFTP with a signed receipts log and a public status page.")
	fmt.Fprintln(w, "The sections below are the program's own help.")
	verbatim(w, top)
	fmt.Fprintln(w, ".SH COMMANDS")
	for _, name := range commands(top) {
		if name == "help" {
			continue
		}
		text, err := help(bin, name, "--help")
		if err != nil {
			return err
		}
		fmt.Fprintf(w, ".SS %s\n", strings.ReplaceAll(name, "-", `\-`))
		verbatim(w, text)
	}
	fmt.Fprintln(w, ".SH FILES\n.TP\n.I /etc/leverance/leverance.toml\nthe configuration (root:leverance 0640)")
	fmt.Fprintln(w, ".TP\n.I /var/lib/leverance\nthe state directory: inbox, receipts log, keys, outboxes")
	fmt.Fprintln(w, ".SH SEE ALSO\n.BR systemctl (1),\n.BR journalctl (1);")
	fmt.Fprintln(w, "/usr/share/doc/leverance/operations.md")
	return nil
}

// verbatim writes text as a no-fill block, escaping what roff would read as
// requests or escapes.
func verbatim(w io.Writer, text string) {
	fmt.Fprintln(w, ".PP\n.nf")
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		line = strings.ReplaceAll(line, `\`, `\e`)
		line = strings.ReplaceAll(line, "-", `\-`)
		line = strings.ReplaceAll(line, "\t", "        ")
		if strings.HasPrefix(line, ".") || strings.HasPrefix(line, "'") {
			line = `\&` + line
		}
		if strings.TrimSpace(line) == "" {
			line = ""
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintln(w, ".fi")
}
