package main

import (
	"fmt"
	"io"
	"slices"

	"golang.org/x/crypto/ssh/knownhosts"

	"leverance/config"
	"leverance/daemon"
	"leverance/transfer/sftpserver"
)

// cmdHostkeys prints the SHA256 fingerprints of the built-in SFTP server's
// host keys, as `ssh-keygen -lf` does, for vendors to pin. The daemon
// creates the keys at its first start; --create makes the missing ones now
// (run it as the daemon's user, so that it can read them).
func cmdHostkeys(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("hostkeys", "hostkeys -c CONFIG [--create] [--known-hosts HOST[:PORT]]", stderr)
	cfgPath := configFlag(fs)
	create := fs.Bool("create", false, "create the host keys that do not exist yet (as the daemon does at its first start); run it as the daemon's user")
	knownHosts := fs.String("known-hosts", "", "print the keys offered as known_hosts lines for `HOST[:PORT]` (the name vendors connect to), for a vendor's strict host-key checking")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	var keys []sftpserver.HostKey
	var missing []string
	if *create {
		keys, err = sftpserver.LoadOrCreateHostKeys(daemon.HostKeyPath(cfg))
	} else {
		keys, missing, err = sftpserver.ReadHostKeys(daemon.HostKeyPath(cfg))
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	prof, _ := sftpserver.ParseProfile(cfg.SFTPServer.Algorithms)
	served := sftpserver.AlgorithmsOf(prof).HostKeys
	for _, k := range keys {
		if *knownHosts != "" {
			if slices.Contains(served, k.Signer.PublicKey().Type()) {
				fmt.Fprintln(stdout, knownhosts.Line([]string{knownhosts.Normalize(*knownHosts)}, k.Signer.PublicKey()))
			}
			continue
		}
		note := ""
		if !slices.Contains(served, k.Signer.PublicKey().Type()) {
			note = fmt.Sprintf(" not offered with algorithms = %q", prof)
		}
		fmt.Fprintf(stdout, "%s%s\n", sftpserver.Fingerprint(k), note)
	}
	for _, p := range missing {
		fmt.Fprintf(stderr, "%s: not created yet (the daemon creates it at its first start, or hostkeys --create)\n", p)
	}
	if len(missing) > 0 {
		return exitFailure
	}
	return exitOK
}
