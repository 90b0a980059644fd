package compute

import (
	"encoding/binary"
	"fmt"
	"sync"
	"unsafe"
)

// An extract that is not sorted by cpr, in bounded memory (Job.Buffered).
//
// Pass 1 (pipeline.go) validates every row and appends the valid ones,
// encoded (encodeRow, about 40 bytes for a row of 75), to one of numParts0
// Scratch files by the first four digits of the cpr: the day and month of
// birth, so about 370 partitions of 0.3 % of the rows each (2.5 MB of a
// national extract). Rows reach their partition in file order.
//
// Pass 2 (computeParts) takes the partitions in cpr order. A partition
// larger than the budget is split again by the next two digits, and so on
// down to single cpr numbers. Each partition is read into memory, put in
// sub-partitions by the next two digits (the year of birth: tens of
// kilobytes, so that sorting and reading stay in the processor's cache),
// radix-sorted by cpr (stable, so every citizen's rows stay in file order)
// and computed one citizen at a time, by the workers, several partitions at
// once; the merger writes them in order. Memory: at most workers+1
// partitions of at most MemoryLimit/(3·(workers+1)) bytes each, each held
// twice (as read and by sub-partition) with 8 bytes of sort key a row and
// its rendered rows: within MemoryLimit. A partition that cannot be split
// (one cpr) is as large as that citizen's rows.

// Partitions: the first level by the first four digits of the cpr (the day
// and month of birth: about 370 partitions of a national extract, 2.5 MB
// each, which sort within the processor's cache), every further level by
// the next two.
const (
	numParts0 = 10000
	numParts  = 100
)

// partOf is the partition of a cpr among those that share its first
// prefix digits (0 for the first level, then 4, 6, 8).
func partOf(cpr []byte, prefix int) int {
	if prefix == 0 {
		return int(cpr[0]-'0')*1000 + int(cpr[1]-'0')*100 + int(cpr[2]-'0')*10 + int(cpr[3]-'0')
	}
	return int(cpr[prefix]-'0')*10 + int(cpr[prefix+1]-'0')
}

// Encoded rows: cpr (10), type, group, kommune (2), fra, til, registreret
// (4 each), timer (2), kode (1: an index in kodes, or kodeLiteral and the
// code after the id), the length of the id (1) and the id.
const (
	rowFixed    = 30
	kodeLiteral = 255
)

var kodes = [...]string{"", "DP", "KH-J", "KH-A", "UH-J", "UH-A", "IY-J", "IY-A", KodeJob, KodeFaelles, "VEJL", "PRAK", "LTS"}

func kodeIndex(r *Row) byte {
	switch r.Type {
	case TypeKontaktgruppe:
		return byte(r.Group) // kodes[g] is g.String()
	case TypeSamtale, TypeIndkaldelse:
		if r.Kode == KodeJob {
			return 8
		}
		return 9
	case TypeDagpengeperiode, TypeLedig:
		return 0
	}
	for i, c := range kodes[10:] {
		if r.Kode == c {
			return byte(10 + i)
		}
	}
	return kodeLiteral
}

func encodeRow(b []byte, r *Row) []byte {
	b = append(b, r.CPR[:]...)
	b = append(b, byte(r.Type), byte(r.Group))
	b = binary.LittleEndian.AppendUint16(b, r.Kommune)
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Fra))
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Til))
	b = binary.LittleEndian.AppendUint32(b, uint32(r.Registreret))
	b = binary.LittleEndian.AppendUint16(b, uint16(r.Timer))
	k := kodeIndex(r)
	b = append(b, k, byte(len(r.ID)))
	b = append(b, r.ID...)
	if k == kodeLiteral {
		b = append(b, byte(len(r.Kode)))
		b = append(b, r.Kode...)
	}
	return b
}

// recordLen is the length of the encoded row at the start of b, or 0 when
// b does not hold all of it.
func recordLen(b []byte) int {
	if len(b) < rowFixed {
		return 0
	}
	n := rowFixed + int(b[29])
	if b[28] == kodeLiteral {
		if len(b) <= n {
			return 0
		}
		n += 1 + int(b[n])
	}
	if len(b) < n {
		return 0
	}
	return n
}

