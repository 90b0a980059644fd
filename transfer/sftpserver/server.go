package sftpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"regexp"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
)

// Vendor is one vendor that may log in: the SSH user name is Name, it sees
// Dir as "/", and the keys in AuthorizedKeysFile (OpenSSH format) may log
// in as it. The file is read again at each authentication.
type Vendor struct {
	Name               string
	Dir                string
	AuthorizedKeysFile string
}

// Fetch is what a vendor was served of one file on one connection (see
// fetch.go): reported once the served byte ranges cover the file and the
// connection has closed its handles on it, or when the connection ends.
type Fetch struct {
	Vendor string
	File   string // path as the vendor sees it, without the leading "/"
	Size   int64  // the file's size
	// Bytes is how many of the file's bytes the vendor has been served, on
	// this connection and earlier ones (a resumed download counts both).
	Bytes int64
	// SHA256 (hex) is the digest of the file, read from disk once the
	// served ranges covered it; empty for an incomplete fetch.
	SHA256 string
	// Complete is true when every byte of the file was served.
	Complete bool
	Time     time.Time // when it was reported
}

// Config configures a Server.
type Config struct {
	// HostKeyPath is the ed25519 host key (OpenSSH format); the ECDSA
	// (nistp256) and RSA (3072 bits) host keys live beside it, named
	// ssh_host_ecdsa_key and ssh_host_rsa_key. A missing key is generated,
	// written atomically with mode 0600; an existing key that others can
	// read is refused.
	HostKeyPath string
	// Algorithms is the algorithm profile; "" is DefaultProfile.
	Algorithms Profile
	Vendors    []Vendor

	MaxConnsPerVendor int           // default 4
	MaxConns          int           // default 64
	MaxAuthTries      int           // default 3
	IdleTimeout       time.Duration // default 5 minutes
	// ShutdownGrace is how long Serve, once its context is done, lets a
	// download that is under way finish before closing its connection
	// (idle connections are closed at once). Default 10s.
	ShutdownGrace time.Duration
	// NoLargeReads turns off limits@openssh.com (see the package doc).
	NoLargeReads bool
	// Limits against starvation (limits.go).
	Limits Limits
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	// OnFetch is called once per vendor, file and connection (fetch.go),
	// from a connection's or a hashing goroutine; it must not block long.
	OnFetch func(Fetch)
	// OnRemove is called after a vendor deleted a file, from the
	// connection's goroutine; it must not block long.
	OnRemove func(Removal)
	Log      *slog.Logger
}

// Removal is a file a vendor deleted from its outbox.
type Removal struct {
	Vendor string
	File   string // path as the vendor sees it, without the leading "/"
	Size   int64
	Time   time.Time
}

// Defaults of Config.
const (
	DefaultMaxConnsPerVendor = 4
	DefaultMaxConns          = 64
	DefaultMaxAuthTries      = 3
	DefaultIdleTimeout       = 5 * time.Minute
	DefaultShutdownGrace     = 10 * time.Second

	maxSessionsPerConn = 4
	// maxRead is what the server sends per read request at most, and what
	// it reports through limits@openssh.com: OpenSSH's own value.
	maxRead = 256<<10 - 1024
)

var vendorName = regexp.MustCompile(`^[a-z0-9-]+$`)

// Server is the built-in SFTP server (docs/transfer.md#the-built-in-sftp-server-transfersftpserver).
type Server struct {
	cfg      Config
	log      *slog.Logger
	hostKeys []HostKey
	signers  []ssh.Signer // the host keys the profile serves
	algs     Algorithms

	vendors atomic.Pointer[map[string]Vendor]

	mu        sync.Mutex
	total     int
	perVendor map[string]int
	conns     map[*conn]struct{}
	lim       limiter

	book     book
	handles  atomic.Int64 // file handles open on all connections
	stopping atomic.Bool  // Serve's context is done
	hashes   sync.WaitGroup
	hashSem  chan struct{}
}

func (s *Server) now() time.Time {
	if s.cfg.Now != nil {
		return s.cfg.Now()
	}
	return time.Now()
}

