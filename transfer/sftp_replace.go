package transfer

import (
	"context"
	"errors"
	"log/slog"
	"os"
)

// Overwrite renames the staged file tmp over name, replacing the file
// there (transfer.Replace uses it for checkpoint.txt, which is replaced at
// every publication). With posix-rename@openssh.com that is one rename(2)
// on the server: a vendor sees the old file or the new one, never none and
// never a partial one. A server without that extension only has
// SSH_FXP_RENAME, which must not replace (SFTP v3); there the old file is
// removed first and tmp renamed after it, so a vendor may for a moment see
// no file of that name (never a partial one), and the fallback is logged
// once per connection. A tmp already gone means an earlier attempt renamed
// it, and is no error.
func (s *SFTP) Overwrite(ctx context.Context, tmp, name string) error {
	if err := checkName(name); err != nil {
		return &OpError{Op: "overwrite", Name: name, Class: ClassLocal, Err: err}
	}
	return s.do(ctx, "overwrite", name, func(c *sftpConn) error {
		src, dst := s.remote(tmp), s.remote(name)
		if _, err := c.sftp.Lstat(src); errors.Is(err, os.ErrNotExist) {
			return nil // renamed before
		}
		if c.posixRename {
			return c.sftp.PosixRename(src, dst)
		}
		if c.warnedRename.CompareAndSwap(false, true) {
			s.logger().Warn("sftp push: the server lacks posix-rename@openssh.com; replacing a file by remove and rename (vendors may briefly see no file)",
				"address", s.cfg.Address, "file", name)
		}
		if err := c.sftp.Remove(dst); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return c.sftp.Rename(src, dst)
	})
}

// Remove removes a file from the directory; a missing one is no error.
func (s *SFTP) Remove(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return &OpError{Op: "remove", Name: name, Class: ClassLocal, Err: err}
	}
	return s.do(ctx, "remove", name, func(c *sftpConn) error {
		if err := c.sftp.Remove(s.remote(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	})
}

func (s *SFTP) logger() *slog.Logger {
	if s.cfg.Log != nil {
		return s.cfg.Log
	}
	return slog.Default()
}

// warnNoFsync logs, once per connection, that the server does not offer
// fsync@openssh.com, so that Stage cannot make an upload durable there.
func (s *SFTP) warnNoFsync(c *sftpConn) {
	if c.fsync || s.cfg.NoFsync {
		return
	}
	s.logger().Warn("sftp push: the server lacks fsync@openssh.com; uploads are not fsynced on the server (a crash of the server may lose a delivered file)",
		"address", s.cfg.Address)
}
