// Package fsutil holds the few file-system patterns leverance relies on for
// crash safety: write to a temporary name, fsync, rename, fsync the
// directory.
package fsutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Modes of files that hold CPR numbers and of the directories above them.
const (
	FileMode os.FileMode = 0o640
	DirMode  os.FileMode = 0o750
)

// TempFile is a file being written under a hidden temporary name in its final
// directory. Commit makes it visible under its final name; Abort removes it.
type TempFile struct {
	*os.File
	final string
	done  bool
}

// Create starts writing path: the data goes to ".<name>.<random>.tmp" in the
// same directory, created with mode (umask applies; it is never wider).
func Create(path string, mode os.FileMode) (*TempFile, error) {
	dir, name := filepath.Split(path)
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &TempFile{File: f, final: path}, nil
}

// Commit fsyncs the file, renames it onto its final name and fsyncs the
// directory.
func (t *TempFile) Commit() error {
	if t.done {
		return fmt.Errorf("commit %s: already done", t.final)
	}
	t.done = true
	if err := t.Sync(); err != nil {
		t.Close()
		os.Remove(t.Name())
		return err
	}
	if err := t.Close(); err != nil {
		os.Remove(t.Name())
		return err
	}
	if err := os.Rename(t.Name(), t.final); err != nil {
		os.Remove(t.Name())
		return err
	}
	return SyncDir(filepath.Dir(t.final))
}

// Abort removes the temporary file; after Commit it does nothing.
func (t *TempFile) Abort() {
	if t.done {
		return
	}
	t.done = true
	t.Close()
	os.Remove(t.Name())
}

// WriteFile writes data to path atomically with mode.
func WriteFile(path string, data []byte, mode os.FileMode) error {
	t, err := Create(path, mode)
	if err != nil {
		return err
	}
	if _, err := t.Write(data); err != nil {
		t.Abort()
		return err
	}
	return t.Commit()
}

// SyncDir fsyncs a directory so that a rename in it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// SHA256File returns the hex SHA-256 of the file at path.
func SHA256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
