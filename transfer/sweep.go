package transfer

import (
	"context"
	"errors"
	"os"
	"time"
)

// Sweep removes the hidden temporary files (IsTemporary) in the remote
// directory that were last changed before since and are not in keep: what
// an upload abandoned half-way left (a stop, a stalled server), which the
// failed Stage could not remove. It returns the names removed.
func (s *SFTP) Sweep(ctx context.Context, since time.Time, keep map[string]bool) ([]string, error) {
	var removed []string
	err := s.do(ctx, "sweep", ".", func(c *sftpConn) error {
		ents, err := c.sftp.ReadDir(s.cfg.Directory)
		if err != nil {
			return err
		}
		for _, fi := range ents {
			name := fi.Name()
			if !fi.Mode().IsRegular() || !IsTemporary(name) || keep[name] || !fi.ModTime().Before(since) {
				continue
			}
			if err := c.sftp.Remove(s.remote(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			removed = append(removed, name)
		}
		return nil
	})
	return removed, err
}
