package daemon

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// limitListener holds at most max connections. When a new one arrives at
// the cap, the connection that has waited longest without a request in
// progress (new or idle keep-alive) is closed to make room; only when every
// connection is busy with a request is the new one refused. So a crowd of
// idle connections cannot keep a health check or a person out, and the
// daemon's descriptors stay bounded.
type limitListener struct {
	net.Listener
	max    int
	reject func(reason string) // counts "evicted" and "refused"

	mu    sync.Mutex
	conns map[net.Conn]*connInfo
}

type connInfo struct {
	busy  bool
	since time.Time // when it last became new or idle
}

func newLimitListener(l net.Listener, max int, reject func(string)) *limitListener {
	return &limitListener{Listener: l, max: max, reject: reject, conns: map[net.Conn]*connInfo{}}
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc := &limitConn{Conn: c, l: l}
		if l.admit(lc) {
			return lc, nil
		}
		c.Close()
		l.reject("refused")
	}
}

// admit registers c, closing the longest-waiting idle connection when at
// the cap; it reports false when every connection is busy.
func (l *limitListener) admit(c net.Conn) bool {
	l.mu.Lock()
	var victim net.Conn
	if len(l.conns) >= l.max {
		var oldest time.Time
		for vc, in := range l.conns {
			if !in.busy && (victim == nil || in.since.Before(oldest)) {
				victim, oldest = vc, in.since
			}
		}
		if victim == nil {
			l.mu.Unlock()
			return false
		}
		delete(l.conns, victim)
	}
	l.conns[c] = &connInfo{since: time.Now()}
	l.mu.Unlock()
	if victim != nil {
		victim.Close()
		l.reject("evicted")
	}
	return true
}

// track follows the server's view of each connection (http.Server's
// ConnState).
func (l *limitListener) track(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	in := l.conns[c]
	if in == nil {
		return
	}
	switch s {
	case http.StateActive:
		in.busy = true
	case http.StateIdle:
		in.busy, in.since = false, time.Now()
	case http.StateHijacked, http.StateClosed:
		delete(l.conns, c)
	}
}

func (l *limitListener) forget(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
}

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	c.once.Do(func() { c.l.forget(c) })
	return c.Conn.Close()
}
