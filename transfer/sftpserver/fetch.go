package sftpserver

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"sync"
	"syscall"
	"time"
)

// Fetch receipts (see the package doc): the server records which byte
// ranges of a file it served to a vendor, whatever handles and offsets the
// reads came through, and reports one Fetch per vendor, file and
// connection: complete, with the SHA-256 of the file hashed from disk, as
// soon as the ranges cover the file and the connection has no handle on it
// open any more; otherwise, when the connection ends, incomplete with the
// bytes covered. Nothing is reported for a file opened and closed without a
// read.

// fileKey names one version of a file: a file replaced under the same name
// (a new checkpoint.txt) is another key.
type fileKey struct {
	vendor   string
	dev, ino uint64
	size     int64
	mtime    int64
}

func keyOf(vendor string, fi fs.FileInfo) fileKey {
	k := fileKey{vendor: vendor, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.dev, k.ino = uint64(st.Dev), st.Ino
	}
	return k
}

// served is what a vendor was served of one file version, across its
// connections (so that a download resumed on a new connection completes).
type served struct {
	key  fileKey
	name string // as the vendor sees it

	mu      sync.Mutex
	ranges  rangeSet
	touched bool // a read was made (a zero-byte file is complete then)
	done    bool // a complete fetch was reported; later reads are not tracked
	used    time.Time
}

// maxServed bounds the files whose served ranges the server remembers for
// resumption; the least recently used are forgotten first. A file read in
// more than maxKeptSpans separate pieces is forgotten when its connection
// ends: so the record stays under 4096 × 64 × 16 bytes.
const (
	maxServed    = 4096
	maxKeptSpans = 64
)

// book is the server's record of served files.
type book struct {
	mu    sync.Mutex
	files map[fileKey]*served
}

// get returns the record of a file version, creating it.
func (b *book) get(k fileKey, name string, now time.Time) *served {
	b.mu.Lock()
	defer b.mu.Unlock()
	if sv, ok := b.files[k]; ok {
		sv.used = now
		return sv
	}
	if len(b.files) >= maxServed {
		var old *served
		for _, sv := range b.files {
			if old == nil || sv.used.Before(old.used) {
				old = sv
			}
		}
		delete(b.files, old.key)
	}
	sv := &served{key: k, name: name, used: now}
	b.files[k] = sv
	return sv
}

// forget drops a completed file: a later connection starts afresh.
func (b *book) forget(sv *served) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.files[sv.key] == sv {
		delete(b.files, sv.key)
	}
}

// connFile is one file a connection opened.
type connFile struct {
	sv      *served
	open    int   // handles open on this connection (c.fmu)
	charged int64 // spans of sv charged to the connection's budget (sv.mu)
	base    int64 // spans sv held when the connection first opened it
}

// fetchReader is one open file handle.
type fetchReader struct {
	f    *os.File
	c    *conn
	cf   *connFile
	once sync.Once
}

func (r *fetchReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.f.ReadAt(p, off)
	if err := r.c.served(r.cf, off, int64(n)); err != nil {
		return 0, err
	}
	return n, clientErr(err)
}

// Close closes the handle; the last handle of a connection on a file whose
// served ranges cover it reports the fetch (hashing the file in the
// background through this handle's descriptor).
func (r *fetchReader) Close() error {
	var err error
	r.once.Do(func() {
		c := r.c
		c.open.Add(-1)
		c.fmu.Lock()
		r.cf.open--
		last := r.cf.open == 0
		c.fmu.Unlock()
		if last && c.s.complete(r.cf.sv) {
			c.refund(r.cf)
			c.s.hashAndReport(r.f, r.cf.sv)
			c.s.handles.Add(-1)
			return
		}
		c.s.handles.Add(-1)
		err = r.f.Close()
	})
	return clientErr(err)
}

// served records that n bytes at off were sent, within the connection's
// memory budget.
// The charge follows the spans the file's record holds (they shrink when
// ranges merge), so a long connection downloading many files in order
// holds about one span per file, given back when the file completes.
func (c *conn) served(cf *connFile, off, n int64) error {
	sv := cf.sv
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if sv.done {
		return nil
	}
	sv.touched = true
	sv.ranges.add(off, off+n)
	// A connection pays for the spans beyond those it found (another
	// connection of the vendor may have scattered the record).
	now := max(0, int64(sv.ranges.spans())-cf.base)
	switch delta := now - cf.charged; {
	case delta > 0:
		if !c.charge(delta * spanCost) {
			return c.limitHit(LimitMemory)
		}
	case delta < 0:
		c.mem.Add(delta * spanCost)
	}
	cf.charged = now
	return nil
}

// refund gives back what cf's ranges were charged.
func (c *conn) refund(cf *connFile) {
	cf.sv.mu.Lock()
	defer cf.sv.mu.Unlock()
	c.mem.Add(-cf.charged * spanCost)
	cf.charged = 0
}

// spanCost is what a recorded range costs in the memory budget (the span,
// and the slice growth around it).
const spanCost = 32

