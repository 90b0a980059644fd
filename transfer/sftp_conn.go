package transfer

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// sftpConn is one SSH connection with its SFTP session.
type sftpConn struct {
	ssh  *ssh.Client
	sftp *sftp.Client
	w    *watchConn
	done chan struct{} // closed when the SSH connection has ended

	maxPacket   int
	posixRename bool
	fsync       bool
	// warnedRename: the posix-rename fallback was logged on this connection.
	warnedRename atomic.Bool
	statvfs      bool
	closeOnce    sync.Once
}

func (c *sftpConn) dead() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

func (c *sftpConn) close() error {
	var err error
	c.closeOnce.Do(func() {
		if c.sftp != nil {
			c.sftp.Close()
		}
		err = c.ssh.Close()
		c.w.stopWatch()
	})
	return err
}

// connect returns the working connection, or makes one. It also removes
// the temporary files that earlier failures could not remove.
func (s *SFTP) connect(ctx context.Context) (*sftpConn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil && !s.conn.dead() {
		return s.conn, nil
	}
	if s.conn != nil {
		s.conn.close()
		s.conn = nil
	}
	c, fp, err := s.dial(ctx)
	if err != nil {
		return nil, err
	}
	s.conn, s.hostKey = c, fp
	if len(s.orphans) > 0 {
		end := c.w.begin()
		left := s.orphans[:0]
		for _, tmp := range s.orphans {
			if err := c.sftp.Remove(s.remote(tmp)); err != nil && !errors.Is(err, os.ErrNotExist) {
				left = append(left, tmp)
			}
		}
		s.orphans = left
		end()
	}
	return c, nil
}

func (s *SFTP) dial(ctx context.Context) (*sftpConn, string, error) {
	fail := func(class string, err error) (*sftpConn, string, error) {
		if ctx.Err() != nil {
			class, err = ClassLocal, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, "", &OpError{Op: "connect", Name: s.cfg.Address, Class: class, Err: err}
	}
	dctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	raw, err := (&net.Dialer{KeepAlive: s.cfg.KeepAlive}).DialContext(dctx, "tcp", s.cfg.Address)
	if err != nil {
		return fail(ClassNetwork, err)
	}
	hostKeys, err := knownhosts.New(s.cfg.KnownHostsFile)
	if err != nil {
		raw.Close()
		return fail(ClassHostKey, fmt.Errorf("known_hosts: %w", err))
	}
	algos, err := hostKeyAlgorithms(hostKeys, s.cfg.Address, raw.RemoteAddr())
	if err != nil {
		raw.Close()
		return fail(ClassHostKey, err)
	}
	var seen string
	cfg := &ssh.ClientConfig{
		Config: ssh.Config{KeyExchanges: clientKex, Ciphers: s.cfg.Ciphers, MACs: clientMACs},
		User:   s.cfg.User,
		Auth:   []ssh.AuthMethod{ssh.PublicKeys(s.signer)},
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			if err := hostKeys(host, remote, key); err != nil {
				return hostKeyErr(s.cfg.Address, s.cfg.KnownHostsFile, key, err)
			}
			seen = ssh.FingerprintSHA256(key)
			return nil
		},
		HostKeyAlgorithms: algos,
		Timeout:           s.cfg.Timeout,
	}
	w := newWatchConn(raw, s.cfg.Timeout)
	end := w.begin()
	stop := context.AfterFunc(ctx, w.abort)
	defer stop()
	cc, chans, reqs, err := ssh.NewClientConn(w, s.cfg.Address, cfg)
	if err != nil {
		end()
		w.stopWatch()
		raw.Close()
		var he *hostKeyError
		switch {
		case errors.As(err, &he):
			return fail(ClassHostKey, err)
		case strings.Contains(err.Error(), "unable to authenticate"):
			return fail(ClassAuth, fmt.Errorf("%w (the server did not accept the key %s for user %s)", err, ssh.FingerprintSHA256(s.signer.PublicKey()), s.cfg.User))
		case w.timedOut.Load():
			return fail(ClassNetwork, fmt.Errorf("%w: %v", ErrTimeout, err))
		}
		return fail(ClassNetwork, err)
	}
	client := ssh.NewClient(cc, chans, reqs)
	c := &sftpConn{ssh: client, w: w, done: make(chan struct{}), maxPacket: 32 << 10}
	go func() {
		client.Wait()
		close(c.done)
	}()
	exts, limits, err := probe(client)
	if err == nil {
		c.posixRename = exts["posix-rename@openssh.com"] == "1"
		c.fsync = exts["fsync@openssh.com"] == "1"
		c.statvfs = exts["statvfs@openssh.com"] == "2"
		switch {
		case s.cfg.MaxPacket > 0:
			c.maxPacket = s.cfg.MaxPacket
		case limits.write > 0:
			c.maxPacket = int(min(limits.write, maxAutoPacket))
		}
		opts := []sftp.ClientOption{
			sftp.UseConcurrentWrites(true),
			sftp.MaxConcurrentRequestsPerFile(s.cfg.Concurrency),
			sftp.MaxPacketUnchecked(c.maxPacket),
		}
		c.sftp, err = sftp.NewClient(client, opts...)
	}
	end()
	if err != nil {
		c.close()
		if w.timedOut.Load() {
			err = fmt.Errorf("%w: %v", ErrTimeout, err)
		}
		return fail(ClassNetwork, fmt.Errorf("sftp subsystem: %w", err))
	}
	s.warnNoFsync(c)
	go c.keepAlive(s.cfg.KeepAlive)
	return c, seen, nil
}

