package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"leverance/compute"
	"leverance/daemon"
	"leverance/receipt"
	"leverance/transfer/sftpserver"

	"golang.org/x/crypto/ssh"
)

func cmdKeygen(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("keygen", "keygen [--receipts KEYFILE [--name ORIGIN]] [--host-key KEYFILE]", stderr)
	receipts := fs.String("receipts", "", "write a receipts signing key to `KEYFILE` (0600) and its public key beside it, named without .key and with .pub (receipts.key: receipts.pub)")
	name := fs.String("name", "leverance", "the log's `origin` (the key's name)")
	hostKey := fs.String("host-key", "", "write an ed25519 host key for the built-in SFTP server to `KEYFILE` (0600)")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	if *receipts == "" && *hostKey == "" {
		fmt.Fprintln(stderr, "leverance keygen: --receipts KEYFILE or --host-key KEYFILE is required")
		return exitUsage
	}
	for _, p := range []string{*receipts, *hostKey} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			fmt.Fprintf(stderr, "leverance keygen: %s exists; not overwriting a key\n", p)
			return exitUsage
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			fmt.Fprintln(stderr, err)
			return exitFailure
		}
	}
	if *hostKey != "" {
		signer, err := sftpserver.LoadOrCreateHostKey(*hostKey)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitFailure
		}
		fmt.Fprintf(stdout, "host key    %s: %s\n", *hostKey, ssh.FingerprintSHA256(signer.PublicKey()))
	}
	if *receipts == "" {
		return exitOK
	}
	skey, vkey, err := receipt.GenerateKey(*name)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	if err := os.WriteFile(*receipts, []byte(skey+"\n"), 0o600); err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	pub := strings.TrimSuffix(*receipts, ".key") + ".pub"
	if err := os.WriteFile(pub, []byte(vkey+"\n"), 0o644); err != nil {
		fmt.Fprintln(stderr, err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "signing key %s (keep it 0600)\npublic key  %s: %s\n", *receipts, pub, vkey)
	return exitOK
}

func operator(cfgPath string, stderr io.Writer) (*daemon.Operator, bool) {
	cfg, ok := loadConfig(cfgPath, stderr)
	if !ok {
		return nil, false
	}
	l, err := daemon.OpenReceipts(cfg, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, false
	}
	return &daemon.Operator{Config: cfg, Log: l, NewOutbox: daemon.DefaultOutbox}, true
}

func cmdRedeliver(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("redeliver", "redeliver -c CONFIG --product P --day YYYY-MM-DD --vendor V --reason TEXT", stderr)
	cfgPath := configFlag(fs)
	product := fs.String("product", "", "the `product` to deliver again")
	day := fs.String("day", "", "its delivery `day` YYYY-MM-DD")
	vendor := fs.String("vendor", "", "the `vendor`")
	reason := fs.String("reason", "", "why (required; recorded in the receipts log)")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	p, okp := compute.ParseProduct(*product)
	d, okd := compute.ParseDate([]byte(*day))
	if !okp || !okd || *vendor == "" || strings.TrimSpace(*reason) == "" {
		fmt.Fprintln(stderr, "leverance redeliver: --product, --day, --vendor and --reason are required")
		return exitUsage
	}
	op, ok := operator(*cfgPath, stderr)
	if !ok {
		return exitUsage
	}
	r, err := op.Redeliver(context.Background(), p, d, *vendor, *reason)
	if err != nil {
		fmt.Fprintf(stderr, "leverance redeliver: %v\n", err)
		return exitFailure
	}
	fmt.Fprintf(stdout, "delivered %s to %s (receipt %d, refers to %d)\n", r.File, r.Vendor, r.Seq, r.Refers)
	return exitOK
}

func cmdExpect(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("expect", "expect -c CONFIG --day MONDAY --date YYYY-MM-DD [--reason TEXT]", stderr)
	cfgPath := configFlag(fs)
	day := fs.String("day", "", "the weekly update's delivery day (a Monday) `YYYY-MM-DD`")
	date := fs.String("date", "", "the expected delivery date `YYYY-MM-DD`")
	reason := fs.String("reason", "", "why (recorded)")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	d, ok1 := compute.ParseDate([]byte(*day))
	e, ok2 := compute.ParseDate([]byte(*date))
	if !ok1 || !ok2 {
		fmt.Fprintln(stderr, "leverance expect: --day and --date YYYY-MM-DD are required")
		return exitUsage
	}
	op, ok := operator(*cfgPath, stderr)
	if !ok {
		return exitUsage
	}
	r, err := op.Expect(context.Background(), d, e, *reason)
	if err != nil {
		fmt.Fprintf(stderr, "leverance expect: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "recorded (receipt %d): the weekly update of %s is expected %s\n", r.Seq, r.Day, r.Target)
	return exitOK
}
