package sshdtest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Fault is what a Proxy does to its connections once a number of bytes
// have gone from the client to the server.
type Fault int

// Faults.
const (
	Pass  Fault = iota // forward everything
	Reset              // close both sides with a TCP RST
	Stall              // stop forwarding in both directions, keep the sockets open
)

// Proxy is a TCP proxy on 127.0.0.1 in front of target that can break the
// connections that pass through it.
type Proxy struct {
	Addr   string
	target string
	l      net.Listener

	fault  atomic.Int64 // Fault
	after  atomic.Int64 // client→server bytes before the fault strikes
	struck atomic.Int64 // connections the fault has struck

	done   chan struct{}
	mu     sync.Mutex
	conns  []net.Conn
	stalls []func()
	wg     sync.WaitGroup
}

// NewProxy starts a proxy to target; it is closed at the end of the test.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{Addr: l.Addr().String(), target: target, l: l, done: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.Close)
	return p
}

// Set arms fault for new connections: it strikes once after bytes
// client→server bytes of a connection.
func (p *Proxy) Set(f Fault, after int64) {
	p.after.Store(after)
	p.fault.Store(int64(f))
}

// Struck returns how many connections the fault has struck so far.
func (p *Proxy) Struck() int64 { return p.struck.Load() }

// StallAll stalls every connection open now (new ones pass as Set says).
func (p *Proxy) StallAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.stalls {
		f()
	}
}

// Close stops the proxy and drops every connection.
func (p *Proxy) Close() {
	select {
	case <-p.done:
		return
	default:
	}
	close(p.done)
	p.l.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		f, after := Fault(p.fault.Load()), p.after.Load()
		stalled := make(chan struct{})
		var once sync.Once
		strike := func() {
			once.Do(func() {
				p.struck.Add(1)
				switch f {
				case Reset:
					c.(*net.TCPConn).SetLinger(0)
					s.(*net.TCPConn).SetLinger(0)
					c.Close()
					s.Close()
				case Stall:
					close(stalled)
				}
			})
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.stalls = append(p.stalls, func() { once.Do(func() { close(stalled) }) })
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { // client → server, counted
			defer p.wg.Done()
			p.pipe(s, c, f, after, strike, stalled)
		}()
		go func() { // server → client
			defer p.wg.Done()
			p.pipe(c, s, Pass, -1, nil, stalled)
		}()
	}
}

func (p *Proxy) pipe(dst, src net.Conn, f Fault, after int64, strike func(), stalled chan struct{}) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	var n int64
	for {
		k, err := src.Read(buf)
		if k > 0 {
			b := buf[:k]
			if f != Pass && after >= 0 && n+int64(k) >= after {
				m := after - n
				if m > 0 {
					dst.Write(b[:m])
				}
				strike()
				if f == Stall {
					<-p.done
				}
				return
			}
			n += int64(k)
			select {
			case <-stalled:
				<-p.done
				return
			default:
			}
			if _, err := dst.Write(b); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
