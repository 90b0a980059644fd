package transfer

import (
	"context"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// SFTPConfig configures a push outbox on a remote SFTP server (docs/transfer.md#pushing-to-a-remote-sftp-server).
type SFTPConfig struct {
	Address        string // host:port; ":22" is added when the port is missing
	User           string
	IdentityFile   string // ed25519 or RSA ≥ 3072 private key, not encrypted
	KnownHostsFile string // OpenSSH known_hosts; the server's key must be in it
	Directory      string // remote directory the files go to

	// Timeout bounds connecting and every request. While data moves it
	// bounds the time without progress, so a large file on a slow link is
	// not cut off but a stalled one fails within Timeout. Default 30s.
	Timeout time.Duration
	// KeepAlive is the interval of keepalive@openssh.com requests, which
	// find a dead peer on an idle connection within KeepAlive+Timeout.
	// Default 15s.
	KeepAlive time.Duration

	// Ciphers overrides the client's cipher preference (default: AES-GCM
	// first, then chacha20-poly1305, then AES-CTR with an ETM MAC).
	Ciphers []string
	// MaxPacket is the size of one SFTP write request. 0 (the default)
	// means 32 KiB, or what the server reports through limits@openssh.com
	// (up to 255 KiB) when it offers that extension.
	MaxPacket int
	// Concurrency is the number of write requests in flight per file
	// (default 64).
	Concurrency int
	// NoFsync skips fsync@openssh.com after an upload. Stage then no longer
	// promises that the staged file is on the server's disk; for
	// benchmarks and servers where fsync is not offered anyway.
	NoFsync bool
	// Log receives the warnings about a server's missing extensions (once
	// per connection); slog.Default() when nil.
	Log *slog.Logger
}

// Defaults of SFTPConfig.
const (
	DefaultSFTPTimeout   = 30 * time.Second
	DefaultSFTPKeepAlive = 15 * time.Second
	defaultConcurrency   = 64
	maxAutoPacket        = 255 << 10
)

// DefaultCiphers is the client's cipher preference: AES-GCM first because
// it has assembly on amd64 and arm64 and chacha20-poly1305 in x/crypto has
// not (several times slower per core: docs/performance.md).
var DefaultCiphers = []string{
	ssh.CipherAES128GCM, ssh.CipherAES256GCM, ssh.CipherChaCha20Poly1305,
	ssh.CipherAES128CTR, ssh.CipherAES256CTR,
}

var clientKex = []string{
	ssh.KeyExchangeMLKEM768X25519, ssh.KeyExchangeCurve25519,
	ssh.KeyExchangeECDHP256, ssh.KeyExchangeECDHP384, ssh.KeyExchangeECDHP521,
	ssh.KeyExchangeDH16SHA512, ssh.KeyExchangeDH14SHA256,
}

var clientMACs = []string{ssh.HMACSHA256ETM, ssh.HMACSHA512ETM, ssh.HMACSHA256, ssh.HMACSHA512}

// SFTP is an outbox in a directory on a remote SFTP server. It keeps one
// SSH connection, opened on first use and reused across calls until Close
// or a failure; the call after a failure connects again. It is safe for
// concurrent use: concurrent Stage calls share the connection.
type SFTP struct {
	cfg    SFTPConfig
	signer ssh.Signer

	mu      sync.Mutex
	conn    *sftpConn
	hostKey string   // fingerprint of the server's key at the last connect
	orphans []string // temporary files whose removal failed with the connection
}

var _ Outbox = (*SFTP)(nil)

// NewSFTP checks cfg and reads the identity; it does not connect.
func NewSFTP(cfg SFTPConfig) (*SFTP, error) {
	if cfg.Address == "" || cfg.User == "" || cfg.IdentityFile == "" || cfg.KnownHostsFile == "" || cfg.Directory == "" {
		return nil, &OpError{Op: "configure", Class: ClassLocal, Err: errors.New("address, user, identity, known_hosts and directory are all required")}
	}
	if _, _, err := net.SplitHostPort(cfg.Address); err != nil {
		cfg.Address = net.JoinHostPort(cfg.Address, "22")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultSFTPTimeout
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = DefaultSFTPKeepAlive
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = defaultConcurrency
	}
	if len(cfg.Ciphers) == 0 {
		cfg.Ciphers = DefaultCiphers
	}
	signer, err := loadIdentity(cfg.IdentityFile)
	if err != nil {
		return nil, &OpError{Op: "configure", Class: ClassAuth, Err: err}
	}
	if _, err := os.Stat(cfg.KnownHostsFile); err != nil {
		return nil, &OpError{Op: "configure", Class: ClassHostKey, Err: fmt.Errorf("known_hosts: %w", err)}
	}
	return &SFTP{cfg: cfg, signer: signer}, nil
}

// loadIdentity reads a private key and refuses the kinds docs/transfer.md does not
// allow: anything but ed25519 and RSA of at least 3072 bits.
func loadIdentity(file string) (ssh.Signer, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	s, err := ssh.ParsePrivateKey(b)
	if err != nil {
		var pe *ssh.PassphraseMissingError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("identity %s is encrypted; leverance needs a key without a passphrase", file)
		}
		return nil, fmt.Errorf("identity %s: %w", file, err)
	}
	cp, ok := s.PublicKey().(ssh.CryptoPublicKey)
	if !ok {
		return nil, fmt.Errorf("identity %s: unsupported key type %s", file, s.PublicKey().Type())
	}
	switch k := cp.CryptoPublicKey().(type) {
	case ed25519.PublicKey:
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < 3072 {
			return nil, fmt.Errorf("identity %s: RSA key of %d bits is too weak: use ed25519 or RSA of at least 3072 bits", file, bits)
		}
	default:
		return nil, fmt.Errorf("identity %s: key type %s is not allowed: use ed25519 or RSA of at least 3072 bits", file, s.PublicKey().Type())
	}
	return s, nil
}

