package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"leverance/compute"
	"leverance/config"
	"leverance/internal/extract"
	"leverance/internal/fsutil"
	"leverance/receipt"
	"leverance/status"
	"leverance/transfer"
)

// view is the configuration in force, replaced whole on reload: what the
// status, metrics and health read without waiting for work in progress.
type view struct {
	cfg     *config.Config
	sched   *Schedule
	vendors []compute.Vendor
}

// Options configure an Engine.
type Options struct {
	Config  *config.Config
	Clock   Clock        // default SystemClock
	Log     *slog.Logger // default slog.Default()
	Sink    receipt.Sink // default: receipts to the log only
	Version string       // program version, recorded with computed products
	// Since is, at the very first start only, the first delivery day the
	// daemon is responsible for (default: that day); ignored afterwards.
	Since compute.Date
	// Metrics, default a fresh set.
	Metrics *Metrics
	// NewRecords returns the records appended to the receipts log since
	// its last call (the first call, at start: all of them), for the
	// status and to complete the log at start. Default: derived from
	// Records, which returns the whole log; neither: no receipts to read.
	NewRecords func() ([]receipt.Record, error)
	Records    func() ([]receipt.Record, error)
	// NewOutbox makes a vendor's outbox; default DefaultOutbox.
	NewOutbox func(c *config.Config, v config.Vendor) (transfer.Outbox, error)
	// Context, when done, abandons every outbox operation in progress (the
	// daemon's stop); default: never.
	Context context.Context
	// Fence, when set (a cluster node), is called before every step that
	// changes the shared state — saving the state, committing a
	// publication, accepting, quarantining or removing a file, appending a
	// receipt — with the step's name; an error aborts the step.
	Fence func(step string) error
	// Node is recorded in every receipt ([cluster] node; "" without one).
	Node string
}

// Engine is the daemon's logic: accept, stage, publish, retain. Its methods
// are safe for concurrent use; heavy computation runs outside the lock.
type Engine struct {
	mu        sync.Mutex
	cfg       *config.Config
	sched     *Schedule
	vendors   []compute.Vendor
	outboxes  map[string]transfer.Outbox
	newOutbox func(*config.Config, config.Vendor) (transfer.Outbox, error)
	layout    config.Layout
	clock     Clock
	log       *slog.Logger
	sink      receipt.Sink
	version   string
	state     *State
	metrics   *Metrics
	records   func() ([]receipt.Record, error)
	// status is the receipts index the status is derived from, fed by
	// newRecords; statusMu guards both, never held across other work.
	statusMu   sync.Mutex
	status     *status.Index
	newRecords func() ([]receipt.Record, error)
	// haveRecords: the receipts can be read back, so reconcileReceipts can
	// complete them at start.
	haveRecords bool
	staged      map[ExtractRef]*Manifest
	attempts    map[SlotKey]int       // failed publication attempts per slot (since start)
	retryAt     map[SlotKey]time.Time // when a failed slot is tried again
	// view is what the status needs, readable without waiting for a
	// publication in progress.
	view atomic.Pointer[view]
	// ReloadFailures counts configurations that were refused on reload.
	ReloadFailures atomic.Int64
	// ctx reaches every outbox operation: the daemon's stop abandons them.
	ctx context.Context
	// started is when this run began (wall clock, as remote servers stamp
	// files); swept lists the remote outboxes swept since (sweep).
	started time.Time
	swept   map[string]bool
	// fence and node: Options.Fence and Options.Node.
	fence func(step string) error
	node  string
	// role is the cluster node's role, shown by the status (nil without
	// [cluster]).
	role *clusterRole
}

