// Package cluster makes one leverance node of several the leader, by an
// etcd election under a lease (go.etcd.io/etcd/client/v3/concurrency), and
// fences the leader's writes: before a step that changes shared state, the
// leader confirms in one etcd transaction that its election key — which
// lives only as long as its lease — is still the one it created, and
// records the step's sequence number. A leader that was paused or cut off
// past its lease fails that check, steps down and writes nothing.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
)

// Config configures a Member.
type Config struct {
	Endpoints []string
	Node      string
	TTL       time.Duration
	// Prefix is where leverance keeps its keys (default "/leverance").
	Prefix string
	Log    *slog.Logger
	// OnUnreachable, when set, is called for each campaign attempt that
	// failed (etcd unreachable).
	OnUnreachable func()
}

// Member is this node's connection to etcd.
type Member struct {
	cfg Config
	cli *clientv3.Client
}

// ErrNotLeader is returned by Fence once the term has ended.
var ErrNotLeader = errors.New("not the leader: the lease ended or another node leads")

// Dial connects to etcd. It does not wait for etcd to be reachable:
// Campaign does, and says so.
func Dial(cfg Config) (*Member, error) {
	if cfg.Prefix == "" {
		cfg.Prefix = "/leverance"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		DialTimeout:          0, // non-blocking
		DialKeepAliveTime:    cfg.TTL / 3,
		DialKeepAliveTimeout: cfg.TTL / 3,
		Logger:               zap.NewNop(),
		// Reconnect soon after etcd comes back: gRPC's default backoff
		// grows to two minutes, longer than any lease.
		DialOptions: []grpc.DialOption{grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: time.Second},
			MinConnectTimeout: max(time.Second, cfg.TTL/3),
		})},
	})
	if err != nil {
		return nil, fmt.Errorf("etcd client %v: %w", cfg.Endpoints, err)
	}
	return &Member{cfg: cfg, cli: cli}, nil
}

// Close closes the connection.
func (m *Member) Close() error { return m.cli.Close() }

// ElectionKey is the election's prefix in etcd.
func (m *Member) ElectionKey() string { return m.cfg.Prefix + "/leader" }

// FenceKey is where the leader records the sequence number of each step.
func (m *Member) FenceKey() string { return m.cfg.Prefix + "/fence" }

// Leader returns the node that leads now ("" when none), as etcd says.
func (m *Member) Leader(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.TTL)
	defer cancel()
	resp, err := m.cli.Get(ctx, m.ElectionKey()+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", err
	}
	if len(resp.Kvs) == 0 {
		return "", nil
	}
	return string(resp.Kvs[0].Value), nil
}