// keepAlive sends keepalive@openssh.com requests; the watchdog closes the
// connection when one gets no answer within the timeout. OpenSSH answers
// the unknown request with a failure, which is as good as a success.
func (c *sftpConn) keepAlive(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			end := c.w.begin()
			_, _, err := c.ssh.SendRequest("keepalive@openssh.com", true, nil)
			end()
			if err != nil {
				c.close()
				return
			}
		}
	}
}

// hostKeyAlgorithms returns the host key algorithms for the key types that
// known_hosts records for addr: x/crypto's knownhosts rejects a key of
// another type than the one recorded instead of asking for the right one.
// No recorded key is an error: a host is never trusted on first use.
func hostKeyAlgorithms(cb ssh.HostKeyCallback, addr string, remote net.Addr) ([]string, error) {
	_, probeKey, _ := ed25519.GenerateKey(nil)
	pk, _ := ssh.NewPublicKey(probeKey.Public())
	err := cb(addr, remote, pk)
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		if err == nil {
			return nil, nil // cannot happen: the key is fresh
		}
		return nil, err
	}
	if len(ke.Want) == 0 {
		return nil, &hostKeyError{msg: fmt.Sprintf("host %s is not in known_hosts (an unknown host is never trusted on first use)", addr)}
	}
	var algos []string
	add := func(a ...string) {
		for _, x := range a {
			if !contains(algos, x) {
				algos = append(algos, x)
			}
		}
	}
	for _, k := range ke.Want {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		default:
			add(t)
		}
	}
	return algos, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type hostKeyError struct{ msg string }

func (e *hostKeyError) Error() string { return e.msg }

func hostKeyErr(addr, file string, key ssh.PublicKey, err error) error {
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	fp := ssh.FingerprintSHA256(key)
	switch {
	case errors.As(err, &re):
		return &hostKeyError{msg: fmt.Sprintf("host key %s of %s is revoked in %s", fp, addr, file)}
	case errors.As(err, &ke) && len(ke.Want) > 0:
		return &hostKeyError{msg: fmt.Sprintf("host key of %s has CHANGED: the server offered %s %s, which %s does not hold for it (possible man-in-the-middle; update known_hosts only after checking the new key)", addr, key.Type(), fp, file)}
	case errors.As(err, &ke):
		return &hostKeyError{msg: fmt.Sprintf("host %s (key %s %s) is not in %s (an unknown host is never trusted on first use)", addr, key.Type(), fp, file)}
	}
	return &hostKeyError{msg: fmt.Sprintf("host key of %s: %v", addr, err)}
}

type sftpLimits struct{ packet, read, write uint64 }

