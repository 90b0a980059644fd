package compute

import (
	"io"
	"sync"
)

// Scratch makes temporary files for what Compute has to keep that grows with
// the extract: the hashes of the registration ids, to find repeats (8 bytes
// a row, beyond what the memory budget holds: see ids.go), and, for an
// extract not sorted by cpr, the rows themselves, partitioned by cpr range
// (about 27 bytes a row). Compute stays pure: the
// caller decides where they go. internal/extract puts them in unlinked
// temporary files; the default (nil in Job) keeps them in memory.
type Scratch interface {
	// Create returns a new empty file. Compute writes it, reads it back and
	// closes it; closing it gives its space back.
	Create() (ScratchFile, error)
}

// ScratchFile is a file made by a Scratch. Compute writes it sequentially
// and reads it back with ReadAt, possibly from several goroutines at once.
type ScratchFile interface {
	io.Writer
	io.ReaderAt
	io.Closer
}

// memScratch keeps scratch files in memory.
type memScratch struct{}

func (memScratch) Create() (ScratchFile, error) { return &memFile{}, nil }

type memFile struct {
	mu sync.RWMutex
	b  []byte
}

func (f *memFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	f.b = append(f.b, p...)
	f.mu.Unlock()
	return len(p), nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if off >= int64(len(f.b)) {
		return 0, io.EOF
	}
	n := copy(p, f.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Close() error {
	f.mu.Lock()
	f.b = nil
	f.mu.Unlock()
	return nil
}

// spillFile is a scratch file being written through a buffer, with its size.
type spillFile struct {
	f    ScratchFile
	buf  []byte
	size int64
	err  error
}

const spillBuffer = 32 << 10

func (s *spillFile) write(p []byte) {
	if len(s.buf)+len(p) > cap(s.buf) {
		s.flush()
		if len(p) >= spillBuffer {
			s.writeThrough(p)
			return
		}
		if s.buf == nil {
			s.buf = make([]byte, 0, spillBuffer)
		}
	}
	s.buf = append(s.buf, p...)
	s.size += int64(len(p))
}

func (s *spillFile) writeThrough(p []byte) {
	if s.err == nil {
		_, s.err = s.f.Write(p)
	}
	s.size += int64(len(p))
}

func (s *spillFile) flush() {
	if len(s.buf) > 0 && s.err == nil {
		_, s.err = s.f.Write(s.buf)
	}
	s.buf = s.buf[:0]
}

// readAll reads the whole file into buf (grown as needed).
func (s *spillFile) readAll(buf []byte) ([]byte, error) {
	s.flush()
	if s.err != nil {
		return buf, s.err
	}
	buf = grow(buf, int(s.size))
	if s.size == 0 {
		return buf, nil
	}
	n, err := s.f.ReadAt(buf, 0)
	if n == len(buf) {
		err = nil
	}
	return buf, err
}

func (s *spillFile) close() {
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	s.buf = nil
}

// grow returns b resized to n bytes, reallocated only when too small.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
