// Package scratch holds the temporary files of compute's engine: what it has
// to keep that grows with the extract goes through a Scratch that the
// caller provides, written through a buffer (Spill) and read back.
package scratch

import (
	"io"
	"sync"
)

// Scratch makes temporary files. The default keeps them in memory (Mem).
type Scratch interface {
	// Create returns a new empty file. The engine writes it, reads it back
	// and closes it; closing it gives its space back.
	Create() (File, error)
}

// File is a file made by a Scratch. The engine writes it sequentially and
// reads it back with ReadAt, possibly from several goroutines at once.
type File interface {
	io.Writer
	io.ReaderAt
	io.Closer
}

// Mem keeps scratch files in memory.
type Mem struct{}

// Create is Scratch.Create.
func (Mem) Create() (File, error) { return &memFile{}, nil }

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

// Spill is a scratch file being written through a buffer, with its size.
// The zero value has no file: the caller sets F before the first Write.
// The first error is kept in Err; later writes do nothing.
type Spill struct {
	F    File
	Size int64
	Err  error
	buf  []byte
}

const spillBuffer = 32 << 10

// Write appends p.
func (s *Spill) Write(p []byte) {
	if len(s.buf)+len(p) > cap(s.buf) {
		s.Flush()
		if len(p) >= spillBuffer {
			s.WriteThrough(p)
			return
		}
		if s.buf == nil {
			s.buf = make([]byte, 0, spillBuffer)
		}
	}
	s.buf = append(s.buf, p...)
	s.Size += int64(len(p))
}

// WriteThrough appends p without the buffer (after a Flush).
func (s *Spill) WriteThrough(p []byte) {
	if s.Err == nil {
		_, s.Err = s.F.Write(p)
	}
	s.Size += int64(len(p))
}

// Flush writes what is buffered.
func (s *Spill) Flush() {
	if len(s.buf) > 0 && s.Err == nil {
		_, s.Err = s.F.Write(s.buf)
	}
	s.buf = s.buf[:0]
}

// ReadAll reads the whole file into buf (grown as needed).
func (s *Spill) ReadAll(buf []byte) ([]byte, error) {
	s.Flush()
	if s.Err != nil {
		return buf, s.Err
	}
	buf = Grow(buf, int(s.Size))
	if s.Size == 0 {
		return buf, nil
	}
	n, err := s.F.ReadAt(buf, 0)
	if n == len(buf) {
		err = nil
	}
	return buf, err
}

// Close closes the file, giving its space back.
func (s *Spill) Close() {
	if s.F != nil {
		s.F.Close()
		s.F = nil
	}
	s.buf = nil
}

// Grow returns b resized to n bytes, reallocated only when too small.
func Grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}
