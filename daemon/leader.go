package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"leverance/cluster"
	"leverance/receipt"
)

// clusterRole is a cluster node's name and whether it leads now.
type clusterRole struct {
	node    string
	leading atomic.Bool
}

func (r *clusterRole) name() string {
	if r.leading.Load() {
		return "leader"
	}
	return "follower"
}

// clusterMetrics are the metrics of a cluster node (registered only with
// [cluster]).
type clusterMetrics struct {
	leader      prometheus.Gauge   // 1 while this node leads
	terms       prometheus.Counter // times this node became the leader
	lost        prometheus.Counter // terms that ended other than by a stop
	unreachable prometheus.Counter // campaign attempts that found etcd unreachable
	refused     prometheus.Counter // steps refused by the fence
}

func newClusterMetrics(m *Metrics, node string) *clusterMetrics {
	l := prometheus.Labels{"node": node}
	c := &clusterMetrics{
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "leverance_cluster_leader", ConstLabels: l,
			Help: "1 while this node is the cluster's leader, 0 while it follows."}),
		terms: prometheus.NewCounter(prometheus.CounterOpts{Name: "leverance_cluster_leadership_changes_total", ConstLabels: l,
			Help: "Times this node became the leader (took over)."}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{Name: "leverance_cluster_leadership_lost_total", ConstLabels: l,
			Help: "Times this node stopped leading other than by its own stop: a lease not renewed in time (etcd unreachable, the process paused), a failed step check, or an error."}),
		unreachable: prometheus.NewCounter(prometheus.CounterOpts{Name: "leverance_cluster_etcd_errors_total", ConstLabels: l,
			Help: "Campaign attempts that failed because etcd could not be reached."}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "leverance_cluster_fence_refusals_total", ConstLabels: l,
			Help: "Steps that changed nothing because the leadership check in etcd failed."}),
	}
	m.Registry.MustRegister(c.leader, c.terms, c.lost, c.unreachable, c.refused)
	return c
}