// probe opens a short SFTP session of its own to learn the server's
// extensions and, when it offers limits@openssh.com, its limits: pkg/sftp
// neither asks for them nor lets a caller send that request.
func probe(c *ssh.Client) (map[string]string, sftpLimits, error) {
	var lim sftpLimits
	sess, err := c.NewSession()
	if err != nil {
		return nil, lim, err
	}
	defer sess.Close()
	in, err := sess.StdinPipe()
	if err != nil {
		return nil, lim, err
	}
	out, err := sess.StdoutPipe()
	if err != nil {
		return nil, lim, err
	}
	if err := sess.RequestSubsystem("sftp"); err != nil {
		return nil, lim, err
	}
	// SSH_FXP_INIT, version 3.
	if _, err := in.Write([]byte{0, 0, 0, 5, 1, 0, 0, 0, 3}); err != nil {
		return nil, lim, err
	}
	typ, body, err := readPacket(out)
	if err != nil {
		return nil, lim, err
	}
	if typ != 2 || len(body) < 4 {
		return nil, lim, fmt.Errorf("sftp: unexpected packet %d instead of VERSION", typ)
	}
	exts := map[string]string{}
	rest := body[4:]
	for len(rest) > 0 {
		name, r, ok := sshString(rest)
		if !ok {
			break
		}
		data, r, ok := sshString(r)
		if !ok {
			break
		}
		exts[string(name)] = string(data)
		rest = r
	}
	if exts["limits@openssh.com"] == "1" {
		const ext = "limits@openssh.com"
		req := make([]byte, 0, 32)
		req = binary.BigEndian.AppendUint32(req, uint32(1+4+4+len(ext)))
		req = append(req, 200) // SSH_FXP_EXTENDED
		req = binary.BigEndian.AppendUint32(req, 1)
		req = binary.BigEndian.AppendUint32(req, uint32(len(ext)))
		req = append(req, ext...)
		if _, err := in.Write(req); err != nil {
			return nil, lim, err
		}
		typ, body, err := readPacket(out)
		if err != nil {
			return nil, lim, err
		}
		if typ == 201 && len(body) >= 4+32 { // SSH_FXP_EXTENDED_REPLY
			lim.packet = binary.BigEndian.Uint64(body[4:])
			lim.read = binary.BigEndian.Uint64(body[12:])
			lim.write = binary.BigEndian.Uint64(body[20:])
		}
	}
	in.Close()
	return exts, lim, nil
}

func readPacket(r io.Reader) (byte, []byte, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n < 1 || n > 1<<18 {
		return 0, nil, fmt.Errorf("sftp: bad packet length %d", n)
	}
	body := make([]byte, n-1)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	return hdr[4], body, nil
}

func sshString(b []byte) ([]byte, []byte, bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	n := binary.BigEndian.Uint32(b)
	if uint64(len(b)-4) < uint64(n) {
		return nil, nil, false
	}
	return b[4 : 4+n], b[4+n:], true
}

// watchConn enforces the deadline of SFTPConfig.Timeout without a syscall
// per packet: while at least one operation is active, a watchdog closes the
// connection when no byte has moved in either direction for the timeout.
// Idle, it lets the connection be (keepalives are operations too).
type watchConn struct {
	net.Conn
	timeout  time.Duration
	start    time.Time
	active   atomic.Int32
	last     atomic.Int64 // nanoseconds since start of the last progress
	timedOut atomic.Bool
	stop     chan struct{}
	once     sync.Once
}

func newWatchConn(c net.Conn, timeout time.Duration) *watchConn {
	w := &watchConn{Conn: c, timeout: timeout, start: time.Now(), stop: make(chan struct{})}
	go w.watch()
	return w
}

func (w *watchConn) now() int64 { return int64(time.Since(w.start)) }

func (w *watchConn) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	if n > 0 {
		w.last.Store(w.now())
	}
	return n, err
}

func (w *watchConn) Write(p []byte) (int, error) {
	n, err := w.Conn.Write(p)
	if n > 0 {
		w.last.Store(w.now())
	}
	return n, err
}

// begin marks an operation as active until the returned function is called.
func (w *watchConn) begin() func() {
	if w.active.Add(1) == 1 {
		w.last.Store(w.now())
	}
	var once sync.Once
	return func() { once.Do(func() { w.active.Add(-1) }) }
}

// abort breaks the connection at once (a cancelled context).
func (w *watchConn) abort() { w.Conn.Close() }

func (w *watchConn) stopWatch() { w.once.Do(func() { close(w.stop) }) }

func (w *watchConn) watch() {
	tick := w.timeout / 8
	if tick < 5*time.Millisecond {
		tick = 5 * time.Millisecond
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			if w.active.Load() > 0 && time.Duration(w.now()-w.last.Load()) > w.timeout {
				w.timedOut.Store(true)
				w.Conn.Close()
				return
			}
		}
	}
}
