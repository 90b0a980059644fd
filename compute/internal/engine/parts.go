package engine

import (
	"fmt"
	"sync"

	"leverance/compute/internal/scratch"
)

// An extract that is not sorted by key, in bounded memory (Buffered).
//
// Pass 1 (Read) appends the valid rows, encoded (a record: the last six
// digits of the key, two a byte, the length, then the domain's record of
// the row: about 28 bytes for a row of 75), to one of numParts0 scratch files by the first
// four digits of the key: for a cpr, the day and month of birth, so about
// 370 partitions of 0.3 % of the rows each (2.5 MB of a national extract).
// Rows reach their partition in file order.
//
// Pass 2 (Finish) takes the partitions in key order. A partition larger
// than the budget is split again by the next two digits, and so on down to
// single keys. Each partition is read into memory, put in sub-partitions by
// the next two digits (for a cpr, the year of birth: tens of kilobytes, so
// that sorting and reading stay in the processor's cache), radix-sorted by
// key (stable, so every citizen's rows stay in file order) and rendered one
// citizen at a time, by the workers, several partitions at once; the
// merger writes them in order. Memory: at most workers+1 partitions of at
// most MemoryLimit/(3·(workers+1)) bytes each, each held twice (as read and
// by sub-partition) with 8 bytes of sort key a row and its rendered rows:
// within MemoryLimit. A partition that cannot be split (one key) is as
// large as that citizen's rows.

// Partitions: the first level by the first four digits of the key, every
// further level by the next two.
const (
	numParts0 = 10000
	numParts  = 100
)

// partOf is the partition of a key among those that share its first
// prefix digits (0 for the first level).
func partOf(key []byte, prefix int) int {
	if prefix == 0 {
		return int(key[0]-'0')*1000 + int(key[1]-'0')*100 + int(key[2]-'0')*10 + int(key[3]-'0')
	}
	return int(key[prefix]-'0')*10 + int(key[prefix+1]-'0')
}

// A record: the digits 5–10 of the key, two a byte (the first four are
// the partition's), the length of the domain's record in one byte, the
// domain's record.
const keyBytes = 3

// MaxRecord is the longest record the domain may append for a row.
const MaxRecord = 255

func appendRecord[R any](b []byte, key *Key, r *R, d Domain[R]) []byte {
	b = append(b, (key[4]-'0')<<4|(key[5]-'0'), (key[6]-'0')<<4|(key[7]-'0'), (key[8]-'0')<<4|(key[9]-'0'), 0)
	n := len(b)
	b = d.AppendRecord(b, r)
	if len(b)-n > MaxRecord {
		panic("engine: the domain's record of a row is longer than MaxRecord")
	}
	b[n-1] = byte(len(b) - n)
	return b
}

// recordLen is the length of the record at the start of b, or 0 when b
// does not hold all of it. It runs several times a row, and inlines.
func recordLen(b []byte) int {
	if len(b) <= keyBytes {
		return 0
	}
	if n := keyBytes + 1 + int(b[keyBytes]); n <= len(b) {
		return n
	}
	return 0
}

// readRecord reads the record at the start of b, whose key starts with the
// four digits of prefix, into r; key is where its key is put (a local
// would escape to the heap through the call to the domain: one allocation
// a row).
func (p *Pass[R]) readRecord(b []byte, prefix *[4]byte, key *Key, r *R) {
	*(*[4]byte)(key[:4]) = *prefix
	*(*[2]byte)(key[4:]) = bcdDigits[b[0]]
	*(*[2]byte)(key[6:]) = bcdDigits[b[1]]
	*(*[2]byte)(key[8:]) = bcdDigits[b[2]]
	p.d.ReadRecord(b[keyBytes+1:recordLen(b)], key, r)
}

// bcdDigits is the two digits of a BCD byte.
var bcdDigits = func() (t [256][2]byte) {
	for x := range t {
		t[x] = [2]byte{'0' + byte(x>>4), '0' + byte(x&15)}
	}
	return t
}()

// recordPart is the partition of a record among those that share the
// first prefix (4, 6 or 8) digits of its key.
func recordPart(b []byte, prefix int) int {
	x := b[(prefix-4)/2]
	return int(x>>4)*10 + int(x&15)
}

// Sort keys: the last four digits of the key (BCD, which orders as the
// digits do) << keyShift | the record's offset in the partition. The
// records sorted together share the digits before (a sub-partition).
const (
	keyShift   = 30
	maxPartLen = 1 << keyShift
)

func sortKey(b []byte, off int) uint64 {
	return (uint64(b[1])<<8|uint64(b[2]))<<keyShift | uint64(off)
}

// sortKeys sorts keys by their last four digits, keeping the order of
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

// spill appends a chunk's records to the partitions' files.
func (p *Pass[R]) spill(c *chunk[R]) error {
	for k := range c.parts {
		if len(c.parts[k]) == 0 {
			continue
		}
		f := &p.parts[k]
		if f.F == nil {
			var err error
			if f.F, err = p.cfg.Scratch.Create(); err != nil {
				return err
			}
		}
		f.Write(c.parts[k])
		if f.Err != nil {
			return fmt.Errorf("write the rows to scratch: %w", f.Err)
		}
	}
	return nil
}

type partJob[R any] struct {
	prefix [4]byte // the first four digits of the partition's keys
	data   []byte
	sub    []byte // data by sub-partition
	keys   []uint64
	tmp    []uint64
	rows   []R
	key    Key
	after  []byte // the prefix of the partition before (nil: none)
	upTo   []byte // the partition's own prefix
	s      Sink[R]
	err    error
	done   chan struct{}
}

