package compute

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
)

// ErrUnsorted is returned by Compute in streaming mode when the extract is
// not sorted by cpr. The caller runs it again with Buffered set (or sorts the
// extract first).
var ErrUnsorted = errors.New("the extract is not sorted by cpr")

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
	// Buffered computes an extract that is not sorted by cpr: its rows are
	// first written to Scratch, partitioned by cpr range, and then computed
	// one range at a time, within MemoryLimit (see docs/performance.md).
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
	// Sequential runs the straightforward single-goroutine implementation:
	// the Reader, one citizen at a time, and for Buffered every row held in
	// memory (about 150 bytes a row). It is the reference that the tests
	// compare the parallel one with.
	Sequential bool
	// Scratch holds the temporary data whose size grows with the extract:
	// 8 bytes per row to find repeated ids and, when Buffered, the rows
	// themselves. nil keeps them in memory.
	Scratch Scratch
	// MemoryLimit bounds what Buffered holds in memory at once (beyond
	// Scratch); 0 means DefaultMemoryLimit.
	MemoryLimit int64
	// Repeats names the rows whose id repeats an earlier row's, by line, with
	// the line of that earlier row: the Repeats of a RepeatsError, for the
	// run that it asks for.
	Repeats map[int]int
	// SuspectIDs are the hashes of ids that may repeat: the Suspects of a
	// RepeatsError, for the run that it asks for.
	SuspectIDs map[uint64]bool
}

// RepeatsError is returned by Compute when rows may repeat the id of an
// earlier row (docs/formats.md#validation-and-the-error-report) and another run over the same extract is needed
// to settle it: the extract is read once, and repeats are found only at the
// end (see ids.go). The files written must be discarded; Next gives the Job
// for the next run.
//
// A first run that finds ids sharing a hash returns their hashes
// (Suspects); the second compares those ids and either completes the
// report of a rejected extract or, when the tolerance accepts the extract
// without the rows that repeat an id, returns them (Repeats) for a third run
// that leaves them out as it reads.
type RepeatsError struct {
	Repeats  map[int]int
	Suspects map[uint64]bool
}

func (e *RepeatsError) Error() string {
	if e.Repeats == nil {
		return fmt.Sprintf("%d registration ids may repeat: compute again to find the rows", len(e.Suspects))
	}
	return fmt.Sprintf("%d rows repeat the id of an earlier row: compute again without them", len(e.Repeats))
}

// Next returns job as the next run that e asks for.
func (e *RepeatsError) Next(job Job) Job {
	if e.Repeats != nil {
		job.Repeats, job.SuspectIDs = e.Repeats, nil
	} else {
		job.SuspectIDs = e.Suspects
	}
	return job
}

// Output returns the writer for one vendor's product file; Compute calls it
// once for every product that is due and that the vendor takes, before it
// writes anything.
type Output func(vendor string, p Product, fileName string) (io.Writer, error)

// Outcome is what Compute produced.
type Outcome struct {
	Report   *Report
	Files    []FileSum // in vendor order, then product order
	Snapshot *Snapshot // when Job.Snapshot was set
	// Citizens counts the citizens in the snapshot; NoPeriod the DP citizens
	// without a dagpengeperiode (a data-quality warning, docs/rules.md#cumulative-unemployment).
	Citizens, NoPeriod int
}

