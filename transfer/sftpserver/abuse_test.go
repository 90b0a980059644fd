package sftpserver_test

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"

	"leverance/transfer/sftpserver"
)

// hits counts the limits hit, for the tests.
type hits struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *hits) hit(l string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.n == nil {
		h.n = map[string]int{}
	}
	h.n[l]++
}

func (h *hits) get(l string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[l]
}

// dialFrom opens a TCP connection to addr from the loopback address src.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// clock is a settable clock for the server: real time plus an offset.
type clock struct{ off atomic.Int64 }

func (c *clock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *clock) advance(d time.Duration) { c.off.Add(int64(d)) }

// 100 idle connections held open before authentication — from one other
// address, from the vendor's own address, or from 100 addresses — while a
// vendor logs in three times: all three get in, each within 5 s. The
// per-source cap keeps one stranger to 8 slots; a newcomer that a
// startups limit would refuse takes the slot of a connection that has
// waited more than a second (the clock is moved on 2 s after the flood).
func TestPreauthFloodVendorGetsIn(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  func(i int) string
		held int // at most, after the logins
	}{
		{"stranger", func(int) string { return "127.0.0.2" }, sftpserver.DefaultPerSourceMaxStartups},
		{"same-address", func(int) string { return "127.0.0.1" }, sftpserver.DefaultPerSourceMaxStartups},
		{"100-addresses", func(i int) string { return "127.0.1." + strconv.Itoa(i+1) }, sftpserver.DefaultStartupsFull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h hits
			var clk clock
			e := startServer(t, func(c *sftpserver.Config) { c.Limits.OnHit = h.hit; c.Now = clk.now })
			var idle []net.Conn
			for i := 0; i < 100; i++ {
				idle = append(idle, dialFrom(t, tc.src(i), e.addr))
			}
			defer func() {
				for _, c := range idle {
					c.Close()
				}
			}()
			settle(idle) // every one admitted or refused, on the unmoved clock
			clk.advance(2 * time.Second)
			for i := 0; i < 3; i++ {
				start := time.Now()
				c, err := e.sshClient(t, "vendor-a", "vendor-a")
				if err != nil {
					t.Fatalf("login %d refused during the flood: %v", i+1, err)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("login %d took %v", i+1, d)
				}
				sc, err := sftp.NewClient(c)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := sc.Stat("a.csv"); err != nil {
					t.Fatal(err)
				}
				sc.Close()
				c.Close()
			}
			held := heldOpen(idle)
			t.Logf("the flood holds %d connections after the logins", held)
			if held > tc.held {
				t.Errorf("the flood holds %d connections, want ≤ %d", held, tc.held)
			}
		})
	}
}

// settle waits until the server has dealt with every connection: sent it
// its banner's first bytes, or closed it.
func settle(conns []net.Conn) {
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			io.ReadFull(c, make([]byte, 4))
		}()
	}
	wg.Wait()
}

// heldOpen counts the settled connections the server still keeps open: a
// read times out instead of ending.
func heldOpen(conns []net.Conn) int {
	var held atomic.Int32
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			var ne net.Error
			if _, err := io.Copy(io.Discard, c); errors.As(err, &ne) && ne.Timeout() {
				held.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(held.Load())
}

// Unauthenticated connections from many addresses: past start, new ones
// are dropped at random (MaxStartups), and at full always.
func TestMaxStartupsEarlyDrop(t *testing.T) {
	var h hits
	start := time.Now()
	e := startServer(t, func(c *sftpserver.Config) {
		c.Limits = sftpserver.Limits{StartupsStart: 5, StartupsRate: 50, StartupsFull: 20, OnHit: h.hit}
		c.Now = func() time.Time { return start } // no connection grows stale
	})
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 60; i++ {
		conns = append(conns, dialFrom(t, "127.0.1."+strconv.Itoa(i+1), e.addr))
	}
	held := 0
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b := make([]byte, 4)
		if _, err := io.ReadFull(c, b); err == nil {
			held++
		}
	}
	if held < 5 || held > 20 {
		t.Fatalf("%d of 60 unauthenticated connections held, want 5 to 20", held)
	}
	if h.get(sftpserver.LimitStartups) != 60-held {
		t.Fatalf("max_startups hit %d times, %d refused", h.get(sftpserver.LimitStartups), 60-held)
	}
}

