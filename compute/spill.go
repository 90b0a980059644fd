package compute

import (
	"encoding/binary"
	"fmt"
	"slices"
	"sync"
	"unsafe"
)

// An extract that is not sorted by cpr, in bounded memory (Job.Buffered).
//
// Pass 1 (pipeline.go) validates every row and appends the valid ones,
// encoded (encodeRow, about 27 bytes for a row of 75), to one of numParts0
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
// prefix digits (0 for the first level).
func partOf(cpr []byte, prefix int) int {
	if prefix == 0 {
		return int(cpr[0]-'0')*1000 + int(cpr[1]-'0')*100 + int(cpr[2]-'0')*10 + int(cpr[3]-'0')
	}
	return int(cpr[prefix]-'0')*10 + int(cpr[prefix+1]-'0')
}

// Encoded rows (about 27 bytes for a row of 75):
//
//	0–2    cpr digits 5–10, two a byte (BCD): the first four are the partition's
//	3      type
//	4–5    kommune
//	6–8    fra, 9–11 til, 12–14 registreret: days since 1970 in 24 bits,
//	       noDate24 for NoDate (a date of years 1–9999, as ParseDate gives, fits)
//	15–16  timer
//	17     kode: an index in kodes, or kodeLiteral and the code after the id
//	18     the length of the id; then the id
const (
	rowFixed    = 19
	kodeLiteral = 255
	noDate24    = 1<<23 - 1
)

// kodes is the codes that the encoding writes as an index, built from the
// domain's lists (row.go): the kontaktgrupper first, at the index of their
// Group (kodes[g] is g.String(), "" for GroupNone, which is every row
// without a code), then the interview and the activation codes. A code
// added to those lists is encoded by index without a change here; any
// other code (FRITAGELSE's free text) goes as a literal.
var kodes, kodesByLen = kodeTable(groupNames[:], interviewCodes, activationCodes)

// kodeTable is the lists one after the other, and the indexes of the codes
// after the first list by their length.
func kodeTable(lists ...[]string) (all []string, byLen [][]byte) {
	for _, l := range lists {
		all = append(all, l...)
	}
	if len(all) > kodeLiteral {
		panic("spill: more codes than an encoded row's kode byte holds")
	}
	for i := len(lists[0]); i < len(all); i++ {
		n := len(all[i])
		for len(byLen) <= n {
			byLen = append(byLen, nil)
		}
		byLen[n] = append(byLen[n], byte(i))
	}
	return all, byLen
}

// kodeIndex is the kode of r as an index in kodes, or kodeLiteral; for a
// KONTAKTGRUPPE it is the group. It runs once a row: a code is compared
// only with those of its length (one or two).
func kodeIndex(r *Row) byte {
	switch n := len(r.Kode); {
	case r.Type == TypeKontaktgruppe:
		return byte(r.Group)
	case n == 0:
		return 0
	case n < len(kodesByLen):
		for _, i := range kodesByLen[n] {
			if r.Kode == kodes[i] {
				return i
			}
		}
	}
	return kodeLiteral
}

func putDate24(b []byte, d Date) {
	if d == NoDate {
		d = noDate24
	}
	b[0], b[1], b[2] = byte(d), byte(d>>8), byte(d>>16)
}

// date24 reads a date put by putDate24; b holds at least four bytes.
func date24(b []byte) Date {
	d := Date(int32(binary.LittleEndian.Uint32(b)<<8) >> 8) // sign-extended
	if d == noDate24 {
		return NoDate
	}
	return d
}

