package compute

import (
	"errors"
	"io"
	"runtime"
	"sort"
)

// DefaultMemoryLimit is the default of Job.MemoryLimit.
const DefaultMemoryLimit = 1 << 30

// Job says what to compute from one extract.
type Job struct {
	AsOf     Date
	Calendar *Calendar
	Vendors  []Vendor
	// Basis is, per vendor name, the snapshot behind the last daglige-beskeder
	// delivered to it (B of docs/rules.md#the-daily-messages). A vendor without one gets a first
	// delivery: B = A − 1 and no comparison.
	Basis map[string]*Snapshot
	// Reader options: tolerance and line limit. AsOf is taken from the Job.
	Reader ReaderOptions
	// Buffered says that the extract is probably not sorted by cpr, so
	// that Compute partitions its rows by cpr range in Scratch from the
	// first pass, instead of finding it out in a first, streaming pass
	// (see Compute and docs/performance.md). The products are the same.
	Buffered bool
	// Snapshot asks Compute to return the snapshot of this extract, to be kept
	// as the basis of later deliveries.
	Snapshot bool
	// ValidateOnly reads and validates the extract (docs/formats.md#input-registration-extracts) and computes
	// nothing: the rows may be in any order, and the Outcome has only the
	// report. Vendors and Snapshot are not used.
	ValidateOnly bool

	// Workers is the number of goroutines that parse and evaluate; 0 means
	// GOMAXPROCS.
	Workers int
	// Scratch holds the temporary data whose size grows with the extract:
	// 8 bytes per row to find repeated ids and, for an extract not sorted
	// by cpr, the rows themselves. nil keeps them in memory.
	Scratch Scratch
	// MemoryLimit bounds what an extract not sorted by cpr holds in memory
	// at once (beyond Scratch); 0 means DefaultMemoryLimit.
	MemoryLimit int64
	Tuning      Tuning // the engine's sizes, for tests and benchmarks (tuning.go)
}

// Source opens the extract, decompressed, from its first byte. Compute
// calls it once for every pass it makes over the extract, and reads each
// reader up to the trailer line at most; the caller closes the readers.
type Source func() (io.Reader, error)

// Output receives the product files.
type Output interface {
	// Create returns the writer for one vendor's product file. Compute
	// calls it at the start of a pass, once for every product that is due
	// and that the vendor takes, before it writes anything.
	Create(vendor string, p Product, fileName string) (io.Writer, error)
	// Discard throws away every file that Create gave since the start or
	// the last Discard: Compute is about to read the extract again.
	Discard()
}

// Outcome is what Compute produced.
type Outcome struct {
	Report   *Report
	Files    []FileSum // in vendor order, then product order
	Snapshot *Snapshot // when Job.Snapshot was set
	// Citizens counts the citizens in the snapshot; NoPeriod the DP citizens
	// without a dagpengeperiode (a data-quality warning, docs/rules.md#cumulative-unemployment).
	Citizens, NoPeriod int
	// Passes is the number of times the extract was read (1 to 4).
	Passes int
}

// Compute validates the extract that src opens and writes every due
// product of every vendor to the files that out creates. On a rejected
// extract it returns a *RejectedError; what was written by then must be
// discarded by the caller. Identical inputs give byte-identical outputs.
// out may be nil when no vendor is given (a snapshot, or ValidateOnly).
//
// Compute makes every pass over the extract that it needs itself, calling
// out.Discard before each pass after the first:
//   - An extract sorted by cpr is streamed: one pass, in memory that does
//     not grow with the extract. One that turns out not to be sorted is
//     read again with its rows partitioned by cpr in Scratch (Job.Buffered
//     does that from the first pass).
//   - Rows whose id repeats an earlier row's are found at the end of a pass
//     (ids.go): when ids may repeat, one more pass compares them; when the
//     tolerance accepts the extract without those rows, a last pass leaves
//     them out.
//
// The extract is parsed and evaluated by Job.Workers goroutines (see
// run.go and compute/internal/engine).
func Compute(src Source, job Job, out Output) (*Outcome, error) {
	if job.ValidateOnly {
		job.Vendors, job.Snapshot = nil, false
	}
	ps := pass{buffered: job.Buffered && !job.ValidateOnly}
	for n := 1; ; n++ {
		if n > 1 {
			// What the last pass kept that grows with the extract (up to
			// 32 MiB of id hashes, ids.go) is garbage now: collected at
			// once, it is not piled on by the next pass's.
			runtime.GC()
			if out != nil {
				out.Discard()
			}
		}
		r, err := src()
		if err != nil {
			return nil, err
		}
		oc, err := computePass(r, job, ps, out)
		if oc != nil {
			oc.Passes = n
		}
		var again *againError
		if !errors.As(err, &again) {
			return oc, err
		}
		ps = again.next
	}
}

