package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"leverance/config"
	"leverance/transfer/sftpserver"
)

// supervisor speaks with systemd (ready, reloading, stopping, the
// watchdog) and reloads the configuration on SIGHUP. It is the only one
// that notifies, so the datagrams come in order.
type supervisor struct {
	e        *Engine
	sftp     *sftpserver.Server // nil when the built-in server is off
	path     string
	signals  <-chan os.Signal
	notifier *Notifier
	log      *slog.Logger
	reloaded func() // after a reload was applied
	// leader, in a cluster, returns the workers of the term this node
	// leads (nil when it follows): a reload reaches them too.
	leader func() *workers
}

// Run serves until ctx is done. A reload waits for the publication in
// progress (it must not change the configuration under it), so it runs off
// this loop: the watchdog keeps being fed meanwhile.
func (s *supervisor) Run(ctx context.Context) error {
	s.notify("READY=1\nSTATUS=running") // the state is loaded, every listener bound
	var watchdog <-chan time.Time
	if iv := WatchdogInterval(); iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		watchdog = t.C
		s.notify("WATCHDOG=1")
	}
	results := make(chan error, 1)
	reloading, again := false, false
	start := func() {
		reloading = true
		go func() { results <- s.reload() }()
	}
	for {
		select {
		case <-ctx.Done():
			s.notify("STOPPING=1")
			s.log.Info("stopping: finishing work in progress")
			return nil
		case <-watchdog:
			s.notify("WATCHDOG=1")
		case <-s.signals:
			if reloading {
				again = true // after the one in progress
				continue
			}
			s.notify("RELOADING=1")
			start()
		case err := <-results:
			s.reported(err)
			if again {
				again = false
				start()
				continue
			}
			reloading = false
			s.notify("READY=1")
		}
	}
}

// reload reads and checks the configuration and everything it names, then
// applies it to every component, or to none: the engine's schedule and
// outboxes are built and the SFTP server's vendors (authorized_keys,
// outboxes) checked first; then both are put in force, which cannot fail
// (the engine's part once the publication in progress is finished; keys
// removed lose their sessions at once).
func (s *supervisor) reload() error {
	c, err := config.Load(s.path)
	if err != nil {
		return err
	}
	if err := sameCluster(s.e.Config(), c); err != nil {
		return err
	}
	p, err := s.e.Prepare(c)
	if err != nil {
		return err
	}
	srv, le, lp := s.sftp, (*Engine)(nil), (*Prepared)(nil)
	if w := s.leaderWorkers(); w != nil {
		if lp, err = w.e.Prepare(c); err != nil {
			return err
		}
		le, srv = w.e, nil
		if w.sftp != nil {
			srv = w.sftp.srv
		}
	}
	var vendors *sftpserver.PreparedVendors
	if srv != nil {
		if vendors, err = sftpserver.PrepareVendors(serverVendors(c)); err != nil {
			return err
		}
		srv.ApplyVendors(vendors)
	}
	s.e.Install(p)
	if le != nil {
		le.Install(lp)
	}
	return nil
}

func (s *supervisor) leaderWorkers() *workers {
	if s.leader == nil {
		return nil
	}
	return s.leader()
}

// sameCluster refuses a reload that changes [cluster]: a node's name and
// its etcd are fixed for the life of the process.
func sameCluster(old, c *config.Config) error {
	a, b := old.Cluster, c.Cluster
	if (a == nil) != (b == nil) || a != nil && (a.Node != b.Node || a.TTL() != b.TTL() || fmt.Sprint(a.Etcd) != fmt.Sprint(b.Etcd)) {
		return fmt.Errorf("%s: [cluster] cannot change on reload; restart the service", c.Path)
	}
	return nil
}

func (s *supervisor) reported(err error) {
	m := s.e.metrics
	if err != nil {
		s.log.Error("reload failed; keeping the configuration in force", "config", s.path, "err", err)
		s.e.ReloadFailures.Add(1)
		m.ReloadFailures.Inc()
		m.ReloadOK.Set(0)
		return
	}
	m.ReloadOK.Set(1)
	s.log.Info("configuration reloaded", "config", s.path)
	s.reloaded()
}

func (s *supervisor) notify(state string) {
	if err := s.notifier.Notify(state); err != nil {
		s.log.Warn("sd_notify failed", "state", state, "err", fmt.Sprint(err))
	}
}