func encodeRow(b []byte, r *Row) []byte {
	k := kodeIndex(r)
	n := len(b)
	b = slices.Grow(b, rowFixed+len(r.ID)+1+len(r.Kode))[:n+rowFixed]
	f, c := b[n:], &r.CPR
	f[0], f[1], f[2], f[3] = (c[4]-'0')<<4|(c[5]-'0'), (c[6]-'0')<<4|(c[7]-'0'), (c[8]-'0')<<4|(c[9]-'0'), byte(r.Type)
	binary.LittleEndian.PutUint16(f[4:], r.Kommune)
	putDate24(f[6:], r.Fra)
	putDate24(f[9:], r.Til)
	putDate24(f[12:], r.Registreret)
	binary.LittleEndian.PutUint16(f[15:], uint16(r.Timer))
	f[17], f[18] = k, byte(len(r.ID))
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
	n := rowFixed + int(b[18])
	if b[17] == kodeLiteral {
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

// decodeRow decodes the row at the start of b, whose cpr starts with the
// four digits of prefix; its strings point into b.
func decodeRow(b []byte, prefix *[4]byte, r *Row) {
	*(*[4]byte)(r.CPR[:4]) = *prefix
	*(*[2]byte)(r.CPR[4:]) = bcdDigits[b[0]]
	*(*[2]byte)(r.CPR[6:]) = bcdDigits[b[1]]
	*(*[2]byte)(r.CPR[8:]) = bcdDigits[b[2]]
	r.Type = Type(b[3])
	r.Kommune = binary.LittleEndian.Uint16(b[4:])
	r.Fra, r.Til, r.Registreret = date24(b[6:]), date24(b[9:]), date24(b[12:])
	r.Timer = int64(binary.LittleEndian.Uint16(b[15:]))
	n := int(b[18])
	r.ID = unsafe.String(&b[rowFixed], n)
	r.Line = 0 // not kept: the rules do not use it
	k := b[17]
	r.Group = GroupNone
	if r.Type == TypeKontaktgruppe {
		r.Group = Group(k)
	}
	if k != kodeLiteral {
		r.Kode = kodes[k]
	} else {
		m := int(b[rowFixed+n])
		r.Kode = unsafe.String(&b[rowFixed+n+1], m)
	}
}

// bcdDigits is the two digits of a BCD byte, as they are in a cpr.
var bcdDigits = func() (t [256][2]byte) {
	for x := range t {
		t[x] = [2]byte{'0' + byte(x>>4), '0' + byte(x&15)}
	}
	return t
}()

// recordPart is the partition of an encoded row among those that share
// the first prefix (4, 6 or 8) digits of its cpr.
func recordPart(b []byte, prefix int) int {
	x := b[(prefix-4)/2]
	return int(x>>4)*10 + int(x&15)
}

// Sort keys: the last four digits of the cpr (BCD, which orders as the
// digits do) << keyShift | the record's offset in the partition. The
// records sorted together share the digits before (a sub-partition).
const (
	keyShift   = 30
	maxPartLen = 1 << keyShift
)

func sortKey(b []byte, off int) uint64 {
	return (uint64(b[1])<<8|uint64(b[2]))<<keyShift | uint64(off)
}

// sortKeys sorts keys by their last four cpr digits, keeping the order of
// equal ones (their offsets, so file order): a radix sort in two passes of
// 8 bits.
func sortKeys(keys []uint64, tmp *[]uint64) []uint64 {
	*tmp = append((*tmp)[:0], keys...)
	src, dst := keys, *tmp
	for shift := keyShift; shift < keyShift+16; shift += 8 {
		var count [256]int
		for _, k := range src {
			count[byte(k>>shift)]++
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, k := range src {
			d := byte(k >> shift)
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	return src // after two passes: keys' own array
}

type partJob struct {
	prefix [4]byte // the first four digits of the partition's cpr numbers
	data   []byte
	sub    []byte // data by sub-partition
	keys   []uint64
	tmp    []uint64
	rows   []Row
	lo     []int // the basis cursors at the start of the partition
	hi     []int // and at its end
	s      *sink
	err    error
	done   chan struct{}
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
		copy(j.prefix[:], p)
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
			q := &sub[recordPart(b, prefix)]
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
		at[recordPart(j.data[off:], 4)+1] += n
		off += n
	}
	for i := 1; i <= numParts; i++ {
		at[i] += at[i-1]
	}
	j.sub = grow(j.sub, len(j.data))
	next := at
	for off := 0; off < len(j.data); {
		n := recordLen(j.data[off:])
		k := recordPart(j.data[off:], 4)
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
		j.keys = append(j.keys, sortKey(data[off:], off))
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
			decodeRow(data[key&(maxPartLen-1):], &j.prefix, &rows[len(rows)-1])
		}
		j.rows = rows
		j.s.citizen(rows)
		i = k
	}
}