// decodeRow decodes the row at the start of b; its strings point into b.
func decodeRow(b []byte, r *Row) {
	copy(r.CPR[:], b[:10])
	r.Type, r.Group = Type(b[10]), Group(b[11])
	r.Kommune = binary.LittleEndian.Uint16(b[12:])
	r.Fra = Date(int32(binary.LittleEndian.Uint32(b[14:])))
	r.Til = Date(int32(binary.LittleEndian.Uint32(b[18:])))
	r.Registreret = Date(int32(binary.LittleEndian.Uint32(b[22:])))
	r.Timer = int64(binary.LittleEndian.Uint16(b[26:]))
	n := int(b[29])
	r.ID = unsafe.String(&b[rowFixed], n)
	r.Line = 0 // not kept: the rules do not use it
	if k := b[28]; k != kodeLiteral {
		r.Kode = kodes[k]
	} else {
		m := int(b[rowFixed+n])
		r.Kode = unsafe.String(&b[rowFixed+n+1], m)
	}
}

// cprLow is the cpr without its first four digits, as a number (below
// 2²⁰): what tells the cpr numbers of one partition apart.
func cprLow(b []byte) uint64 {
	var n uint64
	for _, c := range b[4:10] {
		n = n*10 + uint64(c-'0')
	}
	return n
}

// Sort keys: cprLow << keyShift | the record's offset in the partition.
const (
	keyShift   = 30
	maxPartLen = 1 << keyShift
)

// sortKeys sorts keys by their cprLow, keeping the order of equal ones
// (their offsets, so file order): a radix sort in two passes of 10 bits.
func sortKeys(keys []uint64, tmp *[]uint64) []uint64 {
	*tmp = append((*tmp)[:0], keys...)
	src, dst := keys, *tmp
	for shift := keyShift; shift < keyShift+20; shift += 10 {
		var count [1 << 10]int
		for _, k := range src {
			count[(k>>shift)&(1<<10-1)]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, k := range src {
			d := (k >> shift) & (1<<10 - 1)
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	return src // after two passes: keys' own array
}

type partJob struct {
	data []byte
	sub  []byte // data by sub-partition
	keys []uint64
	tmp  []uint64
	rows []Row
	lo   []int // the basis cursors at the start of the partition
	hi   []int // and at its end
	s    *sink
	err  error
	done chan struct{}
}

// computeParts is pass 2: the partitions in cpr order.
func (pl *pipeline) computeParts() error {
	n := pl.workers + 1
	limit := pl.job.MemoryLimit
	if limit <= 0 {
		limit = DefaultMemoryLimit
	}
	budget := min(max(64<<10, limit/int64(3*n)), maxPartLen/2)
	free := make(chan *partJob, n)
	for range n {
		j := &partJob{s: newSink(pl.e)}
		j.lo, j.hi = make([]int, len(pl.e.slots)), make([]int, len(pl.e.slots))
		free <- j
	}
	work := make(chan *partJob, n)
	ordered := make(chan *partJob, n)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for range pl.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				j.compute()
				close(j.done)
			}
		}()
	}
	d := &dispatcher{pl: pl, budget: budget, free: free, work: work, ordered: ordered, quit: quit,
		cursor: make([]int, len(pl.e.slots))}
	derr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(work)
		derr <- d.walk(pl.parts[:], nil)
	}()
	var err error
	for j := range ordered {
		<-j.done
		if err == nil && j.err != nil {
			err = j.err
			close(quit)
		}
		if err == nil {
			pl.w.write(j.s)
		}
		free <- j
	}
	wg.Wait()
	if e := <-derr; err == nil {
		err = e
	}
	copy(pl.ms.next, d.cursor)
	return err
}

type dispatcher struct {
	pl      *pipeline
	budget  int64
	free    chan *partJob
	work    chan<- *partJob
	ordered chan<- *partJob
	quit    chan struct{}
	cursor  []int // per vendor slot: where the next partition's basis states start
	buf     []byte
}