// Compute validates the extract read from r (already decompressed) and writes
// every due product of every vendor to the writers that out returns. On a
// rejected extract it returns a *RejectedError; what was written by then must
// be discarded by the caller. Identical inputs give byte-identical outputs.
//
// Unless Job.Sequential is set, the extract is parsed and evaluated by
// Job.Workers goroutines (see pipeline.go); the outputs are the same.
func Compute(r io.Reader, job Job, out Output) (*Outcome, error) {
	opt := job.Reader
	opt.AsOf = job.AsOf
	rd, err := NewReader(r, opt)
	if err != nil {
		return &Outcome{Report: reportOf(err)}, err
	}
	if job.ValidateOnly {
		job.Vendors, job.Snapshot = nil, false
	}
	e, err := newEmitter(job, out)
	if err != nil {
		return &Outcome{Report: rd.Report()}, err
	}
	if !job.Sequential {
		return runPipeline(rd, e)
	}
	if job.Repeats != nil {
		rd.p.dup = func(_ uint64, line int) (int, bool) {
			first, ok := job.Repeats[line]
			return first, ok
		}
	}
	if job.ValidateOnly {
		for err == nil {
			_, err = rd.Next()
		}
		if err != io.EOF {
			return &Outcome{Report: rd.Report()}, err
		}
		return &Outcome{Report: rd.Report()}, nil
	}
	s, w := newSink(e), newWriter(e)
	each := func(rows []Row) error {
		s.citizen(rows)
		if s.size() >= 64<<10 {
			w.write(s)
		}
		return nil
	}
	if job.Buffered {
		err = buffered(rd, each)
	} else {
		err = streamed(rd, each)
	}
	if err != nil {
		return &Outcome{Report: rd.Report()}, err
	}
	s.left(nil)
	w.write(s)
	oc, err := w.finish()
	oc.Report = rd.Report()
	return oc, err
}

func reportOf(err error) *Report {
	var re *RejectedError
	if errors.As(err, &re) {
		return re.Report
	}
	return nil
}

// streamed groups consecutive rows of the same cpr; it needs the extract
// sorted by cpr and holds one citizen at a time.
func streamed(rd *Reader, fn func([]Row) error) error {
	var group []Row
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if len(group) > 0 && row.CPR != group[0].CPR {
			if bytes.Compare(row.CPR[:], group[0].CPR[:]) < 0 {
				return ErrUnsorted
			}
			if err := fn(group); err != nil {
				return err
			}
			group = group[:0]
		}
		group = append(group, row)
	}
	if len(group) > 0 {
		return fn(group)
	}
	return nil
}

// buffered reads every row, then hands the citizens over in cpr order.
func buffered(rd *Reader, fn func([]Row) error) error {
	by := map[[10]byte][]Row{}
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		by[row.CPR] = append(by[row.CPR], row)
	}
	keys := make([][10]byte, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i][:], keys[j][:]) < 0 })
	for _, k := range keys {
		rows := by[k]
		// Rows in file order, so that evaluation does not depend on the map.
		sort.Slice(rows, func(i, j int) bool { return rows[i].Line < rows[j].Line })
		if err := fn(rows); err != nil {
			return err
		}
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
			w, err := out(v.Name, p, p.FileName(job.AsOf))
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

// reset empties the rendered pieces, the states and the counts.
func (s *sink) reset() {
	for i := range s.out {
		for p := range s.out[i] {
			s.out[i][p].reset()
		}
	}
	s.states = s.states[:0]
	s.citizens, s.noPeriod = 0, 0
}

// size is the number of bytes rendered since the last reset.
func (s *sink) size() int {
	n := 0
	for i := range s.out {
		for p := range s.out[i] {
			n += len(s.out[i][p].buf)
		}
	}
	return n
}

// seek places every basis cursor on the first state with a cpr above cpr:
// where a worker starts that renders the citizens after the one of cpr.
func (s *sink) seek(cpr *[10]byte) {
	for i := range s.e.slots {
		if b := s.e.slots[i].basis; b != nil {
			s.next[i] = sort.Search(len(b.States), func(j int) bool { return string(b.States[j].CPR[:]) > string(cpr[:]) })
		}
	}
}

// citizen evaluates one citizen (all its rows, in file order) and renders
// it, after the UDGAAET rows of the basis states before it.
func (s *sink) citizen(rows []Row) {
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

// left renders the UDGAAET rows of the basis states from the cursors up to
// (not including) index end[i], or to the end of the basis when end is nil.
func (s *sink) left(end []int) {
	for i := range s.e.slots {
		slot := &s.e.slots[i]
		if slot.basis == nil || slot.w[DagligeBeskeder] == nil {
			continue
		}
		st := slot.basis.States
		stop := len(st)
		if end != nil {
			stop = end[i]
		}
		for ; s.next[i] < stop; s.next[i]++ {
			if x := &st[s.next[i]]; slot.serves(x.Kommune) {
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
	s.reset()
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