func (s *SFTP) remote(name string) string { return path.Join(s.cfg.Directory, name) }

// Stage uploads r to a new hidden temporary file in the directory, checks
// that the server holds exactly the bytes read (by size: pkg/sftp can drop
// the error of a short last write, so the result of the copy is never
// trusted alone), fsyncs it where the server offers fsync@openssh.com and
// returns its name. On any error the temporary file is removed: at once
// when the connection still works, else on the next connection.
//
// r is best an *os.File (or anything with Size or Stat): pkg/sftp then
// sends many write requests at once; otherwise it does the same through
// ReadFromWithConcurrency.
func (s *SFTP) Stage(ctx context.Context, name string, r io.Reader) (string, error) {
	if err := checkName(name); err != nil {
		return "", &OpError{Op: "stage", Name: name, Class: ClassLocal, Err: err}
	}
	tmp := TempName(name)
	err := s.do(ctx, "stage", name, func(c *sftpConn) error {
		return s.upload(ctx, c, s.remote(tmp), r)
	})
	if err != nil {
		s.removeAfterFailure(tmp)
		return "", err
	}
	return tmp, nil
}

func (s *SFTP) upload(ctx context.Context, c *sftpConn, p string, r io.Reader) error {
	f, err := c.sftp.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return err
	}
	src := &source{ctx: ctx, r: r}
	size := readerSize(r)
	conc := s.cfg.Concurrency
	if size >= 0 {
		if n := size/int64(c.maxPacket) + 1; n < int64(conc) {
			conc = int(n)
		}
	}
	n, werr := f.ReadFromWithConcurrency(src, conc)
	if src.err != nil {
		werr = &OpError{Op: "read source", Class: ClassLocal, Err: src.err}
	} else if werr == nil && c.fsync && !s.cfg.NoFsync {
		werr = f.Sync()
	}
	cerr := f.Close()
	if werr != nil {
		return c.writeFailure(s.cfg.Directory, werr, n)
	}
	if cerr != nil {
		return c.writeFailure(s.cfg.Directory, cerr, n)
	}
	st, err := c.sftp.Lstat(p)
	if err != nil {
		return err
	}
	if st.Size() != n {
		return c.writeFailure(s.cfg.Directory, fmt.Errorf("%w: the server has %d bytes of %d", errShortWrite, st.Size(), n), n-st.Size())
	}
	return nil
}

var errShortWrite = errors.New("upload incomplete")

