package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"leverance/compute"
	"leverance/internal/extract"
	"leverance/internal/fsutil"
	"leverance/receipt"
)

// Manifest describes one staged extract: its products, computed and ready
// to publish, in staging/<YYYYMMDD>_r<N>/.
type Manifest struct {
	Extract  string         `json:"extract"`
	Ref      ExtractRef     `json:"ref"`
	SHA256   string         `json:"sha256"`
	Size     int64          `json:"size"`
	Rows     int            `json:"rows"`
	Invalid  int            `json:"invalid_rows"`
	Citizens int            `json:"citizens"`
	Files    []ManifestFile `json:"files"`
	dir      string
}

// ManifestFile is one staged product file.
type ManifestFile struct {
	Vendor  string `json:"vendor"`
	Product string `json:"product"`
	Name    string `json:"name"`
	SHA256  string `json:"sha256"`
	Size    int64  `json:"size"`
	Rows    int    `json:"rows"`
	// Basis is the extract daglige-beskeder was compared with ("" for a
	// first delivery).
	Basis string `json:"basis,omitempty"`
	// BasisUnavailable is the vendor's basis when its snapshot could not be
	// loaded, so that the messages were computed as a first delivery.
	BasisUnavailable string `json:"basis_unavailable,omitempty"`
}

func (m *Manifest) file(vendor string, p compute.Product) *ManifestFile {
	for i := range m.Files {
		if f := &m.Files[i]; f.Vendor == vendor && f.Product == p.String() {
			return f
		}
	}
	return nil
}

func (m *Manifest) path(f *ManifestFile) string { return filepath.Join(m.dir, f.Vendor, f.Name) }

func (m *Manifest) save() error {
	data, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(m.dir, "manifest.json"), append(data, '\n'), fsutil.FileMode)
}

// loadStaged reads the manifests of every staged extract and removes the
// debris of stagings that a crash interrupted.
func (e *Engine) loadStaged() error {
	ents, err := os.ReadDir(e.layout.Staging())
	if err != nil {
		return err
	}
	for _, ent := range ents {
		p := filepath.Join(e.layout.Staging(), ent.Name())
		if strings.HasPrefix(ent.Name(), ".") {
			e.log.Info("removing an interrupted staging", "dir", ent.Name())
			if err := os.RemoveAll(p); err != nil {
				return err
			}
			continue
		}
		data, err := os.ReadFile(filepath.Join(p, "manifest.json"))
		if err != nil {
			e.log.Warn("staging without manifest ignored", "dir", ent.Name(), "err", err)
			continue
		}
		m := &Manifest{dir: p}
		if err := json.Unmarshal(data, m); err != nil {
			e.log.Warn("staging with a corrupt manifest ignored", "dir", ent.Name(), "err", err)
			continue
		}
		e.staged[m.Ref] = m
	}
	return nil
}

// ScanInbox returns the names in the inbox that are ready to be taken, in
// name order (so older as-of dates and lower revisions first).
func (e *Engine) ScanInbox() ([]string, error) {
	ents, err := os.ReadDir(e.layout.Inbox())
	if err != nil {
		return nil, err
	}
	var names []string
	for _, ent := range ents {
		if ent.Type().IsRegular() && !compute.IsTemporaryName(ent.Name()) {
			names = append(names, ent.Name())
		}
	}
	return names, nil
}