// computeParts is pass 2: the partitions in key order. It returns the
// prefix of the last one.
func (p *Pass[R]) computeParts() ([]byte, error) {
	n := p.cfg.Workers + 1
	budget := min(max(64<<10, p.cfg.MemoryLimit/int64(3*n)), maxPartLen/2)
	free := make(chan *partJob[R], n)
	for range n {
		free <- &partJob[R]{s: p.d.NewSink()}
	}
	work := make(chan *partJob[R], n)
	ordered := make(chan *partJob[R], n)
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for range p.cfg.Workers {
		wg.Go(func() {
			for j := range work {
				j.compute(p)
				close(j.done)
			}
		})
	}
	d := &dispatcher[R]{p: p, budget: budget, free: free, work: work, ordered: ordered, quit: quit}
	derr := make(chan error, 1)
	go func() {
		defer close(ordered)
		defer close(work)
		derr <- d.walk(p.parts[:], nil)
	}()
	var err error
	for j := range ordered {
		<-j.done
		if err == nil && j.err != nil {
			err = j.err
			close(quit)
		}
		if err == nil {
			p.d.Write(j.s)
		}
		free <- j
	}
	wg.Wait()
	if e := <-derr; err == nil {
		err = e
	}
	return d.last, err
}

type dispatcher[R any] struct {
	p       *Pass[R]
	budget  int64
	free    chan *partJob[R]
	work    chan<- *partJob[R]
	ordered chan<- *partJob[R]
	quit    chan struct{}
	last    []byte // the prefix of the last partition handed out
	buf     []byte
}

// walk hands the partitions of one level to the workers in order, splitting
// those too large for the budget; prefix is the digits they share.
func (d *dispatcher[R]) walk(parts []scratch.Spill, prefix []byte) error {
	for k := range parts {
		f := &parts[k]
		if f.F == nil {
			continue // no rows: what its keys have to say goes with the next partition's
		}
		var pre []byte
		if prefix == nil {
			pre = []byte{byte('0' + k/1000), byte('0' + k/100%10), byte('0' + k/10%10), byte('0' + k%10)}
		} else {
			pre = append(prefix[:len(prefix):len(prefix)], byte('0'+k/10), byte('0'+k%10))
		}
		if f.Size > d.budget && len(pre) < 10 {
			sub, err := d.split(f, len(pre))
			if err != nil {
				return err
			}
			err = d.walk(sub[:], pre)
			for i := range sub {
				sub[i].Close()
			}
			if err != nil {
				return err
			}
			continue
		}
		if f.Size >= maxPartLen {
			return fmt.Errorf("one citizen has more than %d MiB of rows", maxPartLen>>20)
		}
		var j *partJob[R]
		select {
		case j = <-d.free:
		case <-d.quit:
			return nil
		}
		var err error
		j.data, err = f.ReadAll(j.data)
		f.Close()
		if err != nil {
			return fmt.Errorf("read back the rows: %w", err)
		}
		j.err, j.done = nil, make(chan struct{})
		copy(j.prefix[:], pre)
		j.after, j.upTo, d.last = d.last, pre, pre
		d.ordered <- j
		d.work <- j
	}
	return nil
}

// split partitions a file by the two digits after the first prefix.
func (d *dispatcher[R]) split(f *scratch.Spill, prefix int) (*[numParts]scratch.Spill, error) {
	sub := new([numParts]scratch.Spill)
	f.Flush()
	if f.Err != nil {
		return nil, f.Err
	}
	d.buf = scratch.Grow(d.buf, 1<<20)
	var rest int
	for off := int64(0); off < f.Size; {
		k, err := f.F.ReadAt(d.buf[rest:min(int64(len(d.buf)), int64(rest)+f.Size-off)], off)
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
			if q.F == nil {
				if q.F, err = d.p.cfg.Scratch.Create(); err != nil {
					return nil, err
				}
			}
			q.Write(b[:n])
			b = b[n:]
		}
		rest = copy(d.buf, b)
	}
	f.Close()
	for i := range sub {
		if sub[i].Err != nil {
			return nil, sub[i].Err
		}
	}
	return sub, nil
}

// compute sorts one partition by key and renders its citizens.
func (j *partJob[R]) compute(p *Pass[R]) {
	s := j.s
	s.Reset()
	s.Seek(j.after)
	// Records go first into sub-partitions by the next two digits, in file
	// order: tens of kilobytes each, so that sorting and reading them stays
	// in the processor's cache.
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
	j.sub = scratch.Grow(j.sub, len(j.data))
	next := at
	for off := 0; off < len(j.data); {
		n := recordLen(j.data[off:])
		k := recordPart(j.data[off:], 4)
		copy(j.sub[next[k]:], j.data[off:off+n])
		next[k] += n
		off += n
	}
	for k := range numParts {
		j.computeSub(p, j.sub[at[k]:at[k+1]])
	}
	s.Left(j.upTo)
}

// computeSub sorts records by key and renders their citizens.
func (j *partJob[R]) computeSub(p *Pass[R], data []byte) {
	j.keys = j.keys[:0]
	for off := 0; off < len(data); {
		j.keys = append(j.keys, sortKey(data[off:], off))
		n := recordLen(data[off:])
		off += n
	}
	keys := sortKeys(j.keys, &j.tmp)
	var zero R
	for i := 0; i < len(keys); {
		k := i + 1
		for k < len(keys) && keys[k]>>keyShift == keys[i]>>keyShift {
			k++
		}
		rows := j.rows[:0]
		for _, key := range keys[i:k] {
			rows = append(rows, zero)
			p.readRecord(data[key&(maxPartLen-1):], &j.prefix, &j.key, &rows[len(rows)-1])
		}
		j.rows = rows
		j.s.Citizen(rows)
		i = k
	}
}