// Commit renames the staged file onto name with posix-rename@openssh.com
// (plain SSH_FXP_RENAME, which never replaces, when the server lacks it),
// but only after checking with a stat that nothing has that name: a
// delivered file is never replaced. When name exists, Commit returns nil if
// tmp is gone (an earlier Commit renamed it, perhaps with its reply lost)
// and ErrExists if tmp is still there. A rename that finds tmp missing also
// means an earlier Commit did it, and returns nil.
//
// The check and the rename are two requests: a file that appeared between
// them would be replaced. Only leverance writes to the directory, and it
// commits a name from one process at a time, so that window is not used.
func (s *SFTP) Commit(ctx context.Context, tmp, name string) error {
	if err := checkName(name); err != nil {
		return &OpError{Op: "commit", Name: name, Class: ClassLocal, Err: err}
	}
	return s.do(ctx, "commit", name, func(c *sftpConn) error {
		src, dst := s.remote(tmp), s.remote(name)
		if _, err := c.sftp.Lstat(dst); err == nil {
			if _, err := c.sftp.Lstat(src); errors.Is(err, os.ErrNotExist) {
				return nil // renamed before
			} else if err != nil {
				return err
			}
			return ErrExists
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		var err error
		if c.posixRename {
			err = c.sftp.PosixRename(src, dst)
		} else {
			err = c.sftp.Rename(src, dst)
		}
		if errors.Is(err, os.ErrNotExist) {
			return nil // tmp gone: renamed before (and perhaps fetched since)
		}
		return err
	})
}

// Discard removes a staged file; a missing one is no error.
func (s *SFTP) Discard(ctx context.Context, tmp string) error {
	return s.do(ctx, "discard", tmp, func(c *sftpConn) error {
		if err := c.sftp.Remove(s.remote(tmp)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	})
}

// Exists reports whether name is in the directory.
func (s *SFTP) Exists(ctx context.Context, name string) (bool, error) {
	var ok bool
	err := s.do(ctx, "exists", name, func(c *sftpConn) error {
		_, err := c.sftp.Lstat(s.remote(name))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		ok = err == nil
		return err
	})
	return ok, err
}

// Location reports the server, the SHA256 fingerprint of the host key seen
// at the last connect (empty before the first) and the directory.
func (s *SFTP) Location() Location {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Location{Kind: "sftp", Host: s.cfg.Address, HostKey: s.hostKey, Path: s.cfg.Directory}
}

// Close closes the connection. The outbox stays usable: the next call
// connects again. The daemon closes it after each publication.
func (s *SFTP) Close() error {
	s.mu.Lock()
	c := s.conn
	s.conn = nil
	s.mu.Unlock()
	if c != nil {
		return c.close()
	}
	return nil
}

// do runs fn on a working connection, under the deadline and the context,
// and classifies its error. A connection that failed is dropped.
func (s *SFTP) do(ctx context.Context, op, name string, fn func(*sftpConn) error) error {
	if err := ctx.Err(); err != nil {
		return &OpError{Op: op, Name: name, Class: ClassLocal, Err: err}
	}
	c, err := s.connect(ctx)
	if err != nil {
		return err
	}
	end := c.w.begin()
	stop := context.AfterFunc(ctx, func() { c.w.abort() })
	err = fn(c)
	stop()
	end()
	if err == nil {
		return nil
	}
	e := classify(op, name, err, c, ctx)
	if e.Class == ClassNetwork || ctx.Err() != nil {
		s.drop(c)
	}
	return e
}

func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("bad file name %q", name)
	}
	return nil
}

// removeAfterFailure removes a temporary file that a failed Stage left, on
// the connection if it still works (with a fresh deadline: the caller's
// context may be the reason of the failure), else on the next connection.
func (s *SFTP) removeAfterFailure(tmp string) {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil && !c.dead() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
		defer cancel()
		end := c.w.begin()
		stop := context.AfterFunc(ctx, func() { c.w.abort() })
		err := c.sftp.Remove(s.remote(tmp))
		stop()
		end()
		if err == nil || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
			return // removed, never created, or not ours to remove
		}
	}
	s.mu.Lock()
	s.orphans = append(s.orphans, tmp)
	s.mu.Unlock()
}

func (s *SFTP) drop(c *sftpConn) {
	s.mu.Lock()
	if s.conn == c {
		s.conn = nil
	}
	s.mu.Unlock()
	c.close()
}

// readerSize is the number of bytes r will give, or -1 when unknown.
func readerSize(r io.Reader) int64 {
	switch r := r.(type) {
	case interface{ Len() int }:
		return int64(r.Len())
	case interface{ Size() int64 }:
		return r.Size()
	case *io.LimitedReader:
		return r.N
	case interface{ Stat() (os.FileInfo, error) }:
		if st, err := r.Stat(); err == nil && st.Mode().IsRegular() {
			if s, ok := r.(io.Seeker); ok {
				if off, err := s.Seek(0, io.SeekCurrent); err == nil {
					return st.Size() - off
				}
			}
			return st.Size()
		}
	}
	return -1
}

// source reads the data to upload, remembering a read error so that it is
// classified as local, and stops when the context is done.
type source struct {
	ctx context.Context
	r   io.Reader
	err error
}

func (s *source) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}
