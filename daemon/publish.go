package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"leverance/compute"
	"leverance/internal/extract"
	"leverance/internal/fsutil"
	"leverance/receipt"
	"leverance/transfer"
)

// catchUpDays bounds how far back Tick looks for unfinished slots.
const catchUpDays = 40

// Retries: exponential backoff with jitter from retryBase up to retryMax,
// until the slot's cutoff (docs/transfer.md#pushing-to-a-remote-sftp-server).
const (
	retryBase  = 15 * time.Second
	retryMax   = 10 * time.Minute
	retryDelay = retryBase // the pause before an unfinished intent is tried again
)

// backoff returns the pause after the n-th failed attempt: retryBase·2^(n−1),
// at most retryMax, ±20 % jitter so that vendors' retries do not align.
// Permanent errors (authentication, host key, permission) follow the same
// schedule — an operator's fix is picked up by the next attempt — but are
// logged as such at once, and counted by class.
func backoff(n int) time.Duration {
	d := retryMax
	if n < 10 {
		d = min(retryBase<<(n-1), retryMax)
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Tick publishes every slot that is due at the clock's now, marks those
// whose cutoff has passed as omitted, and returns when it next has work to
// do (a release or a cutoff, or a retry).
func (e *Engine) Tick() (next time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clock.Now()
	e.recoverIntents()
	today := e.sched.Day(now)
	if len(e.state.Intents) > 0 {
		defer func() {
			if r := now.Add(retryDelay); r.Before(next) {
				next = r
			}
		}()
	}
	since, ok := compute.ParseCompactDate(e.state.Since)
	if !ok || since < today.AddDays(-catchUpDays) {
		since = today.AddDays(-catchUpDays)
	}
	next = e.sched.At(today.AddDays(1), 0) // at the latest: the next day starts
	defer e.closeConnections()
	wake := func(t time.Time) {
		if t.After(now) && t.Before(next) {
			next = t
		}
	}
	for _, p := range compute.Products() {
		for d := since; d <= today.AddDays(1); d++ {
			if !e.sched.IsDeliveryDay(p, d) {
				continue
			}
			for _, v := range e.vendors {
				if v.Takes(p) {
					e.slot(SlotKey{p, d, v.Name}, now, wake)
				}
				if e.ctx.Err() != nil {
					return next // stopping: what is left waits for the next start
				}
			}
		}
	}
	return next
}

// slot does what slot k needs at now: nothing before its release or once
// finished, omission after its cutoff, else publication when its extract is
// there and no retry is pending. wake is told when to look again.
func (e *Engine) slot(k SlotKey, now time.Time, wake func(time.Time)) {
	if e.state.Slots[k] != nil || e.state.Intents[k] != nil {
		return
	}
	times := e.sched.SlotTimes(k.Product, k.Day)
	switch {
	case now.Before(times.Release):
		wake(times.Release)
		return
	case times.Closed(now):
		e.omit(k, times)
		return
	}
	wake(times.Cutoff)
	ref, m := e.input(k.Day)
	if m == nil {
		return // waiting for the extract
	}
	if t, ok := e.retryAt[k]; ok && now.Before(t) {
		wake(t)
		return
	}
	e.metrics.Attempts.WithLabelValues(k.Product.String(), k.Vendor).Inc()
	err := e.publish(k, ref, m)
	if err == nil {
		delete(e.retryAt, k)
		return
	}
	if e.ctx.Err() != nil {
		e.log.Info("publication interrupted by the stop; it is finished or rolled back at the next start",
			"product", k.Product.String(), "day", k.Day.String(), "vendor", k.Vendor)
		return
	}
	e.failed(k, now, err)
	wake(e.retryAt[k])
}

// failed records a failed publication attempt and when it is tried again.
// A transient failure (network, a full disk on the server) is a warning:
// the retry usually mends it. A permanent one (authentication, host key,
// permission) needs a person: an error.
func (e *Engine) failed(k SlotKey, now time.Time, err error) {
	e.attempts[k]++
	class, permanent := classify(err)
	e.retryAt[k] = now.Add(backoff(e.attempts[k]))
	e.metrics.Failures.WithLabelValues(class).Inc()
	level := slog.LevelWarn
	if permanent {
		level = slog.LevelError
	}
	e.log.Log(context.Background(), level, "publication failed; retrying", "product", k.Product.String(), "day", k.Day.String(),
		"vendor", k.Vendor, "attempt", e.attempts[k], "class", class, "permanent", permanent,
		"retry_at", e.retryAt[k].Format(time.RFC3339), "err", err)
	e.record(&receipt.Record{Event: receipt.Fejl, Product: k.Product.String(), Day: k.Day.String(), Vendor: k.Vendor,
		ErrorClass: class, Message: err.Error(), Attempts: e.attempts[k]})
}

// input returns the extract a slot on day d publishes from: the revision
// already published for its as-of date, or else the highest one staged.
func (e *Engine) input(d compute.Date) (ExtractRef, *Manifest) {
	a := InputAsOf(d)
	if rev, ok := e.state.Published[a.Compact()]; ok {
		ref := ExtractRef{AsOf: a.Compact(), Revision: rev}
		return ref, e.staged[ref]
	}
	if refs := e.stagedFor(a); len(refs) > 0 {
		return refs[0], e.staged[refs[0]]
	}
	return ExtractRef{}, nil
}

func (e *Engine) omit(key SlotKey, times Times) {
	p, d, vendor := key.Product, key.Day, key.Vendor
	reason := fmt.Sprintf("no accepted extract as of %s by the cutoff", InputAsOf(d))
	if _, m := e.input(d); m != nil {
		reason = fmt.Sprintf("not published by the cutoff after %d failed attempts", e.attempts[key])
	}
	e.state.Slots[key] = &SlotState{Status: Udeladt, Time: times.Cutoff, Outcome: Udeladt, Attempts: e.attempts[key]}
	if err := e.save(); err != nil {
		delete(e.state.Slots, key)
		e.log.Error("state not saved", "err", err)
		return
	}
	e.metrics.Publications.WithLabelValues(p.String(), vendor, Udeladt).Inc()
	e.log.Warn("slot omitted", "product", p.String(), "day", d.String(), "vendor", vendor, "reason", reason)
	e.record(&receipt.Record{Event: receipt.Udeladt, Product: p.String(), Day: d.String(), Vendor: vendor, Reason: reason,
		Window: &receipt.Win{Release: times.Release.UTC(), Deadline: times.Deadline.UTC(), Cutoff: timePtr(times.Cutoff)}})
}

// publish stages the file and its .sha256 in the vendor's outbox, records
// the intent, then commits both (docs/transfer.md#publishing-transfer, exactly once).
func (e *Engine) publish(key SlotKey, ref ExtractRef, m *Manifest) error {
	p, vendor := key.Product, key.Vendor
	f := m.file(vendor, p)
	if f == nil {
		var err error
		if f, err = e.restage(m, vendor, p); err != nil {
			return err
		}
	}
	if p == compute.DagligeBeskeder {
		basis := ""
		if b, ok := e.state.Basis[vendor]; ok {
			basis = b.String()
		}
		if f.Basis != basis {
			var err error
			if f, err = e.restage(m, vendor, p); err != nil {
				return err
			}
		}
	}
	ob := e.outboxes[vendor]
	data, err := os.Open(m.path(f))
	if err != nil {
		return fmt.Errorf("staged file: %w", err)
	}
	defer data.Close()
	var tmpData, tmpSum string
	e.unlocked(func() { tmpData, tmpSum, err = stageWithSum(e.ctx, ob, f.Name, data, f.SHA256) })
	if err != nil {
		return err
	}
	in := &Intent{Time: e.clock.Now(), Input: ref, SHA256: f.SHA256, Size: f.Size, Attempts: e.attempts[key] + 1,
		Files: []StagedFile{{tmpData, f.Name}, {tmpSum, f.Name + ".sha256"}}}
	e.state.Intents[key] = in
	if err := e.save(); err != nil {
		delete(e.state.Intents, key)
		e.unlocked(func() {
			ob.Discard(e.ctx, tmpData)
			ob.Discard(e.ctx, tmpSum)
		})
		return fmt.Errorf("save state: %w", err)
	}
	return e.finish(key, in)
}

// stageWithSum stages a product file under name and its .sha256 beside it
// (docs/formats.md#output-the-products); on error nothing stays staged.
func stageWithSum(ctx context.Context, ob transfer.Outbox, name string, data io.Reader, sha256 string) (tmpData, tmpSum string, err error) {
	if tmpData, err = ob.Stage(ctx, name, data); err != nil {
		return "", "", err
	}
	sum := compute.FileSum{Name: name, SHA256: sha256}
	if tmpSum, err = ob.Stage(ctx, name+".sha256", bytes.NewReader([]byte(sum.SumLine()))); err != nil {
		ob.Discard(ctx, tmpData)
		return "", "", err
	}
	return tmpData, tmpSum, nil
}

// finish commits an intent's files and records the delivery.
func (e *Engine) finish(key SlotKey, in *Intent) error {
	p, d, vendor := key.Product, key.Day, key.Vendor
	ob := e.outboxes[vendor]
	if ob == nil {
		return fmt.Errorf("vendor %s is no longer configured", vendor)
	}
	if err := e.fenced("commit " + key.String()); err != nil {
		return err
	}
	var err error
	e.unlocked(func() {
		for _, f := range in.Files {
			if err = ob.Commit(e.ctx, f.Tmp, f.Name); err != nil {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	at := e.clock.Now()
	times := e.sched.SlotTimes(p, d)
	st := &SlotState{Status: receipt.Leveret, Time: at, Outcome: times.Outcome(at), File: in.Files[0].Name,
		SHA256: in.SHA256, Size: in.Size, Input: in.Input.String(), Attempts: in.Attempts}
	e.state.Slots[key] = st
	delete(e.state.Intents, key)
	prevBasis, hadBasis := e.state.Basis[vendor]
	if p == compute.DagligeBeskeder {
		e.state.Basis[vendor] = in.Input
	}
	_, hadPub := e.state.Published[in.Input.AsOf]
	e.state.Published[in.Input.AsOf] = in.Input.Revision
	if err := e.save(); err != nil {
		// Undo in memory; the intent stays and is finished again.
		delete(e.state.Slots, key)
		e.state.Intents[key] = in
		if hadBasis {
			e.state.Basis[vendor] = prevBasis
		} else if p == compute.DagligeBeskeder {
			delete(e.state.Basis, vendor)
		}
		if !hadPub {
			delete(e.state.Published, in.Input.AsOf)
		}
		return fmt.Errorf("save state: %w", err)
	}
	e.metrics.Publications.WithLabelValues(p.String(), vendor, st.Outcome).Inc()
	e.metrics.BytesSent.WithLabelValues(vendor).Add(float64(st.Size))
	e.metrics.LastPublication.WithLabelValues(p.String(), vendor).Set(float64(at.Unix()))
	loc := ob.Location()
	e.log.Info("published", "product", p.String(), "day", d.String(), "vendor", vendor, "file", st.File,
		"outcome", st.Outcome, "outbox", loc.Path)
	e.record(&receipt.Record{Event: receipt.Leveret, Product: p.String(), Day: d.String(), Vendor: vendor,
		Outbox: &receipt.Place{Kind: loc.Kind, Host: loc.Host, HostKey: loc.HostKey, Path: loc.Path},
		File:   st.File, SHA256: st.SHA256, Size: st.Size, Attempts: st.Attempts, Outcome: st.Outcome,
		Window: &receipt.Win{Release: times.Release.UTC(), Deadline: times.Deadline.UTC(), Cutoff: timePtr(times.Cutoff)}})
	e.copyCheckpoint(vendor, ob)
	e.sweep(vendor, ob)
	return nil
}

// sweep removes, once per run and vendor, the temporary files that uploads
// of an earlier run abandoned in a remote outbox (a stop or a stalled
// server cut them off, so they could not be removed then); those of
// unfinished intents stay. Local outboxes are swept at start
// (removeStrayTemps).
func (e *Engine) sweep(vendor string, ob transfer.Outbox) {
	s, ok := ob.(interface {
		Sweep(ctx context.Context, since time.Time, keep map[string]bool) ([]string, error)
	})
	if !ok || e.swept[vendor] {
		return
	}
	keep := map[string]bool{}
	for key, in := range e.state.Intents {
		if key.Vendor == vendor {
			for _, f := range in.Files {
				keep[f.Tmp] = true
			}
		}
	}
	var removed []string
	var err error
	e.unlocked(func() { removed, err = s.Sweep(e.ctx, e.started, keep) })
	if err != nil {
		e.log.Warn("outbox not swept for abandoned temporary files; tried again after the next publication", "vendor", vendor, "err", err)
		return
	}
	e.swept[vendor] = true
	for _, name := range removed {
		e.log.Info("removed a temporary file an abandoned upload left in the outbox", "vendor", vendor, "file", name)
	}
}

// copyCheckpoint puts the log's current signed checkpoint into the vendor's
// outbox as checkpoint.txt (docs/audit.md): vendors hold witnesses of the log.
func (e *Engine) copyCheckpoint(vendor string, ob transfer.Outbox) {
	cp, ok := e.sink.(interface{ Checkpoint() ([]byte, error) })
	if !ok {
		return
	}
	data, err := cp.Checkpoint()
	if err == nil {
		e.unlocked(func() { err = transfer.Replace(e.ctx, ob, "checkpoint.txt", data) })
	}
	if err != nil {
		e.log.Warn("checkpoint.txt not copied to the outbox", "vendor", vendor, "err", err)
	}
}

// recoverIntents finishes the publications a crash interrupted: forward when
// any file may already be visible or the window is open, back (discarding
// the staged files) when nothing was committed and the cutoff has passed.
func (e *Engine) recoverIntents() {
	now := e.clock.Now()
	for key, in := range e.state.Intents {
		p, d, vendor := key.Product, key.Day, key.Vendor
		ob := e.outboxes[vendor]
		if ob == nil {
			continue
		}
		if e.sched.SlotTimes(p, d).Closed(now) && e.allStaged(ob, in) {
			e.unlocked(func() {
				for _, f := range in.Files {
					ob.Discard(e.ctx, f.Tmp)
				}
			})
			delete(e.state.Intents, key)
			e.log.Warn("interrupted publication rolled back: the cutoff has passed", "slot", key.String())
			if err := e.save(); err != nil {
				e.log.Error("state not saved", "err", err)
			}
			continue
		}
		if err := e.finish(key, in); err != nil {
			e.log.Error("interrupted publication not finished", "slot", key.String(), "err", err)
			continue
		}
		e.log.Info("interrupted publication finished", "slot", key.String())
	}
}

// removeStrayTemps removes, at start, the temporary files in local outboxes
// that no intent names. A crash after a file was staged but before the
// intent naming it was saved (or while checkpoint.txt was being replaced)
// leaves one behind; the next publication stages afresh, so nothing would
// ever commit or remove it before retention's staleTemp, and in the meantime
// it is a copy of CPR numbers that a vendor sees where OpenSSH serves the
// outbox. No publication of this daemon is in flight at start.
func (e *Engine) removeStrayTemps() {
	keep := map[string]bool{}
	for key, in := range e.state.Intents {
		for _, f := range in.Files {
			keep[key.Vendor+"/"+f.Tmp] = true
		}
	}
	for _, v := range e.cfg.Vendor {
		if v.Outbox.Kind != "local" {
			continue
		}
		dir := e.cfg.Resolve(v.Outbox.Path)
		ents, err := os.ReadDir(dir)
		if err != nil {
			e.log.Warn("outbox not read for temporary files", "vendor", v.Name, "err", err)
			continue
		}
		for _, ent := range ents {
			name := ent.Name()
			if !ent.Type().IsRegular() || !transfer.IsTemporary(name) || keep[v.Name+"/"+name] {
				continue
			}
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				e.log.Error("temporary file not removed from the outbox", "vendor", v.Name, "file", name, "err", err)
				continue
			}
			e.log.Info("removed a temporary file an interrupted publication left in the outbox", "vendor", v.Name, "file", name)
		}
	}
}

// allStaged reports whether every file of an intent is still under its
// temporary name, i.e. nothing of it was committed.
func (e *Engine) allStaged(ob transfer.Outbox, in *Intent) bool {
	all := true
	e.unlocked(func() {
		for _, f := range in.Files {
			if ok, err := ob.Exists(e.ctx, f.Tmp); !ok || err != nil {
				all = false
				return
			}
		}
	})
	return all
}

// restage computes one vendor's product again from the archived extract with
// the vendor's current basis: when daglige-beskeder was staged against a
// basis that has changed since, or the vendor is new.
func (e *Engine) restage(m *Manifest, vendor string, p compute.Product) (*ManifestFile, error) {
	v := e.vendor(vendor)
	if v == nil {
		return nil, fmt.Errorf("vendor %s is not configured", vendor)
	}
	a, _ := compute.ParseCompactDate(m.Ref.AsOf)
	one := *v
	one.Products = []compute.Product{p}
	job := e.job([]compute.Vendor{one})
	var src []basisSource
	if b, ok := e.state.Basis[vendor]; ok && p == compute.DagligeBeskeder && b.AsOf < m.Ref.AsOf {
		src = append(src, basisSource{vendor, b, e.staged[b]})
	}
	var used map[string]basisUse
	e.unlocked(func() { used = e.loadBases(job, src) })
	basis, unavailable := used[vendor].basis()
	archived := filepath.Join(e.layout.Archive(), m.Extract)
	if err := os.MkdirAll(filepath.Join(m.dir, vendor), fsutil.DirMode); err != nil {
		return nil, err
	}
	name := p.FileName(a)
	t, err := fsutil.Create(filepath.Join(m.dir, vendor, name), fsutil.FileMode)
	if err != nil {
		return nil, err
	}
	defer t.Abort()
	var res *extract.Result
	e.unlocked(func() {
		res, err = e.compute(archived, job, oneFile{t})
	})
	if err != nil {
		return nil, fmt.Errorf("recompute %s for %s from %s: %w", p, vendor, m.Extract, err)
	}
	if len(res.Files) != 1 {
		return nil, errors.New("recompute gave no file")
	}
	if err := t.Commit(); err != nil {
		return nil, err
	}
	fs := res.Files[0]
	mf := ManifestFile{Vendor: vendor, Product: p.String(), Name: fs.Name, SHA256: fs.SHA256, Size: fs.Size, Rows: fs.Rows,
		Basis: basis, BasisUnavailable: unavailable}
	if old := m.file(vendor, p); old != nil {
		*old = mf
	} else {
		m.Files = append(m.Files, mf)
	}
	if err := m.save(); err != nil {
		return nil, err
	}
	e.log.Info("product recomputed for the vendor's current basis", "product", p.String(), "vendor", vendor, "extract", m.Extract, "basis", basis)
	e.record(&receipt.Record{Event: receipt.Beregnet, Product: p.String(), Day: a.AddDays(1).String(), Vendor: vendor,
		File: mf.Name, SHA256: mf.SHA256, Size: mf.Size, Rows: mf.Rows, InputSHA256: m.SHA256, Version: e.version,
		Input: m.Ref.String(), Basis: basis, BasisUnavailable: unavailable})
	return m.file(vendor, p), nil
}

// classify classifies a publication error for receipts, metrics and the
// retry policy (transfer.Class: auth, hostkey, permission, exists are
// permanent; network and remote-full are transient).
func classify(err error) (class string, permanent bool) {
	return transfer.Class(err), transfer.Permanent(err)
}

// oneFile is the Output of a job with one product file: t, written again
// from its start on Discard.
type oneFile struct{ t *fsutil.TempFile }

func (o oneFile) Create(string, compute.Product, string) (io.Writer, error) { return o.t, nil }

func (o oneFile) Discard() {
	o.t.Truncate(0)
	o.t.Seek(0, io.SeekStart)
}