// pass is what one pass over the extract does differently from the first.
type pass struct {
	// buffered: the rows are partitioned by cpr in Scratch (compute/internal/engine).
	buffered bool
	// suspects are the hashes of ids that may repeat: the rows with these
	// are kept to compare their ids (ids.go).
	suspects map[uint64]bool
	// repeats are the rows whose id repeats an earlier row's, by line,
	// with the line of that earlier row: they are left out.
	repeats map[int]int
}

// againError ends a pass that found another pass needed.
type againError struct {
	next pass
	why  string
}

func (e *againError) Error() string { return "compute again: " + e.why }

// computePass reads the extract once.
func computePass(r io.Reader, job Job, ps pass, out Output) (*Outcome, error) {
	opt := job.Reader
	opt.AsOf = job.AsOf
	f, err := openFile(r, opt)
	if err != nil {
		return &Outcome{Report: reportOf(err)}, err
	}
	e, err := newEmitter(job, out)
	if err != nil {
		return &Outcome{Report: f.Report()}, err
	}
	return runPipeline(f, e, ps)
}

func reportOf(err error) *Report {
	var re *RejectedError
	if errors.As(err, &re) {
		return re.Report
	}
	return nil
}

// emitter holds what rendering a citizen needs that is the same for every
// citizen: the vendors, their bases and the product writers. It is read by
// every worker and written by one goroutine only (the writers).
type emitter struct {
	job       Job
	weekStart Date
	slots     []vendorSlot
}

type vendorSlot struct {
	v      *Vendor
	w      [NumProducts]*productWriter // nil: not taken or not due
	basis  *Snapshot                   // nil: first delivery
	bdate  Date
	served [1024]bool // v.Serves(k), without a map look-up per citizen
}

// serves is v.Serves(k).
func (s *vendorSlot) serves(k uint16) bool {
	if k < uint16(len(s.served)) {
		return s.served[k]
	}
	return s.v.Serves(k)
}

func newEmitter(job Job, out Output) (*emitter, error) {
	e := &emitter{job: job, weekStart: job.AsOf.AddDays(-6)}
	for i := range job.Vendors {
		v := &job.Vendors[i]
		s := vendorSlot{v: v, basis: job.Basis[v.Name], bdate: job.AsOf.AddDays(-1)}
		for k := range s.served {
			s.served[k] = v.Serves(uint16(k))
		}
		if s.basis != nil {
			s.bdate = s.basis.AsOf
		}
		for _, p := range Products() {
			if !v.Takes(p) || !p.Due(job.AsOf) {
				continue
			}
			w, err := out.Create(v.Name, p, p.FileName(job.AsOf))
			if err != nil {
				return nil, err
			}
			s.w[p] = newProductWriter(v.Name, p, job.AsOf, w)
		}
		e.slots = append(e.slots, s)
	}
	return e, nil
}

// sink evaluates citizens and renders their product rows into pieces, per
// vendor and product, to be written later in cpr order. Each goroutine has
// its own; the emitter is shared.
type sink struct {
	e      *emitter
	out    [][NumProducts]piece // per vendor slot
	next   []int                // per vendor slot: the next state of its basis not yet merged
	snap   bool
	states []State // of the citizens in the snapshot, when snap
	// Citizens in the snapshot, and DP citizens without a dagpengeperiode.
	citizens, noPeriod int

	ev    evalScratch
	brows []beskedRow
	acts  []*Row
}

func newSink(e *emitter) *sink {
	return &sink{e: e, out: make([][NumProducts]piece, len(e.slots)), next: make([]int, len(e.slots)), snap: e.job.Snapshot}
}

// Reset empties the rendered pieces, the states and the counts.
func (s *sink) Reset() {
	for i := range s.out {
		for p := range s.out[i] {
			s.out[i][p].reset()
		}
	}
	s.states = s.states[:0]
	s.citizens, s.noPeriod = 0, 0
}

// Seek places every basis cursor on the first state whose cpr's first
// len(after) digits are above after (nil: the first state): where a sink
// starts that renders the citizens after those.
func (s *sink) Seek(after []byte) {
	for i := range s.e.slots {
		if b := s.e.slots[i].basis; b != nil {
			s.next[i] = sort.Search(len(b.States), func(j int) bool { return after == nil || string(b.States[j].CPR[:len(after)]) > string(after) })
		}
	}
}

