package sftpserver

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Limits are the server's defences against one stranger or one vendor
// starving the others, after OpenSSH's sshd and SFTPGo. Zero fields take
// the defaults below.
type Limits struct {
	// MaxStartups is OpenSSH's start:rate:full for connections that have
	// not authenticated yet: from Start such connections on, a new one is
	// dropped with probability Rate percent, rising linearly to 100 % at
	// Full.
	StartupsStart, StartupsRate, StartupsFull int
	// PerSourceMaxStartups caps the unauthenticated connections of one
	// source address, PerSourceMaxConns all its connections, and
	// PerSourceRate the new connections it may open per minute (a token
	// bucket that holds a minute's worth).
	PerSourceMaxStartups int
	PerSourceMaxConns    int
	PerSourceRate        int
	// LoginGraceTime is the time a connection has from accept to a
	// successful authentication.
	LoginGraceTime time.Duration
	// Per connection: open file handles, SFTP requests read but not yet
	// answered (per session; the server stops reading beyond it), and the
	// memory that served-range bookkeeping and directory listings may take.
	MaxHandles   int
	MaxInFlight  int
	MemoryBudget int64
	// OnHit is called each time a limit refuses something, with the
	// limit's name (Limit...), for metrics. It must not block.
	OnHit func(limit string)
}

// Default limits.
const (
	DefaultStartupsStart        = 10
	DefaultStartupsRate         = 30
	DefaultStartupsFull         = 60
	DefaultPerSourceMaxStartups = 8
	DefaultPerSourceMaxConns    = 16
	DefaultPerSourceRate        = 60
	DefaultLoginGraceTime       = 20 * time.Second
	DefaultMaxHandles           = 256
	DefaultMaxInFlight          = 64
	DefaultMemoryBudget         = 16 << 20
)

// Names of the limits, as logged and passed to OnHit.
const (
	LimitConns          = "max_conns"
	LimitVendorConns    = "max_conns_per_vendor"
	LimitStartups       = "max_startups"
	LimitSourceStartups = "per_source_max_startups"
	LimitSourceConns    = "per_source_max_conns"
	LimitSourceRate     = "per_source_rate"
	LimitLoginGrace     = "login_grace_time"
	LimitHandles        = "max_handles"
	LimitInFlight       = "max_in_flight"
	LimitMemory         = "memory_budget"
)

// AllLimits lists the limit names (for metrics that start at 0).
var AllLimits = []string{LimitConns, LimitVendorConns, LimitStartups, LimitSourceStartups, LimitSourceConns,
	LimitSourceRate, LimitLoginGrace, LimitHandles, LimitInFlight, LimitMemory}

func (l *Limits) defaults() error {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.StartupsStart, DefaultStartupsStart)
	def(&l.StartupsRate, DefaultStartupsRate)
	def(&l.StartupsFull, DefaultStartupsFull)
	def(&l.PerSourceMaxStartups, DefaultPerSourceMaxStartups)
	def(&l.PerSourceMaxConns, DefaultPerSourceMaxConns)
	def(&l.PerSourceRate, DefaultPerSourceRate)
	def(&l.MaxHandles, DefaultMaxHandles)
	def(&l.MaxInFlight, DefaultMaxInFlight)
	if l.LoginGraceTime <= 0 {
		l.LoginGraceTime = DefaultLoginGraceTime
	}
	if l.MemoryBudget <= 0 {
		l.MemoryBudget = DefaultMemoryBudget
	}
	if l.StartupsStart > l.StartupsFull || l.StartupsRate > 100 {
		return fmt.Errorf("sftp server: max_startups %d:%d:%d: want start <= full and rate <= 100",
			l.StartupsStart, l.StartupsRate, l.StartupsFull)
	}
	return nil
}

// source is what the server knows of one remote address.
type source struct {
	conns, preauth int
	tokens         float64
	refilled       time.Time
}

// limiter holds the server-wide admission state.
type limiter struct {
	preauth int
	sources map[string]*source
	logged  map[string]time.Time // limit → last log line about refusals
	muted   map[string]int       // refusals since that line
}

func sourceOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// admit decides on a new connection: the name of the limit that refuses
// it, or "" and the connection counted (total, source, unauthenticated).
func (s *Server) admit(c *conn) string {
	l := &s.cfg.Limits
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lim.sources == nil {
		s.lim.sources = map[string]*source{}
	}
	src := s.lim.sources[c.src]
	if src == nil {
		s.sweepSources(now)
		src = &source{tokens: float64(l.PerSourceRate), refilled: now}
		s.lim.sources[c.src] = src
	}
	src.tokens = min(float64(l.PerSourceRate), src.tokens+now.Sub(src.refilled).Minutes()*float64(l.PerSourceRate))
	src.refilled = now
	switch {
	case s.total >= s.cfg.MaxConns:
		return LimitConns
	case src.tokens < 1:
		return LimitSourceRate
	case src.conns >= l.PerSourceMaxConns:
		return LimitSourceConns
	case src.preauth >= l.PerSourceMaxStartups:
		if !s.evictStale(c.src, now) {
			return LimitSourceStartups
		}
	case s.lim.preauth >= l.StartupsStart:
		if !s.dropEarly() {
			break
		}
		if !s.evictStale("", now) {
			return LimitStartups
		}
	}
	src.tokens--
	src.conns++
	src.preauth++
	s.lim.preauth++
	s.total++
	c.preauth = true
	c.accepted = now
	return ""
}

// dropEarly is MaxStartups' coin: from Start unauthenticated connections
// on, true with probability Rate percent, rising linearly to 100 % at Full.
func (s *Server) dropEarly() bool {
	l := &s.cfg.Limits
	if s.lim.preauth >= l.StartupsFull {
		return true
	}
	p := l.StartupsRate
	if l.StartupsFull > l.StartupsStart {
		p += (100 - l.StartupsRate) * (s.lim.preauth - l.StartupsStart) / (l.StartupsFull - l.StartupsStart)
	}
	return rand.IntN(100) < p
}

// staleAfter is how long an unauthenticated connection may wait before a
// newcomer that would be refused takes its slot.
const staleAfter = time.Second

// evictStale makes room for a new connection that a startups limit would
// refuse: the oldest unauthenticated connection (of source src, or of any
// when src is "") that has waited staleAfter without authenticating is
// closed, so that idle or slow connections held open by a stranger cannot
// keep a vendor out; a flood of fresh ones is still refused (s.mu held).
func (s *Server) evictStale(src string, now time.Time) bool {
	var old *conn
	for c := range s.conns {
		if c.preauth && (src == "" || c.src == src) && now.Sub(c.accepted) >= staleAfter &&
			(old == nil || c.accepted.Before(old.accepted)) {
			old = c
		}
	}
	if old == nil {
		return false
	}
	s.leavePreauth(old)
	old.nc.Close()
	limit := LimitStartups
	if src != "" {
		limit = LimitSourceStartups
	}
	s.hit(limit)
	return true
}

// sweepSources forgets sources with no connection and a full bucket, when
// the map has grown.
func (s *Server) sweepSources(now time.Time) {
	if len(s.lim.sources) < 1024 {
		return
	}
	for ip, src := range s.lim.sources {
		if src.conns == 0 && now.Sub(src.refilled) > time.Minute {
			delete(s.lim.sources, ip)
		}
	}
}

// authenticated moves c out of the unauthenticated count.
func (s *Server) authenticated(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leavePreauth(c)
}

func (s *Server) leavePreauth(c *conn) {
	if !c.preauth {
		return
	}
	c.preauth = false
	s.lim.preauth--
	if src := s.lim.sources[c.src]; src != nil {
		src.preauth--
	}
}

// releaseSource undoes admit's counting (s.mu held).
func (s *Server) releaseSource(c *conn) {
	s.leavePreauth(c)
	if src := s.lim.sources[c.src]; src != nil {
		src.conns--
	}
}

