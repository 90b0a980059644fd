package daemon

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"leverance/compute"
	"leverance/internal/fsutil"
	"leverance/receipt"
	"leverance/transfer"
)

// staleTemp is how old a temporary file in an outbox must be, without an
// intent naming it, before retention removes it.
const staleTemp = 24 * time.Hour

// Retain removes what has been kept long enough (docs/operations.md#retention-and-personal-data): delivered files
// in local outboxes after outbox_retention_days, archived and quarantined
// extracts and staged products after retention_days. Days are calendar days
// in the configured zone. Every removal is recorded.
func (e *Engine) Retain() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.fenced("retention"); err != nil {
		e.log.Warn("retention not run", "err", err)
		return
	}
	now := e.clock.Now()
	today := e.sched.Day(now)
	keep := e.sched.At(today.AddDays(-e.cfg.RetentionDays), 0)
	keepOutbox := e.sched.At(today.AddDays(-e.cfg.OutboxRetentionDays), 0)

	older := func(_ string, mod time.Time) bool { return mod.Before(keep) }
	e.removeFiles(e.layout.Archive(), older)
	e.removeFiles(e.layout.Quarantine(), older)

	// Staged products hold CPR numbers too; keep those still needed: a
	// vendor's basis, and extracts whose slots may still be published.
	needed := map[ExtractRef]bool{}
	for _, b := range e.state.Basis {
		needed[b] = true
	}
	keepDay := today.AddDays(-e.cfg.RetentionDays)
	for ref, m := range e.staged {
		a, _ := compute.ParseCompactDate(ref.AsOf)
		if needed[ref] || a >= keepDay {
			continue
		}
		if err := os.RemoveAll(m.dir); err != nil {
			e.log.Error("retention: staging not removed", "extract", ref.String(), "err", err)
			continue
		}
		delete(e.staged, ref)
		e.log.Info("retention removed staged products", "extract", ref.String())
		e.record(&receipt.Record{Event: receipt.Slettet, Path: m.dir, SHA256: m.SHA256, Reason: "retention_days"})
	}

	temps := map[string]bool{}
	for _, in := range e.state.Intents {
		for _, f := range in.Files {
			temps[f.Tmp] = true
		}
	}
	for _, ob := range e.outboxes {
		l, ok := ob.(*transfer.Local)
		if !ok {
			continue
		}
		e.removeFiles(l.Dir, func(name string, mod time.Time) bool {
			if transfer.IsTemporary(name) {
				return !temps[name] && now.Sub(mod) > staleTemp
			}
			return !strings.HasPrefix(name, ".") && mod.Before(keepOutbox)
		})
	}
	for key, s := range e.state.Slots {
		if now.Sub(s.Time) > 400*24*time.Hour {
			delete(e.state.Slots, key)
		}
	}
}

// removeFiles removes the regular files in dir that remove accepts.
func (e *Engine) removeFiles(dir string, remove func(name string, mod time.Time) bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			e.log.Error("retention: cannot read", "dir", dir, "err", err)
		}
		return
	}
	for _, ent := range ents {
		info, err := ent.Info()
		if err != nil || !info.Mode().IsRegular() || !remove(ent.Name(), info.ModTime()) {
			continue
		}
		p := filepath.Join(dir, ent.Name())
		sum, _ := fsutil.SHA256File(p)
		if err := os.Remove(p); err != nil {
			e.log.Error("retention: not removed", "path", p, "err", err)
			continue
		}
		e.log.Info("retention removed a file", "path", p)
		e.record(&receipt.Record{Event: receipt.Slettet, Path: p, SHA256: sum})
	}
}