// A banner slowloris (one byte at a time, never finishing) is cut at the
// login grace time, and counted.
func TestBannerSlowloris(t *testing.T) {
	var h hits
	e := startServer(t, func(c *sftpserver.Config) {
		c.Limits = sftpserver.Limits{LoginGraceTime: time.Second, OnHit: h.hit}
	})
	c := dialFrom(t, "127.0.0.3", e.addr)
	defer c.Close()
	closed := make(chan time.Time, 1)
	go func() {
		io.Copy(io.Discard, c)
		closed <- time.Now()
	}()
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	banner := []byte("SSH-2.0-" + strings.Repeat("x", 200))
	for i := 0; ; i++ {
		select {
		case at := <-closed:
			if d := at.Sub(start); d < 900*time.Millisecond || d > 5*time.Second {
				t.Fatalf("slowloris cut after %v, want about the 1s grace", d)
			}
			// The count follows the close (x/crypto closes first).
			for i := 0; i < 100 && h.get(sftpserver.LimitLoginGrace) == 0; i++ {
				time.Sleep(20 * time.Millisecond)
			}
			if h.get(sftpserver.LimitLoginGrace) != 1 {
				t.Fatalf("login_grace_time hit %d times", h.get(sftpserver.LimitLoginGrace))
			}
			return
		case <-tick.C:
			c.Write(banner[i%len(banner) : i%len(banner)+1])
			if i > 100 {
				t.Fatal("the slowloris was not cut")
			}
		}
	}
}

func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// 20,000 handle opens by one vendor: refused past max_handles, the
// server's descriptors stay bounded, and another vendor downloads
// meanwhile.
func TestHandleFlood(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	var h hits
	e := startServer(t, func(c *sftpserver.Config) { c.Limits.OnHit = h.hit })
	before := openFDs(t)
	sc := e.sftpClient(t, "vendor-a")
	var files []*sftp.File
	refused := 0
	for i := 0; i < n; i++ {
		f, err := sc.Open("a.csv")
		if err != nil {
			if !strings.Contains(err.Error(), "max_handles") {
				t.Fatalf("open %d: %v", i, err)
			}
			refused++
			continue
		}
		files = append(files, f)
	}
	if len(files) != sftpserver.DefaultMaxHandles || refused != n-sftpserver.DefaultMaxHandles {
		t.Fatalf("%d opened, %d refused; want %d opened", len(files), refused, sftpserver.DefaultMaxHandles)
	}
	if grown := openFDs(t) - before; grown > sftpserver.DefaultMaxHandles+32 {
		t.Fatalf("%d more descriptors open, want ≤ %d", grown, sftpserver.DefaultMaxHandles+32)
	}
	b := e.sftpClient(t, "vendor-b")
	f, err := b.Open("b.csv")
	if err != nil {
		t.Fatalf("vendor-b during vendor-a's flood: %v", err)
	}
	if got, _ := io.ReadAll(f); string(got) != "vendor b's data\n" {
		t.Fatalf("vendor-b read %q", got)
	}
	f.Close()
	for _, f := range files {
		f.Close()
	}
	if f, err := sc.Open("a.csv"); err != nil {
		t.Fatalf("after closing, a handle is refused: %v", err)
	} else {
		f.Close()
	}
	if h.get(sftpserver.LimitHandles) != refused {
		t.Fatalf("max_handles hit %d times, %d refused", h.get(sftpserver.LimitHandles), refused)
	}
}

// rss is the process's resident set in bytes.
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skip("no /proc/self/statm")
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// samplePeakRSS samples the process's RSS every 20 ms from now on; the
// function returned stops and returns the highest seen (at least base).
func samplePeakRSS(t *testing.T, base int64) func() int64 {
	var peak atomic.Int64
	peak.Store(base)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if r := rss(t); r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	}()
	return func() int64 {
		close(stop)
		<-done
		return peak.Load()
	}
}

