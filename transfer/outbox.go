package transfer

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
)

// Outbox is one vendor's outbox.
type Outbox interface {
	// Stage writes the content of r to a new hidden temporary file in the
	// outbox for the final name, makes it durable and returns its name. On
	// error nothing is left behind.
	Stage(ctx context.Context, name string, r io.Reader) (tmp string, err error)
	// Commit makes the staged file tmp visible as name, atomically, never
	// replacing an existing file of another content (ErrExists). When tmp no
	// longer exists it was committed before and Commit returns nil.
	Commit(ctx context.Context, tmp, name string) error
	// Discard removes a staged temporary file; a missing one is no error.
	Discard(ctx context.Context, tmp string) error
	// Exists reports whether a file of that name is in the outbox. Recovery
	// uses it to tell a staged file from a committed one.
	Exists(ctx context.Context, name string) (bool, error)
	// Location describes the outbox for receipts and logs.
	Location() Location
}

// Location says where an outbox is.
type Location struct {
	Kind    string `json:"kind"`               // "local" or "sftp"
	Host    string `json:"host,omitempty"`     // sftp: host:port
	HostKey string `json:"host_key,omitempty"` // sftp: SHA256 fingerprint of the server's host key
	Path    string `json:"path"`
}

// ErrExists is returned by Commit when a different file already has the
// final name: a delivered file is never silently overwritten.
var ErrExists = errors.New("a different file with that name is already in the outbox")

// IsTemporary reports whether name is one of the hidden temporary names that
// Stage uses (and that a vendor must never see listed).
func IsTemporary(name string) bool {
	return strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".partial")
}

// Replace writes a small file (checkpoint.txt) into the outbox, replacing the
// one there: staged under a temporary name, then renamed over the old one
// where the outbox can (Overwrite: a vendor sees the old file or the new
// one), else the old one removed and the new one committed (a vendor may
// briefly see none). Never a partial one.
func Replace(ctx context.Context, ob Outbox, name string, data []byte) error {
	tmp, err := ob.Stage(ctx, name, bytes.NewReader(data))
	if err != nil {
		return err
	}
	if o, ok := ob.(interface {
		Overwrite(ctx context.Context, tmp, name string) error
	}); ok {
		if err := o.Overwrite(ctx, tmp, name); err != nil {
			ob.Discard(ctx, tmp)
			return err
		}
		return nil
	}
	if r, ok := ob.(interface {
		Remove(ctx context.Context, name string) error
	}); ok {
		if err := r.Remove(ctx, name); err != nil {
			ob.Discard(ctx, tmp)
			return err
		}
	}
	if err := ob.Commit(ctx, tmp, name); err != nil {
		ob.Discard(ctx, tmp)
		return err
	}
	return nil
}
