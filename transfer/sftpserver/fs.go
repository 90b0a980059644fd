package sftpserver

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"runtime/debug"
	"strings"
	"sync"

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

// Fileread opens a regular file for reading (see files.go), within the
// connection's handle limit.
func (h *handlers) Fileread(r *sftp.Request) (_ io.ReaderAt, err error) {
	defer h.guard(&err)
	p, ok := rel(r.Filepath)
	if !ok || p == "." {
		return nil, sftp.ErrSSHFxNoSuchFile
	}
	if err := h.conn.takeHandle(); err != nil {
		return nil, err
	}
	f, fi, err := h.openRegular(p)
	if err != nil {
		h.conn.open.Add(-1)
		h.conn.s.handles.Add(-1)
		return nil, mapErr(err)
	}
	return &fetchReader{f: f, c: h.conn, cf: h.conn.openFile(keyOf(h.vendor, fi), p)}, nil
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
	st, err := h.lstatPath(p)
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
	if on := h.conn.s.cfg.OnRemove; on != nil {
		on(Removal{Vendor: h.vendor, File: p, Size: st.Size(), Time: h.conn.s.now()})
	}
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
		return h.list(p)
	case "Stat", "Lstat":
		// Symlinks are not followed, so Stat is Lstat; a symlink or a
		// special file does not exist for the vendor.
		fi, err := h.lstatPath(p)
		if err != nil {
			return nil, mapErr(err)
		}
		return listerAt{named(fi, p)}, nil
	}
	return nil, errDenied
}

// list lists a directory: its regular files and directories, without the
// hidden ones, counted as a handle and charged to the connection's memory
// budget while the handle is open.
func (h *handlers) list(p string) (sftp.ListerAt, error) {
	fi, err := h.lstatPath(p)
	if err != nil {
		return nil, mapErr(err)
	}
	if !fi.IsDir() {
		return nil, sftp.ErrSSHFxNoSuchFile
	}
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
		if strings.HasPrefix(e.Name(), ".") || !visible(e.Type()) {
			continue // temporary publish names, hidden files, symlinks, special files
		}
		if fi, err := e.Info(); err == nil && visible(fi.Mode()) {
			out = append(out, fi)
		}
	}
	if err := h.conn.takeDirHandle(); err != nil {
		return nil, err
	}
	cost := int64(len(out)+1) * listEntryCost
	if !h.conn.charge(cost) {
		h.conn.dirs.Add(-1)
		return nil, h.conn.limitHit(LimitMemory)
	}
	return &chargedLister{listerAt: out, c: h.conn, cost: cost}, nil
}

// listEntryCost is what a listed entry costs in the memory budget.
const listEntryCost = 256

// chargedLister gives its memory back when pkg/sftp closes the handle.
type chargedLister struct {
	listerAt
	c    *conn
	cost int64
	once sync.Once
}

func (l *chargedLister) Close() error {
	l.once.Do(func() { l.c.mem.Add(-l.cost); l.c.dirs.Add(-1) })
	return nil
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