// New opens the state directory (creating it on first start), loads the
// state and the staged products, and rolls unfinished publications forward
// or back.
func New(opt Options) (*Engine, error) {
	e, err := newEngine(opt)
	if err != nil {
		return nil, err
	}
	os.RemoveAll(e.layout.Scratch()) // what a crash left; it holds CPR numbers
	for _, d := range e.layout.Dirs() {
		if err := os.MkdirAll(d, fsutil.DirMode); err != nil {
			return nil, fmt.Errorf("state directory: %w", err)
		}
	}
	since := e.sched.Day(e.clock.Now())
	if opt.Since != 0 && opt.Since < since {
		since = opt.Since
	}
	st, err := loadState(e.layout.Deliveries(), since.Compact())
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	e.state = st
	if err := e.loadStaged(); err != nil {
		return nil, err
	}
	if err := e.save(); err != nil {
		return nil, fmt.Errorf("save state: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.recoverIntents()
	e.removeStrayTemps()
	e.reconcileReceipts()
	return e, nil
}

// newEngine makes an engine with the configuration in force and the
// receipts index, without touching the state directory: what serves the
// status (a cluster node that does not lead serves only that).
func newEngine(opt Options) (*Engine, error) {
	e := &Engine{
		fence:       opt.Fence,
		node:        opt.Node,
		clock:       opt.Clock,
		log:         opt.Log,
		sink:        opt.Sink,
		version:     opt.Version,
		newOutbox:   opt.NewOutbox,
		staged:      map[ExtractRef]*Manifest{},
		attempts:    map[SlotKey]int{},
		retryAt:     map[SlotKey]time.Time{},
		ctx:         opt.Context,
		started:     time.Now(),
		swept:       map[string]bool{},
		metrics:     opt.Metrics,
		records:     opt.Records,
		haveRecords: opt.Records != nil || opt.NewRecords != nil,
		status:      status.NewIndex(),
		newRecords:  opt.NewRecords,
	}
	if e.metrics == nil {
		e.metrics = NewMetrics(opt.Version)
	}
	if e.records == nil {
		e.records = func() ([]receipt.Record, error) { return nil, nil }
	}
	if e.newRecords == nil {
		e.newRecords = func() ([]receipt.Record, error) {
			recs, err := e.records()
			if err != nil || len(recs) < e.status.Len() {
				return nil, err
			}
			return recs[e.status.Len():], nil
		}
	}
	if e.clock == nil {
		e.clock = SystemClock{}
	}
	if e.ctx == nil {
		e.ctx = context.Background()
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.sink == nil {
		e.sink = &receipt.LogSink{Log: e.log}
	}
	if e.newOutbox == nil {
		e.newOutbox = DefaultOutbox
	}
	if err := e.apply(opt.Config); err != nil {
		return nil, err
	}
	e.layout = opt.Config.Layout()
	return e, nil
}

// LocalOutbox makes local outboxes and refuses the other kinds.
func LocalOutbox(c *config.Config, v config.Vendor) (transfer.Outbox, error) {
	if v.Outbox.Kind != "local" {
		return nil, fmt.Errorf("vendor %s: outbox kind %q is not supported by this build", v.Name, v.Outbox.Kind)
	}
	return transfer.NewLocal(c.Resolve(v.Outbox.Path))
}

// Prepared is a configuration checked and built for the engine, ready to
// be put in force by Install without any step that can fail.
type Prepared struct {
	view
	outboxes map[string]transfer.Outbox
}

// Prepare builds what configuration c needs (schedule, outboxes) and
// changes nothing.
func (e *Engine) Prepare(c *config.Config) (*Prepared, error) {
	sched, err := NewSchedule(c)
	if err != nil {
		return nil, err
	}
	obs := map[string]transfer.Outbox{}
	for _, v := range c.Vendor {
		ob, err := e.newOutbox(c, v)
		if err != nil {
			return nil, err
		}
		obs[v.Name] = ob
	}
	if cur := e.view.Load(); cur != nil && c.StateDir != cur.cfg.StateDir {
		return nil, errors.New("state_dir cannot change on reload; restart the service")
	}
	return &Prepared{view: view{cfg: c, sched: sched, vendors: c.ComputeVendors()}, outboxes: obs}, nil
}

// Install puts a prepared configuration in force between two steps of
// work: an in-flight publication finishes under the old one.
func (e *Engine) Install(p *Prepared) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.install(p)
}

func (e *Engine) install(p *Prepared) {
	e.cfg, e.sched, e.vendors, e.outboxes = p.cfg, p.sched, p.vendors, p.outboxes
	v := p.view
	e.view.Store(&v)
}

// apply makes c the configuration in force, or changes nothing on error.
func (e *Engine) apply(c *config.Config) error {
	p, err := e.Prepare(c)
	if err != nil {
		return err
	}
	e.install(p)
	return nil
}

// Reload applies a new, validated configuration between two steps of work:
// an in-flight publication finishes under the old one.
func (e *Engine) Reload(c *config.Config) error {
	p, err := e.Prepare(c)
	if err != nil {
		return err
	}
	e.Install(p)
	return nil
}

// Config returns the configuration in force.
func (e *Engine) Config() *config.Config { return e.view.Load().cfg }

func (e *Engine) save() error {
	if err := e.fenced("save state"); err != nil {
		return err
	}
	return e.state.save(e.layout.Deliveries())
}

// fenced confirms, in a cluster, that this node still leads before a step
// that changes the shared state; without a cluster it always passes.
func (e *Engine) fenced(step string) error {
	if e.fence == nil {
		return nil
	}
	return e.fence(step)
}

func (e *Engine) record(r *receipt.Record) {
	if r.Time.IsZero() {
		r.Time = e.clock.Now().UTC()
	}
	r.Node = e.node
	// Receipts are written also while the daemon stops: what happened did.
	if err := e.sink.Append(context.WithoutCancel(e.ctx), r); err != nil {
		e.log.Error("receipt not written", "event", r.Event, "err", err)
		return
	}
	e.metrics.ReceiptsRecords.Set(float64(r.Seq))
}

// compute runs compute over an archived or inbox extract with the scratch
// files in the state directory (not /tmp, which may be a small tmpfs); the
// job carries the configured memory limit (Engine.job).
func (e *Engine) compute(path string, job compute.Job, out compute.Output) (*extract.Result, error) {
	return extract.ComputeWith(path, job, out, extract.Options{TempDir: e.layout.Scratch()})
}

// unlocked runs fn with e.mu released, for outbox operations and
// computations, which may take long: the intake, a reload and a restart of
// the status need not wait for them. The caller holds e.mu. Only the
// scheduler publishes and only it changes the delivery state, so what it
// is publishing does not change meanwhile.
func (e *Engine) unlocked(fn func()) {
	e.mu.Unlock()
	defer e.mu.Lock()
	fn()
}

// vendor returns the compute vendor of that name.
func (e *Engine) vendor(name string) *compute.Vendor {
	for i := range e.vendors {
		if e.vendors[i].Name == name {
			return &e.vendors[i]
		}
	}
	return nil
}

// Snapshot returns a copy of the delivery state, for status and tests.
func (e *Engine) Snapshot() State {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := *e.state
	s.Slots = map[SlotKey]*SlotState{}
	for k, v := range e.state.Slots {
		c := *v
		s.Slots[k] = &c
	}
	s.Basis = map[string]ExtractRef{}
	for k, v := range e.state.Basis {
		s.Basis[k] = v
	}
	return s
}

// sortedRefs returns the staged extracts of as-of date a, highest revision
// first.
func (e *Engine) stagedFor(a compute.Date) []ExtractRef {
	var refs []ExtractRef
	for r := range e.staged {
		if r.AsOf == a.Compact() {
			refs = append(refs, r)
		}
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].Revision > refs[j].Revision })
	return refs
}

func removeIfExists(p string) error {
	if err := os.RemoveAll(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
