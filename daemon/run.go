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

	"github.com/fsnotify/fsnotify"

	"leverance/config"
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

// Run runs the daemon until ctx is cancelled: the scheduler loop. Work that
// takes long (computing an extract) runs on a worker goroutine; publishing,
// reloading and the watchdog happen here, so a WATCHDOG=1 proves the loop
// itself is alive.
func Run(ctx context.Context, opt RunOptions) error {
	if opt.Rescan <= 0 {
		opt.Rescan = 30 * time.Second
	}
	if opt.Grace <= 0 {
		opt.Grace = 30 * time.Second
	}
	log := opt.Log
	if log == nil {
		log = slog.Default()
		opt.Log = log
	}
	if opt.Sink == nil {
		l, err := OpenReceipts(opt.Config, log)
		if err != nil {
			return err
		}
		lay := opt.Config.Layout()
		opt.Sink = &journal{log: l, witness: lay.ReceiptsWitness(), warn: log.Warn}
		if err := receipt.WriteWitness(lay.ReceiptsWitness(), l.Head()); err != nil {
			return fmt.Errorf("receipts witness: %w", err)
		}
		opt.Records = func() ([]receipt.Record, error) { return receipt.ReadRecords(lay.Receipts()) }
		opt.NewRecords = (&logTail{path: filepath.Join(lay.Receipts(), receipt.RecordsFile)}).next
	}
	if opt.Metrics == nil {
		opt.Metrics = NewMetrics(opt.Version)
	}
	e, err := New(opt.Options)
	if err != nil {
		return err
	}
	var ready atomic.Bool
	var httpAddr net.Addr
	if addr := *opt.Config.HTTP.Listen; addr != "" {
		httpAddr, err = serveHTTP(ctx, addr, e.Handler(&ready), log)
		if err != nil {
			return fmt.Errorf("http listen %s: %w", addr, err)
		}
		log.Info("http status page", "url", "http://"+httpAddr.String()+"/")
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("inbox watcher: %w", err)
	}
	defer w.Close()
	if err := w.Add(e.layout.Inbox()); err != nil {
		return fmt.Errorf("watch inbox %s: %w", e.layout.Inbox(), err)
	}
	ready.Store(true)
	notify := func(s string) {
		if err := opt.Notifier.Notify(s); err != nil {
			log.Warn("sd_notify failed", "state", s, "err", err)
		}
	}
	notify("READY=1\nSTATUS=running")
	log.Info("daemon ready", "state_dir", e.cfg.StateDir, "inbox", e.layout.Inbox(), "vendors", len(e.vendors))

	// The worker computes extracts one at a time, in the order they came.
	queue := make(chan string, 1024)
	done := make(chan string, 16)
	workerCtx, stopWorker := context.WithCancel(context.Background())
	defer stopWorker()
	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		for {
			select {
			case <-workerCtx.Done():
				return
			case name := <-queue:
				if workerCtx.Err() != nil {
					return // stopping: select picks at random, so a queued file could still come first
				}
				if err := e.Accept(name); err != nil {
					log.Error("extract not taken", "file", name, "err", err)
				}
				select {
				case done <- name:
				case <-workerCtx.Done():
					return
				}
			}
		}
	}()
	pending := map[string]bool{}
	enqueue := func(name string) {
		if pending[name] {
			return
		}
		select {
		case queue <- name:
			pending[name] = true
		default:
			log.Warn("inbox queue full; the next rescan takes the file", "file", name)
		}
	}
	scan := func() {
		names, err := e.ScanInbox()
		if err != nil {
			log.Error("inbox scan failed", "err", err)
			return
		}
		for _, n := range names {
			enqueue(n)
		}
	}

	// Publishing runs on its own goroutine so that a slow transfer never
	// stalls the loop (events, reloads, the watchdog): the loop kicks it and
	// gets back when to kick it next.
	kick := make(chan bool, 1) // true: also apply retention
	nextTick := make(chan time.Time, 1)
	publisherDone := make(chan struct{})
	go func() {
		defer close(publisherDone)
		for retain := range kick {
			if retain {
				e.Retain()
			}
			t := e.Tick()
			// Only the latest wake time matters: replace one the loop has
			// not read. Never block here: after a stop nobody reads, and a
			// round still kicked would hang the stop for the whole grace.
			select {
			case <-nextTick:
			default:
			}
			nextTick <- t
		}
	}()
	poke := func(retain bool) {
		select {
		case kick <- retain:
		default: // a tick is already due; it sees the same state
		}
	}

	srv, sftpAddrs, err := e.startSFTP(ctx, log)
	if err != nil {
		close(kick)
		return err
	}
	for _, a := range sftpAddrs {
		log.Info("sftp server", "addr", a.String(), "host_key", HostKeyPath(e.Config()))
	}
	if opt.Ready != nil {
		opt.Ready(e, httpAddr)
	}

	scan()
	poke(true)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	rescan := time.NewTicker(opt.Rescan)
	defer rescan.Stop()
	retain := time.NewTicker(time.Hour)
	defer retain.Stop()
	var watchdog <-chan time.Time
	if iv := WatchdogInterval(); iv > 0 {
		t := time.NewTicker(iv)
		defer t.Stop()
		watchdog = t.C
		notify("WATCHDOG=1")
	}
	reset := func(t time.Time) {
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(time.Until(t))
	}

	// A reload waits for the publication in progress (it must not change
	// the configuration under it), so it runs off the loop: the watchdog and
	// the inbox keep being served meanwhile.
	type reloadResult struct {
		cfg *config.Config
		err error
	}
	reloaded := make(chan reloadResult, 1)
	reloading, reloadAgain := false, false
	startReload := func() {
		c, err := reload(e, opt.ConfigPath)
		reloaded <- reloadResult{c, err}
	}

	for {
		select {
		case <-ctx.Done():
			notify("STOPPING=1")
			log.Info("stopping: finishing work in progress", "grace", opt.Grace.String())
			stopWorker()
			close(kick)
			grace := time.After(opt.Grace)
			for _, wait := range []struct {
				done <-chan struct{}
				what string
			}{{publisherDone, "a publication was still in progress; it is finished or rolled back at the next start"},
				{workerDone, "an extract was still being computed; it is taken again at the next start"}} {
				select {
				case <-wait.done:
				case <-grace:
					log.Warn("stopped before the grace period ended: " + wait.what)
				}
			}
			log.Info("daemon stopped")
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return fmt.Errorf("inbox watcher closed")
			}
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Rename) || ev.Has(fsnotify.Write) {
				if name := filepath.Base(ev.Name); filepath.Dir(ev.Name) == filepath.Clean(e.layout.Inbox()) {
					if fi, err := os.Lstat(ev.Name); err == nil && fi.Mode().IsRegular() {
						enqueue(name)
					}
				}
			}
		case err := <-w.Errors:
			log.Warn("inbox watcher error; rescanning", "err", err)
			scan()
		case name := <-done:
			delete(pending, name)
			poke(false)
		case t := <-nextTick:
			reset(t)
		case <-rescan.C:
			scan()
		case <-retain.C:
			poke(true)
		case <-timer.C:
			poke(false)
		case <-watchdog:
			notify("WATCHDOG=1")
		case <-opt.Reload:
			if reloading {
				reloadAgain = true // after the one in progress
				continue
			}
			reloading = true
			notify("RELOADING=1")
			go startReload()
		case r := <-reloaded:
			if r.err != nil {
				log.Error("reload failed; keeping the configuration in force", "err", r.err)
				e.ReloadFailures.Add(1)
				e.metrics.ReloadFailures.Inc()
				e.metrics.ReloadOK.Set(0)
			} else {
				if srv != nil {
					if err := srv.SetVendors(serverVendors(r.cfg)); err != nil {
						log.Error("sftp server keeps its vendors", "err", err)
					}
				}
				e.metrics.ReloadOK.Set(1)
				log.Info("configuration reloaded", "config", opt.ConfigPath)
				poke(false)
			}
			if reloadAgain {
				reloadAgain = false
				go startReload()
				continue
			}
			reloading = false
			notify("READY=1")
		}
	}
}

func reload(e *Engine, path string) (*config.Config, error) {
	c, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	return c, e.Reload(c)
}