// refused logs a refused connection, at most once per limit every ten
// seconds (with the number refused since), and counts it.
func (s *Server) refused(limit, remote string) {
	s.hit(limit)
	now := s.now()
	s.mu.Lock()
	if s.lim.logged == nil {
		s.lim.logged, s.lim.muted = map[string]time.Time{}, map[string]int{}
	}
	if now.Sub(s.lim.logged[limit]) < 10*time.Second {
		s.lim.muted[limit]++
		s.mu.Unlock()
		return
	}
	n := s.lim.muted[limit]
	s.lim.logged[limit], s.lim.muted[limit] = now, 0
	s.mu.Unlock()
	s.log.Warn("connection refused: limit reached", "limit", limit, "remote", remote, "refused_before_unlogged", n)
}

func (s *Server) hit(limit string) {
	if s.cfg.Limits.OnHit != nil {
		s.cfg.Limits.OnHit(limit)
	}
}

// connState is a connection's share of the limits and its fetches.
type connState struct {
	src      string
	preauth  bool      // counted as unauthenticated (s.mu)
	accepted time.Time // when admitted

	lmu    sync.Mutex
	logged map[string]bool
	mem    atomic.Int64
	dirs   atomic.Int32 // directory handles open
	gates  []*gate

	root  *os.Root // the vendor's outbox, once authenticated
	fmu   sync.Mutex
	files map[fileKey]*connFile
}

// limitHit counts a limit a connection ran into and logs it the first time
// on this connection; the error is what the client is told.
func (c *conn) limitHit(limit string) error {
	c.s.hit(limit)
	c.lmu.Lock()
	first := !c.logged[limit]
	if c.logged == nil {
		c.logged = map[string]bool{}
	}
	c.logged[limit] = true
	c.lmu.Unlock()
	if first {
		c.s.log.Warn("limit reached on a connection (logged once per connection)", "limit", limit,
			"vendor", c.vendor, "remote", c.nc.RemoteAddr().String())
	}
	return limitErr(limit)
}

// takeHandle counts a new file handle, or refuses it over MaxHandles.
func (c *conn) takeHandle() error {
	if int(c.open.Add(1)+c.dirs.Load()) > c.s.cfg.Limits.MaxHandles {
		c.open.Add(-1)
		return c.limitHit(LimitHandles)
	}
	c.s.handles.Add(1)
	return nil
}

// takeDirHandle counts a directory handle against MaxHandles too (files
// and directories together); released by the lister's Close.
func (c *conn) takeDirHandle() error {
	if int(c.dirs.Add(1)+c.open.Load()) > c.s.cfg.Limits.MaxHandles {
		c.dirs.Add(-1)
		return c.limitHit(LimitHandles)
	}
	return nil
}

// charge takes n bytes from the connection's memory budget; false (and
// nothing taken) when it would go over.
func (c *conn) charge(n int64) bool {
	if c.mem.Add(n) > c.s.cfg.Limits.MemoryBudget {
		c.mem.Add(-n)
		return false
	}
	return true
}

// gate holds the reading of SFTP requests while MaxInFlight of them wait
// for their answer: a client cannot queue work and memory without bound.
type gate struct {
	c     *conn
	mu    sync.Mutex
	cond  *sync.Cond
	n     int
	max   int
	close bool
}

func (c *conn) newGate() *gate {
	g := &gate{c: c, max: c.s.cfg.Limits.MaxInFlight}
	g.cond = sync.NewCond(&g.mu)
	c.lmu.Lock()
	c.gates = append(c.gates, g)
	c.lmu.Unlock()
	return g
}

// shutGates lets every session's reader go once the connection is gone.
func (c *conn) shutGates() {
	c.lmu.Lock()
	defer c.lmu.Unlock()
	for _, g := range c.gates {
		g.mu.Lock()
		g.close = true
		g.mu.Unlock()
		g.cond.Broadcast()
	}
}

// enter waits for room for one more request.
func (g *gate) enter() error {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n >= g.max {
		g.c.limitHit(LimitInFlight)
	}
	for g.n >= g.max && !g.close {
		g.cond.Wait()
	}
	if g.close {
		return net.ErrClosed
	}
	g.n++
	return nil
}

// leave is called for each answer sent.
func (g *gate) leave() {
	if g == nil {
		return
	}
	g.mu.Lock()
	if g.n > 0 {
		g.n--
	}
	g.mu.Unlock()
	g.cond.Signal()
}