// Out-of-order reads of a 64 MiB file over 48 handles: the server buffers
// nothing (the process's RSS grows by less than 64 MiB, client included),
// and the union of the reads is one complete fetch with the right digest.
func TestOutOfOrderReadsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB over 48 handles")
	}
	e := startServer(t, nil)
	const size = 64 << 20
	data := make([]byte, size)
	rand.Read(data)
	os.WriteFile(filepath.Join(e.dirs["vendor-a"], "big.csv"), data, 0o640)
	want := sum(data)
	data = nil
	debug.FreeOSMemory()
	base := rss(t)
	peak := samplePeakRSS(t, base)
	sc, end := e.conn(t)
	const handles, chunk = 48, 32 << 10
	stripe := int64(size / handles)
	var wg sync.WaitGroup
	var failed atomic.Value
	for i := 0; i < handles; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			f, err := sc.Open("big.csv")
			if err != nil {
				failed.Store(err)
				return
			}
			defer f.Close()
			lo, hi := int64(i)*stripe, int64(i+1)*stripe
			if i == handles-1 {
				hi = size
			}
			buf := make([]byte, chunk)
			// Backwards through the stripe: every read leaves a gap.
			for off := hi - chunk; off > lo-chunk; off -= chunk {
				o := max(off, lo)
				n := min(int64(chunk), hi-o, off+chunk-o)
				if _, err := f.ReadAt(buf[:n], o); err != nil && err != io.EOF {
					failed.Store(err)
					return
				}
			}
		}(i)
	}
	wg.Wait()
	top := peak()
	if err := failed.Load(); err != nil {
		t.Fatal(err)
	}
	fe := e.waitFetch(t)
	end()
	if !fe.Complete || fe.SHA256 != want || fe.File != "big.csv" {
		t.Fatalf("fetch %+v", fe)
	}
	grown := top - base
	t.Logf("RSS %d MiB before, peak %d MiB (+%d MiB)", base>>20, top>>20, grown>>20)
	if grown >= 64<<20 {
		t.Fatalf("RSS grew by %d MiB, want < 64", grown>>20)
	}
}

// The gap-filling attack over the wire: one-byte reads, every other byte,
// backwards; then the gaps: a complete fetch (the bookkeeping's cost is
// tested in ranges_test.go).
func TestGapFillingOverTheWire(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1000
	}
	e := startServer(t, nil)
	data := make([]byte, 2*n)
	rand.Read(data)
	os.WriteFile(filepath.Join(e.dirs["vendor-a"], "gaps.csv"), data, 0o640)
	sc, end := e.conn(t)
	defer end()
	f, err := sc.Open("gaps.csv")
	if err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2*n)
	for i := n - 1; i >= 0; i-- {
		f.ReadAt(got[2*i+1:2*i+2], int64(2*i+1))
	}
	for i := 0; i < n; i++ {
		f.ReadAt(got[2*i:2*i+1], int64(2*i))
	}
	f.Close()
	fe := e.waitFetch(t)
	if !bytes.Equal(got, data) || !fe.Complete || fe.SHA256 != sum(data) {
		t.Fatalf("fetch %+v", fe)
	}
}

