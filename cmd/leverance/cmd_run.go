package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"leverance/compute"
	"leverance/config"
	"leverance/daemon"
	"leverance/receipt"
	"leverance/transfer/sftpserver"
)

func cmdRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "run -c CONFIG [--since YYYY-MM-DD]", stderr)
	cfgPath := configFlag(fs)
	sinceFlag := fs.String("since", "", "at the first start on a new state directory only: the first delivery `day` the service is responsible for (default: that day; at most 40 days back), e.g. when it takes over from another system; earlier slots still in their window are published, the others recorded udeladt")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	var since compute.Date
	if *sinceFlag != "" {
		d, ok := compute.ParseDate([]byte(*sinceFlag))
		if !ok {
			fmt.Fprintf(stderr, "leverance run: --since %q is not a date YYYY-MM-DD\n", *sinceFlag)
			return exitUsage
		}
		since = d
	}
	log := newLogger(stderr)
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		log.Error("configuration refused", "err", err)
		return exitUsage
	}
	logConfig(log, cfg)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	err = daemon.Run(ctx, daemon.RunOptions{
		Options:    daemon.Options{Config: cfg, Log: log, Version: Version(), Since: since},
		ConfigPath: *cfgPath,
		Reload:     hup,
		Notifier:   daemon.NewNotifier(),
	})
	var altered *receipt.AlteredError
	if errors.As(err, &altered) {
		log.Error("refusing to start: the receipts log was altered; see docs/operations.md, 'The receipts log does not verify'", "err", err)
		return exitAltered
	}
	if err != nil {
		log.Error("daemon failed", "err", err)
		return exitFailure
	}
	return exitOK
}

// newLogger logs structured lines to stderr; under journald (which adds the
// time) without a time stamp.
func newLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{}
	if os.Getenv("JOURNAL_STREAM") != "" {
		opts.ReplaceAttr = func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		}
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logConfig logs the effective configuration. It holds paths, not secrets:
// key files are named, never read into the log.
func logConfig(log *slog.Logger, c *config.Config) {
	log.Info("configuration", "file", c.Path, "state_dir", c.StateDir, "timezone", c.Timezone,
		"delivery_days", c.Calendar.DeliveryDays, "max_rejected_rows", c.MaxRejectedRows,
		"retention_days", c.RetentionDays, "outbox_retention_days", c.OutboxRetentionDays,
		"sftp_listen", *c.SFTPServer.Listen, "sftp_algorithms", c.SFTPServer.Algorithms, "http_listen", *c.HTTP.Listen)
	for name, w := range c.Product {
		log.Info("configuration window", "product", name, "release", w.Release, "deadline", w.Deadline, "cutoff", *w.Cutoff)
	}
	for _, v := range c.Vendor {
		log.Info("configuration vendor", "vendor", v.Name, "municipalities", fmt.Sprint(v.Municipalities),
			"products", fmt.Sprint(v.Products), "outbox", v.Outbox.Kind, "path", c.Resolve(v.Outbox.Path), "address", v.Outbox.Address)
	}
}

func cmdCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check-config", "check-config -c CONFIG [--user NAME]", stderr)
	cfgPath := configFlag(fs)
	as := fs.String("user", "leverance", "check that the service's `user` can read every file the configuration names and write its state directory (\"\" = skip)")
	if code, ok := parseFlags(fs, args, stdout); !ok {
		return code
	}
	cfg, err := config.Load(*cfgPath)
	if err == nil {
		err = cfg.CheckFiles()
	}
	if err == nil && *as != "" {
		err = checkAccessAs(cfg, *as, stderr)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitUsage
	}
	// The built-in server's vendors: authorized_keys lines, options and
	// file modes, as the daemon will check them.
	warnings, err := sftpserver.CheckAuthorizedKeys(daemon.ServerVendors(cfg))
	for _, w := range warnings {
		fmt.Fprintf(stderr, "%s: WARNING: authorized_keys: %s\n", *cfgPath, w)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", *cfgPath, err)
		return exitUsage
	}
	if cfg.SFTPServer.Algorithms == string(sftpserver.Legacy) {
		fmt.Fprintf(stderr, "%s: WARNING: %s\n", *cfgPath, sftpserver.LegacyWarning)
	}
	fmt.Fprintf(stdout, "%s: OK (%d vendors)\n", *cfgPath, len(cfg.Vendor))
	return exitOK
}

// checkAccessAs checks the files as the service user would see them; a
// user that does not exist (a machine without the package's sysusers
// entry) is noted, not an error.
func checkAccessAs(cfg *config.Config, name string, stderr io.Writer) error {
	a, err := config.LookupAccount(name)
	if err != nil {
		fmt.Fprintf(stderr, "note: user %s does not exist here; file access was not checked as the service user (%v)\n", name, err)
		return nil
	}
	return cfg.CheckAccess(a)
}