// Accept takes one file from the inbox (docs/formats.md#file-name): it validates and
// computes it, stages the products and archives it; or quarantines it with
// its report. Either way the file leaves the inbox only once it is kept
// elsewhere. A temporary name is ignored.
func (e *Engine) Accept(name string) error {
	if compute.IsTemporaryName(name) || name != filepath.Base(name) {
		return nil
	}
	src := filepath.Join(e.layout.Inbox(), name)
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return nil // taken already (an event and a rescan can both name it)
	}
	n, ok := compute.ParseExtractName(name)
	if !ok {
		return e.quarantine(name, "", "not an extract: the name is not registreringer_YYYYMMDD[_N].csv[.gz]", 0, nil)
	}
	ref := ExtractRef{AsOf: n.AsOf.Compact(), Revision: n.Revision}

	// What the computation needs is taken under the lock; the snapshots
	// are read and the extract computed without it.
	e.mu.Lock()
	job := e.job(e.vendors)
	job.Snapshot = true
	var bases []basisSource
	for _, v := range e.vendors {
		if b, ok := e.state.Basis[v.Name]; ok && v.Takes(compute.DagligeBeskeder) && b.AsOf < ref.AsOf {
			bases = append(bases, basisSource{v.Name, b, e.staged[b]})
		}
	}
	e.mu.Unlock()
	used := e.loadBases(job, bases)

	began := time.Now()
	m, res, err := e.stage(src, ref, job, used)
	e.metrics.ComputeSeconds.Observe(time.Since(began).Seconds())
	var rej *compute.RejectedError
	if errors.As(err, &rej) {
		return e.quarantine(name, res.SHA256, rej.Report.Summary(), rej.Report.ProblemCount, rej.Report)
	}
	if err != nil {
		return fmt.Errorf("accept %s: %w", name, err)
	}
	return e.keep(name, n, m, res)
}

// keep moves a computed extract's staging into place and the extract into
// the archive, and records both; a file of that name accepted before is
// removed (the same) or quarantined (different).
func (e *Engine) keep(name string, n compute.ExtractName, m *Manifest, res *extract.Result) error {
	ref := m.Ref
	src := filepath.Join(e.layout.Inbox(), name)
	e.mu.Lock()
	defer e.mu.Unlock()
	arch := filepath.Join(e.layout.Archive(), name)
	if old, err := fsutil.SHA256File(arch); err == nil {
		os.RemoveAll(m.dir)
		if old == m.SHA256 {
			e.log.Info("extract already accepted; removing the identical copy from the inbox", "file", name)
			return os.Remove(src)
		}
		return e.quarantineLocked(name, m.SHA256, "a different file of this name was accepted before: send it as a new revision (_N)", 0, nil)
	}
	if err := e.fenced("accept " + name); err != nil {
		os.RemoveAll(m.dir)
		return err
	}
	final := filepath.Join(e.layout.Staging(), ref.String())
	if err := removeIfExists(final); err != nil {
		return err
	}
	if err := os.Rename(m.dir, final); err != nil {
		return fmt.Errorf("stage %s: %w", name, err)
	}
	m.dir = final
	if err := fsutil.SyncDir(e.layout.Staging()); err != nil {
		return err
	}
	if err := moveFile(src, arch); err != nil {
		return fmt.Errorf("archive %s: %w", name, err)
	}
	e.staged[ref] = m
	e.metrics.Extracts.WithLabelValues("accepted").Inc()
	e.metrics.DataQuality.WithLabelValues("no_dagpengeperiode").Add(float64(res.NoPeriod))
	note := ""
	if rev, ok := e.state.Published[ref.AsOf]; ok && rev != ref.Revision {
		note = fmt.Sprintf("products of revision %d are already published: this revision is kept and published only on re-delivery", rev)
	}
	e.log.Info("extract accepted", "file", name, "as_of", n.AsOf.String(), "revision", ref.Revision,
		"rows", res.Report.Rows, "invalid_rows", res.Report.InvalidRows, "citizens", res.Citizens, "no_dagpengeperiode", res.NoPeriod, "note", note)
	e.record(&receipt.Record{Event: receipt.Modtaget, File: name, AsOf: n.AsOf.String(), Revision: ref.Revision,
		SHA256: m.SHA256, Size: m.Size, Rows: m.Rows, Problems: m.Invalid, Reason: note})
	for _, f := range m.Files {
		e.record(&receipt.Record{Event: receipt.Beregnet, Product: f.Product, Day: n.AsOf.AddDays(1).String(), Vendor: f.Vendor,
			File: f.Name, SHA256: f.SHA256, Size: f.Size, Rows: f.Rows, InputSHA256: m.SHA256, Version: e.version,
			Input: ref.String(), Basis: f.Basis, BasisUnavailable: f.BasisUnavailable})
	}
	return nil
}