// complete reports whether sv is covered and not yet reported; if so it is
// marked done (so that exactly one caller reports it) and forgotten.
func (s *Server) complete(sv *served) bool {
	sv.mu.Lock()
	ok := !sv.done && sv.touched && sv.ranges.covers(sv.key.size)
	if ok {
		sv.done = true
	}
	sv.mu.Unlock()
	if ok {
		s.book.forget(sv)
	}
	return ok
}

// hashAndReport hashes the file through f (then closes it) and reports a
// complete fetch, dated now. Hashing yields to downloads: it waits until
// no file is open on the server, for at most hashDelay, so that it does
// not take CPU from transfers under way. At most two files are hashed at
// once; Serve waits for them before it returns.
func (s *Server) hashAndReport(f *os.File, sv *served) {
	at := s.now()
	s.hashes.Add(1)
	go func() {
		defer s.hashes.Done()
		defer f.Close()
		s.waitQuiet()
		s.hashSem <- struct{}{}
		sum, err := hashFile(f, sv.key.size)
		<-s.hashSem
		if err != nil {
			s.log.Error("hashing a fetched file", "vendor", sv.key.vendor, "file", sv.name, "err", clientErr(err))
			s.report(Fetch{Vendor: sv.key.vendor, File: sv.name, Bytes: sv.key.size, Size: sv.key.size, Time: at})
			return
		}
		s.report(Fetch{Vendor: sv.key.vendor, File: sv.name, Bytes: sv.key.size, Size: sv.key.size, SHA256: sum,
			Complete: true, Time: at})
	}()
}

// hashDelay bounds how long hashing a fetched file waits for the server to
// have no file open.
const hashDelay = 30 * time.Second

// waitQuiet returns once no file handle is open on the server, after
// hashDelay, or when the server stops. It polls every 20 ms: hashing is
// not urgent.
func (s *Server) waitQuiet() {
	deadline := time.Now().Add(hashDelay)
	for s.handles.Load() > 0 && !s.stopping.Load() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

func hashFile(f *os.File, size int64) (string, error) {
	h := sha256.New()
	// 1 MiB reads: 32 times fewer system calls than io.Copy's 32 KiB.
	buf := make([]byte, 1<<20)
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, 0, size), buf); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// report logs a fetch and hands it to OnFetch (dated now unless dated).
func (s *Server) report(fe Fetch) {
	if fe.Time.IsZero() {
		fe.Time = s.now()
	}
	fe.Time = fe.Time.UTC()
	s.log.Info("file fetched", "vendor", fe.Vendor, "file", fe.File, "bytes", fe.Bytes, "size", fe.Size,
		"sha256", fe.SHA256, "complete", fe.Complete)
	if s.cfg.OnFetch != nil {
		s.cfg.OnFetch(fe)
	}
}

// openFile registers a new handle on a file version for the connection.
func (c *conn) openFile(k fileKey, name string) *connFile {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	if c.files == nil {
		c.files = map[fileKey]*connFile{}
	}
	// A file already reported complete on this connection stays so: one
	// report per vendor, file and connection.
	cf, ok := c.files[k]
	if !ok {
		cf = &connFile{sv: c.s.book.get(k, name, c.s.now())}
		cf.sv.mu.Lock()
		cf.base = int64(cf.sv.ranges.spans())
		cf.sv.mu.Unlock()
		c.files[k] = cf
	}
	cf.open++
	return cf
}

// endFetches reports, when a connection ends, every file it read that was
// not reported complete: complete if covered by now, else incomplete with
// the bytes covered (by this connection and earlier ones).
func (c *conn) endFetches() {
	c.fmu.Lock()
	files := c.files
	c.files = nil
	c.fmu.Unlock()
	for _, cf := range files {
		sv := cf.sv
		sv.mu.Lock()
		report := !sv.done && sv.touched
		covered := sv.ranges.covered()
		scattered := sv.ranges.spans() > maxKeptSpans
		sv.mu.Unlock()
		if scattered {
			// Kept for a resumption are a few ranges, not a scatter
			// that would hold memory after the connection's budget is
			// given back.
			c.s.book.forget(sv)
		}
		if !report {
			continue
		}
		if f, err := c.reopen(sv); err == nil && c.s.complete(sv) {
			c.s.hashAndReport(f, sv)
			continue
		} else if err == nil {
			f.Close()
		}
		c.s.report(Fetch{Vendor: sv.key.vendor, File: sv.name, Bytes: covered, Size: sv.key.size})
	}
}

// reopen opens the file version sv is about, to hash it; an error when it
// is gone or another version took its name.
func (c *conn) reopen(sv *served) (*os.File, error) {
	if c.root == nil {
		return nil, fs.ErrNotExist
	}
	h := &handlers{root: c.root}
	f, fi, err := h.openRegular(sv.name)
	if err != nil {
		return nil, err
	}
	if keyOf(sv.key.vendor, fi) != sv.key {
		f.Close()
		return nil, fs.ErrNotExist
	}
	return f, nil
}
