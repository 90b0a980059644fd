package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/pkg/sftp"
)

// Error classes (docs/transfer.md#pushing-to-a-remote-sftp-server), for receipts, metrics and the retry policy.
const (
	ClassAuth       = "auth"        // the server refused our key, or our key is not allowed
	ClassHostKey    = "hostkey"     // the server's key is unknown, changed or revoked
	ClassPermission = "permission"  // the server refused the operation on the directory
	ClassNetwork    = "network"     // connection refused, reset, timed out, lost
	ClassExists     = "exists"      // a different file has the final name (ErrExists)
	ClassRemoteFull = "remote-full" // the server's disk or quota is (very probably) full
	ClassLocal      = "local"       // reading the data here, a bad name, a cancelled context
)

// ErrTimeout is wrapped by errors of operations that made no progress for
// SFTPConfig.Timeout.
var ErrTimeout = errors.New("no progress within the timeout")

// OpError is an error of an outbox operation with its class.
type OpError struct {
	Op    string // stage, commit, discard, exists, connect, configure
	Name  string // file name or address
	Class string
	Err   error
}

func (e *OpError) Error() string {
	if e.Name == "" {
		return fmt.Sprintf("sftp %s [%s]: %v", e.Op, e.Class, e.Err)
	}
	return fmt.Sprintf("sftp %s %s [%s]: %v", e.Op, e.Name, e.Class, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// Class returns the class of an outbox error: one of "auth", "hostkey",
// "permission", "network", "exists", "remote-full" and "local" ("" for
// nil). Errors of SFTP carry their class; for others (Local's) it is
// derived from the error itself.
func Class(err error) string {
	if err == nil {
		return ""
	}
	var e *OpError
	if errors.As(err, &e) && e.Class != "" {
		return e.Class
	}
	switch {
	case errors.Is(err, ErrExists):
		return ClassExists
	case errors.Is(err, os.ErrPermission):
		return ClassPermission
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return ClassRemoteFull
	case isNetwork(err):
		return ClassNetwork
	}
	return ClassLocal
}

// Permanent reports whether retrying cannot help until someone acts: auth,
// host key, permission and exists errors (they alert at once).
// Network, remote-full and local errors are worth retrying.
func Permanent(err error) bool {
	switch Class(err) {
	case ClassAuth, ClassHostKey, ClassPermission, ClassExists:
		return true
	}
	return false
}

func isNetwork(err error) bool {
	var ne net.Error
	var oe *net.OpError
	switch {
	case errors.As(err, &ne), errors.As(err, &oe),
		errors.Is(err, ErrTimeout),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, sftp.ErrSSHFxConnectionLost), errors.Is(err, sftp.ErrSSHFxNoConnection),
		errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded):
		return true
	}
	var se *sftp.StatusError
	if errors.As(err, &se) {
		c := se.FxCode()
		return c == sftp.ErrSSHFxConnectionLost || c == sftp.ErrSSHFxNoConnection
	}
	return strings.HasPrefix(err.Error(), "ssh: ")
}

// classify wraps an error of fn in do with its class, using what the
// connection knows: a timed-out or ended connection makes it a network
// error, whatever pkg/sftp reported.
func classify(op, name string, err error, c *sftpConn, ctx context.Context) *OpError {
	var oe *OpError
	if errors.As(err, &oe) && oe.Class != "" {
		return &OpError{Op: op, Name: name, Class: oe.Class, Err: err}
	}
	e := &OpError{Op: op, Name: name, Err: err}
	var se *sftp.StatusError
	switch {
	case ctx.Err() != nil:
		e.Class, e.Err = ClassLocal, fmt.Errorf("%w (%v)", ctx.Err(), err)
	case c.w.timedOut.Load():
		e.Class, e.Err = ClassNetwork, fmt.Errorf("%w: %v", ErrTimeout, err)
	case errors.Is(err, ErrExists):
		e.Class = ClassExists
	case errors.Is(err, os.ErrPermission):
		e.Class = ClassPermission
	case errors.Is(err, os.ErrNotExist):
		// The directory is missing or hidden from us: someone must act.
		e.Class, e.Err = ClassPermission, fmt.Errorf("remote directory missing or not accessible: %w", err)
	case errors.As(err, &se) && se.FxCode() != sftp.ErrSSHFxConnectionLost && se.FxCode() != sftp.ErrSSHFxNoConnection:
		e.Class = ClassNetwork // a server failure: worth a retry
	case c.dead() || isNetwork(err):
		e.Class = ClassNetwork
	default:
		e.Class = ClassNetwork
	}
	return e
}

// writeFailure classifies a failed or short upload. OpenSSH reports a full
// disk as a bare SSH_FX_FAILURE ("Failure"), like many other faults, and
// pkg/sftp may even drop that error, so it looks further: a message that
// names the disk or the quota, or free space (statvfs@openssh.com, where
// the server offers it) below what was left to write or below 1 MiB, makes
// it remote-full. Anything else is a network error.
func (c *sftpConn) writeFailure(dir string, err error, remaining int64) error {
	var oe *OpError
	if errors.As(err, &oe) || c.dead() || c.w.timedOut.Load() {
		return err
	}
	msg := strings.ToLower(err.Error())
	full := strings.Contains(msg, "space") || strings.Contains(msg, "quota") || strings.Contains(msg, "full")
	if !full && c.statvfs {
		if st, serr := c.sftp.StatVFS(path.Clean(dir)); serr == nil {
			free := int64(st.Bavail * st.Frsize)
			full = free < 1<<20 || free < remaining
		}
	}
	if full {
		return &OpError{Op: "upload", Class: ClassRemoteFull, Err: fmt.Errorf("remote disk full? %w", err)}
	}
	return err
}