// stage computes an extract into a hidden directory in staging/ and returns
// its manifest; the caller renames it into place.
func (e *Engine) stage(src string, ref ExtractRef, job compute.Job, bases map[string]basisUse) (*Manifest, *extract.Result, error) {
	dir := filepath.Join(e.layout.Staging(), "."+ref.String()+"-"+randHex())
	if err := os.Mkdir(dir, fsutil.DirMode); err != nil {
		return nil, &extract.Result{}, err
	}
	out := &stagedOutput{dir: dir}
	fail := func(err error) error {
		out.closeAll()
		os.RemoveAll(dir)
		return err
	}
	res, err := e.compute(src, job, out)
	if res == nil {
		res = &extract.Result{}
	}
	if err != nil {
		return nil, res, fail(err)
	}
	for _, f := range out.files {
		if err := f.Sync(); err != nil {
			return nil, res, fail(err)
		}
	}
	out.closeAll()
	m := &Manifest{Extract: filepath.Base(src), Ref: ref, SHA256: res.SHA256, Size: res.Size,
		Rows: res.Report.Rows, Invalid: res.Report.InvalidRows, Citizens: res.Citizens, dir: dir}
	for _, f := range res.Files {
		mf := ManifestFile{Vendor: f.Vendor, Product: f.Product.String(), Name: f.Name, SHA256: f.SHA256, Size: f.Size, Rows: f.Rows}
		if f.Product == compute.DagligeBeskeder {
			mf.Basis, mf.BasisUnavailable = bases[f.Vendor].basis()
		}
		m.Files = append(m.Files, mf)
	}
	snap, err := fsutil.Create(filepath.Join(dir, "snapshot.bin"), fsutil.FileMode)
	if err == nil {
		if _, err = res.Snapshot.WriteTo(snap); err != nil {
			snap.Abort()
		} else {
			err = snap.Commit()
		}
	}
	if err == nil {
		err = m.save()
	}
	if err != nil {
		return nil, res, fail(err)
	}
	return m, res, nil
}

// stagedOutput writes the product files into a staging directory.
type stagedOutput struct {
	dir   string
	files []*os.File
}

func (o *stagedOutput) Create(vendor string, _ compute.Product, name string) (io.Writer, error) {
	if err := os.MkdirAll(filepath.Join(o.dir, vendor), fsutil.DirMode); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(o.dir, vendor, name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fsutil.FileMode)
	if err != nil {
		return nil, err
	}
	o.files = append(o.files, f)
	return f, nil
}

// Discard empties the directory: compute is about to read the extract
// again.
func (o *stagedOutput) Discard() {
	o.closeAll()
	os.RemoveAll(o.dir)
	os.Mkdir(o.dir, fsutil.DirMode)
}

func (o *stagedOutput) closeAll() {
	for _, f := range o.files {
		f.Close()
	}
	o.files = nil
}

// basisSource is a vendor's basis for daglige-beskeder (B of docs/rules.md#the-daily-messages) and
// its staged manifest (nil when no longer staged), taken under the lock.
type basisSource struct {
	vendor string
	ref    ExtractRef
	m      *Manifest
}

// basisUse says how a vendor's daglige-beskeder were computed: against
// the snapshot of ref, or — when it could not be loaded — as a first
// delivery (every citizen NY), which the receipt records.
type basisUse struct {
	ref    ExtractRef
	loaded bool
}

func (u basisUse) basis() (used, unavailable string) {
	switch {
	case u.ref == ExtractRef{}:
		return "", ""
	case u.loaded:
		return u.ref.String(), ""
	}
	return "", u.ref.String()
}

