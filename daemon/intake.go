package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// intake takes extracts from the inbox: it watches the directory, reads it
// in full every rescan (events can be lost), and hands the files to one
// worker that computes them one at a time, in the order they came. After
// each file it calls taken, so that the products are published at once.
type intake struct {
	e       *Engine
	log     *slog.Logger
	watcher *fsnotify.Watcher
	rescan  time.Duration
	grace   time.Duration
	taken   func()

	queue   chan string
	done    chan string
	pending map[string]bool
}

func newIntake(e *Engine, log *slog.Logger, rescan, grace time.Duration, taken func()) (*intake, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("inbox watcher: %w", err)
	}
	if err := w.Add(e.layout.Inbox()); err != nil {
		w.Close()
		return nil, fmt.Errorf("watch inbox %s: %w", e.layout.Inbox(), err)
	}
	return &intake{e: e, log: log, watcher: w, rescan: rescan, grace: grace, taken: taken,
		queue: make(chan string, 1024), done: make(chan string, 16), pending: map[string]bool{}}, nil
}

// Run takes files until ctx is done, then waits up to the grace for the
// extract being computed; one still computing then is taken again at the
// next start.
func (in *intake) Run(ctx context.Context) error {
	defer in.watcher.Close()
	workerDone := make(chan struct{})
	go in.work(ctx, workerDone)
	in.scan()
	rescan := time.NewTicker(in.rescan)
	defer rescan.Stop()
	for {
		select {
		case <-ctx.Done():
			waitGrace(workerDone, in.grace, in.log, "an extract was still being computed; it is taken again at the next start")
			return nil
		case ev, ok := <-in.watcher.Events:
			if !ok {
				return fmt.Errorf("inbox watcher closed")
			}
			in.event(ev)
		case err := <-in.watcher.Errors:
			in.log.Warn("inbox watcher error; rescanning", "err", err)
			in.scan()
		case name := <-in.done:
			delete(in.pending, name)
			in.taken()
		case <-rescan.C:
			in.scan()
		}
	}
}

// work computes the queued files one at a time until ctx is done.
func (in *intake) work(ctx context.Context, done chan<- struct{}) {
	defer close(done)
	for {
		select {
		case <-ctx.Done():
			return
		case name := <-in.queue:
			if ctx.Err() != nil {
				return // stopping: select picks at random, so a queued file could still come first
			}
			if err := in.e.Accept(name); err != nil {
				in.log.Error("extract not taken", "file", name, "err", err)
			}
			select {
			case in.done <- name:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (in *intake) event(ev fsnotify.Event) {
	if !ev.Has(fsnotify.Create) && !ev.Has(fsnotify.Rename) && !ev.Has(fsnotify.Write) {
		return
	}
	if filepath.Dir(ev.Name) != filepath.Clean(in.e.layout.Inbox()) {
		return
	}
	if fi, err := os.Lstat(ev.Name); err == nil && fi.Mode().IsRegular() {
		in.enqueue(filepath.Base(ev.Name))
	}
}

func (in *intake) enqueue(name string) {
	if in.pending[name] {
		return
	}
	select {
	case in.queue <- name:
		in.pending[name] = true
	default:
		in.log.Warn("inbox queue full; the next rescan takes the file", "file", name)
	}
}

func (in *intake) scan() {
	names, err := in.e.ScanInbox()
	if err != nil {
		in.log.Error("inbox scan failed", "err", err)
		return
	}
	for _, n := range names {
		in.enqueue(n)
	}
}

// waitGrace waits for done at most grace, and says what is left when the
// grace runs out.
func waitGrace(done <-chan struct{}, grace time.Duration, log *slog.Logger, left string) {
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		log.Warn("stopped before the grace period ended: " + left)
	}
}
