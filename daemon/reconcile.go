package daemon

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"leverance/compute"
	"leverance/internal/fsutil"
	"leverance/receipt"
)

// recordedAtStart marks receipts written by reconcileReceipts.
const recordedAtStart = "recorded at start: the daemon stopped between the step and its receipt"

// reconcileReceipts writes the receipts that a crash between a step and its
// receipt left out (docs/audit.md): accepted and rejected extracts, computed
// products, delivered and omitted slots. Each step changes the state first
// and records it after, so at start the state is the truth and the log is
// completed from it. Then every outbox gets the current checkpoint.
func (e *Engine) reconcileReceipts() {
	if !e.haveRecords {
		return
	}
	// The log is read once at start: into the status index, and here.
	e.statusMu.Lock()
	recs, err := e.newRecords()
	for _, r := range recs {
		e.status.Add(r)
	}
	e.statusMu.Unlock()
	if err != nil {
		e.log.Error("receipts not reconciled: log unreadable", "err", err)
		return
	}
	c := &completion{e: e, have: recorded(recs)}
	c.extracts()
	c.rejected()
	c.slots()
	if c.added > 0 {
		e.log.Warn("receipts completed after an interrupted run", "records", c.added)
	}
	// Local outboxes get the current checkpoint at once; remote ones with
	// their next publication (no connection is made just for it).
	for name, ob := range e.outboxes {
		if ob.Location().Kind == "local" {
			e.copyCheckpoint(name, ob)
		}
	}
}

// recorded returns the keys of the steps the log records.
func recorded(recs []receipt.Record) map[string]bool {
	have := map[string]bool{}
	for _, r := range recs {
		switch r.Event {
		case receipt.Modtaget, receipt.Afvist:
			have[r.Event+"|"+r.SHA256] = true
		case receipt.Beregnet:
			have[r.Event+"|"+r.Vendor+"|"+r.Product+"|"+r.SHA256] = true
		case receipt.Leveret, receipt.Udeladt:
			have[r.Event+"|"+r.Product+"|"+r.Day+"|"+r.Vendor] = true
		}
	}
	return have
}

// completion writes the receipts of the steps the log lacks.
type completion struct {
	e     *Engine
	have  map[string]bool
	added int
}

func (c *completion) add(key string, r *receipt.Record) {
	if c.have[key] {
		return
	}
	c.have[key] = true
	r.Reason = strings.TrimSpace(r.Reason + " (" + recordedAtStart + ")")
	c.e.record(r)
	c.added++
}

// extracts: the staged extracts that were archived, and their products.
func (c *completion) extracts() {
	e := c.e
	refs := make([]ExtractRef, 0, len(e.staged))
	for ref := range e.staged {
		refs = append(refs, ref)
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	for _, ref := range refs {
		m := e.staged[ref]
		if _, err := os.Stat(filepath.Join(e.layout.Archive(), m.Extract)); err != nil {
			continue // not archived: still in the inbox, accepted (and recorded) again
		}
		a, _ := compute.ParseCompactDate(ref.AsOf)
		c.add(receipt.Modtaget+"|"+m.SHA256, &receipt.Record{Event: receipt.Modtaget, File: m.Extract, AsOf: a.String(),
			Revision: ref.Revision, SHA256: m.SHA256, Size: m.Size, Rows: m.Rows, Problems: m.Invalid})
		for _, f := range m.Files {
			c.add(receipt.Beregnet+"|"+f.Vendor+"|"+f.Product+"|"+f.SHA256, &receipt.Record{Event: receipt.Beregnet,
				Product: f.Product, Day: a.AddDays(1).String(), Vendor: f.Vendor, File: f.Name, SHA256: f.SHA256,
				Size: f.Size, Rows: f.Rows, InputSHA256: m.SHA256, Input: ref.String(), Basis: f.Basis, BasisUnavailable: f.BasisUnavailable})
		}
	}
}

// rejected: the files in quarantine.
func (c *completion) rejected() {
	q := c.e.layout.Quarantine()
	ents, err := os.ReadDir(q)
	if err != nil {
		return
	}
	for _, ent := range ents {
		name := ent.Name()
		if !ent.Type().IsRegular() || strings.HasSuffix(name, ".error.txt") {
			continue
		}
		sum, err := fileSum(filepath.Join(q, name))
		if err != nil {
			continue
		}
		c.add(receipt.Afvist+"|"+sum, &receipt.Record{Event: receipt.Afvist, File: name, SHA256: sum,
			Reason: firstLine(filepath.Join(q, name+".error.txt"))})
	}
}

// slots: the finished slots of the delivery state.
func (c *completion) slots() {
	e := c.e
	keys := make([]SlotKey, 0, len(e.state.Slots))
	for k := range e.state.Slots {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, key := range keys {
		s := e.state.Slots[key]
		p, d, vendor := key.Product, key.Day, key.Vendor
		times := e.sched.SlotTimes(p, d)
		win := &receipt.Win{Release: times.Release.UTC(), Deadline: times.Deadline.UTC(), Cutoff: timePtr(times.Cutoff)}
		if s.Status == Udeladt {
			c.add(receipt.Udeladt+"|"+p.String()+"|"+d.String()+"|"+vendor, &receipt.Record{Time: s.Time.UTC(), Event: receipt.Udeladt,
				Product: p.String(), Day: d.String(), Vendor: vendor, Window: win})
			continue
		}
		r := &receipt.Record{Time: s.Time.UTC(), Event: receipt.Leveret, Product: p.String(), Day: d.String(), Vendor: vendor,
			File: s.File, SHA256: s.SHA256, Size: s.Size, Attempts: s.Attempts, Outcome: s.Outcome, Input: s.Input, Window: win}
		if ob := e.outboxes[vendor]; ob != nil {
			loc := ob.Location()
			r.Outbox = &receipt.Place{Kind: loc.Kind, Host: loc.Host, HostKey: loc.HostKey, Path: loc.Path}
		}
		c.add(receipt.Leveret+"|"+p.String()+"|"+d.String()+"|"+vendor, r)
	}
}

func fileSum(p string) (string, error) { return fsutil.SHA256File(p) }

func firstLine(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if sc.Scan() {
		return sc.Text()
	}
	return ""
}
