package sftpserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

var syscallEMFILE = syscall.EMFILE

func isEOF(err error) bool { return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) }

// sftpStream is what pkg/sftp's RequestServer reads and writes.
type sftpStream = io.ReadWriteCloser

// idleConn closes a connection on which nothing has moved for the idle
// timeout: every read and write pushes the deadline on (at most every
// tenth of the timeout, to spare the timer).
type idleConn struct {
	net.Conn
	idle  time.Duration
	armed atomic.Bool
	last  atomic.Int64 // unix nanoseconds of the last deadline push
}

func newIdleConn(c net.Conn, idle time.Duration) *idleConn { return &idleConn{Conn: c, idle: idle} }

func (c *idleConn) armIdle() {
	c.armed.Store(true)
	c.push(true)
}

func (c *idleConn) push(force bool) {
	if !c.armed.Load() {
		return
	}
	now := time.Now()
	if !force && time.Duration(now.UnixNano()-c.last.Load()) < c.idle/10 {
		return
	}
	c.last.Store(now.UnixNano())
	c.Conn.SetDeadline(now.Add(c.idle))
}

func (c *idleConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.push(false)
	}
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.push(false)
	}
	return n, err
}

// limitsShim sits between an SSH channel and pkg/sftp's RequestServer and
// adds the limits@openssh.com extension that pkg/sftp does not implement:
// it appends the extension to the server's VERSION packet and answers the
// client's limits request itself. OpenSSH's sftp client then asks for
// 255 KiB per read instead of 32 KiB (docs/performance.md).
// Everything else passes through unchanged.
type limitsShim struct {
	ch ssh.Channel

	// client → server
	rbuf []byte // bytes ready for pkg/sftp

	// server → client
	wmu     sync.Mutex
	version bool   // the VERSION packet has been rewritten
	vbuf    []byte // VERSION packet being collected
	left    int    // bytes left in the packet pkg/sftp is writing
	hdr     []byte // partial length field
	inject  [][]byte

	gate       *gate  // requests in flight (limits.go); nil: no limit
	maxHandles uint64 // reported through limits@openssh.com
}

func newLimitsShim(ch ssh.Channel) *limitsShim { return &limitsShim{ch: ch} }

const (
	fxpVersion       = 2
	fxpExtended      = 200
	fxpExtendedReply = 201
	limitsExt        = "limits@openssh.com"
	maxInPacket      = 256<<10 + 1024
)

func (s *limitsShim) Close() error { return s.ch.Close() }

// Read hands pkg/sftp the client's packets, minus the limits requests.
func (s *limitsShim) Read(p []byte) (int, error) {
	for len(s.rbuf) == 0 {
		var hdr [4]byte
		if _, err := io.ReadFull(s.ch, hdr[:]); err != nil {
			return 0, err
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n == 0 || n > maxInPacket {
			return 0, fmt.Errorf("sftp: packet of %d bytes", n)
		}
		pkt := make([]byte, 4+n)
		copy(pkt, hdr[:])
		if _, err := io.ReadFull(s.ch, pkt[4:]); err != nil {
			return 0, err
		}
		if id, ok := isLimitsRequest(pkt[4:]); ok {
			if err := s.reply(limitsReply(id, s.maxHandles)); err != nil {
				return 0, err
			}
			continue
		}
		if err := s.gate.enter(); err != nil {
			return 0, err
		}
		s.rbuf = pkt
	}
	n := copy(p, s.rbuf)
	s.rbuf = s.rbuf[n:]
	return n, nil
}

func isLimitsRequest(b []byte) (uint32, bool) {
	if len(b) < 9 || b[0] != fxpExtended {
		return 0, false
	}
	id := binary.BigEndian.Uint32(b[1:])
	n := binary.BigEndian.Uint32(b[5:])
	return id, uint64(n) == uint64(len(b)-9) && string(b[9:]) == limitsExt
}

func limitsReply(id uint32, handles uint64) []byte {
	b := binary.BigEndian.AppendUint32(nil, 1+4+32)
	b = append(b, fxpExtendedReply)
	b = binary.BigEndian.AppendUint32(b, id)
	b = binary.BigEndian.AppendUint64(b, maxInPacket-1024) // max packet length
	b = binary.BigEndian.AppendUint64(b, maxRead)          // max read length
	b = binary.BigEndian.AppendUint64(b, 0)                // max write length: no writes
	b = binary.BigEndian.AppendUint64(b, handles)          // open handles: max_handles
	return b
}

// reply sends a packet of our own between two of pkg/sftp's.
func (s *limitsShim) reply(pkt []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.left == 0 && len(s.hdr) == 0 && s.version {
		_, err := s.ch.Write(pkt)
		return err
	}
	s.inject = append(s.inject, pkt)
	return nil
}

// Write passes pkg/sftp's packets on, tracking packet boundaries so that a
// reply can be slipped in between two packets; the VERSION packet is
// collected whole and extended.
func (s *limitsShim) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if !s.version {
		s.vbuf = append(s.vbuf, p...)
		if len(s.vbuf) < 4 || len(s.vbuf) < 4+int(binary.BigEndian.Uint32(s.vbuf)) {
			return len(p), nil
		}
		n := 4 + int(binary.BigEndian.Uint32(s.vbuf))
		pkt, rest := s.vbuf[:n], s.vbuf[n:]
		if pkt[4] == fxpVersion {
			pkt = appendExt(pkt, limitsExt, "1")
		}
		s.version = true
		s.gate.leave()
		if _, err := s.ch.Write(pkt); err != nil {
			return 0, err
		}
		s.vbuf = nil
		if len(rest) > 0 {
			if _, err := s.write(rest); err != nil {
				return 0, err
			}
		}
		return len(p), s.flush()
	}
	if _, err := s.write(p); err != nil {
		return 0, err
	}
	return len(p), s.flush()
}

func appendExt(pkt []byte, name, data string) []byte {
	out := append([]byte(nil), pkt...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(name)))
	out = append(out, name...)
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, data...)
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	return out
}

// write sends p and follows the packet boundaries in it.
func (s *limitsShim) write(p []byte) (int, error) {
	n, err := s.ch.Write(p)
	for b := p[:n]; len(b) > 0; {
		if s.left > 0 {
			k := min(s.left, len(b))
			s.left -= k
			b = b[k:]
			if s.left == 0 {
				s.gate.leave()
			}
			continue
		}
		k := min(4-len(s.hdr), len(b))
		s.hdr = append(s.hdr, b[:k]...)
		b = b[k:]
		if len(s.hdr) == 4 {
			s.left = int(binary.BigEndian.Uint32(s.hdr))
			s.hdr = s.hdr[:0]
		}
	}
	return n, err
}

func (s *limitsShim) flush() error {
	if s.left != 0 || len(s.hdr) != 0 {
		return nil
	}
	for len(s.inject) > 0 {
		pkt := s.inject[0]
		s.inject = s.inject[1:]
		if _, err := s.ch.Write(pkt); err != nil {
			return err
		}
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
