package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"leverance/config"
	"leverance/receipt"
	"leverance/transfer"
	"leverance/transfer/sftpserver"
)

// DefaultOutbox makes a vendor's outbox of either kind: a local directory
// (served by the built-in SFTP server) or a remote SFTP server pushed to.
func DefaultOutbox(c *config.Config, v config.Vendor) (transfer.Outbox, error) {
	if v.Outbox.Kind == "sftp" {
		ob, err := transfer.NewSFTP(transfer.SFTPConfig{Address: v.Outbox.Address, User: v.Outbox.User,
			IdentityFile: v.Outbox.Identity, KnownHostsFile: v.Outbox.KnownHosts, Directory: v.Outbox.Directory})
		if err != nil {
			return nil, fmt.Errorf("vendor %s: %w", v.Name, err)
		}
		return ob, nil
	}
	return LocalOutbox(c, v)
}

// closeConnections ends the SFTP connections of the publications just made:
// a connection serves the files of one publication round, not the night.
func (e *Engine) closeConnections() {
	obs := maps.Clone(e.outboxes)
	e.unlocked(func() {
		for name, ob := range obs {
			if c, ok := ob.(io.Closer); ok {
				if err := c.Close(); err != nil {
					e.log.Debug("closing outbox connection", "vendor", name, "err", err)
				}
			}
		}
	})
}

// HostKeyPath is where the built-in server's ed25519 host key lives; its
// ECDSA and RSA host keys are beside it (sftpserver.HostKeyPaths).
func HostKeyPath(c *config.Config) string { return c.Layout().HostKey("ed25519") }

// serverVendors lists the vendors the built-in server serves: those with a
// local outbox and an authorized_keys file.
func serverVendors(c *config.Config) []sftpserver.Vendor {
	var vs []sftpserver.Vendor
	for _, v := range c.Vendor {
		if v.Outbox.Kind == "local" && v.Outbox.AuthorizedKeys != "" {
			vs = append(vs, sftpserver.Vendor{Name: v.Name, Dir: c.Resolve(v.Outbox.Path), AuthorizedKeysFile: v.Outbox.AuthorizedKeys})
		}
	}
	return vs
}

// sftpService is the built-in SFTP server (docs/transfer.md#the-built-in-sftp-server-transfersftpserver) on the sockets
// systemd handed over, or on [sftp_server] listen.
type sftpService struct {
	srv *sftpserver.Server
	lns []net.Listener
	log *slog.Logger
}

// newSFTPService makes the built-in server; it returns nil when no socket
// is handed over and [sftp_server] listen is "".
func newSFTPService(e *Engine, log *slog.Logger) (*sftpService, error) {
	return newSFTPServiceOn(e, log, true)
}

// newSFTPServiceOn is newSFTPService; activation: take the sockets systemd
// handed over (not in a cluster, where only the leader listens, on
// [sftp_server] listen).
func newSFTPServiceOn(e *Engine, log *slog.Logger, activation bool) (*sftpService, error) {
	c := e.Config()
	var lns []net.Listener
	var err error
	if activation {
		if lns, err = sftpserver.Listeners(); err != nil {
			return nil, err
		}
	}
	if len(lns) == 0 && *c.SFTPServer.Listen != "" {
		ln, err := net.Listen("tcp", *c.SFTPServer.Listen)
		if err != nil {
			return nil, fmt.Errorf("sftp_server.listen %s: %w", *c.SFTPServer.Listen, err)
		}
		lns = append(lns, ln)
	}
	if len(lns) == 0 {
		return nil, nil
	}
	srv, err := sftpserver.New(sftpserver.Config{
		HostKeyPath:       HostKeyPath(c),
		Algorithms:        sftpserver.Profile(c.SFTPServer.Algorithms),
		Vendors:           serverVendors(c),
		MaxConns:          c.SFTPServer.MaxConns,
		MaxConnsPerVendor: c.SFTPServer.MaxConnsPerVendor,
		Limits:            e.sftpLimits(c),
		OnFetch:           e.fetched,
		OnRemove:          e.removedByVendor,
		Log:               log, // the server names its component
	})
	if err != nil {
		for _, ln := range lns {
			ln.Close()
		}
		return nil, err
	}
	for _, ln := range lns {
		log.Info("sftp server", "addr", ln.Addr().String(), "host_key", HostKeyPath(c))
	}
	return &sftpService{srv: srv, lns: lns, log: log}, nil
}

// Run serves every listener until ctx is done; the server lets downloads
// in progress finish within its grace.
func (s *sftpService) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, ln := range s.lns {
		g.Go(func() error {
			if err := s.srv.Serve(ctx, ln); err != nil && ctx.Err() == nil {
				return fmt.Errorf("sftp server on %s: %w", ln.Addr(), err)
			}
			return nil
		})
	}
	return g.Wait()
}

// fetched records a vendor's download from the built-in server as a hentet
// receipt (docs/audit.md#records): one per vendor, file and connection; size is
// the file's, bytes what the vendor was served of it (all of it when
// complete, with the file's SHA-256).
func (e *Engine) fetched(f sftpserver.Fetch) {
	complete := f.Complete
	e.metrics.Fetched(f.Vendor, f.Complete)
	e.record(&receipt.Record{Event: receipt.Hentet, Time: f.Time.UTC(), Vendor: f.Vendor, File: filepath.Base(f.File),
		Size: f.Size, Bytes: f.Bytes, SHA256: f.SHA256, Complete: &complete})
}

// removedByVendor records a vendor's delete over the built-in server as a
// slettet receipt with reason "vendor" (retention's say "retention_days"):
// the vendor, the file and its size (docs/audit.md).
func (e *Engine) removedByVendor(r sftpserver.Removal) {
	e.record(&receipt.Record{Event: receipt.Slettet, Time: r.Time.UTC(), Vendor: r.Vendor, File: filepath.Base(r.File),
		Size: r.Size, Reason: "vendor"})
}

// sftpLimits turns [sftp_server]'s limit keys (validated by config) into the
// server's Limits; zeros take the server's defaults. Every limit hit is
// counted in leverance_sftp_limit_hits_total.
func (e *Engine) sftpLimits(c *config.Config) sftpserver.Limits {
	l := c.SFTPServer.SFTPLimits
	start, rate, full, _ := l.Startups()
	grace, _ := l.Grace()
	return sftpserver.Limits{
		StartupsStart: start, StartupsRate: rate, StartupsFull: full,
		PerSourceMaxStartups: l.PerSourceMaxStartups, PerSourceMaxConns: l.PerSourceMaxConns,
		PerSourceRate: l.PerSourceRate, LoginGraceTime: grace,
		MaxHandles: l.MaxHandles, MaxInFlight: l.MaxInFlight, MemoryBudget: int64(l.MemoryBudgetMiB) << 20,
		OnHit: e.metrics.SFTPLimitHit,
	}
}

// ServerVendors is the vendor list the built-in server gets from c, for
// sftpserver.PrepareVendors (check-config, and the two halves of a reload:
// prepare with the new configuration, apply once all of it is accepted).
func ServerVendors(c *config.Config) []sftpserver.Vendor { return serverVendors(c) }
