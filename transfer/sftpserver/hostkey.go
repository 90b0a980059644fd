package sftpserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"leverance/internal/fsutil"
)

// LoadOrCreateHostKey reads the ed25519 host key at path, or generates one
// there (mode 0600, written under a temporary name and renamed, so a crash
// never leaves half a key) when the file does not exist. A key that group
// or others may read is refused, as sshd refuses one.
func LoadOrCreateHostKey(path string) (ssh.Signer, error) {
	if path == "" {
		return nil, errors.New("sftp server: no host key path")
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		blk, err := ssh.MarshalPrivateKey(priv, "leverance sftp host key")
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return nil, fmt.Errorf("sftp server: host key: %w", err)
		}
		if err := fsutil.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
			return nil, fmt.Errorf("sftp server: write host key: %w", err)
		}
		return ssh.NewSignerFromKey(priv)
	}
	if err != nil {
		return nil, fmt.Errorf("sftp server: host key: %w", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("sftp server: host key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("sftp server: host key %s is accessible by others (mode %04o): chmod 600 it", path, st.Mode().Perm())
	}
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("sftp server: host key %s: %w", path, err)
	}
	if s.PublicKey().Type() != ssh.KeyAlgoED25519 {
		return nil, fmt.Errorf("sftp server: host key %s is %s; want ssh-ed25519", path, s.PublicKey().Type())
	}
	return s, nil
}
