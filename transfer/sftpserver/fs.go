package sftpserver

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"
)

// handlers serve one vendor's outbox to pkg/sftp's RequestServer. Every
// path goes through the vendor's os.Root, which refuses "..", absolute
// paths and symlinks that lead out of the directory; on top of that, names
// that start with a dot (the temporary names of a publication among them)
// do not exist for a vendor.
type handlers struct {
	root    *os.Root
	vendor  string
	conn    *conn
	onFetch func(Fetch)
	log     *slog.Logger
}

var errDenied = sftp.ErrSSHFxPermissionDenied

// rel turns the cleaned absolute SFTP path into a path relative to the
// root, and reports whether a vendor may see it.
func rel(p string) (string, bool) {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return ".", true
	}
	for _, part := range strings.Split(p, "/") {
		if strings.HasPrefix(part, ".") {
			return p, false
		}
	}
	return p, true
}

// guard turns a panic in a handler into an error for that request only.
func (h *handlers) guard(err *error) {
	if r := recover(); r != nil {
		h.log.Error("sftp handler panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		*err = sftp.ErrSSHFxFailure
	}
}

// mapErr hides what the vendor need not know (paths, escape attempts).
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrNotExist):
		return sftp.ErrSSHFxNoSuchFile
	case errors.Is(err, fs.ErrPermission):
		return errDenied
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "escapes") {
		return sftp.ErrSSHFxNoSuchFile // os.Root refused a path out of the outbox
	}
	return sftp.ErrSSHFxFailure
}

// Fileread opens a file for reading.
func (h *handlers) Fileread(r *sftp.Request) (_ io.ReaderAt, err error) {
	defer h.guard(&err)
	p, ok := rel(r.Filepath)
	if !ok || p == "." {
		return nil, sftp.ErrSSHFxNoSuchFile
	}
	f, err := h.root.Open(p)
	if err != nil {
		return nil, mapErr(err)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, mapErr(err)
		}
		return nil, sftp.ErrSSHFxFailure
	}
	h.conn.open.Add(1)
	return &fetchReader{f: f, h: h, name: p, size: st.Size(), sum: sha256.New(), pending: map[int64][]byte{}}, nil
}

// Filewrite refuses every upload.
func (h *handlers) Filewrite(*sftp.Request) (io.WriterAt, error) { return nil, errDenied }

// Filecmd allows Remove (a vendor deletes what it has fetched) and nothing
// else: no Rename, Mkdir, Rmdir, Symlink, Link or Setstat.
func (h *handlers) Filecmd(r *sftp.Request) (err error) {
	defer h.guard(&err)
	if r.Method != "Remove" {
		return errDenied
	}
	p, ok := rel(r.Filepath)
	if !ok || p == "." {
		return sftp.ErrSSHFxNoSuchFile
	}
	st, err := h.root.Lstat(p)
	if err != nil {
		return mapErr(err)
	}
	if !st.Mode().IsRegular() {
		return errDenied
	}
	if err := h.root.Remove(p); err != nil {
		return mapErr(err)
	}
	h.log.Info("file deleted by vendor", "file", p)
	return nil
}

// Filelist serves List, Stat and Lstat ("Readlink" is refused).
func (h *handlers) Filelist(r *sftp.Request) (_ sftp.ListerAt, err error) {
	defer h.guard(&err)
	p, ok := rel(r.Filepath)
	if !ok {
		return nil, sftp.ErrSSHFxNoSuchFile
	}
	switch r.Method {
	case "List":
		d, err := h.root.Open(p)
		if err != nil {
			return nil, mapErr(err)
		}
		defer d.Close()
		ents, err := d.ReadDir(-1)
		if err != nil {
			return nil, mapErr(err)
		}
		var out listerAt
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				continue // temporary publish names and other hidden files
			}
			if fi, err := e.Info(); err == nil {
				out = append(out, fi)
			}
		}
		return out, nil
	case "Stat":
		fi, err := h.root.Stat(p)
		if err != nil {
			return nil, mapErr(err)
		}
		return listerAt{named(fi, p)}, nil
	case "Lstat":
		fi, err := h.root.Lstat(p)
		if err != nil {
			return nil, mapErr(err)
		}
		return listerAt{named(fi, p)}, nil
	}
	return nil, errDenied
}

// Lstat implements sftp.LstatFileLister.
func (h *handlers) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	r.Method = "Lstat"
	return h.Filelist(r)
}

// RealPath implements sftp.RealPathFileLister: paths are resolved within
// the vendor's "/" without touching the file system.
func (h *handlers) RealPath(p string) (string, error) {
	return path.Clean("/" + p), nil
}

// named gives "/" the name "/" (os.Root calls it ".").
func named(fi os.FileInfo, p string) os.FileInfo {
	if p == "." {
		return renamed{fi, "/"}
	}
	return fi
}

type renamed struct {
	os.FileInfo
	name string
}

func (r renamed) Name() string { return r.name }

type listerAt []os.FileInfo

func (l listerAt) ListAt(dst []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[off:])
	if n < len(dst) {
		return n, io.EOF
	}
	return n, nil
}

// maxPending bounds the out-of-order data a fetchReader keeps to hash the
// file in order: pkg/sftp serves reads with 8 workers, so replies may be
// read a few requests out of order.
const maxPending = 32 << 20

// fetchReader reads a file for a vendor and hashes what is sent, in file
// order, whatever order the reads come in.
type fetchReader struct {
	f    *os.File
	h    *handlers
	name string
	size int64

	mu       sync.Mutex
	sum      hash.Hash
	next     int64            // bytes hashed, from 0
	pending  map[int64][]byte // data sent ahead of next, by offset
	pendSize int64
	broken   bool // a gap too large to bridge
	once     sync.Once
}

func (r *fetchReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.f.ReadAt(p, off)
	if n > 0 {
		r.sent(p[:n], off)
	}
	return n, err
}

func (r *fetchReader) sent(b []byte, off int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.broken {
		return
	}
	end := off + int64(len(b))
	switch {
	case end <= r.next:
		return // sent again
	case off <= r.next:
		r.sum.Write(b[r.next-off:])
		r.next = end
	default:
		if r.pendSize+int64(len(b)) > maxPending {
			r.broken = true
			r.pending = nil
			return
		}
		if old, ok := r.pending[off]; !ok || len(old) < len(b) {
			r.pending[off] = append([]byte(nil), b...)
			r.pendSize += int64(len(b)) - int64(len(old))
		}
		return
	}
	for moved := true; moved; {
		moved = false
		for o, d := range r.pending {
			if o > r.next {
				continue
			}
			if e := o + int64(len(d)); e > r.next {
				r.sum.Write(d[r.next-o:])
				r.next = e
			}
			delete(r.pending, o)
			r.pendSize -= int64(len(d))
			moved = true
		}
	}
}

// Close reports the fetch, once.
func (r *fetchReader) Close() error {
	err := r.f.Close()
	r.once.Do(func() {
		r.h.conn.open.Add(-1)
		r.mu.Lock()
		fe := Fetch{Vendor: r.h.vendor, File: r.name, Bytes: r.next, SHA256: hex.EncodeToString(r.sum.Sum(nil)),
			Complete: !r.broken && r.next >= r.size, Time: time.Now().UTC()}
		r.mu.Unlock()
		r.h.log.Info("file fetched", "file", fe.File, "bytes", fe.Bytes, "sha256", fe.SHA256, "complete", fe.Complete)
		if r.h.onFetch != nil {
			r.h.onFetch(fe)
		}
	})
	return err
}