// Citizen evaluates one citizen (all its rows, in file order) and renders
// it, after the UDGAAET rows of the basis states before it.
func (s *sink) Citizen(rows []Row) {
	r := evaluate(rows, s.e.job.AsOf, s.e.job.Calendar, &s.ev)
	// The rows of daglig-opdatering and ugeopdatering do not depend on the
	// vendor: rendered for the first vendor that serves the citizen, they
	// are copied for the others.
	var first [NumProducts]rendered
	for i := range s.e.slots {
		slot := &s.e.slots[i]
		out := &s.out[i]
		if slot.w[DagligeBeskeder] != nil {
			s.beskeder(i, &r)
		}
		if !r.InSnapshot || !slot.serves(r.Kommune) {
			continue
		}
		for _, p := range [...]Product{DagligOpdatering, Ugeopdatering} {
			if slot.w[p] == nil {
				continue
			}
			pc, f := &out[p], &first[p]
			if f.piece != nil {
				pc.buf = append(pc.buf, f.piece.buf[f.from:f.to]...)
				pc.rows += f.rows
				continue
			}
			f.piece, f.from, f.rows = pc, len(pc.buf), pc.rows
			if p == DagligOpdatering {
				pc.dagligOpdatering(&r)
			} else {
				s.acts = pc.ugeopdatering(&r, s.e.weekStart, s.e.job.AsOf, s.acts)
			}
			f.to, f.rows = len(pc.buf), pc.rows-f.rows
		}
	}
	if r.InSnapshot {
		s.citizens++
		if r.Group == GroupDP && !r.Computed {
			s.noPeriod++
		}
		if s.snap {
			s.states = append(s.states, StateOf(&r))
		}
	}
}

// rendered is where one citizen's rows of a product were rendered.
type rendered struct {
	piece    *piece
	from, to int
	rows     int
}

// beskeder merges the vendor's basis snapshot with the citizen at A: states
// of B before r's cpr have left (UDGAAET), one with r's cpr is compared.
func (s *sink) beskeder(i int, r *Result) {
	slot := &s.e.slots[i]
	w := &s.out[i][DagligeBeskeder]
	var prev *State
	if slot.basis != nil {
		st := slot.basis.States
		n := s.next[i]
		for n < len(st) && string(st[n].CPR[:]) < string(r.CPR[:]) {
			if slot.serves(st[n].Kommune) {
				w.udgaaet(&st[n])
			}
			n++
		}
		if n < len(st) && st[n].CPR == r.CPR {
			if slot.serves(st[n].Kommune) {
				prev = &st[n]
			}
			n++
		}
		s.next[i] = n
	}
	if r.InSnapshot && slot.serves(r.Kommune) {
		s.brows = w.beskeder(r, prev, slot.bdate, slot.basis != nil, s.brows)
	} else if prev != nil {
		w.udgaaet(prev)
	}
}

// Left renders the UDGAAET rows of the basis states from the cursors on
// whose cpr's first len(upTo) digits are at most upTo (nil: to the end of
// the basis): the citizens of the basis that are not in the extract.
func (s *sink) Left(upTo []byte) {
	for i := range s.e.slots {
		slot := &s.e.slots[i]
		if slot.basis == nil || slot.w[DagligeBeskeder] == nil {
			continue
		}
		st := slot.basis.States
		for ; s.next[i] < len(st); s.next[i]++ {
			x := &st[s.next[i]]
			if upTo != nil && string(x.CPR[:len(upTo)]) > string(upTo) {
				break
			}
			if slot.serves(x.Kommune) {
				s.out[i][DagligeBeskeder].udgaaet(x)
			}
		}
	}
}

// writer writes what sinks rendered to the product files, in cpr order, and
// collects the snapshot and the counts. One goroutine owns it.
type writer struct {
	e    *emitter
	snap *Snapshot
	// Citizens and NoPeriod of the Outcome.
	citizens, noPeriod int
}

func newWriter(e *emitter) *writer {
	w := &writer{e: e}
	if e.job.Snapshot {
		w.snap = &Snapshot{AsOf: e.job.AsOf}
	}
	return w
}

// write writes and then resets what s rendered.
func (w *writer) write(s *sink) {
	for i := range w.e.slots {
		for p, pw := range w.e.slots[i].w {
			if pw != nil {
				pw.write(&s.out[i][p])
			}
		}
	}
	if w.snap != nil {
		w.snap.States = append(w.snap.States, s.states...)
	}
	w.citizens += s.citizens
	w.noPeriod += s.noPeriod
	s.Reset()
}

// finish closes the product files.
func (w *writer) finish() (*Outcome, error) {
	oc := &Outcome{Snapshot: w.snap, Citizens: w.citizens, NoPeriod: w.noPeriod}
	for _, slot := range w.e.slots {
		for _, pw := range slot.w {
			if pw == nil {
				continue
			}
			sum, err := pw.close()
			if err != nil {
				return oc, err
			}
			oc.Files = append(oc.Files, sum)
		}
	}
	return oc, nil
}
