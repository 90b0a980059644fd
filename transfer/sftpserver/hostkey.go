package sftpserver

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"leverance/internal/fsutil"
)

// HostKey is one of the server's host keys and the file it lives in.
type HostKey struct {
	Path   string
	Signer ssh.Signer
}

// hostKeyKind is one of the three host key types and its file name.
type hostKeyKind struct {
	Type string // ssh.KeyAlgo*
	File string
	Bits int
	gen  func() (crypto.Signer, error)
}

// generateRSA makes the 3072-bit RSA host key; a variable so that tests
// can reuse one key instead of paying for a new one per server.
var generateRSA = func() (crypto.Signer, error) { return rsa.GenerateKey(rand.Reader, 3072) }

var hostKeyKinds = []hostKeyKind{
	{ssh.KeyAlgoED25519, "ssh_host_ed25519_key", 256, func() (crypto.Signer, error) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}},
	{ssh.KeyAlgoECDSA256, "ssh_host_ecdsa_key", 256, func() (crypto.Signer, error) {
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}},
	{ssh.KeyAlgoRSA, "ssh_host_rsa_key", 3072, func() (crypto.Signer, error) { return generateRSA() }},
}

// HostKeyPaths returns the paths of the three host keys in dir, ed25519
// first: ssh_host_ed25519_key, ssh_host_ecdsa_key (nistp256) and
// ssh_host_rsa_key (3072 bits), OpenSSH's names.
func HostKeyPaths(dir string) []string {
	var ps []string
	for _, k := range hostKeyKinds {
		ps = append(ps, filepath.Join(dir, k.File))
	}
	return ps
}

// LoadOrCreateHostKeys loads the three host keys (ed25519 at ed25519Path,
// the ECDSA and RSA keys beside it under OpenSSH's names), creating each
// one that does not exist yet.
func LoadOrCreateHostKeys(ed25519Path string) ([]HostKey, error) {
	if ed25519Path == "" {
		return nil, errors.New("sftp server: no host key path")
	}
	dir := filepath.Dir(ed25519Path)
	var keys []HostKey
	for i, k := range hostKeyKinds {
		p := filepath.Join(dir, k.File)
		if i == 0 {
			p = ed25519Path
		}
		s, err := loadOrCreate(p, k, true)
		if err != nil {
			return nil, err
		}
		keys = append(keys, HostKey{Path: p, Signer: s})
	}
	return keys, nil
}

// ReadHostKeys reads the host keys that exist beside ed25519Path without
// creating any; missing lists the paths of those not created yet.
func ReadHostKeys(ed25519Path string) (keys []HostKey, missing []string, err error) {
	dir := filepath.Dir(ed25519Path)
	for i, k := range hostKeyKinds {
		p := filepath.Join(dir, k.File)
		if i == 0 {
			p = ed25519Path
		}
		s, err := loadOrCreate(p, k, false)
		if errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, p)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, HostKey{Path: p, Signer: s})
	}
	return keys, missing, nil
}

// Fingerprint renders a host key as `ssh-keygen -lf` does: bits, SHA256
// fingerprint, path and type.
func Fingerprint(k HostKey) string {
	pub := k.Signer.PublicKey()
	bits := 256
	typ := "ED25519"
	switch pub.Type() {
	case ssh.KeyAlgoECDSA256:
		typ = "ECDSA"
	case ssh.KeyAlgoRSA:
		typ = "RSA"
		if ck, ok := pub.(ssh.CryptoPublicKey); ok {
			if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); ok {
				bits = rk.N.BitLen()
			}
		}
	}
	return fmt.Sprintf("%d %s %s (%s)", bits, ssh.FingerprintSHA256(pub), k.Path, typ)
}

// LoadOrCreateHostKey reads the ed25519 host key at path, or generates one
// there when the file does not exist. See LoadOrCreateHostKeys.
func LoadOrCreateHostKey(path string) (ssh.Signer, error) {
	if path == "" {
		return nil, errors.New("sftp server: no host key path")
	}
	return loadOrCreate(path, hostKeyKinds[0], true)
}

// loadOrCreate reads the host key of kind k at path, or (when create is
// set) generates one there (mode 0600, written under a temporary name and
// renamed, so a crash never leaves half a key) when the file does not
// exist. A key that group or others may read is refused, as sshd refuses
// one, and so is a key of another type.
func loadOrCreate(path string, k hostKeyKind, create bool) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		return createHostKey(path, k)
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
	if s.PublicKey().Type() != k.Type {
		return nil, fmt.Errorf("sftp server: host key %s is %s; want %s", path, s.PublicKey().Type(), k.Type)
	}
	return s, nil
}

func createHostKey(path string, k hostKeyKind) (ssh.Signer, error) {
	priv, err := k.gen()
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
