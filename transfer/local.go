package transfer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"leverance/internal/fsutil"
)

// Local is an outbox in a directory on this machine (docs/transfer.md#publishing-transfer): files are
// written under a temporary name, fsynced, renamed (by a hard link, so that an
// existing file is never replaced) and the directory is fsynced. Files are
// created 0640, the directory 0750.
type Local struct {
	Dir string
}

var _ Outbox = (*Local)(nil)

// NewLocal returns the outbox in dir, creating the directory if needed.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, fsutil.DirMode); err != nil {
		return nil, fmt.Errorf("outbox %s: %w", dir, err)
	}
	return &Local{Dir: dir}, nil
}

// TempName returns a fresh hidden temporary name for name.
func TempName(name string) string {
	var b [6]byte
	rand.Read(b[:])
	return "." + name + "." + hex.EncodeToString(b[:]) + ".partial"
}

// Stage implements Outbox.
func (l *Local) Stage(ctx context.Context, name string, r io.Reader) (string, error) {
	tmp := TempName(name)
	p := filepath.Join(l.Dir, tmp)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fsutil.FileMode)
	if err != nil {
		return "", fmt.Errorf("stage %s: %w", name, err)
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
		return "", fmt.Errorf("stage %s: %w", name, err)
	}
	return tmp, nil
}

// Commit implements Outbox.
func (l *Local) Commit(ctx context.Context, tmp, name string) error {
	src, dst := filepath.Join(l.Dir, tmp), filepath.Join(l.Dir, name)
	st, err := os.Stat(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // committed before
	}
	if err != nil {
		return fmt.Errorf("commit %s: %w", name, err)
	}
	if err := os.Link(src, dst); err != nil {
		// A crash between link and unlink leaves both names on one file.
		if dt, serr := os.Stat(dst); serr != nil || !os.SameFile(st, dt) {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("commit %s: %w", name, ErrExists)
			}
			return fmt.Errorf("commit %s: %w", name, err)
		}
	}
	if err := fsutil.SyncDir(l.Dir); err != nil {
		return fmt.Errorf("commit %s: %w", name, err)
	}
	if err := os.Remove(src); err != nil {
		return fmt.Errorf("commit %s: %w", name, err)
	}
	return fsutil.SyncDir(l.Dir)
}

// Discard implements Outbox.
func (l *Local) Discard(ctx context.Context, tmp string) error {
	if err := os.Remove(filepath.Join(l.Dir, tmp)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Location implements Outbox.
func (l *Local) Location() Location { return Location{Kind: "local", Path: l.Dir} }

// ctxReader stops a copy when the context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Exists implements Outbox.
func (l *Local) Exists(ctx context.Context, name string) (bool, error) {
	_, err := os.Lstat(filepath.Join(l.Dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Remove removes a file from the outbox; a missing one is no error.
func (l *Local) Remove(ctx context.Context, name string) error {
	if err := os.Remove(filepath.Join(l.Dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Overwrite renames a staged file over name, atomically replacing it (for
// checkpoint.txt; delivered files go through Commit, which never replaces).
func (l *Local) Overwrite(ctx context.Context, tmp, name string) error {
	if err := os.Rename(filepath.Join(l.Dir, tmp), filepath.Join(l.Dir, name)); err != nil {
		return err
	}
	return fsutil.SyncDir(l.Dir)
}
