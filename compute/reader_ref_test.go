package compute

import (
	"bytes"
	"io"
	"sort"
	"unicode/utf8"
)

// The straightforward implementation that the tests compare Compute with:
// Reader reads one line at a time and keeps a map of every id seen, and
// computeReference holds every row in memory and evaluates one citizen at a
// time. It applies the same file rules (file.go) and row rules (parse.go)
// as the pipeline; parse_ref_test.go freezes an earlier copy of the row
// parser for the fuzzers.

// Reader streams and validates the rows of one extract.
type Reader struct {
	*file
	ids  map[uint64]uint32
	done bool
	err  error
}

// NewReader reads and checks the header of an extract from r (already
// decompressed). A bad header is a *RejectedError.
func NewReader(r io.Reader, opt ReaderOptions) (*Reader, error) {
	f, err := openFile(r, opt)
	if err != nil {
		return nil, err
	}
	rd := &Reader{file: f}
	rd.p.dup = rd.checkID
	return rd, nil
}

// Next returns the next valid row. At the end of the file it checks the
// trailer and the tolerance and returns io.EOF, or a *RejectedError when the
// extract is rejected. Invalid rows within the tolerance are skipped.
func (rd *Reader) Next() (Row, error) {
	for {
		if rd.err != nil {
			return Row{}, rd.err
		}
		line, err := rd.readLine()
		switch {
		case err == errLongLine && rd.done:
			rd.err = rd.fatal("", reasonAfterTrailer)
			continue
		case err == errLongLine:
			rd.rows++
			rd.report.InvalidRows++
			rd.report.add(Problem{Line: rd.line, Reason: reasonLongLine(rd.opt.MaxLineBytes)})
			continue
		case err == io.EOF:
			rd.err = rd.finish()
			continue
		case err != nil:
			rd.err = err
			continue
		}
		switch {
		case rd.done:
			rd.err = rd.fatal("", reasonAfterTrailer)
			continue
		case !utf8.Valid(line):
			rd.err = rd.fatal(badUTF8Column(line, &rd.p), reasonBadUTF8)
			continue
		case isTrailer(line, bytes.Count(line, []byte{';'}), rd.p.nfields):
			rd.trailer(line)
			continue
		}
		rd.rows++
		var row Row
		if rd.p.parse(line, rd.line, &row) {
			return row, nil
		}
	}
}

func (rd *Reader) trailer(line []byte) {
	rd.done = true
	n, digits, ok := trailerCount(line)
	if !ok {
		rd.err = rd.fatal("", reasonBadTrailer)
	} else if p := trailerProblem(n, digits, rd.rows); p != "" {
		rd.err = rd.fatal("", p)
	}
}

func (rd *Reader) finish() error {
	if !rd.done {
		return rd.fatal("", reasonNoTrailer)
	}
	if err := rd.settle(); err != nil {
		return err
	}
	return io.EOF
}

// checkID is the Reader's duplicate-id check: a map of the hashes of the
// ids seen, in file order.
func (rd *Reader) checkID(h uint64, line int) (int, bool) {
	if rd.ids == nil {
		rd.ids = make(map[uint64]uint32)
	}
	if first, seen := rd.ids[h]; seen {
		return int(first), true
	}
	rd.ids[h] = uint32(line)
	return 0, false
}

// ComputeReference is Compute done the straightforward way, in one pass
// whatever the order of the rows: every row in memory (about 150 bytes a
// row), the citizens in cpr order, each evaluated with its rows in file
// order. Job.Buffered, Workers, Scratch, MemoryLimit and Tuning are not used.
func ComputeReference(r io.Reader, job Job, out Output) (*Outcome, error) {
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
	by := map[[10]byte][]Row{}
	for {
		row, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return &Outcome{Report: rd.Report()}, err
		}
		by[row.CPR] = append(by[row.CPR], row)
	}
	keys := make([][10]byte, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i][:], keys[j][:]) < 0 })
	s, w := newSink(e), newWriter(e)
	for _, k := range keys {
		rows := by[k]
		// Rows in file order, so that evaluation does not depend on the map.
		sort.Slice(rows, func(i, j int) bool { return rows[i].Line < rows[j].Line })
		s.Citizen(rows)
		if s.size() >= 64<<10 {
			w.write(s)
		}
	}
	s.Left(nil)
	w.write(s)
	oc, err := w.finish()
	oc.Report = rd.Report()
	return oc, err
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
