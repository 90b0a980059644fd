package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"leverance/receipt"
)

// RunOptions configure Run.
type RunOptions struct {
	Options
	// ConfigPath is read again on reload.
	ConfigPath string
	// Reload delivers a value for every SIGHUP.
	Reload <-chan os.Signal
	// Notifier tells systemd about the service's state.
	Notifier *Notifier
	// Rescan is how often the inbox is read in full besides the events
	// (default 30 s): events can be lost.
	Rescan time.Duration
	// Grace is how long a stop waits for an extract being computed (default
	// 30 s); what it leaves is cleaned at the next start.
	Grace time.Duration
	// Ready, when set, is called once the state is loaded, with the HTTP
	// address (nil when off).
	Ready func(e *Engine, httpAddr net.Addr)
}

// Run runs the daemon until ctx is cancelled. It opens the receipts log
// and the state, builds the components — intake, scheduler, the HTTP and
// SFTP servers, the supervisor — and runs them under one context: a stop
// cancels it, which reaches every outbox operation, and Run returns when
// every component has stopped. A component that fails stops the others,
// and Run returns its error.
func Run(ctx context.Context, opt RunOptions) error {
	opt.defaults()
	if opt.Config.Cluster != nil {
		return runCluster(ctx, opt)
	}
	if opt.Sink == nil {
		if err := openJournal(&opt.Options); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opt.Context = ctx
	e, err := New(opt.Options)
	if err != nil {
		return err
	}
	d, err := wire(e, opt)
	if err != nil {
		return err
	}
	d.ready.Store(true)
	if opt.Ready != nil {
		opt.Ready(e, d.httpAddr)
	}
	opt.Log.Info("daemon ready", "state_dir", e.layout.Dir, "inbox", e.layout.Inbox(), "vendors", len(e.Config().Vendor))
	err = runAll(ctx, d.components)
	opt.Log.Info("daemon stopped")
	return err
}

// runAll runs the components under one context until all have returned: the
// first that fails stops the others, and its error is returned.
func runAll(ctx context.Context, cs []component) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, c := range cs {
		g.Go(func() error { return c.Run(gctx) })
	}
	return g.Wait()
}

func (opt *RunOptions) defaults() {
	if opt.Rescan <= 0 {
		opt.Rescan = 30 * time.Second
	}
	if opt.Grace <= 0 {
		opt.Grace = 30 * time.Second
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Metrics == nil {
		opt.Metrics = NewMetrics(opt.Version)
	}
}

// openJournal opens the receipts log (refusing an altered one) as the
// engine's sink, with the readers the status and the start need.
func openJournal(opt *Options) error {
	l, err := OpenReceipts(opt.Config, opt.Log)
	if err != nil {
		return err
	}
	lay := opt.Config.Layout()
	if err := receipt.WriteWitness(lay.ReceiptsWitness(), l.Head()); err != nil {
		return fmt.Errorf("receipts witness: %w", err)
	}
	j := &journal{log: l, witness: lay.ReceiptsWitness(), warn: opt.Log.Warn}
	if l.Head().Size == 0 {
		// The log's first record is the service's first start: the status
		// counts delivery days from it, also before any extract came.
		now := time.Now()
		if opt.Clock != nil {
			now = opt.Clock.Now()
		}
		if err := j.Append(context.Background(), &receipt.Record{Event: receipt.Startet, Time: now.UTC(), Version: opt.Version, Node: opt.Node}); err != nil {
			return fmt.Errorf("receipts: recording the first start: %w", err)
		}
	}
	opt.Sink = j
	opt.NewRecords = (&logTail{path: filepath.Join(lay.Receipts(), receipt.RecordsFile)}).next
	return nil
}

// component is one part of the running daemon: Run returns nil once ctx
// is done and it has stopped, or an error that stops the daemon.
type component interface {
	Run(ctx context.Context) error
}

// wired is the daemon put together: its components and what Run reports.
type wired struct {
	components []component
	sup        *supervisor
	ready      *atomic.Bool
	httpAddr   net.Addr
}

// wire builds the components and binds their listeners, so that a port in
// use fails the start rather than a component later.
func wire(e *Engine, opt RunOptions) (*wired, error) {
	log := opt.Log
	d := &wired{ready: new(atomic.Bool)}
	w, err := newWorkers(e, opt, true)
	if err != nil {
		return nil, err
	}
	if err := d.addHTTP(e, opt); err != nil {
		w.close()
		return nil, err
	}
	d.sup = &supervisor{e: e, path: opt.ConfigPath, signals: opt.Reload, notifier: opt.Notifier, log: log,
		reloaded: func() { w.sched.Poke(false) }}
	if w.sftp != nil {
		d.sup.sftp = w.sftp.srv
	}
	d.components = append(d.components, w.components()...)
	d.components = append(d.components, d.sup)
	return d, nil
}

// addHTTP binds the status port ([http] listen; "" is off), serving e's
// status with ready as /readyz.
func (d *wired) addHTTP(e *Engine, opt RunOptions) error {
	addr := *opt.Config.HTTP.Listen
	if addr == "" {
		return nil
	}
	h, err := newHTTPServer(addr, opt.Config.HTTP.MaxConnections, e.Handler(d.ready), e.metrics, opt.Log)
	if err != nil {
		return err
	}
	d.httpAddr = h.Addr()
	d.components = append(d.components, h)
	opt.Log.Info("http status page", "url", "http://"+d.httpAddr.String()+"/")
	return nil
}

// workers are the components that act on the shared state: the intake,
// the scheduler and the built-in SFTP server (nil when off).
type workers struct {
	e     *Engine
	in    *intake
	sched *scheduler
	sftp  *sftpService
}

// newWorkers builds the workers over e, binding the SFTP listener;
// activation: take the sockets systemd handed over, if any.
func newWorkers(e *Engine, opt RunOptions, activation bool) (*workers, error) {
	w := &workers{e: e, sched: newScheduler(e, opt.Log, opt.Grace)}
	var err error
	w.in, err = newIntake(e, opt.Log, opt.Rescan, opt.Grace, func() { w.sched.Poke(false) })
	if err != nil {
		return nil, err
	}
	if w.sftp, err = newSFTPServiceOn(e, opt.Log, activation); err != nil {
		w.in.watcher.Close()
		return nil, err
	}
	return w, nil
}

func (w *workers) components() []component {
	cs := []component{w.in, w.sched}
	if w.sftp != nil {
		cs = append(cs, w.sftp)
	}
	return cs
}

// close releases what newWorkers bound, when they are not run.
func (w *workers) close() {
	w.in.watcher.Close()
	if w.sftp != nil {
		for _, ln := range w.sftp.lns {
			ln.Close()
		}
	}
}