// runCluster runs a cluster node: the status port and the supervisor all
// the time, and the workers (intake, scheduler, SFTP server) only while
// this node leads (leadership).
func runCluster(ctx context.Context, opt RunOptions) error {
	cc := opt.Config.Cluster
	cm := newClusterMetrics(opt.Metrics, cc.Node)
	m, err := cluster.Dial(cluster.Config{Endpoints: cc.Etcd, Node: cc.Node, TTL: cc.TTL(),
		Log: opt.Log.With("component", "cluster"), OnUnreachable: cm.unreachable.Inc})
	if err != nil {
		return err
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opt.Context = ctx
	sopt := opt.Options
	sopt.NewRecords = (&logTail{path: filepath.Join(opt.Config.Layout().Receipts(), receipt.RecordsFile)}).next
	se, err := newEngine(sopt)
	if err != nil {
		return err
	}
	se.role = &clusterRole{node: cc.Node}
	l := &leadership{member: m, opt: opt, status: se, role: se.role, metrics: cm}
	d := &wired{ready: &se.role.leading}
	if err := d.addHTTP(se, opt); err != nil {
		return err
	}
	d.sup = &supervisor{e: se, path: opt.ConfigPath, signals: opt.Reload, notifier: opt.Notifier, log: opt.Log,
		leader: l.workers.Load, reloaded: l.poke}
	d.components = append(d.components, d.sup, l)
	if opt.Ready != nil {
		opt.Ready(se, d.httpAddr)
	}
	opt.Log.Info("cluster node ready; campaigning for leadership", "node", cc.Node, "etcd", fmt.Sprint(cc.Etcd),
		"lease_ttl", cc.TTL().String(), "state_dir", se.layout.Dir)
	err = runAll(ctx, d.components)
	opt.Log.Info("daemon stopped")
	return err
}

// leadership campaigns, and while this node leads runs the workers under a
// context of the term: when the lease is lost they are stopped, and the
// node campaigns again.
type leadership struct {
	member  *cluster.Member
	opt     RunOptions
	status  *Engine // the configuration in force (reloads reach it)
	role    *clusterRole
	metrics *clusterMetrics
	workers atomic.Pointer[workers] // the term's, nil while following
}

func (l *leadership) poke() {
	if w := l.workers.Load(); w != nil {
		w.sched.Poke(false)
	}
}

// Run campaigns until ctx is done. A receipts log that does not verify
// stops the daemon (as at a start without [cluster]); other errors of a
// term end it, and the node campaigns again after a pause.
func (l *leadership) Run(ctx context.Context) error {
	log := l.opt.Log
	for ctx.Err() == nil {
		term, err := l.member.Campaign(ctx)
		if err != nil {
			return nil // ctx is done
		}
		l.metrics.terms.Inc()
		log.Warn("elected leader: recovering the shared state and taking over", "node", l.role.node)
		err = l.lead(ctx, term)
		if ctx.Err() != nil {
			term.Resign(context.Background())
			log.Info("resigned the leadership: stopping", "node", l.role.node)
			return nil
		}
		l.metrics.lost.Inc()
		var altered *receipt.AlteredError
		if errors.As(err, &altered) {
			term.Resign(context.Background())
			return err
		}
		term.Resign(context.Background())
		if errors.Is(err, cluster.ErrNotLeader) {
			log.Warn("stepped down: this node's work has stopped; campaigning again", "node", l.role.node, "err", fmt.Sprint(err))
		} else {
			log.Error("leading failed: this node resigned and campaigns again after a lease", "node", l.role.node, "err", fmt.Sprint(err))
			select { // let another node take over
			case <-ctx.Done():
			case <-time.After(l.opt.Config.Cluster.TTL()):
			}
		}
	}
	return nil
}

// lead runs one term: recovery (New), then the workers until the term
// ends or ctx is done.
func (l *leadership) lead(ctx context.Context, term *cluster.Term) error {
	tctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-term.Lost():
			l.role.leading.Store(false) // /readyz answers 503 at once
			l.opt.Log.Error("LEADERSHIP LOST: this node stops acting now", "node", l.role.node, "reason", term.Reason())
			cancel()
		case <-tctx.Done():
		}
	}()
	fence := func(step string) error {
		err := term.Fence(context.Background(), step)
		if err != nil {
			l.metrics.refused.Inc()
			l.opt.Log.Error("step not taken: the leadership check failed", "step", step, "err", err)
		}
		return err
	}
	if err := fence("take over"); err != nil {
		return err
	}
	w, err := l.build(tctx, fence)
	if err != nil {
		return err
	}
	l.workers.Store(w)
	select {
	case <-term.Lost(): // lost while recovering: the workers return at once
	default:
		l.role.leading.Store(true)
		l.metrics.leader.Set(1)
	}
	defer func() {
		l.role.leading.Store(false)
		l.metrics.leader.Set(0)
		l.workers.Store(nil)
	}()
	err = runAll(tctx, w.components())
	if err == nil && ctx.Err() == nil {
		err = fmt.Errorf("%w: %s", cluster.ErrNotLeader, term.Reason())
	}
	return err
}

// build opens the receipts log (verifying it), runs the recovery of a
// start (New) with every step fenced, and binds the SFTP listener.
func (l *leadership) build(ctx context.Context, fence func(string) error) (*workers, error) {
	opt := l.opt
	opt.Config = l.status.Config()
	opt.Context = ctx
	opt.Fence = fence
	opt.Node = l.role.node
	opt.Sink, opt.NewRecords, opt.Records = nil, nil, nil
	// The receipts log's lock may be held by a former leader that was
	// frozen in the middle of an append: the take-over waits for it (an
	// append is never interleaved), and says so.
	waiting := time.AfterFunc(l.opt.Config.Cluster.TTL(), func() {
		l.opt.Log.Error("taking over waits for the receipts log's lock: another process holds it — a former leader that is paused or frozen (it writes nothing more once it resumes), or an operator's command",
			"lock", filepath.Join(opt.Config.Layout().Receipts(), "receipts.lock"))
	})
	err := openJournal(&opt.Options)
	waiting.Stop()
	if err != nil {
		return nil, err
	}
	opt.Sink.(*journal).log.Fence = func(context.Context) error { return fence("receipt") }
	e, err := New(opt.Options)
	if err != nil {
		return nil, err
	}
	return newWorkers(e, opt, false)
}