// Campaign waits until this node leads, or ctx is done. While etcd cannot
// be reached it logs an error each attempt and tries again.
func (m *Member) Campaign(ctx context.Context) (*Term, error) {
	for attempt := 1; ; attempt++ {
		t, err := m.campaign(ctx)
		if err == nil {
			return t, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if m.cfg.OnUnreachable != nil {
			m.cfg.OnUnreachable()
		}
		m.cfg.Log.Error("etcd unreachable: cannot campaign for leadership; this node does not act", "endpoints", fmt.Sprint(m.cfg.Endpoints), "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(time.Duration(attempt)*time.Second, m.cfg.TTL)):
		}
	}
}

// campaign grants a lease, keeps it alive and campaigns under it.
func (m *Member) campaign(ctx context.Context) (*Term, error) {
	gctx, cancel := context.WithTimeout(ctx, m.cfg.TTL)
	lease, err := m.cli.Grant(gctx, int64(m.cfg.TTL/time.Second))
	cancel()
	if err != nil {
		return nil, fmt.Errorf("grant lease: %w", err)
	}
	tctx, stop := context.WithCancel(context.Background())
	ka, err := m.cli.KeepAlive(tctx, lease.ID)
	if err != nil {
		stop()
		return nil, fmt.Errorf("keep lease alive: %w", err)
	}
	t := &Term{m: m, lease: lease.ID, lost: make(chan struct{}), stop: stop}
	t.deadline.Store(time.Now().Add(m.cfg.TTL - margin(m.cfg.TTL)).UnixNano())
	go t.watch(ka)
	s, err := concurrency.NewSession(m.cli, concurrency.WithLease(lease.ID), concurrency.WithContext(tctx))
	if err != nil {
		t.end(context.Background())
		return nil, err
	}
	t.session = s
	t.election = concurrency.NewElection(s, m.ElectionKey())
	if err := t.election.Campaign(ctx, m.cfg.Node); err != nil {
		t.end(context.Background())
		return nil, fmt.Errorf("campaign: %w", err)
	}
	t.key, t.rev = t.election.Key(), t.election.Rev()
	select {
	case <-t.lost: // the lease ended while waiting
		t.end(context.Background())
		return nil, fmt.Errorf("lease lost while campaigning: %s", t.Reason())
	default:
	}
	return t, nil
}

// margin is how much earlier than etcd the leader gives its lease up: the
// local deadline is measured from a renewal's answer, which etcd sent a
// little after it renewed.
func margin(ttl time.Duration) time.Duration { return max(500*time.Millisecond, ttl/5) }

// Term is one period of leadership.
type Term struct {
	m        *Member
	lease    clientv3.LeaseID
	session  *concurrency.Session
	election *concurrency.Election
	key      string
	rev      int64
	stop     context.CancelFunc
	deadline atomic.Int64 // unix nanoseconds: local end of the lease
	step     atomic.Int64
	once     sync.Once
	lost     chan struct{}
	reason   atomic.Value
}

// Lost is closed when the term ends: the lease could not be renewed in
// time, or a fence found another node leading.
func (t *Term) Lost() <-chan struct{} { return t.lost }

// Reason says why the term ended.
func (t *Term) Reason() string {
	r, _ := t.reason.Load().(string)
	return r
}

// Steps is the number of fenced steps of this term.
func (t *Term) Steps() int64 { return t.step.Load() }

// lose ends the term. It also stops renewing the lease: a term this node
// has given up must not keep its election key alive once etcd answers
// again, or every campaign — this node's next one included — would wait
// behind it for ever.
func (t *Term) lose(reason string) {
	t.once.Do(func() {
		t.reason.Store(reason)
		t.stop()
		close(t.lost)
	})
}

// watch moves the local deadline on every renewal, and ends the term when
// it passes or the renewals stop.
func (t *Term) watch(ka <-chan *clientv3.LeaseKeepAliveResponse) {
	ttl := t.m.cfg.TTL
	timer := time.NewTimer(ttl)
	defer timer.Stop()
	for {
		select {
		case r, ok := <-ka:
			if !ok {
				t.lose("lease not renewed: etcd unreachable or the lease expired")
				return
			}
			got := time.Duration(r.TTL) * time.Second
			if got <= 0 {
				t.lose("lease expired in etcd")
				return
			}
			d := time.Now().Add(got - margin(ttl))
			t.deadline.Store(d.UnixNano())
			timer.Reset(time.Until(d))
		case <-timer.C:
			if time.Now().UnixNano() >= t.deadline.Load() {
				t.lose("lease not renewed before it ended: etcd unreachable")
				return
			}
			timer.Reset(time.Until(time.Unix(0, t.deadline.Load())))
		case <-t.lost:
			return
		}
	}
}

// Fence confirms, in one etcd transaction, that this term's election key is
// still there (so its lease has not ended) and records the step's sequence
// number. It fails — and ends the term — when the local lease deadline has
// passed or the key is gone; it fails without ending the term when etcd
// does not answer in time. what names the step in the fence record.
func (t *Term) Fence(ctx context.Context, what string) error {
	select {
	case <-t.lost:
		return fmt.Errorf("%w (%s)", ErrNotLeader, t.Reason())
	default:
	}
	left := time.Until(time.Unix(0, t.deadline.Load()))
	if left <= 0 {
		t.lose("lease deadline passed before a step")
		return fmt.Errorf("%w (%s)", ErrNotLeader, t.Reason())
	}
	ctx, cancel := context.WithTimeout(ctx, left)
	defer cancel()
	n := t.step.Add(1)
	resp, err := t.m.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(t.key), "=", t.rev)).
		Then(clientv3.OpPut(t.m.FenceKey(), fmt.Sprintf("%s term %d step %d %s", t.m.cfg.Node, t.rev, n, what))).
		Commit()
	if err != nil {
		return fmt.Errorf("fence %s: etcd: %w", what, err)
	}
	if !resp.Succeeded {
		t.lose("election key gone: the lease ended and another node may lead")
		return fmt.Errorf("%w (%s)", ErrNotLeader, t.Reason())
	}
	if time.Now().UnixNano() >= t.deadline.Load() {
		t.lose("lease deadline passed during a step's check")
		return fmt.Errorf("%w (%s)", ErrNotLeader, t.Reason())
	}
	return nil
}

// Resign ends the term: it gives the leadership up at once (when etcd
// answers) so that another node takes over without waiting for the lease.
func (t *Term) Resign(ctx context.Context) {
	t.lose("resigned")
	t.end(ctx)
}

func (t *Term) end(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if t.election != nil && t.key != "" {
		t.election.Resign(ctx)
	}
	t.m.cli.Revoke(ctx, t.lease)
	t.stop()
	t.lose("ended")
}