// walk hands the partitions of one level to the workers in order, splitting
// those too large for the budget; prefix is the digits they share.
func (d *dispatcher) walk(parts []spillFile, prefix []byte) error {
	for k := range parts {
		f := &parts[k]
		if f.f == nil {
			continue // no rows: its basis states go with the next partition's
		}
		var p []byte
		if prefix == nil {
			p = []byte{byte('0' + k/1000), byte('0' + k/100%10), byte('0' + k/10%10), byte('0' + k%10)}
		} else {
			p = append(prefix[:len(prefix):len(prefix)], byte('0'+k/10), byte('0'+k%10))
		}
		if f.size > d.budget && len(p) < 10 {
			sub, err := d.split(f, len(p))
			if err != nil {
				return err
			}
			err = d.walk(sub[:], p)
			for i := range sub {
				sub[i].close()
			}
			if err != nil {
				return err
			}
			continue
		}
		if f.size >= maxPartLen {
			return fmt.Errorf("one citizen has more than %d MiB of rows", maxPartLen>>20)
		}
		var j *partJob
		select {
		case j = <-d.free:
		case <-d.quit:
			return nil
		}
		var err error
		j.data, err = f.readAll(j.data)
		f.close()
		if err != nil {
			return fmt.Errorf("read back the rows: %w", err)
		}
		j.err, j.done = nil, make(chan struct{})
		copy(j.lo, d.cursor)
		for i := range d.pl.e.slots {
			if b := d.pl.e.slots[i].basis; b != nil {
				st := b.States
				c := d.cursor[i]
				for c < len(st) && string(st[c].CPR[:len(p)]) <= string(p) {
					c++
				}
				d.cursor[i], j.hi[i] = c, c
			}
		}
		d.ordered <- j
		d.work <- j
	}
	return nil
}

// split partitions a file by the two digits after the first prefix.
func (d *dispatcher) split(f *spillFile, prefix int) (*[numParts]spillFile, error) {
	sub := new([numParts]spillFile)
	f.flush()
	if f.err != nil {
		return nil, f.err
	}
	d.buf = grow(d.buf, 1<<20)
	var rest int
	for off := int64(0); off < f.size; {
		k, err := f.f.ReadAt(d.buf[rest:min(int64(len(d.buf)), int64(rest)+f.size-off)], off)
		if k == 0 && err != nil {
			return nil, fmt.Errorf("read back the rows: %w", err)
		}
		off += int64(k)
		b := d.buf[:rest+k]
		for {
			n := recordLen(b)
			if n == 0 {
				break
			}
			q := &sub[partOf(b, prefix)]
			if q.f == nil {
				if q.f, err = d.pl.sc.Create(); err != nil {
					return nil, err
				}
			}
			q.write(b[:n])
			b = b[n:]
		}
		rest = copy(d.buf, b)
	}
	f.close()
	for i := range sub {
		if sub[i].err != nil {
			return nil, sub[i].err
		}
	}
	return sub, nil
}

// compute sorts one partition by cpr and computes its citizens.
func (j *partJob) compute() {
	s := j.s
	s.reset()
	copy(s.next, j.lo)
	// Records go first into sub-partitions by the next two digits (the
	// year of birth), in file order: tens of kilobytes each, so that
	// sorting and reading them stays in the processor's cache.
	var at [numParts + 1]int
	for off := 0; off < len(j.data); {
		n := recordLen(j.data[off:])
		if n == 0 {
			j.err = fmt.Errorf("read back the rows: a record is cut short")
			return
		}
		at[partOf(j.data[off:], 4)+1] += n
		off += n
	}
	for i := 1; i <= numParts; i++ {
		at[i] += at[i-1]
	}
	j.sub = grow(j.sub, len(j.data))
	next := at
	for off := 0; off < len(j.data); {
		n := recordLen(j.data[off:])
		k := partOf(j.data[off:], 4)
		copy(j.sub[next[k]:], j.data[off:off+n])
		next[k] += n
		off += n
	}
	for k := range numParts {
		j.computeSub(j.sub[at[k]:at[k+1]])
	}
	s.left(j.hi)
}

// computeSub sorts records by cpr and computes their citizens.
func (j *partJob) computeSub(data []byte) {
	j.keys = j.keys[:0]
	for off := 0; off < len(data); off += recordLen(data[off:]) {
		j.keys = append(j.keys, cprLow(data[off:])<<keyShift|uint64(off))
	}
	keys := sortKeys(j.keys, &j.tmp)
	for i := 0; i < len(keys); {
		k := i + 1
		for k < len(keys) && keys[k]>>keyShift == keys[i]>>keyShift {
			k++
		}
		rows := j.rows[:0]
		for _, key := range keys[i:k] {
			rows = append(rows, Row{})
			decodeRow(data[key&(maxPartLen-1):], &rows[len(rows)-1])
		}
		j.rows = rows
		j.s.citizen(rows)
		i = k
	}
}