// New loads (or generates) the host key and checks the vendors.
func New(cfg Config) (*Server, error) {
	if cfg.MaxConnsPerVendor <= 0 {
		cfg.MaxConnsPerVendor = DefaultMaxConnsPerVendor
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxAuthTries <= 0 {
		cfg.MaxAuthTries = DefaultMaxAuthTries
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.Limits.defaults(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	prof, err := ParseProfile(string(cfg.Algorithms))
	if err != nil {
		return nil, fmt.Errorf("sftp server: %w", err)
	}
	cfg.Algorithms = prof
	keys, err := LoadOrCreateHostKeys(cfg.HostKeyPath)
	if err != nil {
		return nil, err
	}
	signers, err := hostSigners(prof, keys)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Log.With("component", "sftp-server"), hostKeys: keys, signers: signers,
		algs: AlgorithmsOf(prof), perVendor: map[string]int{}, conns: map[*conn]struct{}{},
		book: book{files: map[fileKey]*served{}}, hashSem: make(chan struct{}, 2)}
	if err := s.SetVendors(cfg.Vendors); err != nil {
		return nil, err
	}
	return s, nil
}

// HostKey returns the server's ed25519 public host key (for known_hosts).
func (s *Server) HostKey() ssh.PublicKey { return s.hostKeys[0].Signer.PublicKey() }

// HostKeys returns the public host keys the server offers with its
// algorithm profile (for known_hosts).
func (s *Server) HostKeys() []ssh.PublicKey {
	var ks []ssh.PublicKey
	for _, k := range s.signers {
		ks = append(ks, k.PublicKey())
	}
	return ks
}

// serverConfig is made per connection, so that it sees the vendors of the
// moment.
func (s *Server) serverConfig(hs *handshakeLog) *ssh.ServerConfig {
	vendors := *s.vendors.Load()
	cfg := &ssh.ServerConfig{
		Config:                  ssh.Config{KeyExchanges: s.algs.KeyExchanges, Ciphers: s.algs.Ciphers, MACs: s.algs.MACs},
		MaxAuthTries:            s.cfg.MaxAuthTries,
		PublicKeyAuthAlgorithms: s.algs.ClientKeys,
		ServerVersion:           "SSH-2.0-leverance",
		// No PasswordCallback, KeyboardInteractiveCallback or
		// GSSAPIWithMICConfig: public keys are the only method offered.
		PublicKeyCallback: func(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			return s.authorize(vendors, meta, key)
		},
		AuthLogCallback: hs.authLog,
	}
	for _, k := range s.signers {
		cfg.AddHostKey(k)
	}
	return cfg
}

// printable cuts a client-chosen string down to something safe to log.
func printable(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return fmt.Sprintf("%q", s)
}

// Serve accepts connections on l until ctx is done, then stops accepting,
// closes idle connections, gives downloads under way up to ShutdownGrace,
// closes the rest and returns nil. It returns an error only when l fails
// otherwise.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.logHostKeys()
	s.log.Info("sftp server listening", "addr", l.Addr().String(), "algorithms", string(s.cfg.Algorithms),
		"max_conns", s.cfg.MaxConns, "max_conns_per_vendor", s.cfg.MaxConnsPerVendor, "idle_timeout", s.cfg.IdleTimeout.String())
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	var serr error
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscallEMFILE) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			serr = err
			break
		}
		c := &conn{s: s, nc: nc}
		c.src = sourceOf(nc.RemoteAddr())
		if limit := s.admit(c); limit != "" {
			s.refused(limit, nc.RemoteAddr().String())
			nc.Close()
			continue
		}
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.serve()
		}()
	}
	s.stopping.Store(true) // hashing stops waiting for quiet (fetch.go)
	s.shutdown(&wg)
	s.hashes.Wait()
	return serr
}

func (s *Server) admitVendor(v string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perVendor[v] >= s.cfg.MaxConnsPerVendor {
		return false
	}
	s.perVendor[v]++
	return true
}

func (s *Server) release(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total--
	s.releaseSource(c)
	if c.vendor != "" {
		if s.perVendor[c.vendor]--; s.perVendor[c.vendor] <= 0 {
			delete(s.perVendor, c.vendor)
		}
	}
	delete(s.conns, c)
}

// shutdown closes idle connections at once and busy ones when their
// downloads end or the grace period is over.
func (s *Server) shutdown(wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	deadline := time.After(s.cfg.ShutdownGrace)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		for c := range s.conns {
			if c.open.Load() == 0 {
				c.nc.Close()
			}
		}
		s.mu.Unlock()
		select {
		case <-done:
			return
		case <-deadline:
			s.mu.Lock()
			n := len(s.conns)
			for c := range s.conns {
				c.nc.Close()
			}
			s.mu.Unlock()
			if n > 0 {
				s.log.Warn("downloads cut off at shutdown", "connections", n)
			}
			<-done
			return
		case <-t.C:
		}
	}
}

// conn is one client connection.
type conn struct {
	s      *Server
	nc     net.Conn
	vendor string        // after authentication
	key    ssh.PublicKey // the key it logged in with
	open   atomic.Int32  // file handles open now
	probed atomic.Bool   // a session request was refused (logged at INFO once)
	connState
}