// A connection that scatters its reads past its memory budget is refused
// further reads (and listings), named in the error and counted; another
// connection is unaffected.
func TestMemoryBudget(t *testing.T) {
	var h hits
	e := startServer(t, func(c *sftpserver.Config) {
		c.Limits = sftpserver.Limits{MemoryBudget: 32 << 10, OnHit: h.hit} // about 1,000 ranges
	})
	sc, end := e.conn(t)
	defer end()
	f, err := sc.Open("a.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var refused error
	for i := int64(0); i < 5000 && refused == nil; i++ {
		_, refused = f.ReadAt(make([]byte, 1), 2*i)
	}
	if refused == nil || !strings.Contains(refused.Error(), "memory_budget") {
		t.Fatalf("5,000 scattered reads: %v", refused)
	}
	if h.get(sftpserver.LimitMemory) == 0 {
		t.Fatal("memory_budget not counted")
	}
	other := e.sftpClient(t, "vendor-a")
	g, err := other.Open("a.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if b, err := io.ReadAll(g); err != nil || !bytes.Equal(b, e.data) {
		t.Fatalf("another connection: %d bytes, %v", len(b), err)
	}
}

// With max_in_flight 2, a client that pipelines 64 reads is held back, not
// refused: the download is whole, and the limit is counted.
func TestInFlightHeldBack(t *testing.T) {
	var h hits
	e := startServer(t, func(c *sftpserver.Config) {
		c.Limits = sftpserver.Limits{MaxInFlight: 2, OnHit: h.hit}
	})
	sc := e.sftpClient(t, "vendor-a")
	f, err := sc.Open("a.csv")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := f.WriteTo(&buf); err != nil { // concurrent reads
		t.Fatal(err)
	}
	f.Close()
	if !bytes.Equal(buf.Bytes(), e.data) {
		t.Fatal("content differs")
	}
	if h.get(sftpserver.LimitInFlight) == 0 {
		t.Fatal("max_in_flight never reached with 64 pipelined reads")
	}
}

// Per source: at most per_source_max_conns at once and per_source_rate new
// connections a minute (the bucket refills with the clock); another
// address is not affected.
func TestPerSourceLimits(t *testing.T) {
	for _, tc := range []struct {
		name   string
		limits sftpserver.Limits
		limit  string
	}{
		{"max-conns", sftpserver.Limits{PerSourceMaxConns: 3, PerSourceRate: 100}, sftpserver.LimitSourceConns},
		{"rate", sftpserver.Limits{PerSourceMaxConns: 100, PerSourceRate: 3}, sftpserver.LimitSourceRate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h hits
			var clk clock
			start := time.Now()
			e := startServer(t, func(c *sftpserver.Config) {
				c.Limits = tc.limits
				c.Limits.OnHit = h.hit
				c.Now = func() time.Time { return start.Add(time.Duration(clk.off.Load())) }
			})
			var conns []net.Conn
			defer func() {
				for _, c := range conns {
					c.Close()
				}
			}()
			for i := 0; i < 5; i++ {
				conns = append(conns, dialFrom(t, "127.0.0.4", e.addr))
			}
			settle(conns)
			if held := heldOpen(conns); held != 3 || h.get(tc.limit) != 2 {
				t.Fatalf("%d of 5 held from one address, %s hit %d times; want 3 and 2", held, tc.limit, h.get(tc.limit))
			}
			e.sftpClient(t, "vendor-b") // from 127.0.0.1
			if tc.limit == sftpserver.LimitSourceRate {
				clk.advance(time.Minute)
				c := dialFrom(t, "127.0.0.4", e.addr)
				conns = append(conns, c)
				settle([]net.Conn{c})
				if heldOpen([]net.Conn{c}) != 1 {
					t.Fatal("a minute later the address is still refused")
				}
			}
		})
	}
}

// The budget follows what is held: a connection that downloads many files
// one after the other (each a few out-of-order ranges, merged, given back
// when complete) never runs out of it.
func TestMemoryBudgetGivenBack(t *testing.T) {
	e := startServer(t, func(c *sftpserver.Config) {
		c.Limits = sftpserver.Limits{MemoryBudget: 4 << 10} // 128 ranges
	})
	part := make([]byte, 2<<20)
	rand.Read(part)
	for i := 0; i < 50; i++ {
		os.WriteFile(filepath.Join(e.dirs["vendor-a"], fmt.Sprintf("f%02d.csv", i)), part, 0o640)
	}
	sc := e.sftpClient(t, "vendor-a")
	for i := 0; i < 50; i++ {
		f, err := sc.Open(fmt.Sprintf("f%02d.csv", i))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if _, err := f.WriteTo(&buf); err != nil { // concurrent reads
			t.Fatalf("file %d: %v", i, err)
		}
		f.Close()
	}
}

// Directory handles count against max_handles with the files: raw
// SSH_FXP_OPENDIR requests (pkg/sftp's client closes its own at once).
func TestDirHandlesCounted(t *testing.T) {
	e := startServer(t, func(c *sftpserver.Config) { c.Limits.MaxHandles = 10 })
	c, err := e.sshClient(t, "vendor-a", "vendor-a")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	w, _ := s.StdinPipe()
	r, _ := s.StdoutPipe()
	if err := s.RequestSubsystem("sftp"); err != nil {
		t.Fatal(err)
	}
	send := func(typ byte, body []byte) {
		p := binary.BigEndian.AppendUint32(nil, uint32(1+len(body)))
		w.Write(append(append(p, typ), body...))
	}
	recv := func() byte {
		var hdr [4]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(r, b); err != nil {
			t.Fatal(err)
		}
		return b[0]
	}
	send(1, binary.BigEndian.AppendUint32(nil, 3)) // INIT
	recv()                                         // VERSION
	handles := 0
	for id := uint32(1); id <= 15; id++ {
		body := binary.BigEndian.AppendUint32(nil, id)
		body = binary.BigEndian.AppendUint32(body, 1)
		send(11, append(body, '/')) // OPENDIR "/"
		if recv() == 102 {          // HANDLE
			handles++
		}
	}
	if handles != 10 {
		t.Fatalf("%d directory handles granted, want max_handles = 10", handles)
	}
}
