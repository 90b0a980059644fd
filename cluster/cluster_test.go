package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"leverance/internal/etcdtest"
)

func member(t *testing.T, ep, node string, ttl time.Duration) *Member {
	t.Helper()
	m, err := Dial(Config{Endpoints: []string{ep}, Node: node, TTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func campaign(t *testing.T, m *Member, within time.Duration) *Term {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	term, err := m.Campaign(ctx)
	if err != nil {
		t.Fatalf("campaign: %v", err)
	}
	return term
}

// One leader at a time; the second takes over when the first resigns, and
// the first's fence then fails.
func TestElectionAndFence(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd")
	}
	etcd := etcdtest.Start(t)
	a, b := member(t, etcd.Endpoint, "a", 2*time.Second), member(t, etcd.Endpoint, "b", 2*time.Second)
	ta := campaign(t, a, 10*time.Second)
	if err := ta.Fence(context.Background(), "first"); err != nil {
		t.Fatalf("leader's fence: %v", err)
	}
	if l, err := b.Leader(context.Background()); err != nil || l != "a" {
		t.Fatalf("leader seen by b = %q, %v", l, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	_, err := b.Campaign(ctx)
	cancel()
	if err == nil {
		t.Fatal("b was elected while a leads")
	}
	// a's election key is deleted behind its back: as if its lease had
	// expired in etcd while a was paused.
	if _, err := a.cli.Revoke(context.Background(), ta.lease); err != nil {
		t.Fatal(err)
	}
	tb := campaign(t, b, 10*time.Second)
	if err := ta.Fence(context.Background(), "late"); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("old leader's fence after its lease ended: %v", err)
	}
	select {
	case <-ta.Lost():
	default:
		t.Fatal("old term not ended after a failed fence")
	}
	if err := tb.Fence(context.Background(), "new"); err != nil {
		t.Fatalf("new leader's fence: %v", err)
	}
	tb.Resign(context.Background())
	if l, _ := a.Leader(context.Background()); l != "" {
		t.Fatalf("leader after resign = %q", l)
	}
}

// With etcd gone the leader's term ends within the lease, and a fence
// fails; once etcd is back a campaign succeeds again.
func TestEtcdUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd")
	}
	etcd := etcdtest.Start(t)
	ttl := 2 * time.Second
	a := member(t, etcd.Endpoint, "a", ttl)
	ta := campaign(t, a, 10*time.Second)
	etcd.Stop()
	stopped := time.Now()
	select {
	case <-ta.Lost():
	case <-time.After(ttl + 2*time.Second):
		t.Fatal("term not ended within the lease after etcd stopped")
	}
	if d := time.Since(stopped); d > ttl {
		t.Errorf("term ended %v after etcd stopped; the lease is %v", d, ttl)
	}
	if err := ta.Fence(context.Background(), "x"); err == nil {
		t.Fatal("fence passed without etcd")
	}
	etcd.Start()
	tb := campaign(t, a, 30*time.Second)
	if err := tb.Fence(context.Background(), "back"); err != nil {
		t.Fatalf("fence after etcd returned: %v", err)
	}
}

// A term that ends without a resign (the daemon resigns; a crash between
// the two does not) stops renewing its lease: another node is elected
// once the lease runs out, instead of waiting behind the old key for ever.
func TestLostTermStopsRenewing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd")
	}
	etcd := etcdtest.Start(t)
	ttl := 2 * time.Second
	a, b := member(t, etcd.Endpoint, "a", ttl), member(t, etcd.Endpoint, "b", ttl)
	ta := campaign(t, a, 10*time.Second)
	ta.lose("test: given up")
	// etcd grants a lease at least its TTL and keeps the key until the
	// lease has gone unrenewed for that long; 4 TTLs leave room for a
	// slow machine, and a renewed lease would block b for ever.
	tb := campaign(t, b, 4*ttl)
	if err := tb.Fence(context.Background(), "b"); err != nil {
		t.Fatalf("b's fence: %v", err)
	}
}
