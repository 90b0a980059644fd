package sftpserver

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// What a vendor sees of its outbox: regular files and real directories.
// Symlinks are never followed (a path through or to a symlink does not
// exist for the vendor), and special files — FIFOs, sockets, devices — are
// neither listed nor opened: a FIFO opened for reading would block the
// session until a writer came, holding its slot forever.

// visible reports whether a vendor may see a directory entry of this mode.
func visible(m fs.FileMode) bool { return m.IsRegular() || m.IsDir() }

// lstatPath looks p (relative to the root, cleaned) up one component at a
// time without following any symlink, and returns the last component's
// FileInfo. A symlink or special file on the way, or at the end, is "no
// such file".
func (h *handlers) lstatPath(p string) (fs.FileInfo, error) {
	if p == "." {
		return h.root.Lstat(".")
	}
	parts := strings.Split(p, "/")
	var fi fs.FileInfo
	for i := range parts {
		var err error
		fi, err = h.root.Lstat(strings.Join(parts[:i+1], "/"))
		if err != nil {
			return nil, err
		}
		last := i == len(parts)-1
		if !visible(fi.Mode()) || !last && !fi.IsDir() {
			return nil, fs.ErrNotExist
		}
	}
	return fi, nil
}

// openRegular opens p for reading only if it is a regular file, reached
// without a symlink. O_NONBLOCK makes sure that a FIFO put in place between
// the check and the open cannot block; the opened file is checked again
// (same file as looked at, still regular).
func (h *handlers) openRegular(p string) (*os.File, fs.FileInfo, error) {
	fi, err := h.lstatPath(p)
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fs.ErrNotExist
	}
	f, err := h.root.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || !os.SameFile(fi, st) {
		f.Close()
		return nil, nil, fs.ErrNotExist
	}
	return f, st, nil
}

// clientErr turns an error met while serving an open file into one that
// names no server path: the vendor gets a status code and a fixed text.
func clientErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF):
		return io.EOF
	case errors.Is(err, errLimit):
		return err
	}
	return mapErr(err)
}

// errLimit is returned to a client that went over one of its connection's
// limits (handles, memory): a failure with a text that says which.
var errLimit = errors.New("limit reached")

// limitErr is the error for a limit: SSH_FX_FAILURE with the limit's name.
type limitErr string

func (e limitErr) Error() string { return "server limit reached: " + string(e) }
func (e limitErr) Is(t error) bool {
	return t == errLimit
}