func (c *conn) serve() {
	s := c.s
	remote := c.nc.RemoteAddr().String()
	defer s.release(c)
	defer c.nc.Close()
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("connection handler panicked", "remote", remote, "vendor", c.vendor, "panic", fmt.Sprint(r),
				"stack", string(debug.Stack()))
		}
	}()
	ic := newIdleConn(c.nc, s.cfg.IdleTimeout)
	ic.SetDeadline(time.Now().Add(min(s.cfg.Limits.LoginGraceTime, s.cfg.IdleTimeout)))
	hs := &handshakeLog{accepted: s.algs.ClientKeys}
	bc := newBatchConn(ic) // writebatch.go
	defer bc.Close()
	sc, chans, reqs, err := ssh.NewServerConn(bc, s.serverConfig(hs))
	if err != nil {
		if isTimeout(err) {
			s.hit(LimitLoginGrace)
		}
		s.logRefused(remote, hs, err)
		return
	}
	s.authenticated(c)
	defer sc.Close()
	ic.armIdle()
	// Global requests (tcpip-forward, keepalive@openssh.com, ...) all get
	// "no": no port forwarding, and a "no" is a fine keepalive answer.
	go ssh.DiscardRequests(reqs)
	name := sc.Permissions.Extensions["vendor"]
	v, ok := (*s.vendors.Load())[name]
	if !ok {
		return // removed by SetVendors during the handshake
	}
	if !s.admitVendor(name) {
		s.hit(LimitVendorConns)
		s.log.Warn("connection refused: too many connections for the vendor", "vendor", name, "remote", remote,
			"max_conns_per_vendor", s.cfg.MaxConnsPerVendor)
		refuse(chans, "too many connections for this vendor")
		return
	}
	s.setConnVendor(c, name, sc.Permissions.Extensions["pubkey"])
	log := s.log.With("vendor", name, "remote", remote)
	root, err := os.OpenRoot(v.Dir)
	if err != nil {
		log.Error("outbox unavailable", "err", err)
		refuse(chans, "outbox unavailable")
		return
	}
	defer root.Close()
	c.root = root
	defer c.endFetches()
	log.Info("vendor connected", "key", sc.Permissions.Extensions["key"], "client", printable(string(sc.ClientVersion())))
	defer log.Info("vendor disconnected")

	var sessions sync.WaitGroup
	var nsess atomic.Int32
	for nch := range chans {
		if nch.ChannelType() != "session" {
			// direct-tcpip, direct-streamlocal, x11, auth-agent...
			log.Warn("channel refused", "type", printable(nch.ChannelType()))
			nch.Reject(ssh.Prohibited, "only SFTP sessions are allowed")
			continue
		}
		if nsess.Load() >= maxSessionsPerConn {
			nch.Reject(ssh.ResourceShortage, "too many sessions on this connection")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		nsess.Add(1)
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			defer nsess.Add(-1)
			defer func() {
				if r := recover(); r != nil {
					log.Error("session panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					ch.Close()
				}
			}()
			c.session(ch, creqs, root, log)
		}()
	}
	c.shutGates()
	sessions.Wait()
}

// refuse rejects the channels a connection opens for a moment, so that the
// client gets a reason, then lets the caller close the connection.
func refuse(chans <-chan ssh.NewChannel, why string) {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case nch, ok := <-chans:
			if !ok {
				return
			}
			nch.Reject(ssh.ResourceShortage, why)
			return
		case <-t.C:
			return
		}
	}
}

// session serves one session channel: the "sftp" subsystem and nothing
// else (no exec, shell, pty, env, agent or X11 forwarding).
func (c *conn) session(ch ssh.Channel, reqs <-chan *ssh.Request, root *os.Root, log *slog.Logger) {
	defer ch.Close()
	defer func() { go ssh.DiscardRequests(reqs) }()
	started := false
	done := make(chan struct{})
	for {
		select {
		case req, ok := <-reqs:
			if !ok {
				if started {
					<-done
				}
				return
			}
			if req.Type == "subsystem" && !started && subsystemName(req.Payload) == "sftp" {
				req.Reply(true, nil)
				started = true
				go func() {
					defer close(done)
					defer func() {
						if r := recover(); r != nil {
							log.Error("sftp session panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
						}
					}()
					// pkg/sftp closes what it serves on: it gets a channel
					// whose Close only half-closes, so that exit-status goes
					// out before the close, as OpenSSH does (scp exits 0).
					hc := newHalfCloser(ch)
					c.serveSFTP(hc, root, log)
					hc.end()
				}()
				continue
			}
			c.refuseRequest(req, log)
		case <-done:
			return
		}
	}
}

func subsystemName(payload []byte) string {
	if len(payload) < 4 {
		return ""
	}
	n := int(payload[0])<<24 | int(payload[1])<<16 | int(payload[2])<<8 | int(payload[3])
	if n != len(payload)-4 {
		return ""
	}
	return string(payload[4:])
}

func (c *conn) serveSFTP(ch ssh.Channel, root *os.Root, log *slog.Logger) {
	h := &handlers{root: root, vendor: c.vendor, conn: c, onFetch: c.s.cfg.OnFetch, log: log}
	hs := sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}
	var rwc = sftpStream(ch)
	opts := []sftp.RequestServerOption{sftp.WithStartDirectory("/")}
	if !c.s.cfg.NoLargeReads {
		shim := newLimitsShim(ch)
		shim.gate = c.newGate()
		shim.maxHandles = uint64(c.s.cfg.Limits.MaxHandles)
		rwc = shim
		opts = append(opts, sftp.WithRSMaxTxPacket(maxRead), sftp.WithRSAllocator())
	}
	rs := sftp.NewRequestServer(rwc, hs, opts...)
	if err := rs.Serve(); err != nil && !isEOF(err) {
		log.Info("sftp session ended", "err", err)
	}
	rs.Close()
}