// loadBases loads the vendors' basis snapshots into job.Basis, outside the
// lock. A snapshot that cannot be loaded is an error a person must look
// at: the vendor's messages are computed as a first delivery, and this is
// logged, counted and recorded in the receipt (basis_unavailable).
func (e *Engine) loadBases(job compute.Job, srcs []basisSource) map[string]basisUse {
	used := map[string]basisUse{}
	for _, s := range srcs {
		snap, err := e.loadSnapshot(s.ref, s.m, job)
		if err != nil {
			e.log.Error("basis snapshot unavailable: the vendor's daglige-beskeder are computed as a first delivery (all NY)",
				"vendor", s.vendor, "basis", s.ref.String(), "err", err)
			e.metrics.BasisFallbacks.WithLabelValues(s.vendor).Inc()
			used[s.vendor] = basisUse{ref: s.ref}
			continue
		}
		job.Basis[s.vendor] = snap
		used[s.vendor] = basisUse{ref: s.ref, loaded: true}
	}
	return used
}

// job is a compute job for vendors with the configuration in force; the
// caller holds the lock.
func (e *Engine) job(vendors []compute.Vendor) compute.Job {
	return compute.Job{Calendar: e.sched.Cal, Vendors: vendors, Basis: map[string]*compute.Snapshot{},
		Reader: compute.ReaderOptions{MaxRejectedRows: e.cfg.MaxRejectedRows}, MemoryLimit: int64(e.cfg.MemoryLimitMiB) << 20}
}

// loadSnapshot returns the snapshot of extract ref from its staged
// manifest m, recomputing it from the archived extract (with the calendar
// and limits of base) when the file is missing.
func (e *Engine) loadSnapshot(ref ExtractRef, m *Manifest, base compute.Job) (*compute.Snapshot, error) {
	if m != nil {
		f, err := os.Open(filepath.Join(m.dir, "snapshot.bin"))
		if err == nil {
			defer f.Close()
			return compute.ReadSnapshot(f)
		}
		e.log.Warn("snapshot missing; recomputing it from the archive", "extract", ref.String(), "err", err)
	}
	name := "registreringer_" + ref.AsOf
	if ref.Revision > 1 {
		name += fmt.Sprintf("_%d", ref.Revision)
	}
	for _, ext := range []string{".csv", ".csv.gz"} {
		p := filepath.Join(e.layout.Archive(), name+ext)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		job := compute.Job{Calendar: base.Calendar, Snapshot: true, Reader: base.Reader, MemoryLimit: base.MemoryLimit}
		res, err := e.compute(p, job, nil)
		if err != nil {
			return nil, err
		}
		return res.Snapshot, nil
	}
	return nil, fmt.Errorf("extract %s is neither staged nor archived", ref)
}

// quarantine moves a rejected file to quarantine/ with its report beside it
// and records the rejection.
func (e *Engine) quarantine(name, sha, reason string, problems int, rep *compute.Report) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.quarantineLocked(name, sha, reason, problems, rep)
}

func (e *Engine) quarantineLocked(name, sha, reason string, problems int, rep *compute.Report) error {
	if err := e.fenced("quarantine " + name); err != nil {
		return err
	}
	src := filepath.Join(e.layout.Inbox(), name)
	if sha == "" {
		sha, _ = fsutil.SHA256File(src)
	}
	dst := filepath.Join(e.layout.Quarantine(), name)
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = filepath.Join(e.layout.Quarantine(), fmt.Sprintf("%s.%d", name, i))
	}
	var text strings.Builder
	if rep != nil {
		rep.WriteTo(&text)
	} else {
		fmt.Fprintf(&text, "%s: rejected: %s\n", name, reason)
	}
	if err := fsutil.WriteFile(dst+".error.txt", []byte(text.String()), fsutil.FileMode); err != nil {
		return fmt.Errorf("quarantine %s: %w", name, err)
	}
	if err := moveFile(src, dst); err != nil {
		return fmt.Errorf("quarantine %s: %w", name, err)
	}
	e.metrics.Extracts.WithLabelValues("rejected").Inc()
	e.log.Warn("extract rejected", "file", name, "quarantined_as", filepath.Base(dst), "reason", reason)
	e.record(&receipt.Record{Event: receipt.Afvist, File: name, SHA256: sha, Reason: reason, Problems: problems})
	return nil
}

// moveFile renames src to dst and makes both directories durable.
func moveFile(src, dst string) error {
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	if err := fsutil.SyncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	return fsutil.SyncDir(filepath.Dir(src))
}

func randHex() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
