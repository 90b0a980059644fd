package compute

import (
	"bytes"
	"errors"
	"io"
	"sort"
)

// ErrUnsorted is returned by Compute in streaming mode when the extract is
// not sorted by cpr. The caller runs it again with Buffered set (or sorts the
// extract first).
var ErrUnsorted = errors.New("the extract is not sorted by cpr")

// Job says what to compute from one extract.
type Job struct {
	AsOf     Date
	Calendar *Calendar
	Vendors  []Vendor
	// Basis is, per vendor name, the snapshot behind the last daglige-beskeder
	// delivered to it (B of SPEC §4.2). A vendor without one gets a first
	// delivery: B = A − 1 and no comparison.
	Basis map[string]*Snapshot
	// Reader options: tolerance and line limit. AsOf is taken from the Job.
	Reader ReaderOptions
	// Buffered groups rows in memory instead of streaming, so that an extract
	// that is not sorted by cpr can be computed. Memory then grows with the
	// number of rows (see docs/formats.md).
	Buffered bool
	// Snapshot asks Compute to return the snapshot of this extract, to be kept
	// as the basis of later deliveries.
	Snapshot bool
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
	// without a dagpengeperiode (a data-quality warning, SPEC §3.1).
	Citizens, NoPeriod int
}

// Compute validates the extract read from r (already decompressed) and writes
// every due product of every vendor to the writers that out returns. On a
// rejected extract it returns a *RejectedError; what was written by then must
// be discarded by the caller. Identical inputs give byte-identical outputs.
func Compute(r io.Reader, job Job, out Output) (*Outcome, error) {
	opt := job.Reader
	opt.AsOf = job.AsOf
	rd, err := NewReader(r, opt)
	if err != nil {
		return &Outcome{Report: reportOf(err)}, err
	}
	e, err := newEmitter(job, out)
	if err != nil {
		return &Outcome{Report: rd.Report()}, err
	}
	if job.Buffered {
		err = buffered(rd, e.citizen)
	} else {
		err = streamed(rd, e.citizen)
	}
	if err != nil {
		return &Outcome{Report: rd.Report()}, err
	}
	oc, err := e.finish()
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

// emitter writes the evaluated citizens, in cpr order, to the product files.
type emitter struct {
	job       Job
	weekStart Date
	slots     []*vendorSlot
	snap      *Snapshot
	citizens  int
	noPeriod  int
}

type vendorSlot struct {
	v     *Vendor
	w     [NumProducts]*productWriter
	basis *Snapshot // nil: first delivery
	next  int       // index of the next state of basis not yet merged
	bdate Date
}

func newEmitter(job Job, out Output) (*emitter, error) {
	e := &emitter{job: job, weekStart: job.AsOf.AddDays(-6)}
	if job.Snapshot {
		e.snap = &Snapshot{AsOf: job.AsOf}
	}
	for i := range job.Vendors {
		v := &job.Vendors[i]
		s := &vendorSlot{v: v, basis: job.Basis[v.Name], bdate: job.AsOf.AddDays(-1)}
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

func (e *emitter) citizen(rows []Row) error {
	r := Evaluate(rows, e.job.AsOf, e.job.Calendar)
	for _, s := range e.slots {
		if w := s.w[DagligeBeskeder]; w != nil {
			e.beskeder(s, w, &r)
		}
		if !r.InSnapshot || !s.v.Serves(r.Kommune) {
			continue
		}
		if w := s.w[DagligOpdatering]; w != nil {
			w.dagligOpdatering(&r)
		}
		if w := s.w[Ugeopdatering]; w != nil {
			w.ugeopdatering(&r, e.weekStart, e.job.AsOf)
		}
	}
	if r.InSnapshot {
		e.citizens++
		if r.Group == GroupDP && !r.Computed {
			e.noPeriod++
		}
		if e.snap != nil {
			e.snap.States = append(e.snap.States, StateOf(&r))
		}
	}
	return nil
}

// beskeder merges the vendor's basis snapshot with the citizen at A: states
// of B before r's cpr have left (UDGAAET), one with r's cpr is compared.
func (e *emitter) beskeder(s *vendorSlot, w *productWriter, r *Result) {
	var prev *State
	if s.basis != nil {
		st := s.basis.States
		for s.next < len(st) && bytes.Compare(st[s.next].CPR[:], r.CPR[:]) < 0 {
			if s.v.Serves(st[s.next].Kommune) {
				w.udgaaet(&st[s.next])
			}
			s.next++
		}
		if s.next < len(st) && st[s.next].CPR == r.CPR {
			if s.v.Serves(st[s.next].Kommune) {
				prev = &st[s.next]
			}
			s.next++
		}
	}
	if r.InSnapshot && s.v.Serves(r.Kommune) {
		w.beskeder(r, prev, s.bdate, s.basis != nil)
	} else if prev != nil {
		w.udgaaet(prev)
	}
}

func (e *emitter) finish() (*Outcome, error) {
	oc := &Outcome{Snapshot: e.snap, Citizens: e.citizens, NoPeriod: e.noPeriod}
	for _, s := range e.slots {
		if w := s.w[DagligeBeskeder]; w != nil && s.basis != nil {
			for ; s.next < len(s.basis.States); s.next++ {
				if st := &s.basis.States[s.next]; s.v.Serves(st.Kommune) {
					w.udgaaet(st)
				}
			}
		}
		for _, w := range s.w {
			if w == nil {
				continue
			}
			sum, err := w.close()
			if err != nil {
				return oc, err
			}
			oc.Files = append(oc.Files, sum)
		}
	}
	return oc, nil
}
